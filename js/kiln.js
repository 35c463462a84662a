// Kiln for JavaScript: loads kiln.wasm and runs .kiln bundles in Node (>= 18) and browsers.
// One ES module, no dependencies. The wasm module exports the flat C API of include/kiln.h
// plus kiln_alloc/kiln_free/kiln_wasm_features (wasm/exports.c); this file is the only glue.
// See kiln.d.ts. For a model off the main thread, see worker.js (same API).

export const version = '0.1.0';

/** Any failure reported by the runtime (a kiln_status), a bad feed, or a wasm trap. */
export class KilnError extends Error {
  constructor(message, code, status, options) {
    super(message, options);
    this.name = 'KilnError';
    this.code = code;     // the kiln_status number (1 invalid argument ... 5 runtime error)
    this.status = status; // its kiln_status_name, e.g. 'bad bundle'
  }
}

const INVALID = 1, UNSUPPORTED = 3, OUT_OF_MEMORY = 4, RUNTIME = 5; // kiln_status
const invalid = (msg) => new KilnError(msg, INVALID, 'invalid argument');

// kiln_dtype -> [name, TypedArray]. bool is one byte per element, 0 or 1.
const DTYPES = { 1: ['float32', Float32Array], 2: ['int32', Int32Array], 3: ['uint8', Uint8Array], 4: ['bool', Uint8Array] };
const MAX_RANK = 8; // KILN_MAX_RANK

const isNode = typeof process === 'object' && !!process.versions?.node;
const utf8 = new TextDecoder();
const fmt = (shape) => `[${shape.join(',')}]`;

// A tiny module using i8x16.splat and i8x16.popcnt: valid only where SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/** Which WebAssembly features this engine has that a kiln.wasm build can use. */
export function wasmFeatures() {
  return { simd: WebAssembly.validate(SIMD_PROBE) };
}

// The best build this engine runs. Each URL is written out in full so that bundlers
// (webpack 5, Vite, esbuild, Parcel) see `new URL('...', import.meta.url)` and ship the file.
const defaultWasm = () => (wasmFeatures().simd ? new URL('./kiln.wasm', import.meta.url) : new URL('./kiln-scalar.wasm', import.meta.url));

// ---- Getting bytes -------------------------------------------------------------------

const isBytes = (x) => x instanceof ArrayBuffer || ArrayBuffer.isView(x);
const isResponse = (x) => typeof Response === 'function' && x instanceof Response;
const asU8 = (x) => (ArrayBuffer.isView(x) ? new Uint8Array(x.buffer, x.byteOffset, x.byteLength) : new Uint8Array(x));

// Where SRC is: a local file path (Node: a path or file: URL) or a URL to fetch.
function locate(src) {
  if (isNode) {
    const url = src instanceof URL ? src : /^(https?|file|data|blob):/i.test(src) ? new URL(src) : null;
    if (!url || url.protocol === 'file:') return { file: url || src };
    return { url };
  }
  return { url: src };
}

async function get(url) {
  return checkResponse(await fetch(url), url);
}

function checkResponse(res, src) {
  if (!res.ok) throw new Error(`kiln: fetching ${res.url || src} failed: HTTP ${res.status} ${res.statusText}`);
  return res;
}

// Node's fs, imported only when needed: the same file must load in browsers.
const nodeFs = () => Promise.all([import('node:fs/promises'), import('node:url')])
  .then(([fs, url]) => ({ fs, path: (f) => (f instanceof URL ? url.fileURLToPath(f) : f) }));

// A bundle source, opened but not read: {bytes} or {file} (Node) or {response}.
async function openBundle(model) {
  if (isBytes(model)) return { bytes: asU8(model) };
  if (isResponse(model)) return { response: checkResponse(model, model.url) };
  if (typeof model === 'string' || model instanceof URL) {
    const { file, url } = locate(model);
    return file !== undefined ? { file } : { response: await get(url) };
  }
  throw new TypeError('kiln.load: model must be a URL, a file path, an ArrayBuffer, a Uint8Array or a Response');
}

// Compiled wasm per location (a Promise, so concurrent loads compile once).
const compiled = new Map();

