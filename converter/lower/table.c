/* Every TF op Kiln lowers, by family. An op missing here is reported as
 * unsupported at convert time. */
#include <string.h>

#include "lower.h"

extern const struct kc_lowering kc_lowerings_conv[], kc_lowerings_elementwise[], kc_lowerings_shape[],
    kc_lowerings_layout[], kc_lowerings_arrays[], kc_lowerings_index[], kc_lowerings_compute[],
    kc_lowerings_detect[];

static const struct kc_lowering *const families[] = {
    kc_lowerings_conv,   kc_lowerings_elementwise, kc_lowerings_shape,   kc_lowerings_layout,
    kc_lowerings_arrays, kc_lowerings_index,       kc_lowerings_compute, kc_lowerings_detect,
};

kc_lower_fn kc_find_lowering(const char *op) {
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const struct kc_lowering *l = families[f]; l->op; l++)
            if (strcmp(l->op, op) == 0) return l->fn;
    return NULL;
}
