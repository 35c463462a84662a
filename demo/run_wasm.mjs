// Runs a .kiln bundle in WebAssembly through Kiln's JS API (js/kiln.js) on the same seeded
// input kiln-run --seeded uses, and prints its outputs and timings.
//   node demo/run_wasm.mjs MODEL.kiln [RUNS]
import { performance } from 'node:perf_hooks';
import { load } from '../js/kiln.js';

const [file, runsArg = '20'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node demo/run_wasm.mjs MODEL.kiln [RUNS]');
  process.exit(2);
}

// xorshift32, seed 0x12345678 + input index: the generator kiln-run and the tests share.
function seeded(n, dtype, seed) {
  const out = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const u = (x >>> 8) / 16777216;
    out[i] = dtype === 'float32' ? u : dtype === 'bool' ? Math.floor(2 * u) : Math.floor(256 * u);
  }
  return out;
}

let t0 = performance.now();
const model = await load(file);
const loadMs = performance.now() - t0;
const feeds = Object.fromEntries(model.inputs.map((i, k) =>
  [i.name, seeded(i.shape.reduce((a, b) => a * b, 1), i.dtype, 0x12345678 + k)]));
t0 = performance.now();
const outputs = await model.run(feeds);
const firstMs = performance.now() - t0;
console.log(`load ${loadMs.toFixed(3)} ms, first run ${firstMs.toFixed(3)} ms`);
for (const [name, o] of Object.entries(outputs)) {
  const head = Array.from(o.data.slice(0, 8), (v) => Number(v.toPrecision(6))).join(' ');
  console.log(`output ${name} ${o.dtype}[${o.shape}] = ${head}${o.data.length > 8 ? ` ... (${o.data.length} values)` : ''}`);
}
const times = [];
for (let i = 0; i < Number(runsArg); i++) {
  t0 = performance.now();
  await model.run(feeds);
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
if (times.length) {
  console.log(`bench: ${times.length} runs, median ${times[times.length >> 1].toFixed(3)} ms, min ${times[0].toFixed(3)} ms`);
}
model.dispose();