function wasmModule(src = defaultWasm()) {
  if (src instanceof WebAssembly.Module) return src;
  if (isBytes(src)) return WebAssembly.compile(src);
  const key = String(src);
  if (!compiled.has(key)) {
    const { file, url } = locate(src);
    const p = file !== undefined
      ? nodeFs().then(({ fs, path }) => fs.readFile(path(file))).then((b) => WebAssembly.compile(b))
      : get(url).then((r) => {
        // Streaming compilation (compiling while downloading) insists on the right MIME type;
        // servers that lack it get the fallback: download, then compile.
        if (WebAssembly.compileStreaming && /^application\/wasm\b/i.test(r.headers.get('content-type') || ''))
          return WebAssembly.compileStreaming(r);
        return r.arrayBuffer().then((b) => WebAssembly.compile(b));
      });
    p.catch(() => compiled.delete(key)); // a failed fetch may succeed next time
    compiled.set(key, p);
  }
  return compiled.get(key);
}

// ---- Loading -------------------------------------------------------------------------

/** Loads a .kiln bundle into its own instance of kiln.wasm. */
export async function load(model, options = {}) {
  // The bundle's download starts while the wasm compiles; its body is read afterwards,
  // straight into the instance's memory.
  const [source, module] = await Promise.all([openBundle(model), wasmModule(options.wasm)]);
  // One instance per model: models never share memory, and a trap poisons only one.
  const instance = await WebAssembly.instantiate(module, { env: { emscripten_notify_memory_growth() {} } });
  return Model.create(instance.exports, source, options.onProgress);
}

class Model {
  #x; #scratch; #bundle; #model; #ctx; #in; #out;
  #dead = null; // why this model can no longer be used, once it cannot

  // Reads the bundle into wasm memory (one copy; the model points into it until dispose),
  // then loads it. On any failure the instance is simply dropped, so nothing needs freeing.
  static async create(exports, source, onProgress) {
    const m = new Model();
    m.#x = exports;
    if (exports._initialize) m.#call('_initialize'); // Emscripten's static constructors
    // Scratch: 4 bytes for out-pointers (kiln_model **, kiln_context **), then the input dims.
    m.#scratch = m.#alloc(4 + 4 * MAX_RANK);
    m.build = m.#call('kiln_wasm_features') & 1 ? 'simd128' : 'scalar';
    const progress = (loaded, total) => onProgress?.(loaded, total);
    let size;
    if (source.bytes) {
      size = source.bytes.byteLength;
      m.#bundle = m.#alloc(size);
      m.#u8().set(source.bytes, m.#bundle);
      progress(size, size);
    } else if (source.file !== undefined) {
      size = await m.#readFile(source.file, progress);
    } else {
      size = await m.#readResponse(source.response, progress);
    }
    m.#open(size);
    return m;
  }

  #open(size) {
    this.#check(this.#call('kiln_model_load', this.#bundle, size, this.#scratch));
    this.#model = this.#u32(this.#scratch);
    this.#check(this.#call('kiln_context_create', this.#model, this.#scratch));
    this.#ctx = this.#u32(this.#scratch);
    this.#in = this.#describe('kiln_model_num_inputs', 'kiln_model_input');
    this.#out = this.#describe('kiln_model_num_outputs', 'kiln_model_output');
    const pub = ({ name, dtype, shape }) => Object.freeze({ name, dtype, shape: Object.freeze([...shape]) });
    this.inputs = Object.freeze(this.#in.map(pub));
    this.outputs = Object.freeze(this.#out.map(pub));
  }

  // Node: file -> wasm memory with fs reads straight into it. Returns the size read.
  async #readFile(file, progress) {
    const { fs, path } = await nodeFs();
    const fh = await fs.open(path(file), 'r');
    try {
      const total = (await fh.stat()).size;
      this.#bundle = this.#alloc(total);
      // No wasm call happens until the reads end, so memory cannot grow under this view.
      const dst = this.#u8().subarray(this.#bundle, this.#bundle + total);
      let loaded = 0;
      do {
        const { bytesRead } = await fh.read(dst, loaded, Math.min(total - loaded, 1 << 22), loaded);
        if (!bytesRead) break; // the file shrank: the loader will say it is truncated
        loaded += bytesRead;
        progress(loaded, total);
      } while (loaded < total);
      if (!total) progress(0, 0);
      return loaded;
    } finally {
      await fh.close();
    }
  }

