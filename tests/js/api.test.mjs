// The JS API (js/kiln.js) on tiny hand-made tfjs graph models, converted by build/kiln-convert.
// Needs the native build (kiln-convert) and js/kiln.wasm: run tests/setup.sh first.
//   node --test tests/js/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { load, KilnError, version, wasmFeatures } from '../../js/kiln.js';
import { kilnBin } from '../tools/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const converter = kilnBin('kiln-convert');
const wasmPath = path.join(root, 'js', 'kiln.wasm');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-api-'));

// ---- Fixtures: tiny tfjs graph models ------------------------------------------------

const shape = (dims) => ({ dim: dims.map((d) => ({ size: String(d) })) });
const placeholder = (name, type, dims) => ({ name, op: 'Placeholder', attr: { dtype: { type }, shape: { shape: shape(dims) } } });
const constant = (name, type, dims) =>
  ({ name, op: 'Const', attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: shape(dims) } } } });

// Writes DIR/model.json and its weights shard, converts it, returns the bundle's path.
function convert(dir, nodes, weights, values) {
  dir = path.join(work, dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(values.buffer));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
    format: 'graph-model',
    modelTopology: { node: nodes },
    weightsManifest: [{ paths: ['w.bin'], weights }],
  }));
  const out = path.join(dir, 'model.kiln');
  execFileSync(converter, [path.join(dir, 'model.json'), '-o', out, '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return out;
}

// out = relu(x · W), x: float32[1,4], W: float32[4,3]. Small dyadic numbers: every result is exact.
const W = [[1, -1, 0.5], [2, 0, -2], [-1, 1, 1], [0.25, 3, -0.5]];
const expected = (x) => [0, 1, 2].map((j) => Math.max(0, x.reduce((s, xi, i) => s + xi * W[i][j], 0)));

let matmulKiln, matmulBytes;
before(() => {
  assert.ok(fs.existsSync(converter), `${converter} is missing: build the native tree first`);
  assert.ok(fs.existsSync(wasmPath), `${wasmPath} is missing: build kiln.wasm and copy it there`);
  matmulKiln = convert('matmul', [
    placeholder('x', 'DT_FLOAT', [1, 4]),
    constant('w', 'DT_FLOAT', [4, 3]),
    { name: 'y', op: 'MatMul', input: ['x', 'w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'out', op: 'Relu', input: ['y'], attr: { T: { type: 'DT_FLOAT' } } },
  ], [{ name: 'w', shape: [4, 3], dtype: 'float32' }], new Float32Array(W.flat()));
  matmulBytes = fs.readFileSync(matmulKiln);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

const X = [1, 2, 3, 4]; // relu([3, 14, -2.5]) = [3, 14, 0]

// Runs the matmul model on X and checks the result.
async function checkMatmul(model, x = X) {
  const { out } = await model.run({ x: new Float32Array(x) });
  assert.ok(out.data instanceof Float32Array);
  assert.deepEqual([...out.data], expected(x));
  assert.deepEqual(out.shape, [1, 3]);
  assert.equal(out.dtype, 'float32');
}

// Asserts that PROMISE rejects with a KilnError whose message matches every regexp in RES.
async function rejectsKiln(promise, status, ...res) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof KilnError, `expected a KilnError, got ${e}`);
    assert.ok(e instanceof Error);
    assert.equal(e.status, status, e.message);
    assert.equal(typeof e.code, 'number');
    for (const re of res) assert.match(e.message, re);
    return true;
  });
}

// ---- Loading -------------------------------------------------------------------------

test('exports', () => {
  assert.equal(version, '0.1.0');
  assert.equal(version, JSON.parse(fs.readFileSync(path.join(root, 'js/package.json'), 'utf8')).version);
  assert.equal(typeof wasmFeatures().simd, 'boolean');
  assert.equal(wasmFeatures().simd, true); // Node 18+ has SIMD128
});

test('load from a file path, a Uint8Array, an ArrayBuffer, a file: URL and a Response', async () => {
  const bytes = new Uint8Array(matmulBytes);
  const sources = {
    path: matmulKiln,
    uint8array: bytes,
    // An unaligned view into a bigger buffer: only its bytes count.
    'uint8array view': new Uint8Array([7, 7, 7, ...bytes, 7]).subarray(3, 3 + bytes.length),
    arraybuffer: bytes.slice().buffer,
    'file: URL': pathToFileURL(matmulKiln),
    'file: URL string': pathToFileURL(matmulKiln).href,
    Response: new Response(bytes),
  };
  for (const [what, src] of Object.entries(sources)) {
    const model = await load(src);
    try {
      await checkMatmul(model);
    } catch (e) {
      e.message = `${what}: ${e.message}`;
      throw e;
    } finally {
      model.dispose();
    }
  }
});

test('options.wasm: a path, bytes, a compiled Module', async () => {
  const bytes = fs.readFileSync(wasmPath);
  for (const wasm of [wasmPath, pathToFileURL(wasmPath), bytes, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length),
    await WebAssembly.compile(bytes)]) {
    const model = await load(matmulBytes, { wasm });
    await checkMatmul(model);
    model.dispose();
  }
  await assert.rejects(load(matmulBytes, { wasm: path.join(work, 'nope.wasm') }), /ENOENT/);
  await assert.rejects(load(42), TypeError);
});

