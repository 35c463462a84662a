// End-to-end test of the frozen-GraphDef path on a real old-style TF1 graph: Google's MobileNetV1
// 0.25/128 (tests/data/README.md), with no `dilations` attr on its convolutions, batch norm as
// Rsqrt/Mul/Sub/Add on constants and many Identity nodes. kiln-convert reads the .pb itself; the
// reference is @tensorflow/tfjs (pure-JS CPU backend) running the same graph, turned into a tfjs
// graph model by tests/tools/pb_to_tfjs.mjs, so each side interprets the old graph on its own.
// Every output must be within 1e-4 * max(1, max|ref|) of tfjs, natively and in wasm, and the
// top-1 class must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { compare, readNpy, unravel, writeNpy, seededData, loadGraphModel, tf, kilnBin } from '../tools/common.mjs';
import { load } from '../../js/kiln.js';
import protobuf from 'protobufjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = kilnBin;
const tool = (name) => path.join(root, 'tests/tools', name);
const PB = path.join(root, 'tests/data/mobilenet_v1_0.25_128_frozen.pb');
const LABELS = path.join(root, 'tests/data/mobilenet_v1_0.25_128_labels.txt');
const INPUT = 'input';
const OUTPUT = 'MobilenetV1/Predictions/Reshape_1'; // softmax, [1,1001]
const LOGITS = 'MobilenetV1/Logits/SpatialSqueeze'; // before the softmax, [1,1001]
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-frozen-pb-'));

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

function timed(fn) {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

const safe = (name) => name.replace(/[^A-Za-z0-9._-]/g, '_');
const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);
const labels = fs.readFileSync(LABELS, 'utf8').split('\n').filter((l) => l !== '');
const label = (i) => (labels[i] ?? '').replace(/^\d+:/, '') || `class ${i}`; // lines are "N:name"

// got vs ref within tolerance, same shape, same top-1 class; returns the comparison.
function expectClose(what, got, ref) {
  assert.deepEqual([...got.shape], [...ref.shape], `${what}: shape`);
  const r = compare(got.data, ref.data);
  assert.ok(r.ok, `${what}: max |got-ref| = ${r.maxAbsErr} > ${r.tol} at [${unravel(r.worst.index, ref.shape)}]` +
    ` (got ${r.worst.got}, ref ${r.worst.ref})`);
  const [g, e] = [argmax(got.data), argmax(ref.data)];
  assert.equal(g, e, `${what}: top-1 is ${g} (${label(g)}), tfjs says ${e} (${label(e)})`);
  return r;
}

