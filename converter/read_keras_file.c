#define _POSIX_C_SOURCE 200809L /* strdup, strnlen */

#include "read_keras_file.h"

#include <ctype.h>
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "diag.h"
#include "json.h"
#include "keras.h"
#include "zip.h"

typedef struct reader {
    const char *path;
    tf_graph *g;
    hid_t file;          /* the .h5, or the .keras archive's model.weights.h5 */
    hid_t model_weights; /* .h5: the model_weights group; .keras: -1 */
    const char *where;   /* prefix of HDF5 object names in messages: "" or "model.weights.h5: " */
    const json_value *model;
    uint64_t weight_bytes; /* read so far, against KERAS_WEIGHTS_MAX */
} reader;

/* ---- HDF5 helpers ---------------------------------------------------------------- */

/* The most specific message on HDF5's error stack (its own printing is off). */
static herr_t first_error(unsigned n, const H5E_error2_t *e, void *buf) {
    if (n == 0) snprintf(buf, 256, "%s", e->desc ? e->desc : "unknown HDF5 error");
    return 0;
}

/* kc_error with ": <HDF5's reason>" appended. */
static bool h5_fail(const char *fmt, ...) KC_PRINTF(1, 2);

static bool h5_fail(const char *fmt, ...) {
    char msg[1024], why[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, why);
    kc_error("%s%s%s", msg, why[0] ? ": " : "", why);
    return false;
}

static void close_id(hid_t id, herr_t (*fn)(hid_t)) {
    if (id >= 0) fn(id);
}

/* Whether path (relative to loc, '/'-separated) names an object: each level
 * is checked, as H5Lexists fails on a missing intermediate group. Negative
 * after an HDF5 error. */
static int h5_exists(hid_t loc, const char *path) {
    char *p = strdup(path);
    if (!p) return -1;
    int found = 1;
    for (char *slash = p;; slash++) {
        slash = strchr(slash, '/');
        if (slash) *slash = 0;
        htri_t e = H5Lexists(loc, p, H5P_DEFAULT);
        if (e <= 0) {
            found = e < 0 ? -1 : 0;
            break;
        }
        if (!slash) break;
        *slash = '/';
    }
    free(p);
    return found;
}

/* A string attribute, scalar or of one element, fixed-length or variable:
 * *out malloc'd and NUL-terminated. 1 if read, 0 if absent, -1 after kc_error. */
static int read_string_attr(hid_t loc, const char *name, const char *ctx, uint64_t limit, char **out, size_t *len) {
    htri_t has = H5Aexists(loc, name);
    if (has <= 0) return has == 0 ? 0 : (h5_fail("%s: attribute %s", ctx, name), -1);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), type = a >= 0 ? H5Aget_type(a) : -1,
          space = a >= 0 ? H5Aget_space(a) : -1, mem = -1;
    int rc = -1;
    char *vl = NULL;
    *out = NULL;
    if (type < 0 || space < 0) {
        h5_fail("%s: attribute %s", ctx, name);
        goto done;
    }
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (H5Tget_class(type) != H5T_STRING || n != 1) {
        kc_error("%s: attribute %s must be one string", ctx, name);
        goto done;
    }
    htri_t var = H5Tis_variable_str(type);
    size_t size = H5Tget_size(type);
    if (var < 0 || size == 0) {
        h5_fail("%s: attribute %s", ctx, name);
        goto done;
    }
    if (var) {
        if ((mem = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mem, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mem, H5Tget_cset(type)) < 0 || H5Aread(a, mem, &vl) < 0 || !vl) {
            h5_fail("%s: attribute %s", ctx, name);
            goto done;
        }
        size = strlen(vl);
    }
    if (size > limit) {
        kc_error("%s: attribute %s: %zu bytes is over the limit of %" PRIu64 " MiB", ctx, name, size, limit >> 20);
        goto done;
    }
    if (!(*out = malloc(size + 1))) {
        kc_error("%s: out of memory", ctx);
        goto done;
    }
    if (vl) {
        memcpy(*out, vl, size + 1);
    } else if (H5Aread(a, type, *out) < 0) {
        h5_fail("%s: attribute %s", ctx, name);
        goto done;
    }
    (*out)[size] = 0;
    *len = strnlen(*out, size); /* fixed-length strings are padded with NULs */
    rc = 1;
