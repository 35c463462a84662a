// Prints the size table of docs/SIZES.md: what a web page downloads to run a model with Kiln
// (js/), TensorFlow.js' wasm backend and ONNX Runtime Web, raw, gzip -9 and brotli -11.
//   node demo/sizes.mjs PEERS_NODE_MODULES
// where PEERS_NODE_MODULES has @tensorflow/tfjs-core, -converter, -backend-wasm and
// onnxruntime-web, e.g. after
//   npm install --prefix /tmp/peers @tensorflow/tfjs-backend-wasm@4.22.0 @tensorflow/tfjs-converter@4.22.0 onnxruntime-web@1.30.0
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const peers = process.argv[2];
if (!peers) {
  console.error('usage: node demo/sizes.mjs PEERS_NODE_MODULES');
  process.exit(2);
}

const version = (pkg) => JSON.parse(fs.readFileSync(path.join(peers, pkg, 'package.json'), 'utf8')).version;
const measure = (file) => {
  const b = fs.readFileSync(file);
  return {
    raw: b.length,
    gzip: zlib.gzipSync(b, { level: 9 }).length,
    br: zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
};
const kb = (n) => (n / 1024).toFixed(1);

// What each runtime needs on a page, by file: [label, [files...]].
const tfjs = (f) => path.join(peers, '@tensorflow', f);
const ort = (f) => path.join(peers, 'onnxruntime-web/dist', f);
const kiln = (f) => path.join(root, 'js', f);
const rows = [
  [`Kiln ${JSON.parse(fs.readFileSync(kiln('package.json'), 'utf8')).version}: kiln.js + kiln.wasm (SIMD128)`, [kiln('kiln.js'), kiln('kiln.wasm')]],
  ['  kiln.js', [kiln('kiln.js')]],
  ['  kiln.wasm', [kiln('kiln.wasm')]],
  ['  + kiln/worker (worker.js, worker-thread.js)', [kiln('worker.js'), kiln('worker-thread.js')]],
  ['  kiln-scalar.wasm (instead of kiln.wasm, engines without SIMD)', [kiln('kiln-scalar.wasm')]],
  [`TensorFlow.js ${version('@tensorflow/tfjs-core')} wasm backend: core + converter + backend-wasm + SIMD wasm`,
    [tfjs('tfjs-core/dist/tf-core.fesm.min.js'), tfjs('tfjs-converter/dist/tf-converter.fesm.min.js'),
      tfjs('tfjs-backend-wasm/dist/tf-backend-wasm.fesm.min.js'), tfjs('tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')]],
  ['  of which the wasm', [tfjs('tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')]],
  [`ONNX Runtime Web ${version('onnxruntime-web')}, wasm only: ort.wasm.min.mjs + its loader + wasm`,
    [ort('ort.wasm.min.mjs'), ort('ort-wasm-simd-threaded.mjs'), ort('ort-wasm-simd-threaded.wasm')]],
  ['  of which the wasm', [ort('ort-wasm-simd-threaded.wasm')]],
];

console.log('| what a page downloads | raw KB | gzip KB | brotli KB |');
console.log('|---|---:|---:|---:|');
for (const [label, files] of rows) {
  const s = files.map(measure).reduce((a, b) => ({ raw: a.raw + b.raw, gzip: a.gzip + b.gzip, br: a.br + b.br }));
  console.log(`| ${label.replace(/^ {2}/, '&nbsp;&nbsp;')} | ${kb(s.raw)} | ${kb(s.gzip)} | ${kb(s.br)} |`);
}