// Converts the .pb; checks the reported input/output and the size budget (weights + 2 % + 16 KiB).
function convert(out, extra, wantOutputs) {
  const [report, ms] = timed(() => run(bin('kiln-convert'), [PB, '-o', out, ...extra]));
  assert.match(report, new RegExp(`^\\s*input\\s+${INPUT} float32\\[1,128,128,3\\]$`, 'm'), report);
  const outs = [...report.matchAll(/^\s*output\s+(\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  assert.deepEqual(outs.sort(), wantOutputs.map((o) => `${o} float32[1,1001]`).sort(), report);
  const weights = Number(/weights (\d+) bytes/.exec(report)[1]);
  const size = fs.statSync(out).size;
  assert.ok(size <= weights * 1.02 + 16384, `${out}: ${size} bytes for ${weights} bytes of weights`);
  return ms;
}

// Runs BUNDLE natively on INPUT.npy; returns {name: {data, shape, dtype}} and the time.
function runNative(bundle, inputNpy, outDir, names) {
  fs.mkdirSync(outDir, { recursive: true });
  const [, ms] = timed(() => run(bin('kiln-run'), [bundle, '--input', `${INPUT}=${inputNpy}`, '--output-dir', outDir]));
  return [Object.fromEntries(names.map((n) => [n, readNpy(path.join(outDir, `${safe(n)}.npy`))])), ms];
}

async function runWasm(bundle, data) {
  const model = await load(bundle);
  try {
    const t0 = performance.now();
    const outs = await model.run({ [INPUT]: { data, shape: [1, 128, 128, 3] } });
    return [outs, performance.now() - t0];
  } finally {
    model.dispose();
  }
}

test('MobilenetV1 0.25/128 frozen TF1 .pb: native and wasm match tfjs', async (t) => {
  assert.ok(fs.existsSync(PB), `${PB} is missing`);
  assert.equal(labels.length, 1001, `${LABELS}: ${labels.length} labels`);

  // The tfjs side. tfjs 4.x crashes on a Conv2D or DepthwiseConv2dNative without `dilations`
  // (its op table has no default for it; tensorflowjs_converter always writes it), so the tfjs
  // copy gets exactly that attr, TF's default [1,1,1,1]; the .pb that Kiln reads keeps none.
  const tfjsDir = path.join(work, 'tfjs');
  const [log, tfjsConvMs] = timed(() => run(process.execPath, [tool('pb_to_tfjs.mjs'), PB, tfjsDir, '--tfjs-defaults']));
  const added = [...log.matchAll(/^tfjs default added: (\S+) .*: (\S+)$/gm)].map((m) => `${m[1]}.${m[2]}`);
  assert.equal(added.length, 28, log);
  assert.ok(added.every((a) => a === 'Conv2D.dilations' || a === 'DepthwiseConv2dNative.dilations'), log);
  const modelJson = path.join(tfjsDir, 'model.json');

  // The reference on seeded inputs in [0,1).
  const refDir = path.join(work, 'ref');
  const [, refMs] = timed(() => run(process.execPath, [tool('tfjs_ref.mjs'), modelJson, refDir]));
  const manifest = JSON.parse(fs.readFileSync(path.join(refDir, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.inputs.map((i) => [i.name, i.dtype, i.shape]), [[INPUT, 'float32', [1, 128, 128, 3]]]);
  assert.deepEqual(manifest.outputs.map((o) => [o.name, o.dtype, o.shape]), [[OUTPUT, 'float32', [1, 1001]]]);
  const inputNpy = path.join(refDir, 'inputs', `${INPUT}.npy`);
  const input = readNpy(inputNpy);
  const ref = readNpy(path.join(refDir, 'ref', `${safe(OUTPUT)}.npy`));

  // Kiln with no options: the Placeholder is the input and the one sink is the output.
  const bundle = path.join(work, 'mobilenet_v1.kiln');
  const convertMs = convert(bundle, [], [OUTPUT]);
  t.diagnostic(`pb_to_tfjs ${tfjsConvMs.toFixed(0)} ms, tfjs_ref ${refMs.toFixed(0)} ms, kiln-convert ${convertMs.toFixed(0)} ms`);

  let native;
  await t.test('native (kiln-run)', () => {
    const [outs, ms] = runNative(bundle, inputNpy, path.join(work, 'native'), [OUTPUT]);
    native = outs[OUTPUT];
    const r = expectClose(`native ${OUTPUT}`, native, ref);
    const top = argmax(ref.data);
    t.diagnostic(`kiln-run ${ms.toFixed(0)} ms; max |err| ${r.maxAbsErr.toExponential(2)} (tol ${r.tol}); ` +
      `top-1 ${top} "${label(top)}" p=${ref.data[top].toFixed(4)}`);
  });

  await t.test('wasm (js/kiln.js)', async () => {
    const [outs, ms] = await runWasm(bundle, input.data);
    const got = outs[OUTPUT];
    assert.ok(got, `wasm output ${OUTPUT} missing (have ${Object.keys(outs)})`);
    const r = expectClose(`wasm ${OUTPUT}`, got, ref);
    if (native) {
      const rn = compare(got.data, native.data, { rel: 1e-5 });
      assert.ok(rn.ok, `wasm vs native ${OUTPUT}: ${rn.maxAbsErr}`);
    }
    t.diagnostic(`wasm run ${ms.toFixed(0)} ms; max |err| ${r.maxAbsErr.toExponential(2)}`);
  });

  // Kiln's tfjs reader on the same graph (with the added dilations) must agree bit for bit.
  await t.test('the tfjs model.json of the same graph gives the same outputs', () => {
    assert.ok(native, 'no native output to compare with');
    const b = path.join(work, 'mobilenet_v1_from_json.kiln');
    run(bin('kiln-convert'), [modelJson, '-o', b]);
    const [outs] = runNative(b, inputNpy, path.join(work, 'native_json'), [OUTPUT]);
    assert.deepEqual(Buffer.from(outs[OUTPUT].data.buffer), Buffer.from(native.data.buffer));
  });

  // The softmax squashes errors: check the logits too, on inputs in the model's range [-1,1).
  await t.test('logits, inputs in [-1,1)', async () => {
    const data = seededData(128 * 128 * 3, 'float32', { lo: -1, hi: 1 });
    const npy = path.join(work, 'input_pm1.npy');
    writeNpy(npy, data, [1, 128, 128, 3], 'float32');

    await tf.setBackend('cpu');
    const model = await loadGraphModel(modelJson);
    const x = tf.tensor(data, [1, 128, 128, 3], 'float32');
    const outs = model.execute({ [INPUT]: x }, [LOGITS, OUTPUT]);
    const refs = Object.fromEntries([LOGITS, OUTPUT].map((n, i) => [n, { data: outs[i].dataSync(), shape: outs[i].shape }]));
    tf.dispose([x, ...outs]);
    model.dispose();

    const b = path.join(work, 'mobilenet_v1_logits.kiln');
    convert(b, ['--output', LOGITS, '--output', OUTPUT], [LOGITS, OUTPUT]);
    const [nat] = runNative(b, npy, path.join(work, 'native_logits'), [LOGITS, OUTPUT]);
    const [wasm] = await runWasm(b, data);
    const msgs = [];
    for (const n of [LOGITS, OUTPUT]) {
      const rn = expectClose(`native ${n}`, nat[n], refs[n]);
      const rw = expectClose(`wasm ${n}`, wasm[n], refs[n]);
      msgs.push(`${n}: max|ref| ${rn.maxAbsRef.toFixed(3)}, max |err| native ${rn.maxAbsErr.toExponential(2)}, wasm ${rw.maxAbsErr.toExponential(2)}`);
    }
    const top = argmax(refs[OUTPUT].data);
    t.diagnostic(`${msgs.join('; ')}; top-1 ${top} "${label(top)}"`);
  });
});

// pb_to_tfjs itself on a tiny graph: Const values from each *_val field (fewer values than
// elements repeat the last one, none means zeros), from tensor_content, int64 to int32; attrs
// kept as tfjs reads them (oneof members at their default value too); tfjs loads and runs it.
test('pb_to_tfjs: Const values and attrs', async () => {
  const proto = protobuf.loadSync(path.join(root, 'converter/proto/graph.proto'));
  const GraphDef = proto.lookupType('tensorflow.GraphDef');
  const shape = (...dims) => ({ dim: dims.map((size) => ({ size })) });
  const konst = (name, dtype, dims, fields) => ({
    name, op: 'Const', attr: { dtype: { type: dtype }, value: { tensor: { dtype, tensorShape: shape(...dims), ...fields } } },
  });
  const content = Buffer.alloc(8);
  content.writeFloatLE(1.5, 0);
  content.writeFloatLE(-2.25, 4);
  const graph = GraphDef.fromObject({
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: shape(2, 3) } } },
      konst('a', 'DT_FLOAT', [2, 3], { floatVal: [1, 2] }),
      konst('s', 'DT_FLOAT', [], { floatVal: [0.5] }),
      konst('z', 'DT_FLOAT', [2], {}),
      konst('c', 'DT_FLOAT', [2], { tensorContent: content }),
      konst('i', 'DT_INT32', [3], { intVal: [7] }),
      konst('l', 'DT_INT64', [2], { int64Val: [5, -6] }),
      konst('t', 'DT_BOOL', [3], { boolVal: [false, true] }),
      { name: 'add', op: 'Add', input: ['x', 'a'], attr: { T: { type: 'DT_FLOAT' } } },
      { name: 'y', op: 'Mul', input: ['add', 's', '^z'], attr: { T: { type: 'DT_FLOAT' }, flag: { b: false }, n: { i: 0 }, e: { list: {} } } },
    ],
  });
  const dir = path.join(work, 'tiny');
  fs.mkdirSync(dir, { recursive: true });
  const pb = path.join(dir, 'tiny.pb');
  fs.writeFileSync(pb, GraphDef.encode(graph).finish());
  run(process.execPath, [tool('pb_to_tfjs.mjs'), pb, dir]);

  const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const specs = json.weightsManifest[0].weights;
  assert.deepEqual(specs.map((w) => [w.name, w.dtype, w.shape]), [
    ['a', 'float32', [2, 3]], ['s', 'float32', []], ['z', 'float32', [2]], ['c', 'float32', [2]],
    ['i', 'int32', [3]], ['l', 'int32', [2]], ['t', 'bool', [3]],
  ]);
  const bytes = fs.readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
  let off = 0;
  const take = (T, n) => { const v = [...new T(bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + n * T.BYTES_PER_ELEMENT))]; off += n * T.BYTES_PER_ELEMENT; return v; };
  assert.deepEqual(take(Float32Array, 6), [1, 2, 2, 2, 2, 2]);
  assert.deepEqual(take(Float32Array, 1), [0.5]);
  assert.deepEqual(take(Float32Array, 2), [0, 0]);
  assert.deepEqual(take(Float32Array, 2), [1.5, -2.25]);
  assert.deepEqual(take(Int32Array, 3), [7, 7, 7]);
  assert.deepEqual(take(Int32Array, 2), [5, -6]);
  assert.deepEqual(take(Uint8Array, 3), [0, 1, 1]);
  assert.equal(off, bytes.length);

  const nodes = Object.fromEntries(json.modelTopology.node.map((n) => [n.name, n]));
  assert.deepEqual(nodes.x.attr.shape, { shape: { dim: [{ size: '2' }, { size: '3' }] } });
  assert.deepEqual(nodes.a.attr, { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '2' }, { size: '3' }] } } } });
  assert.deepEqual(nodes.y, {
    name: 'y', op: 'Mul', input: ['add', 's', '^z'],
    attr: { T: { type: 'DT_FLOAT' }, flag: { b: false }, n: { i: '0' }, e: { list: {} } },
  });

  await tf.setBackend('cpu');
  const model = await loadGraphModel(path.join(dir, 'model.json'));
  const x = tf.tensor([0, 1, 2, 3, 4, 5], [2, 3]);
  const y = model.execute({ x }, 'y');
  assert.deepEqual([...y.dataSync()], [0.5, 1.5, 2, 2.5, 3, 3.5]);
  tf.dispose([x, y]);
  model.dispose();
});
