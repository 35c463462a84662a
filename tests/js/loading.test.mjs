// How js/kiln.js gets a bundle into wasm memory: streamed from HTTP with and without a
// Content-Length (and compressed), read from a file in chunks, or given as bytes, with
// onProgress; the wasm build chosen; the same through kiln/worker (js/worker.js).
//   node --test tests/js/loading.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { kilnBin } from '../tools/common.mjs';
import { load, wasmFeatures, KilnError } from '../../js/kiln.js';
import { load as loadInWorker } from '../../js/worker.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-loading-'));

// out = x + c, x: float32[1,N], c = 0, 1, 2, ...: N is large enough for several HTTP chunks.
const N = 300000;
function addModel() {
  const shape = { dim: [{ size: '1' }, { size: String(N) }] };
  fs.writeFileSync(path.join(work, 'c.bin'), new Uint8Array(Float32Array.from({ length: N }, (_, i) => i).buffer));
  fs.writeFileSync(path.join(work, 'model.json'), JSON.stringify({
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape } } },
        { name: 'c', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: shape } } } },
        { name: 'out', op: 'AddV2', input: ['x', 'c'], attr: { T: { type: 'DT_FLOAT' } } },
      ],
    },
    weightsManifest: [{ paths: ['c.bin'], weights: [{ name: 'c', shape: [1, N], dtype: 'float32' }] }],
  }));
  const bundle = path.join(work, 'add.kiln');
  execFileSync(kilnBin('kiln-convert'), [path.join(work, 'model.json'), '-o', bundle, '-q']);
  return bundle;
}

let bundle, bytes, server, base;
before(async () => {
  bundle = addModel();
  bytes = fs.readFileSync(bundle);
  // /len: with Content-Length; /chunked: without; /gzip: compressed (its Content-Length is not
  // the bundle's); /short: a Content-Length beyond the body, cut off.
  server = http.createServer((req, res) => {
    const send = (headers, body) => res.writeHead(200, { 'content-type': 'application/octet-stream', ...headers }).end(body);
    if (req.url === '/len') send({ 'content-length': bytes.length }, bytes);
    else if (req.url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < bytes.length; i += 65536) res.write(bytes.subarray(i, i + 65536));
      res.end();
    } else if (req.url === '/gzip') {
      const z = zlib.gzipSync(bytes);
      send({ 'content-encoding': 'gzip', 'content-length': z.length }, z);
    } else if (req.url === '/short') {
      res.writeHead(200, { 'content-length': bytes.length });
      res.write(bytes.subarray(0, 1000), () => res.destroy());
    } else res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => {
  server.close();
  fs.rmSync(work, { recursive: true, force: true });
});

async function check(model) {
  const x = Float32Array.from({ length: N }, (_, i) => -i + 0.5);
  const { out } = await model.run({ x });
  assert.ok(out.data.every((v) => v === 0.5));
  model.dispose();
}

// Loads SRC with onProgress; returns the calls.
async function progressOf(src, loader = load) {
  const calls = [];
  await check(await loader(src, { onProgress: (loaded, total) => calls.push([loaded, total]) }));
  return calls;
}

function assertProgress(calls, total) {
  assert.ok(calls.length >= 1);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] > calls[i - 1][0], 'loaded grows');
  assert.ok(calls.every(([, t]) => t === total), `total is ${total} throughout: ${JSON.stringify(calls)}`);
  assert.equal(calls.at(-1)[0], bytes.length);
}

test('HTTP with a Content-Length: streamed in, progress of a known total', async () => {
  const calls = await progressOf(`${base}/len`);
  assertProgress(calls, bytes.length);
  assert.ok(calls.length > 1, 'several chunks');
});

test('HTTP without a Content-Length, and compressed: progress of an unknown total', async () => {
  assertProgress(await progressOf(`${base}/chunked`), undefined);
  assertProgress(await progressOf(`${base}/gzip`), undefined);
  assertProgress(await progressOf(await fetch(`${base}/chunked`)), undefined);
});

test('HTTP cut short: an error, no model', async () => {
  await assert.rejects(load(`${base}/short`), (e) => e instanceof KilnError ? /truncated/.test(e.message) : e instanceof TypeError);
  await assert.rejects(load(`${base}/nope`), /HTTP 404/);
});

test('a file, read in chunks; bytes, once', async () => {
  assertProgress(await progressOf(bundle), bytes.length);
  assert.deepEqual(await progressOf(new Uint8Array(bytes)), [[bytes.length, bytes.length]]);
  await check(await load(bundle)); // onProgress is optional
  const empty = path.join(work, 'empty.kiln');
  fs.writeFileSync(empty, '');
  await assert.rejects(load(empty), (e) => e instanceof KilnError && e.status === 'bad bundle');
});

test('the build: SIMD where the engine has it, scalar on request, same results', async () => {
  assert.equal(wasmFeatures().simd, true);
  const simd = await load(bundle);
  assert.equal(simd.build, 'simd128');
  await check(simd);
  const scalar = await load(bundle, { wasm: path.join(root, 'js/kiln-scalar.wasm') });
  assert.equal(scalar.build, 'scalar');
  await check(scalar);
});

test('kiln/worker: progress, runs, transfer, errors, dispose', async () => {
  assertProgress(await progressOf(`${base}/len`, loadInWorker), bytes.length);
  assertProgress(await progressOf(bundle, loadInWorker), bytes.length);
  const copy = new Uint8Array(bytes);
  const model = await loadInWorker(copy, { transfer: true });
  assert.equal(copy.length, 0, 'the bundle bytes moved');
  assert.deepEqual(model.inputs, [{ name: 'x', dtype: 'float32', shape: [1, N] }]);
  assert.equal(model.build, 'simd128');
  // Several runs queued at once come back in order, each with its own result.
  const xs = [1, 2, 3].map((k) => new Float32Array(N).fill(k));
  const outs = await Promise.all(xs.map((x) => model.run({ x })));
  outs.forEach(({ out }, k) => assert.equal(out.data[N - 1], N - 1 + k + 1));
  assert.equal(xs[0].length, N, 'copied, not moved, by default');
  const x = new Float32Array(N);
  await model.run({ x: { data: x, shape: [1, N] } }, { transfer: true });
  assert.equal(x.length, 0, 'moved');
  await assert.rejects(model.run({ x: new Int32Array(N) }), (e) => e instanceof KilnError && e.status === 'invalid argument' && /Int32Array/.test(e.message));
  await assert.rejects(loadInWorker(new Uint8Array(10)), (e) => e instanceof KilnError && e.status === 'bad bundle');
  const pending = model.run({ x: new Float32Array(N) });
  model.dispose();
  model.dispose();
  await assert.rejects(pending, /disposed/);
  await assert.rejects(model.run({ x: new Float32Array(N) }), (e) => e instanceof KilnError && /disposed/.test(e.message));
});
