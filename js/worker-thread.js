// The inside of a Kiln worker (see worker.js): holds one model and answers load, run requests
// with {id, result} or {id, error}, and loading progress with {id, progress: [loaded, total]}.
// Outputs are transferred: they are fresh copies nobody else holds.
import { load } from './kiln.js';

const isNode = typeof process === 'object' && !!process.versions?.node;
const port = isNode ? (await import('node:worker_threads')).parentPort : self;

let model = null;

const ops = {
  async load({ model: src, wasm, progress }, id) {
    const onProgress = progress ? (loaded, total) => port.postMessage({ id, progress: [loaded, total] }) : undefined;
    model = await load(src, { wasm, onProgress });
    return [{ inputs: model.inputs, outputs: model.outputs, build: model.build }, []];
  },
  async run({ feeds }) {
    const out = await model.run(feeds);
    return [out, Object.values(out).map((t) => t.data.buffer)];
  },
};

port.addEventListener('message', async ({ data: { id, op, args } }) => {
  try {
    const [result, transfer] = await ops[op](args, id);
    port.postMessage({ id, result }, transfer);
  } catch (e) {
    port.postMessage({ id, error: { name: e?.name, message: e?.message ?? String(e), code: e?.code, status: e?.status } });
  }
});
if (isNode) port.start?.(); // addEventListener alone does not start a Node MessagePort
