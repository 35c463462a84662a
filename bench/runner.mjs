// Measures one runtime on one model in this process, then exits:
//   node bench/runner.mjs RUNTIME MODEL INPUT_DIR OUT_DIR RUNS
// RUNTIME: kiln-wasm (MODEL.kiln), tfjs-wasm (model.json: a graph or a layers model), ort-web or
// ort-node (MODEL.onnx).
// INPUT_DIR holds inputs.json ([{name, dtype, shape, file}]) and the inputs as .npy, written by
// bench.mjs, so every runtime sees the same bytes. Prints one JSON line
//   {loadMs, firstMs, times, info}
// and writes the first run's outputs to OUT_DIR/<name>.npy.
// "load" starts with the model's bytes in memory and ends when it can run: it includes
// compiling the runtime's wasm. Each timed run includes getting the outputs as JS arrays.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileIOHandler, isGraphModel, readNpy, safeName, writeNpy } from './common.mjs';

const [runtime, modelPath, inputDir, outDir, runsArg] = process.argv.slice(2);
if (!runsArg) {
  console.error('usage: node bench/runner.mjs RUNTIME MODEL INPUT_DIR OUT_DIR RUNS');
  process.exit(2);
}
const specs = JSON.parse(fs.readFileSync(path.join(inputDir, 'inputs.json'), 'utf8'))
  .map((s) => ({ ...s, data: readNpy(path.join(inputDir, s.file)).data }));

// Each runtime: load() -> {run: async () => {name: {data, shape, dtype}}, info}
const RUNTIMES = {
  async 'kiln-wasm'() {
    const { load } = await import('../js/kiln.js');
    const bytes = fs.readFileSync(modelPath);
    const wasm = fs.readFileSync(new URL('../js/kiln.wasm', import.meta.url));
    return async () => {
      const model = await load(bytes, { wasm });
      const feeds = Object.fromEntries(specs.map((s) => [s.name, s.data]));
      return { run: () => model.run(feeds), info: 'js/kiln.js, SIMD128, 1 thread' };
    };
  },

  async 'tfjs-wasm'() {
    const tf = await import('@tensorflow/tfjs');
    const wasmBackend = await import('@tensorflow/tfjs-backend-wasm');
    tf.enableProdMode();
    wasmBackend.setThreadsCount(1);
    const artifacts = await fileIOHandler(modelPath).load();
    const graph = isGraphModel(artifacts);
    return async () => {
      if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend did not initialize');
      const feed = Object.fromEntries(specs.map((s) =>
        [s.name, tf.tensor(s.dtype === 'uint8' ? Int32Array.from(s.data) : s.data, s.shape, s.dtype === 'uint8' ? 'int32' : s.dtype)]));
      if (!graph) return layersModel(tf, await tf.loadLayersModel({ load: async () => artifacts }), feed, wasmBackend);
      const model = await tf.loadGraphModel({ load: async () => artifacts });
      const names = model.outputs.map((o) => o.name);
      // execute() is tfjs' fast synchronous path; models with dynamic ops need executeAsync().
      let sync = true;
      const run = async () => {
        let r;
        if (sync) {
          try { r = model.execute(feed, names); } catch (e) {
            if (!/executeAsync|dynamic/i.test(e.message)) throw e;
            sync = false;
          }
        }
        if (!sync) r = await model.executeAsync(feed, names);
        return fetchOutputs(tf, r, names);
      };
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      return { run, info: () => `SIMD ${simd}, ${wasmBackend.getThreadsCount()} thread(s), ${sync ? 'execute' : 'executeAsync'}` };
    };
  },

  async 'ort-web'() {
    const ort = await import('onnxruntime-web');
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.simd = true;
    ort.env.wasm.proxy = false;
    return ortSession(ort, {}, `wasm, SIMD, numThreads=1`);
  },

  async 'ort-node'() {
    const ort = await import('onnxruntime-node');
    return ortSession(ort, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' },
      'CPU, intraOp 1, interOp 1, sequential');
  },
};

// tfjs' output tensor(s) as {name: {data, shape, dtype}}; the tensors are disposed.
function fetchOutputs(tf, r, names) {
  const out = {};
  (Array.isArray(r) ? r : [r]).forEach((t, k) => { out[names[k]] = { data: t.dataSync(), shape: t.shape, dtype: t.dtype }; });
  tf.dispose(r);
  return out;
}

// A tfjs layers model: predict() on the inputs in the model's order; each output is named after
// its layer, as kiln-convert names a layers model's outputs.
async function layersModel(tf, model, feed, wasmBackend) {
  const inputs = model.inputs.map((i) => {
    if (!feed[i.name]) throw new Error(`the layers model's input ${i.name} is not among the inputs (${Object.keys(feed).join(', ')})`);
    return feed[i.name];
  });
  const names = model.outputs.map((o) => o.sourceLayer.name);
  const run = async () => fetchOutputs(tf, model.predict(inputs.length === 1 ? inputs[0] : inputs), names);
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { run, info: `SIMD ${simd}, ${wasmBackend.getThreadsCount()} thread(s), predict` };
}

async function ortSession(ort, options, info) {
  const bytes = fs.readFileSync(modelPath);
  return async () => {
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', ...options });
    const feeds = Object.fromEntries(specs.map((s) => [s.name, new ort.Tensor(s.dtype, s.data, s.shape)]));
    const run = async () => {
      const r = await session.run(feeds);
      const out = {};
      for (const [name, t] of Object.entries(r)) out[name.replace(/^out:/, '')] = { data: t.data, shape: t.dims, dtype: t.type };
      return out;
    };
    return { run, info: `${info}, graph optimization all` };
  };
}

if (!RUNTIMES[runtime]) {
  console.error(`runner: unknown runtime ${runtime} (${Object.keys(RUNTIMES).join(', ')})`);
  process.exit(2);
}
try {
  const prepare = await RUNTIMES[runtime]();
  let t0 = performance.now();
  const { run, info } = await prepare();
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  const first = await run();
  const firstMs = performance.now() - t0;
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, o] of Object.entries(first)) {
    const int64 = o.dtype === 'int64'; // ONNX Runtime's; Kiln narrows int64 to int32
    writeNpy(path.join(outDir, `${safeName(name)}.npy`), int64 ? Int32Array.from(o.data, Number) : o.data,
      o.shape.map(Number), int64 ? 'int32' : o.dtype);
  }
  const times = [];
  for (let i = 0; i < Number(runsArg); i++) {
    t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ loadMs, firstMs, times, info: typeof info === 'function' ? info() : info }));
} catch (e) {
  console.error(`runner: ${runtime}: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