  // HTTP: with a Content-Length (of the bytes themselves, not of a compressed encoding), the
  // body streams straight into a wasm allocation of that size; else its chunks are gathered
  // and copied in once at the end.
  async #readResponse(res, progress) {
    const encoding = res.headers.get('content-encoding');
    const length = res.headers.get('content-length');
    const total = length !== null && /^\d+$/.test(length) && (!encoding || encoding === 'identity') ? Number(length) : undefined;
    let loaded = 0, dst = null;
    const chunks = [];
    if (total !== undefined) {
      this.#bundle = this.#alloc(total);
      dst = this.#u8().subarray(this.#bundle, this.#bundle + total); // valid until the next wasm call
    }
    const reader = res.body?.getReader(); // no body (e.g. HTTP 204): an empty bundle
    for (let r; reader && !(r = await reader.read()).done;) {
      const chunk = r.value;
      if (dst) {
        if (loaded + chunk.byteLength > total) {
          await reader.cancel();
          throw new Error(`kiln: ${res.url || 'the response'} is longer than its Content-Length (${total} bytes)`);
        }
        dst.set(chunk, loaded);
      } else {
        chunks.push(chunk);
      }
      loaded += chunk.byteLength;
      progress(loaded, total);
    }
    if (!dst) {
      this.#bundle = this.#alloc(loaded);
      const mem = this.#u8();
      let at = this.#bundle;
      for (const c of chunks) mem.set(c, at), at += c.byteLength;
    }
    if (!loaded) progress(0, total);
    return loaded;
  }

  /** Runs the model once; see kiln.d.ts. */
  async run(feeds) {
    this.#live();
    if (feeds === null || typeof feeds !== 'object') throw invalid('run(feeds) needs an object of input name -> data');
    const names = this.#in.map((t) => t.name);
    for (const name of Object.keys(feeds))
      if (!names.includes(name)) throw invalid(`unknown input '${name}' (the model's inputs: ${names.map((n) => `'${n}'`).join(', ')})`);
    this.#in.forEach((t, i) => {
      if (!Object.hasOwn(feeds, t.name)) throw invalid(`missing input '${t.name}' (${t.dtype} ${fmt(t.shape)})`);
      const data = feedData(t, feeds[t.name]);
      // Write straight into the arena, then let the C side check dtype, shape and size; it
      // skips its copy since data == kiln_input_buffer.
      const ptr = this.#ptr(this.#call('kiln_input_buffer', this.#ctx, i));
      const dims = this.#scratch + 4;
      const mem = this.#x.memory.buffer;
      new Uint8Array(mem).set(asU8(data), ptr);
      const view = new DataView(mem);
      t.shape.forEach((d, k) => view.setInt32(dims + 4 * k, d, true));
      this.#check(this.#call('kiln_set_input', this.#ctx, i, t.code, dims, t.shape.length, ptr, data.byteLength));
    });
    this.#check(this.#call('kiln_run', this.#ctx));
    const result = {};
    this.#out.forEach((t, i) => {
      const d = this.#ptr(this.#call('kiln_context_output', this.#ctx, i));
      const o = this.#tensor(d);
      const ptr = this.#ptr(this.#call('kiln_tensor_data', d));
      const size = this.#call('kiln_tensor_size', d) >>> 0;
      // Copy out: the arena is reused by the next run.
      result[t.name] = { data: new o.Array(this.#x.memory.buffer.slice(ptr, ptr + size)), shape: o.shape, dtype: o.dtype };
    });
    return result;
  }

  /** Frees the context, the model and the bundle's memory. Calling it again does nothing. */
  dispose() {
    if (!this.#dead) {
      this.#call('kiln_context_free', this.#ctx);
      this.#call('kiln_model_free', this.#model);
      this.#call('kiln_free', this.#bundle);
      this.#call('kiln_free', this.#scratch);
    }
    this.#dead = 'this model has been disposed';
    this.#x = null; // let the instance and its memory be collected
  }

  #live() {
    if (this.#dead) throw invalid(this.#dead);
  }

  // Calls a wasm export. A trap (or stack overflow) must never reach the user as such: it
  // becomes a KilnError, and the instance, whose state is now unknown, is retired.
  #call(name, ...args) {
    const f = this.#x[name];
    if (!f) throw new KilnError(`kiln.wasm has no export ${name} (a mismatched kiln.wasm?)`, UNSUPPORTED, 'unsupported');
    try {
      return f(...args);
    } catch (e) {
      this.#dead = `this model is unusable after an internal error in ${name}; load it again`;
      throw new KilnError(`internal error in ${name} (wasm trap: ${e.message}); please report it`, RUNTIME,
        'runtime error', { cause: e });
    }
  }

  #check(status) {
    if (status === 0) return;
    const message = this.#str(this.#call('kiln_last_error'));
    const name = this.#str(this.#call('kiln_status_name', status));
    throw new KilnError(message || `failed with status ${name}`, status, name);
  }

  #alloc(size) {
    const p = this.#ptr(this.#call('kiln_alloc', size || 1));
    if (!p) throw new KilnError(`out of wasm memory allocating ${size} bytes`, OUT_OF_MEMORY, 'out of memory');
    return p;
  }

  // Views over memory.buffer are made fresh each time: any call into wasm may grow memory.
  #u8() { return new Uint8Array(this.#x.memory.buffer); }
  #u32(p) { return new DataView(this.#x.memory.buffer).getUint32(p, true); }
  #ptr(p) { return p >>> 0; }
  #str(p) {
    const m = this.#u8();
    const end = m.indexOf(0, p);
    return utf8.decode(m.subarray(p, end < 0 ? m.length : end));
  }

  // name, dtype, shape (and the dtype code and TypedArray) of a kiln_tensor_desc *.
  #tensor(d) {
    const code = this.#call('kiln_tensor_dtype', d);
    if (!DTYPES[code]) throw new KilnError(`tensor has dtype ${code}, unknown to kiln.js`, UNSUPPORTED, 'unsupported');
    const rank = this.#call('kiln_tensor_rank', d);
    const dims = this.#ptr(this.#call('kiln_tensor_dims', d));
    const name = this.#str(this.#call('kiln_tensor_name', d));
    const view = new DataView(this.#x.memory.buffer);
    const shape = Array.from({ length: rank }, (_, k) => view.getInt32(dims + 4 * k, true));
    return { name, code, dtype: DTYPES[code][0], Array: DTYPES[code][1], shape };
  }

  #describe(count, get) {
    const n = this.#call(count, this.#model);
    return Array.from({ length: n }, (_, i) => this.#tensor(this.#ptr(this.#call(get, this.#model, i))));
  }
}