done:
    if (vl) H5free_memory(vl);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    close_id(mem, H5Tclose);
    close_id(space, H5Sclose);
    close_id(type, H5Tclose);
    close_id(a, H5Aclose);
    return rc;
}

typedef struct names {
    char **s;
    size_t n, cap;
} names;

static void free_names(names *l) {
    for (size_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    *l = (names){0};
}

static bool add_name(names *l, const char *s, size_t len, const char *ctx) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **grown = realloc(l->s, sizeof *grown * cap);
        if (!grown) goto oom;
        l->s = grown;
        l->cap = cap;
    }
    if (!(l->s[l->n] = malloc(len + 1))) goto oom;
    memcpy(l->s[l->n], s, len);
    l->s[l->n++][len] = 0;
    return true;
oom:
    kc_error("%s: out of memory", ctx);
    return false;
}

/* Appends the strings of a 1-D string attribute (an empty one may have any
 * type: Keras writes np.asarray([]), which is float64). False after kc_error. */
static bool read_names_attr(hid_t loc, const char *name, const char *ctx, names *l) {
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), type = a >= 0 ? H5Aget_type(a) : -1,
          space = a >= 0 ? H5Aget_space(a) : -1, mem = -1;
    bool ok = false;
    char **vl = NULL, *fixed = NULL;
    hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (n < 0) {
        h5_fail("%s: attribute %s", ctx, name);
        goto done;
    }
    if (n == 0) {
        ok = true;
        goto done;
    }
    if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_ndims(space) > 1) {
        kc_error("%s: attribute %s must be a list of strings", ctx, name);
        goto done;
    }
    size_t size = H5Tget_size(type);
    htri_t var = H5Tis_variable_str(type);
    if (var < 0 || size == 0) {
        h5_fail("%s: attribute %s", ctx, name);
        goto done;
    }
    /* Each name is at most HDF5_OBJECT_HEADER_LIMIT (64512) bytes in Keras;
     * the attribute itself lives in one object header, so n is small. */
    if ((uint64_t)n > (KERAS_CONFIG_MAX / (var ? sizeof(char *) : size))) {
        kc_error("%s: attribute %s is too large", ctx, name);
        goto done;
    }
    if (var) {
        if (!(vl = calloc((size_t)n, sizeof *vl)) || (mem = H5Tcopy(H5T_C_S1)) < 0 ||
            H5Tset_size(mem, H5T_VARIABLE) < 0 || H5Aread(a, mem, vl) < 0) {
            h5_fail("%s: attribute %s", ctx, name);
            goto done;
        }
        ok = true;
        for (hssize_t i = 0; ok && i < n; i++) ok = add_name(l, vl[i] ? vl[i] : "", vl[i] ? strlen(vl[i]) : 0, ctx);
    } else {
        if (!(fixed = malloc((size_t)n * size))) {
            kc_error("%s: out of memory", ctx);
            goto done;
        }
        if (H5Aread(a, type, fixed) < 0) {
            h5_fail("%s: attribute %s", ctx, name);
            goto done;
        }
        ok = true;
        for (hssize_t i = 0; ok && i < n; i++) {
            const char *s = fixed + (size_t)i * size;
            ok = add_name(l, s, strnlen(s, size), ctx);
        }
    }
done:
    if (vl) {
        for (hssize_t i = 0; i < n; i++) H5free_memory(vl[i]);
        free(vl);
    }
    free(fixed);
    close_id(mem, H5Tclose);
    close_id(space, H5Sclose);
    close_id(type, H5Tclose);
    close_id(a, H5Aclose);
    return ok;
}

/* A layer group's weight_names, or weight_names0, weight_names1, ... when
 * Keras split a long list over several attributes. */
static bool read_weight_names(hid_t group, const char *ctx, names *l) {
    htri_t has = H5Aexists(group, "weight_names");
    if (has < 0) return h5_fail("%s: attribute weight_names", ctx);
    if (has) return read_names_attr(group, "weight_names", ctx, l);
    for (int i = 0;; i++) {
        char key[32];
        snprintf(key, sizeof key, "weight_names%d", i);
        has = H5Aexists(group, key);
        if (has < 0) return h5_fail("%s: attribute %s", ctx, key);
        if (!has) break;
        if (!read_names_attr(group, key, ctx, l)) return false;
    }
    if (l->n == 0) {
        kc_error("%s: the layer's group has no weight_names attribute", ctx);
        return false;
    }
    return true;
}

