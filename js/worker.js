// Kiln off the main thread: the API of kiln.js (load, then run and dispose on the model), with
// each model in its own Worker (a Web Worker in browsers, a worker_threads Worker in Node)
// running worker-thread.js. Outputs come back transferred, not copied; inputs and bundle bytes
// too when asked ({transfer: true}). See kiln.d.ts.
import { KilnError } from './kiln.js';

export { KilnError, version, wasmFeatures } from './kiln.js';

const isNode = typeof process === 'object' && !!process.versions?.node;
const isBytes = (x) => x instanceof ArrayBuffer || ArrayBuffer.isView(x);

// A relative URL means relative to the page, not to the worker's script.
function resolve(src) {
  if (src instanceof URL) return src.href;
  if (typeof src === 'string' && !isNode && globalThis.location) return new URL(src, globalThis.location.href).href;
  return src;
}

// The ArrayBuffers behind these values, each once.
const buffers = (values) => [...new Set(values.filter(isBytes).map((v) => (ArrayBuffer.isView(v) ? v.buffer : v)))];

// Rebuilds an error sent by the worker as what kiln.js would have thrown.
function revive(e) {
  if (e.name === 'KilnError') return new KilnError(e.message, e.code, e.status);
  return new (e.name === 'TypeError' ? TypeError : Error)(e.message);
}

// One Worker and the calls waiting for its answers.
class Channel {
  #worker; #calls = new Map(); #next = 0; #dead = null;

  async open() {
    const url = new URL('./worker-thread.js', import.meta.url);
    if (isNode) {
      const { Worker } = await import('node:worker_threads');
      this.#worker = new Worker(url);
      this.#worker.on('message', (m) => this.#answer(m));
      this.#worker.on('error', (e) => this.#fail(e));
      this.#worker.on('exit', () => this.#fail(new Error('kiln: the model\'s worker exited')));
      this.#worker.unref(); // an idle model must not keep Node running
    } else {
      this.#worker = new Worker(url, { type: 'module' });
      this.#worker.addEventListener('message', (e) => this.#answer(e.data));
      this.#worker.addEventListener('error', (e) => this.#fail(new Error(`kiln: the model's worker failed: ${e.message}`)));
    }
  }

  // Sends one request; resolves with the worker's result. onProgress gets progress messages.
  call(op, args, transfer = [], onProgress) {
    if (this.#dead) return Promise.reject(new KilnError(this.#dead, 1, 'invalid argument'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      if (isNode && !this.#calls.size) this.#worker.ref();
      this.#calls.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, op, args }, transfer);
    });
  }

  #answer({ id, result, error, progress }) {
    const c = this.#calls.get(id);
    if (!c) return;
    if (progress) return c.onProgress?.(...progress);
    this.#calls.delete(id);
    if (isNode && !this.#calls.size) this.#worker.unref();
    if (error) c.reject(revive(error));
    else c.resolve(result);
  }

  #fail(e) {
    this.#dead ??= `this model's worker is gone (${e.message})`;
    for (const c of this.#calls.values()) c.reject(e);
    this.#calls.clear();
  }

  close(why) {
    this.#dead = why;
    this.#worker.terminate();
    this.#fail(new KilnError(why, 1, 'invalid argument'));
  }
}

/**
 * Loads a .kiln bundle into a new Worker. Takes what kiln.js' load takes (a Response is read
 * here, then moved to the worker), plus options.transfer to move bundle bytes instead of
 * copying them.
 */
export async function load(model, options = {}) {
  const { onProgress, transfer = false, wasm } = options;
  let src = resolve(model), moved = [];
  if (typeof Response === 'function' && model instanceof Response) {
    if (!model.ok) throw new Error(`kiln: fetching ${model.url} failed: HTTP ${model.status} ${model.statusText}`);
    src = await model.arrayBuffer(); // ours alone: always moved
    moved = [src];
  } else if (isBytes(model) && transfer) {
    moved = buffers([model]);
  }
  const channel = new Channel();
  await channel.open();
  try {
    const info = await channel.call('load', { model: src, wasm: resolve(wasm), progress: !!onProgress }, moved, onProgress);
    return new WorkerModel(channel, info);
  } catch (e) {
    channel.close('this model failed to load');
    throw e;
  }
}

class WorkerModel {
  #channel;

  constructor(channel, { inputs, outputs, build }) {
    this.#channel = channel;
    const freeze = (ts) => Object.freeze(ts.map((t) => Object.freeze({ ...t, shape: Object.freeze(t.shape) })));
    this.inputs = freeze(inputs);
    this.outputs = freeze(outputs);
    this.build = build;
  }

  /** Runs the model once in its worker; see kiln.d.ts. */
  run(feeds, { transfer = false } = {}) {
    const moved = transfer && feeds && typeof feeds === 'object'
      ? buffers(Object.values(feeds).map((f) => (f && !isBytes(f) && typeof f === 'object' ? f.data : f)))
      : [];
    return this.#channel.call('run', { feeds }, moved);
  }

  /** Ends the worker, and with it everything the model held. Calling it again does nothing. */
  dispose() {
    this.#channel.close('this model has been disposed');
  }
}