// The feed for input `t` as a TypedArray of t's dtype and element count, or an Error that says
// which input, what was expected and what was given.
function feedData(t, feed) {
  const what = `input '${t.name}'`;
  let data = feed, shape = t.shape;
  if (!ArrayBuffer.isView(feed) && !Array.isArray(feed)) {
    if (typeof feed !== 'object' || feed.data === undefined)
      throw invalid(`${what}: expected a ${t.Array.name}, an Array or {data, shape}, got ${typeof feed}`);
    ({ data, shape } = feed);
    if (!Array.isArray(shape) || shape.length !== t.shape.length || shape.some((d, k) => d !== t.shape[k]))
      throw invalid(`${what}: expected shape ${fmt(t.shape)}, got ${Array.isArray(shape) ? fmt(shape) : String(shape)}`);
  }
  if (Array.isArray(data)) {
    const bad = data.findIndex((v) => typeof v !== 'number' && typeof v !== 'boolean');
    if (bad >= 0) throw invalid(`${what}: element ${bad} is ${typeof data[bad]}, expected a number`);
    data = t.Array.from(data, Number);
  } else if (!(data instanceof t.Array || (t.dtype === 'uint8' && data instanceof Uint8ClampedArray))) {
    throw invalid(`${what}: dtype ${t.dtype} needs a ${t.Array.name}, got ${data?.constructor?.name ?? typeof data}`);
  }
  const count = t.shape.reduce((a, b) => a * b, 1);
  if (data.length !== count)
    throw invalid(`${what}: expected ${count} elements (shape ${fmt(t.shape)}), got ${data.length}`);
  return data;
}