/* A float32 or float16 dataset as a float32 tensor in the graph's pool.
 * ctx names it in messages. */
static bool read_tensor(reader *r, hid_t loc, const char *path, const char *ctx, tf_tensor **out) {
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT), type = d >= 0 ? H5Dget_type(d) : -1,
          space = d >= 0 ? H5Dget_space(d) : -1;
    bool ok = false;
    if (type < 0 || space < 0) {
        h5_fail("%s%s", r->where, ctx);
        goto done;
    }
    size_t size = H5Tget_size(type);
    if (H5Tget_class(type) != H5T_FLOAT || (size != 4 && size != 2)) {
        kc_error("%s%s: the weight must be float32 or float16 (its HDF5 type has class %d and %zu bytes)", r->where,
                 ctx, (int)H5Tget_class(type), size);
        goto done;
    }
    int rank = H5Sget_simple_extent_ndims(space);
    hsize_t dims[TF_MAX_RANK];
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    if (rank < 0 || cls == H5S_NULL || cls == H5S_NO_CLASS) {
        kc_error("%s%s: the dataset has no shape", r->where, ctx);
        goto done;
    }
    if (rank > TF_MAX_RANK) {
        kc_error("%s%s: rank %d is over the limit of %d", r->where, ctx, rank, TF_MAX_RANK);
        goto done;
    }
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        h5_fail("%s%s", r->where, ctx);
        goto done;
    }
    tf_tensor *t = tf_alloc(r->g, sizeof *t);
    if (!t) {
        kc_error("out of memory");
        goto done;
    }
    uint64_t count = 1, budget = (KERAS_WEIGHTS_MAX - r->weight_bytes) / sizeof(float);
    t->dtype = TF_DT_FLOAT;
    t->shape.rank = rank;
    for (int i = 0; i < rank; i++) {
        t->shape.dims[i] = (int64_t)dims[i];
        if (dims[i] > budget || (dims[i] && count > budget / dims[i])) {
            kc_error("%s%s: the weights are over the limit of %" PRIu64 " GiB together", r->where, ctx,
                     KERAS_WEIGHTS_MAX >> 30);
            goto done;
        }
        count *= dims[i];
    }
    t->nbytes = (size_t)count * sizeof(float);
    if (!(t->data = tf_alloc(r->g, t->nbytes ? t->nbytes : 1))) {
        kc_error("out of memory");
        goto done;
    }
    /* HDF5 converts float16 (and any IEEE-like float) to float on reading. */
    if (count && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) {
        h5_fail("%s%s: reading the data", r->where, ctx);
        goto done;
    }
    r->weight_bytes += t->nbytes;
    *out = t;
    ok = true;
done:
    close_id(space, H5Sclose);
    close_id(type, H5Tclose);
    close_id(d, H5Dclose);
    return ok;
}

/* ---- .h5: weights by weight_names ------------------------------------------------- */

/* Whether the last component of a weight name, less a ":N" suffix, is `name`:
 * "dense/kernel:0" and "block/dense/kernel" are kernels. */
static bool base_is(const char *w, const char *name) {
    const char *base = strrchr(w, '/');
    base = base ? base + 1 : w;
    size_t n = strlen(base);
    const char *colon = strrchr(base, ':');
    if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1)) n = (size_t)(colon - base);
    return strlen(name) == n && strncmp(base, name, n) == 0;
}

/* A weight the builder asks for, split: a Bidirectional's "forward_lstm/kernel"
 * is the weight "kernel" of its copy in direction "forward_" (keras.h). */
typedef struct wanted {
    const char *base; /* "kernel" */
    const char *dir;  /* "forward_", "backward_", or NULL for a layer's own weight */
} wanted;