test('load over http (fetch; application/wasm compiles streaming)', async () => {
  const files = { '/m.kiln': [matmulBytes, 'application/octet-stream'], '/kiln.wasm': [fs.readFileSync(wasmPath), 'application/wasm'],
    '/plain.wasm': [fs.readFileSync(wasmPath), 'application/octet-stream'] };
  const server = http.createServer((req, res) => {
    const f = files[req.url];
    res.writeHead(f ? 200 : 404, { 'content-type': f ? f[1] : 'text/plain' }).end(f ? f[0] : 'not found');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    for (const wasm of [`${base}/kiln.wasm`, new URL(`${base}/plain.wasm`)]) {
      const model = await load(`${base}/m.kiln`, { wasm });
      await checkMatmul(model);
      model.dispose();
    }
    const model = await load(await fetch(`${base}/m.kiln`), { wasm: `${base}/kiln.wasm` });
    await checkMatmul(model);
    model.dispose();
    await assert.rejects(load(`${base}/missing.kiln`), /HTTP 404/);
  } finally {
    server.close();
  }
});

test('inputs and outputs metadata', async () => {
  const model = await load(matmulKiln);
  assert.deepEqual(model.inputs, [{ name: 'x', dtype: 'float32', shape: [1, 4] }]);
  assert.deepEqual(model.outputs, [{ name: 'out', dtype: 'float32', shape: [1, 3] }]);
  assert.ok(Array.isArray(model.inputs[0].shape));
  model.dispose();
});

// ---- Running -------------------------------------------------------------------------

test('run with a TypedArray, {data, shape} and a plain Array; twice gives the same', async () => {
  const model = await load(matmulKiln);
  const a = await model.run({ x: new Float32Array(X) });
  const b = await model.run({ x: { data: new Float32Array(X), shape: [1, 4] } });
  const c = await model.run({ x: X });
  const d = await model.run({ x: { data: X, shape: [1, 4] } });
  for (const r of [a, b, c, d]) {
    assert.deepEqual(Object.keys(r), ['out']);
    assert.deepEqual([...r.out.data], [3, 14, 0]);
    assert.deepEqual(r.out.shape, [1, 3]);
  }
  // Outputs are copies: a later run does not change an earlier result.
  await checkMatmul(model, [-1, 0.5, 2, -4]);
  assert.deepEqual([...a.out.data], [3, 14, 0]);
  await checkMatmul(model);
  model.dispose();
});

test('two models loaded at once stay independent', async () => {
  const [m1, m2] = await Promise.all([load(matmulKiln), load(matmulBytes)]);
  const x2 = [0.5, -0.25, 1, 2];
  const [r1, r2] = await Promise.all([m1.run({ x: X }), m2.run({ x: x2 })]);
  assert.deepEqual([...r1.out.data], expected(X));
  assert.deepEqual([...r2.out.data], expected(x2));
  m1.dispose();
  await checkMatmul(m2, x2); // m2 survives m1's dispose
  m2.dispose();
});

test('an int32 model', async (t) => {
  let bundle;
  try {
    bundle = convert('int32', [
      placeholder('n', 'DT_INT32', [2, 4]),
      constant('c', 'DT_INT32', [4]),
      { name: 'sum', op: 'AddV2', input: ['n', 'c'], attr: { T: { type: 'DT_INT32' } } },
    ], [{ name: 'c', shape: [4], dtype: 'int32' }], new Int32Array([10, -20, 30, 2147483647]));
  } catch (e) {
    t.skip(`kiln-convert does not take it: ${e.stderr || e.message}`);
    return;
  }
  const model = await load(bundle);
  assert.deepEqual(model.inputs, [{ name: 'n', dtype: 'int32', shape: [2, 4] }]);
  const { sum } = await model.run({ n: new Int32Array([1, 2, 3, 4, 5, 6, 7, 1]) });
  assert.ok(sum.data instanceof Int32Array);
  // int32 wraps like TensorFlow's.
  assert.deepEqual([...sum.data], [11, -18, 33, -2147483645, 15, -14, 37, -2147483648]);
  await rejectsKiln(model.run({ n: new Float32Array(8) }), 'invalid argument', /'n'/, /int32/, /Int32Array/, /Float32Array/);
  model.dispose();
});

// ---- Errors --------------------------------------------------------------------------

test('a truncated bundle', async () => {
  const bytes = new Uint8Array(matmulBytes);
  await rejectsKiln(load(bytes.slice(0, bytes.length - 16)), 'bad bundle', /truncated/,
    new RegExp(`${bytes.length}\\b`), new RegExp(`${bytes.length - 16}\\b`));
  await rejectsKiln(load(bytes.slice(0, 10)), 'bad bundle', /header/);
  await rejectsKiln(load(new Uint8Array(0)), 'bad bundle');
});

test('a corrupted byte', async () => {
  const bytes = new Uint8Array(matmulBytes);
  bytes[bytes.length - 20] ^= 0x40;
  await rejectsKiln(load(bytes), 'bad bundle', /checksum/);
  const e = await load(bytes).catch((err) => err);
  assert.equal(e.code, 2);
  assert.equal(e.name, 'KilnError');
});

test('bad feeds name the input, the expected and the got', async () => {
  const model = await load(matmulKiln);
  const f = new Float32Array(X);
  await rejectsKiln(model.run({ x: f, y: f }), 'invalid argument', /unknown input 'y'/, /'x'/);
  await rejectsKiln(model.run({}), 'invalid argument', /missing input 'x'/, /float32/, /\[1,4\]/);
  await rejectsKiln(model.run({ x: new Int32Array(4) }), 'invalid argument', /'x'/, /Float32Array/, /Int32Array/);
  await rejectsKiln(model.run({ x: { data: f, shape: [2, 2] } }), 'invalid argument', /'x'/, /\[1,4\]/, /\[2,2\]/);
  await rejectsKiln(model.run({ x: { data: new Float32Array(8), shape: [2, 4] } }), 'invalid argument', /\[1,4\]/, /\[2,4\]/);
  await rejectsKiln(model.run({ x: new Float32Array(3) }), 'invalid argument', /'x'/, /expected 4 elements/, /got 3/);
  await rejectsKiln(model.run({ x: { data: new Float32Array(5), shape: [1, 4] } }), 'invalid argument', /got 5/);
  await rejectsKiln(model.run({ x: [1, 2, 'three', 4] }), 'invalid argument', /'x'/, /element 2/);
  await rejectsKiln(model.run({ x: 'nope' }), 'invalid argument', /'x'/);
  await rejectsKiln(model.run(null), 'invalid argument');
  await checkMatmul(model); // still usable after rejected feeds
  model.dispose();
});

test('use after dispose', async () => {
  const model = await load(matmulKiln);
  model.dispose();
  model.dispose(); // twice is harmless
  await rejectsKiln(model.run({ x: new Float32Array(X) }), 'invalid argument', /disposed/);
  assert.deepEqual(model.inputs[0].name, 'x'); // metadata stays readable
});

test('a wasm trap becomes a KilnError', async () => {
  // A stand-in module whose kiln_alloc traps (`unreachable`): the user sees a KilnError, not a RuntimeError.
  const trapping = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 23, 2, 6,
    109, 101, 109, 111, 114, 121, 2, 0, 10, 107, 105, 108, 110, 95, 97, 108, 108, 111, 99, 0, 0, 10, 5, 1, 3, 0, 0, 11]);
  await rejectsKiln(load(matmulBytes, { wasm: trapping }), 'runtime error', /kiln_alloc/, /trap/);
  const e = await load(matmulBytes, { wasm: trapping }).catch((err) => err);
  assert.ok(e.cause instanceof WebAssembly.RuntimeError);
});
