// SavedModel directories through kiln-convert, run natively (kiln-run) and in wasm (js/kiln.js).
// - Real SavedModels (tests/data/savedmodel/): TF Serving's half_plus_two in TF1 form (VariableV2,
//   Snappy-compressed checkpoint index) and TF2 form (functions, VarHandleOp), checked against
//   y = 0.5·x + 2 computed here. (churn_mlp is checked in tests/c/test_savedmodel.c.)
// - SavedModels written by tests/tools/make_savedmodels.mjs: a TF1 graph with a signature that
//   feeds an inner tensor, TF2 nested functions with stripped default attrs, and a Keras-style
//   LSTM (StatelessWhile over TensorLists behind a CuDNN variant), whose reference is
//   @tensorflow/tfjs's LSTM layer given the same weights.
// Every output must be within 1e-4 · max(1, max|ref|) of its reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, readNpy, writeNpy, seededData, safeName, tf, kilnBin, recordFormatResult } from '../tools/common.mjs';
import { writeSavedModel } from '../tools/make_savedmodels.mjs';
import { load } from '../../js/kiln.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const data = (name) => path.join(root, 'tests/data/savedmodel', name);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-savedmodel-'));

function convert(dir, out, extra = []) {
  return execFileSync(kilnBin('kiln-convert'), [dir, '-o', out, ...extra], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Fails to convert, with a message matching `pattern`; nothing is written.
function convertFails(args, pattern) {
  const out = path.join(work, 'never.kiln');
  const r = spawnSync(kilnBin('kiln-convert'), [...args, '-o', out], { encoding: 'utf8' });
  assert.equal(r.status, 1, `kiln-convert ${args.join(' ')} should fail: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.ok(!fs.existsSync(out), 'a failed conversion leaves no file');
}

// Runs bundle on feeds {name: {data, shape}} natively and in wasm; returns [native, wasm] outputs.
async function runBoth(bundle, feeds, outputs) {
  const dir = fs.mkdtempSync(path.join(work, 'run-'));
  const args = [bundle, '--output-dir', dir];
  for (const [name, f] of Object.entries(feeds)) {
    const file = path.join(dir, `in_${safeName(name)}.npy`);
    writeNpy(file, f.data, f.shape, 'float32');
    args.push('--input', `${name}=${file}`);
  }
  execFileSync(kilnBin('kiln-run'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const native = Object.fromEntries(outputs.map((n) => [n, readNpy(path.join(dir, `${safeName(n)}.npy`))]));
  const model = await load(fs.readFileSync(bundle));
  try {
    return [native, await model.run(feeds)];
  } finally {
    model.dispose();
  }
}

// -> |got - ref| / max(1, max|ref|)
function expectClose(what, got, ref, shape) {
  assert.deepEqual([...got.shape], shape, `${what}: shape`);
  const r = compare(got.data, ref);
  assert.ok(r.ok, `${what}: max |got-ref| = ${r.maxAbsErr} > ${r.tol} at ${r.worst.index} (got ${r.worst.got}, ref ${r.worst.ref})`);
  return r.maxAbsErr / Math.max(1, r.maxAbsRef);
}

// Runs natively and in wasm, checks every output and records the result for docs/COVERAGE.md
// (`what`: {format, model, against}).
async function expectBoth(bundle, feeds, refs, what) {
  const [native, wasm] = await runBoth(bundle, feeds, Object.keys(refs));
  const err = { native: 0, wasm: 0 };
  for (const [name, { ref, shape }] of Object.entries(refs)) {
    err.native = Math.max(err.native, expectClose(`${name} (native)`, native[name], ref, shape));
    err.wasm = Math.max(err.wasm, expectClose(`${name} (wasm)`, wasm[name], ref, shape));
  }
  recordFormatResult({ ...what, ...err, ok: true });
}

// Row-major [m,k]·[k,n] in double.
function matmul(a, b, m, k, n) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
    c[i * n + j] = s;
  }
  return c;
}

test('half_plus_two (TF1: VariableV2, Snappy-compressed index) computes 0.5x + 2', async () => {
  const bundle = path.join(work, 'hpt1.kiln');
  const report = convert(data('half_plus_two_tf1'), bundle);
  assert.match(report, /^\s*input\s+x float32\[1,1\]$/m, report);
  assert.match(report, /^\s*output\s+y float32\[1,1\]$/m, report);
  const x = Float32Array.of(-3.25);
  await expectBoth(bundle, { x: { data: x, shape: [1, 1] } }, { y: { ref: [0.5 * -3.25 + 2], shape: [1, 1] } }, { format: 'SavedModel (TF1)', model: 'half_plus_two (TF Serving)', against: 'y = 0.5x + 2 by hand' });
});

test('half_plus_two (TF2: functions, VarHandleOp, restored through the saver) computes 0.5x + 2', async () => {
  const bundle = path.join(work, 'hpt2.kiln');
  convert(data('half_plus_two_tf2'), bundle);
  const x = Float32Array.of(7.5);
  await expectBoth(bundle, { x: { data: x, shape: [1] } }, { y: { ref: [0.5 * 7.5 + 2], shape: [1] } }, { format: 'SavedModel (TF2)', model: 'half_plus_two (TF Serving)', against: 'y = 0.5x + 2 by hand' });
  // Another signature of the same file: 0.5x + 3 (a third variable), inputs and outputs named by its keys.
  const other = path.join(work, 'hpt2-x2y3.kiln');
  convert(data('half_plus_two_tf2'), other, ['--signature', 'regress_x2_to_y3']);
  await expectBoth(other, { inputs: { data: x, shape: [1] } }, { outputs: { ref: [0.5 * 7.5 + 3], shape: [1] } }, { format: 'SavedModel (TF2)', model: 'half_plus_two, signature regress_x2_to_y3', against: 'y = 0.5x + 3 by hand' });
  // Its tf.Example signatures parse strings: a named unsupported op.
  convertFails([data('half_plus_two_tf2'), '--signature', 'classify_x_to_y'], /unsupported op type:\n  ParseExampleV2: 1 node: '.*ParseExampleV2'/);
});

test('TF1 graph: the default signature, and one that feeds an inner tensor', async () => {
  const m = writeSavedModel(work, 'tf1_cut');
  const listing = execFileSync(kilnBin('kiln-convert'), ['--list-signatures', m.dir], { encoding: 'utf8' });
  assert.match(listing, /^serving_default \(default\)\n  input  x: float\[\?,3\]  \(x:0\)\n  output y: float\[\?,2\]  \(y:0\)$/m, listing);
  assert.match(listing, /^from_hidden\n  input  h: float\[\?,4\]  \(hidden:0\)$/m, listing);

  const x = seededData(3, 'float32');
  const hidden = matmul(x, m.w1, 1, 3, 4);
  const head = (h) => Array.from(matmul(h.map((v) => Math.max(v, 0)), m.w2, 1, 4, 2), (v, j) => v + m.b[j]);
  const a = path.join(work, 'tf1_default.kiln');
  convert(m.dir, a);
  await expectBoth(a, { x: { data: x, shape: [1, 3] } }, { y: { ref: head(hidden), shape: [1, 2] } }, { format: 'SavedModel (TF1)', model: 'tf1_cut (made by the test)', against: 'the MLP computed in JS' });

  const b = path.join(work, 'tf1_hidden.kiln');
  const report = convert(m.dir, b, ['--signature', 'from_hidden']);
  assert.match(report, /^\s*input\s+h float32\[1,4\]$/m, 'the fed tensor becomes the input, named by its key');
  const h = seededData(4, 'float32', { lo: -1, hi: 1 });
  await expectBoth(b, { h: { data: h, shape: [1, 4] } }, { y: { ref: head(h), shape: [1, 2] } }, { format: 'SavedModel (TF1)', model: 'tf1_cut, signature from_hidden (an inner tensor fed)', against: 'the MLP computed in JS' });
});

test('TF2 functions: nested calls, a function called as an op, stripped default attrs', async () => {
  const m = writeSavedModel(work, 'tf2_functions');
  const bundle = path.join(work, 'tf2_functions.kiln');
  const report = convert(m.dir, bundle);
  assert.match(report, /^\s*output\s+a float32\[2,2\]$/m, report);
  const x = seededData(6, 'float32');
  const d = Array.from(matmul(x, m.w, 2, 3, 4), (v, i) => Math.tanh(v + m.b[i % 4]));
  const cols = (lo) => [d[lo], d[lo + 1], d[4 + lo], d[4 + lo + 1]];
  await expectBoth(bundle, { x: { data: x, shape: [2, 3] } }, { a: { ref: cols(2), shape: [2, 2] }, b: { ref: cols(0), shape: [2, 2] } }, { format: 'SavedModel (TF2)', model: 'tf2_functions: nested calls, stripped default attrs (made by the test)', against: 'computed in JS' });
});

test('Keras-style LSTM: StatelessWhile over TensorLists, the CPU implementation chosen, matches tfjs', async () => {
  const m = writeSavedModel(work, 'tf2_lstm');
  const bundle = path.join(work, 'tf2_lstm.kiln');
  convert(m.dir, bundle);
  const layer = tf.layers.lstm({ units: m.units, returnSequences: true, recurrentActivation: 'sigmoid', inputShape: [m.steps, m.features] });
  const model = tf.sequential({ layers: [layer] });
  layer.setWeights([tf.tensor(m.kernel, [m.features, 4 * m.units]), tf.tensor(m.recurrent, [m.units, 4 * m.units]), tf.tensor(m.bias, [4 * m.units])]);
  const x = seededData(m.batch * m.steps * m.features, 'float32', { lo: -1, hi: 1 });
  const seq = model.predict(tf.tensor(x, [m.batch, m.steps, m.features]));
  const last = seq.slice([0, m.steps - 1, 0], [m.batch, 1, m.units]);
  await expectBoth(bundle, { x: { data: x, shape: [m.batch, m.steps, m.features] } }, {
    seq: { ref: seq.dataSync(), shape: [m.batch, m.steps, m.units] },
    last: { ref: last.dataSync(), shape: [m.batch, m.units] },
  }, { format: 'SavedModel (TF2)', model: 'tf2_lstm: Keras-style LSTM, StatelessWhile over TensorLists (made by the test)', against: 'tfjs LSTM layer' });
});

test('bad SavedModels and options are named errors', () => {
  const m = writeSavedModel(work, 'tf1_cut');
  convertFails([m.dir, '--signature', 'nope'], /no signature 'nope' in the "serve" MetaGraph \(it has 'serving_default', 'from_hidden'\)/);
  convertFails([data('../mobilenet_v1_0.25_128_frozen.pb'), '--signature', 'x'], /--signature applies to SavedModel directories/);

  const cut = path.join(work, 'truncated');
  fs.mkdirSync(cut, { recursive: true });
  const pb = fs.readFileSync(path.join(m.dir, 'saved_model.pb'));
  fs.writeFileSync(path.join(cut, 'saved_model.pb'), pb.subarray(0, pb.length - 9));
  convertFails([cut], /truncated: saved_model\.pb: not a SavedModel/);

  const empty = fs.mkdtempSync(path.join(work, 'empty-'));
  convertFails([empty], /saved_model\.pb: No such file or directory/);

  // half_plus_two_tf1 without its checkpoint data: the variables cannot be read.
  const novars = path.join(work, 'hpt1-no-data');
  fs.cpSync(data('half_plus_two_tf1'), novars, { recursive: true });
  fs.rmSync(path.join(novars, 'variables/variables.data-00000-of-00001'));
  convertFails([novars], /variables\.data-00000-of-00001/);
});