static wanted split_ref(const keras_weight_ref *ref) {
    const char *slash = strrchr(ref->name, '/');
    wanted w = {slash ? slash + 1 : ref->name, NULL};
    if (slash && strncmp(ref->name, "forward_", 8) == 0) w.dir = "forward_";
    if (slash && strncmp(ref->name, "backward_", 9) == 0) w.dir = "backward_";
    return w;
}

/* How well a weight name ("block/b_dense/kernel:0", "lstm/lstm_cell/kernel",
 * "bidirectional/forward_lstm/lstm_cell/kernel:0") names ref: 0 unless its
 * last component is the weight's, ref->layer is among its other components
 * and, for a Bidirectional's copy, a component after the layer starts with
 * the copy's direction (only the direction: Keras 3 names the copies
 * forward_lstm where Keras 2 made forward_<wrapped name>); more for the layer
 * right before the last component, for the copy and for each enclosing model
 * named. */
static int name_score(const char *w, const keras_weight_ref *ref, wanted want) {
    if (!base_is(w, want.base)) return 0;
    const char *base = strrchr(w, '/');
    base = base ? base + 1 : w;
    int score = 0;
    size_t layer_len = strlen(ref->layer);
    const char *after = NULL; /* the component after the layer's */
    for (const char *c = w; c < base; c = strchr(c, '/') + 1) {
        size_t len = (size_t)(strchr(c, '/') - c);
        if (len == layer_len && strncmp(c, ref->layer, len) == 0) {
            score = c + len + 1 == base ? 2 : 1;
            after = c + len + 1;
            break;
        }
    }
    if (!score) return 0;
    if (want.dir) {
        const char *c = after;
        while (c < base && strncmp(c, want.dir, strlen(want.dir)) != 0) c = strchr(c, '/') + 1;
        if (c >= base) return 0;
        score++;
    }
    for (const char *s = ref->scope; *s; s = strchr(s, '/') + 1) {
        size_t len = (size_t)(strchr(s, '/') - s);
        for (const char *c = w; c < base; c = strchr(c, '/') + 1)
            if ((size_t)(strchr(c, '/') - c) == len && strncmp(c, s, len) == 0) {
                score++;
                break;
            }
    }
    return score;
}

/* Picks the layer's weight among its group's weight_names: Keras loads a
 * layer's weights by their order, so at the top level the index-th name
 * counts when its last component agrees (or when no name does); a nested
 * model's group lists all its layers' weights (trainable ones first), so
 * there names decide. -1 if none fits, -2 after kc_error (ambiguous). */
static int pick_weight(const names *l, const keras_weight_ref *ref, bool top, const char *ctx) {
    wanted want = split_ref(ref);
    bool indexed = top && ref->index >= 0 && (size_t)ref->index < l->n;
    /* Only the last component: a layer renamed after its weights were made keeps their old names. */
    if (indexed && base_is(l->s[ref->index], want.base) && (!want.dir || name_score(l->s[ref->index], ref, want)))
        return ref->index;
    int best = -1, best_score = 0, ties = 0;
    for (size_t i = 0; i < l->n; i++) {
        int s = name_score(l->s[i], ref, want);
        if (s > best_score) best = (int)i, best_score = s, ties = 0;
        else if (s && s == best_score) ties++;
    }
    if (best >= 0 && ties) {
        kc_error("%s: %d weights could be the layer's '%s' (\"%s\", ...)", ctx, ties + 1, ref->name, l->s[best]);
        return -2;
    }
    if (best >= 0) return best;
    return indexed ? ref->index : -1;
}

static bool h5_weight(void *ctx, const keras_weight_ref *ref, tf_tensor **out) {
    reader *r = ctx;
    *out = NULL;
    /* The top-level layer's group: the first enclosing model, or the layer. */
    const char *slash = strchr(ref->scope, '/');
    size_t top_len = slash ? (size_t)(slash - ref->scope) : strlen(ref->layer);
    char *top = strndup(slash ? ref->scope : ref->layer, top_len);
    char where[600];
    if (!top) {
        kc_error("out of memory");
        return false;
    }
    snprintf(where, sizeof where, "model_weights/%s", top);
    htri_t has = H5Lexists(r->model_weights, top, H5P_DEFAULT);
    hid_t group = has > 0 ? H5Gopen2(r->model_weights, top, H5P_DEFAULT) : -1;
    names l = {0};
    bool ok = false;
    if (has < 0 || (has > 0 && group < 0)) {
        h5_fail("%s", where);
    } else if (has == 0) {
        ok = true; /* keras.c reports the missing weight with its layer */
    } else if (read_weight_names(group, where, &l)) {
        int i = pick_weight(&l, ref, !slash, where);
        if (i == -1) {
            ok = true;
        } else if (i >= 0) {
            snprintf(where, sizeof where, "model_weights/%s/%s", top, l.s[i]);
            ok = read_tensor(r, group, l.s[i], where, out);
        }
    }
    free_names(&l);
    close_id(group, H5Gclose);
    free(top);
    return ok;
}

/* ---- .keras: weights by saving_lib's paths ------------------------------------------ */

/* keras.src.utils.naming.to_snake_case: drop non-word characters, then "_"
 * before each capitalized word not at the start ("(.)([A-Z][a-z]+)") and
 * between a lower-case letter and a capital ("([a-z])([A-Z])"), then lower
 * case: DepthwiseConv2D -> depthwise_conv2d, PReLU -> p_re_lu. */
static void snake_case(const char *name, char *out, size_t cap) {
    char a[256], b[512];
    size_t n = 0, m = 0;
    for (const char *p = name; *p && n < sizeof a - 1; p++)
        if (isalnum((unsigned char)*p) || *p == '_') a[n++] = *p;
    a[n] = 0;
    for (size_t i = 0; i < n;) {
        if (i + 2 < n && isupper((unsigned char)a[i + 1]) && islower((unsigned char)a[i + 2])) {
            size_t j = i + 3;
            while (islower((unsigned char)a[j])) j++;
            b[m++] = a[i];
            b[m++] = '_';
            memcpy(b + m, a + i + 1, j - i - 1);
            m += j - i - 1;
            i = j;
        } else {
            b[m++] = a[i++];
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < m && k + 2 < cap; i++) {
        if (i + 1 < m && islower((unsigned char)b[i]) && isupper((unsigned char)b[i + 1])) {
            out[k++] = b[i];
            out[k++] = '_';
            out[k++] = (char)tolower((unsigned char)b[++i]);
            continue;
        }
        out[k++] = (char)tolower((unsigned char)b[i]);
    }
    out[k] = 0;
}

/* A model config's layer list: config.layers, or config itself (old Sequentials). */
static const json_value *layer_list(const json_value *model) {
    const json_value *config = json_get(model, "config");
    return config && config->type == JSON_ARRAY ? config : json_get(config, "layers");
}

static const char *entry_name(const json_value *entry) {
    const char *name = json_string(json_get(entry, "name"));
    return name ? name : json_string(json_get(json_get(entry, "config"), "name"));
}

/* Appends "layers/<auto name>/" for the layer `name` (len bytes) of `model`
 * to path and returns its config entry; NULL if the model has no such layer. */
static const json_value *auto_path(const json_value *model, const char *name, size_t len, char *path, size_t cap) {
    const json_value *layers = layer_list(model);
    char want[256] = "", snake[256];
    const json_value *hit = NULL;
    for (size_t i = 0; i < json_array_len(layers) && !hit; i++) {
        const char *n = entry_name(json_at(layers, i));
        if (n && strlen(n) == len && strncmp(n, name, len) == 0) hit = json_at(layers, i);
    }
    const char *cls = json_string(json_get(hit, "class_name"));
    if (!cls) return NULL;
    snake_case(cls, want, sizeof want);
    int k = 0; /* earlier layers of the same snake-cased class */
    for (size_t i = 0; json_at(layers, i) != hit; i++) {
        const char *c = json_string(json_get(json_at(layers, i), "class_name"));
        if (!c) continue;
        snake_case(c, snake, sizeof snake);
        k += strcmp(snake, want) == 0;
    }
    size_t used = strlen(path);
    if (k)
        snprintf(path + used, cap - used, "layers/%s_%d/", want, k);
    else
        snprintf(path + used, cap - used, "layers/%s/", want);
    return hit;
}

/* The number of links in the group at path (0 if there is none); -1 after an HDF5 error. */
static int64_t count_links(hid_t file, const char *path) {
    int has = h5_exists(file, path);
    if (has <= 0) return has;
    H5G_info_t info;
    return H5Gget_info_by_name(file, path, &info, H5P_DEFAULT) < 0 ? -1 : (int64_t)info.nlinks;
}

/* Appends "vars/<i>" or, as an RNN layer keeps its weights in its cell,
 * "cell/vars/<i>" to path (whose first `used` bytes are the layer's or the
 * copy's path): the one that exists, 0 if neither, -1 after an HDF5 error. */
static int find_var(hid_t file, char *path, size_t cap, size_t used, int64_t i) {
    snprintf(path + used, cap - used, "vars/%" PRId64, i);
    int has = h5_exists(file, path);
    if (has != 0) return has;
    snprintf(path + used, cap - used, "cell/vars/%" PRId64, i);
    return h5_exists(file, path);
}

static bool keras_weight(void *ctx, const keras_weight_ref *ref, tf_tensor **out) {
    reader *r = ctx;
    char path[1024] = "";
    const json_value *model = r->model;
    *out = NULL;
    for (const char *s = ref->scope; *s && model; s = strchr(s, '/') + 1)
        model = auto_path(model, s, (size_t)(strchr(s, '/') - s), path, sizeof path);
    if (!model || !auto_path(model, ref->layer, strlen(ref->layer), path, sizeof path)) return true;
    size_t used = strlen(path);
    int64_t index = ref->index;
    wanted want = split_ref(ref);
    if (want.dir) {
        /* A Bidirectional's copies are its forward_layer and backward_layer; ref->index counts
         * the forward copy's weights first. */
        bool back = want.dir[0] == 'b';
        snprintf(path + used, sizeof path - used, "forward_layer/");
        size_t fwd = strlen(path);
        for (int k = 0; back && k < 2; k++) { /* the forward copy's own vars, then its cell's */
            snprintf(path + fwd, sizeof path - fwd, k ? "cell/vars" : "vars");
            int64_t n = count_links(r->file, path);
            if (n < 0) return h5_fail("%s%s", r->where, path);
            index -= n;
        }
        if (back) snprintf(path + used, sizeof path - used, "backward_layer/");
        used = strlen(path);
        if (index < 0) return true;
    }
    int has = find_var(r->file, path, sizeof path, used, index);
    if (has < 0) return h5_fail("%s%s", r->where, path);
    return has == 0 || read_tensor(r, r->file, path, path, out);
}

/* ---- files ----------------------------------------------------------------------------- */

/* "3.3.3" -> KERAS_3, "2.15.0" -> KERAS_2; Keras 1 files read as Keras 2. */
static keras_flavor flavor_of(const char *version) {
    return version && version[0] == '3' ? KERAS_3 : KERAS_2;
}

static tf_graph *build(reader *r, const char *config, size_t len, const char *config_name, keras_flavor flavor,
                       keras_weight_fn fn) {
    char name[1100];
    snprintf(name, sizeof name, "%s: %s", r->path, config_name);
    json_doc *doc = json_parse(config, len, name);
    if (!doc) return NULL;
    r->model = json_root(doc);
    keras_source src = {flavor, fn, r};
    bool ok = (r->g = tf_graph_new()) != NULL;
    if (!ok) {
        kc_error("%s: out of memory", r->path);
    } else if (!(ok = keras_build(r->g, r->model, &src))) {
        kc_error_prefix("%s", r->path);
        tf_graph_free(r->g);
        r->g = NULL;
    }
    json_free(doc);
    return r->g;
}

static tf_graph *read_h5(reader *r) {
    tf_graph *g = NULL;
    char *config = NULL, *version = NULL;
    size_t len = 0, vlen;
    if ((r->file = H5Fopen(r->path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        h5_fail("%s: cannot open as HDF5", r->path);
        return NULL;
    }
    int has = read_string_attr(r->file, "model_config", r->path, KERAS_CONFIG_MAX, &config, &len);
    if (has == 0)
        kc_error("%s: no model_config attribute: the file holds no model (a weights-only file from "
                 "save_weights?); save the whole model with model.save",
                 r->path);
    if (has <= 0) goto done;
    htri_t mw = H5Lexists(r->file, "model_weights", H5P_DEFAULT);
    if (mw <= 0 || (r->model_weights = H5Gopen2(r->file, "model_weights", H5P_DEFAULT)) < 0) {
        if (mw == 0)
            kc_error("%s: no model_weights group", r->path);
        else
            h5_fail("%s: model_weights", r->path);
        goto done;
    }
    if (read_string_attr(r->file, "keras_version", r->path, 256, &version, &vlen) < 0 ||
        (!version && read_string_attr(r->model_weights, "keras_version", r->path, 256, &version, &vlen) < 0))
        goto done;
    g = build(r, config, len, "model_config", flavor_of(version), h5_weight);
done:
    free(config);
    free(version);
    close_id(r->model_weights, H5Gclose);
    close_id(r->file, H5Fclose);
    return g;
}

static bool read_file(const char *path, unsigned char **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    long n = -1;
    *data = NULL;
    if (!f) {
        kc_error("%s: cannot open", path);
        return false;
    }
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || (uint64_t)n > KERAS_FILE_MAX) {
        if (n < 0)
            kc_error("%s: cannot read", path);
        else
            kc_error("%s: %ld bytes is over the limit of %" PRIu64 " GiB for a .keras file", path, n,
                     KERAS_FILE_MAX >> 30);
        fclose(f);
        return false;
    }
    rewind(f);
    *size = (size_t)n;
    bool ok = (*data = malloc(*size ? *size : 1)) != NULL && fread(*data, 1, *size, f) == *size;
    fclose(f);
    if (!ok) {
        kc_error("%s: %s", path, *data ? "cannot read" : "out of memory");
        free(*data);
        *data = NULL;
    }
    return ok;
}

/* An archive entry; *owned is set when it must be freed. Absent: *data NULL,
 * true, unless `required`. */
static bool entry(const zip_archive *z, const char *name, bool required, uint64_t limit, const unsigned char **data,
                  size_t *len, unsigned char **owned) {
    bool dup;
    const zip_entry *e = zip_find(z, name, &dup);
    *data = NULL;
    *owned = NULL;
    if (dup) return false;
    if (!e) {
        if (required) kc_error("%s: the archive has no %s", z->name, name);
        return !required;
    }
    return zip_read(z, e, limit, data, len, owned);
}

static tf_graph *read_keras_zip(reader *r) {
    unsigned char *bytes, *config_owned = NULL, *meta_owned = NULL, *weights_owned = NULL;
    const unsigned char *config, *meta, *weights;
    size_t size, config_len, meta_len = 0, weights_len;
    tf_graph *g = NULL;
    zip_archive z = {0};
    if (!read_file(r->path, &bytes, &size)) return NULL;
    bool dup;
    if (!zip_open(&z, bytes, size, r->path) ||
        !entry(&z, "config.json", true, KERAS_CONFIG_MAX, &config, &config_len, &config_owned) ||
        !entry(&z, "metadata.json", false, KERAS_METADATA_MAX, &meta, &meta_len, &meta_owned))
        goto done;
    if (!zip_find(&z, "model.weights.h5", &dup) && !dup && zip_find(&z, "model.weights.npz", &dup)) {
        kc_error("%s: weights saved as model.weights.npz are not supported (save with the default h5 format)",
                 r->path);
        goto done;
    }
    if (!entry(&z, "model.weights.h5", true, KERAS_WEIGHTS_MAX, &weights, &weights_len, &weights_owned)) goto done;
    keras_flavor flavor = KERAS_3;
    if (meta) {
        json_doc *doc = json_parse((const char *)meta, meta_len, "metadata.json");
        if (!doc) {
            kc_error_prefix("%s", r->path);
            goto done;
        }
        flavor = flavor_of(json_string(json_get(json_root(doc), "keras_version")));
        json_free(doc);
    }
    /* An in-memory HDF5 file (the core driver, no backing file) from a copy of the entry.
     * (H5LTopen_file_image can read in place but leaks its bookkeeping in HDF5 1.10.) */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 20, 0) >= 0 &&
        H5Pset_file_image(fapl, (void *)weights, weights_len) >= 0)
        r->file = H5Fopen("model.weights.h5", H5F_ACC_RDONLY, fapl);
    close_id(fapl, H5Pclose);
    free(weights_owned);
    weights_owned = NULL;
    if (r->file < 0) {
        h5_fail("%s: model.weights.h5: cannot open as HDF5", r->path);
        goto done;
    }
    r->where = "model.weights.h5: ";
    g = build(r, (const char *)config, config_len, "config.json", flavor, keras_weight);
    H5Fclose(r->file);
done:
    free(config_owned);
    free(meta_owned);
    free(weights_owned);
    zip_close(&z);
    free(bytes);
    return g;
}

static tf_graph *read_in_process(const char *path) {
    reader r = {.path = path, .file = -1, .model_weights = -1, .where = ""};
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        kc_error("%s: cannot open", path);
        return NULL;
    }
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    if (n == 4 && memcmp(magic, "PK\3\4", 4) == 0) return read_keras_zip(&r);
    if (H5Fis_hdf5(path) > 0) return read_h5(&r);
    kc_error("%s: neither an HDF5 file (.h5) nor a zip archive (.keras)", path);
    return NULL;
}

unsigned read_keras_file_limit_ms = 10000;

static int64_t now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* HDF5 1.10 trusts the addresses and sizes a file gives for its heaps and
 * B-trees, and crashes on some damaged files. So a child process reads the
 * file first, as read_in_process does, and reports its error through a pipe;
 * HDF5 reads the same file the same way, so once the child has read it
 * without crashing, this process can. */
static bool probe(const char *path) {
    /* A damaged file can also make HDF5 loop (its global heap, on a zero-sized object): the
     * child gets read_keras_file_limit_ms plus 1 s per 8 MiB, then it is killed. */
    struct stat st;
    int64_t limit = (int64_t)read_keras_file_limit_ms +
                    (stat(path, &st) == 0 && st.st_size > 0 ? ((int64_t)st.st_size >> 23) * 1000 : 0);
    int fds[2];
    if (pipe(fds) != 0) {
        kc_error("%s: cannot create a pipe: %s", path, strerror(errno));
        return false;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        /* A crash here is the file's fault: die by the signal (sanitizers' reports are not wanted). */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        /* Should this process be killed while the child loops, the child still ends. */
        signal(SIGALRM, SIG_DFL);
        alarm((unsigned)(limit / 1000) + 2);
        bool ok = read_in_process(path) != NULL;
        const char *msg = ok ? "" : kc_last_error();
        size_t len = strlen(msg);
        while (len > 0) {
            ssize_t w = write(fds[1], msg, len);
            if (w <= 0) break;
            msg += w, len -= (size_t)w;
        }
        _exit(ok ? 0 : 3);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        kc_error("%s: cannot fork: %s", path, strerror(errno));
        return false;
    }
    /* The child's message until it closes the pipe (exits), or until the deadline. */
    char msg[2048], rest[256];
    size_t len = 0;
    int64_t deadline = now_ms() + limit;
    bool late = false;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int ready = left > 0 ? poll(&pfd, 1, (int)(left < INT32_MAX ? left : INT32_MAX)) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) { /* (poll itself cannot fail here but for lack of memory) */
            late = true;
            kill(pid, SIGKILL);
            break;
        }
        /* Past the buffer the rest is drained, so that the child can finish. */
        bool full = len == sizeof msg - 1;
        ssize_t got = read(fds[0], full ? rest : msg + len, full ? sizeof rest : sizeof msg - 1 - len);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (!full) len += (size_t)got;
    }
    close(fds[0]);
    msg[len] = 0;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            kc_error("%s: waiting for the reading process: %s", path, strerror(errno));
            return false;
        }
    if (late)
        kc_error("%s: the file is damaged: reading it did not finish in %.1f s (the HDF5 library loops on it)", path,
                 (double)limit / 1000);
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 3 && len)
        kc_error("%s", msg);
    else if (WIFSIGNALED(status))
        kc_error("%s: the file is damaged: reading it crashed the HDF5 library (signal %d)", path, WTERMSIG(status));
    else
        kc_error("%s: the file is damaged: reading it stopped the reading process (exit status %d)", path,
                 WEXITSTATUS(status));
    return false;
}

tf_graph *read_keras_file(const char *path) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors come back as messages, not prints */
    return probe(path) ? read_in_process(path) : NULL;
}
