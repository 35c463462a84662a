// Parity with TensorFlow.js on Keras layers models (format "layers-model": a Keras model config
// plus weight shards, loaded by tfjs with tf.loadLayersModel): nsfwjs' MobileNetV2 and
// InceptionV3, and small models built and saved here with tf.layers to cover most layer types,
// converted by kiln-convert, run by kiln-run (native) and by the JS API (wasm) on the same
// seeded inputs, each output within 1e-4 * max(1, max|ref|) of tfjs.
//
// Names: Kiln names a layers model's inputs after its InputLayers and its outputs after its
// output layers (input_layers / output_layers in model.json). tfjs' manifest names are its
// SymbolicTensor names ("input_1", "dense_3/dense_3"), made unique per process, so the two are
// matched by position: manifest input i is Kiln input i, manifest output i is Kiln output i.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { compare, readNpy, seededData, tf, toTensor, writeNpy, kilnBin } from '../tools/common.mjs';
import { expectClose, randomizeWeights, saveModel } from '../tools/keras_models.mjs';
import { load } from '../../js/kiln.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = kilnBin;
const fixtures = path.join(root, 'tests/fixtures/models');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-keras-'));

// Model ids under tests/fixtures/models (nsfwjs 4.3.0's layers models, extracted by tests/setup.sh).
const MODELS = ['mobilenet_v2', 'inception_v3'];

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

// The layer names Kiln gives the model's inputs and outputs, from its Keras config.
function kerasEndpoints(modelJson) {
  const topology = JSON.parse(fs.readFileSync(modelJson, 'utf8')).modelTopology;
  const model = topology.model_config || topology;
  const config = model.config;
  if (model.class_name === 'Sequential') {
    const layers = Array.isArray(config) ? config : config.layers;
    const first = layers[0];
    const input = first.class_name === 'InputLayer' ? first.config.name : `${first.config.name}_input`;
    return { inputs: [input], outputs: [layers[layers.length - 1].config.name] };
  }
  // Only first calls' first outputs are used here: those are named after the layer alone.
  const names = (refs) => refs.map(([layer, , tensor]) => {
    assert.equal(tensor, 0, `${layer}: only first outputs are mapped here`);
    return layer;
  });
  return { inputs: names(config.input_layers), outputs: names(config.output_layers) };
}

// tfjs references for every model at once (InceptionV3 at 299x299 takes tfjs' CPU backend
// about half a minute; the two run side by side).
const refDirs = Object.fromEntries(await Promise.all(MODELS.map(async (id) => {
  const dir = path.join(work, id);
  const modelJson = path.join(fixtures, id, 'model.json');
  if (fs.existsSync(modelJson)) {
    await promisify(execFile)(process.execPath, [path.join(root, 'tests/tools/tfjs_ref.mjs'), modelJson, dir],
      { maxBuffer: 1 << 26 });
  }
  return [id, dir];
})));

// Converts MODEL_JSON and checks its outputs natively and in wasm against refs; inputs and refs
// are [{kiln, file?, data, shape, dtype}] in the model's order.
async function checkKiln(t, modelJson, bundle, inputs, refs) {
  const names = kerasEndpoints(modelJson);
  assert.deepEqual(inputs.map((i) => i.kiln), names.inputs);
  assert.deepEqual(refs.map((o) => o.kiln), names.outputs);
  const report = run(bin('kiln-convert'), [modelJson, '-o', bundle]);
  for (const i of inputs) assert.match(report, new RegExp(`input +${i.kiln} `), 'inputs are named after the InputLayers');
  for (const o of refs) assert.match(report, new RegExp(`output +${o.kiln} `), 'outputs are named after the output layers');

  const native = {};
  await t.test('native (kiln-run)', () => {
    const outDir = `${bundle}.out`;
    fs.mkdirSync(outDir, { recursive: true });
    run(bin('kiln-run'), [bundle, ...inputs.flatMap((i) => ['--input', `${i.kiln}=${i.file}`]), '--output-dir', outDir]);
    for (const ref of refs) {
      const got = readNpy(path.join(outDir, `${ref.kiln.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`));
      native[ref.kiln] = got;
      expectClose(`native ${ref.kiln}`, got, ref);
    }
  });

  await t.test('wasm (js/kiln.js)', async () => {
    const model = await load(bundle);
    try {
      assert.deepEqual(model.inputs.map((i) => i.name), names.inputs);
      assert.deepEqual(model.outputs.map((o) => o.name), names.outputs);
      const outs = await model.run(Object.fromEntries(inputs.map((i) => [i.kiln, { data: i.data, shape: i.shape }])));
      for (const ref of refs) {
        expectClose(`wasm ${ref.kiln}`, outs[ref.kiln], ref);
        const r = compare(outs[ref.kiln].data, native[ref.kiln].data, { rel: 1e-5 });
        assert.ok(r.ok, `wasm vs native ${ref.kiln}: ${r.maxAbsErr}`);
      }
    } finally {
      model.dispose();
    }
  });
}

for (const id of MODELS) {
  test(`${id} (Keras layers model): native and wasm match tfjs`, async (t) => {
    const modelJson = path.join(fixtures, id, 'model.json');
    assert.ok(fs.existsSync(modelJson), `${modelJson} is missing: run tests/setup.sh`);
    const dir = refDirs[id];
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const names = kerasEndpoints(modelJson);
    assert.equal(manifest.inputs.length, names.inputs.length);
    assert.equal(manifest.outputs.length, names.outputs.length);
    const inputs = manifest.inputs.map((m, i) => ({
      ...m, kiln: names.inputs[i], file: path.join(dir, 'inputs', `${m.safe}.npy`),
    }));
    const refs = manifest.outputs.map((m, i) => ({
      ...m, kiln: names.outputs[i], ...readNpy(path.join(dir, 'ref', `${m.safe}.npy`)),
    }));
    for (const i of inputs) Object.assign(i, readNpy(i.file));

    await checkKiln(t, modelJson, path.join(dir, `${id}.kiln`), inputs, refs);
  });
}

// ---- models built here with tf.layers and saved as tfjs saves them ----

const L = tf.layers;
const BUILT = {
  // Convolutions, normalization, padding, cropping and pooling on a 9x9 image.
  convs: () => tf.sequential({ name: 'convs', layers: [
    L.conv2d({ inputShape: [9, 9, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'c1' }),
    L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'relu6', name: 'dw' }),
    L.separableConv2d({ filters: 5, kernelSize: 2, padding: 'valid', activation: 'elu', name: 'sep' }),
    L.batchNormalization({ name: 'bn' }),
    L.zeroPadding2d({ padding: [[1, 0], [0, 2]], name: 'zp' }),
    L.cropping2D({ cropping: [[0, 1], [1, 0]], name: 'crop' }),
    L.maxPooling2d({ poolSize: 2, strides: 1, name: 'mp' }),
    L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'ap' }),
    L.globalAveragePooling2d({ name: 'gap' }),
    L.dense({ units: 4, activation: 'softmax', name: 'out' }),
  ] }),
  // Resizing (bilinear without half-pixel centers, as tfjs does) and transposed convolutions.
  resize: () => tf.sequential({ name: 'resize', layers: [
    L.upSampling2d({ inputShape: [3, 4, 2], size: [2, 3], interpolation: 'bilinear', name: 'up' }),
    L.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', name: 'tconv' }),
    L.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2, padding: 'same', activation: 'tanh', name: 'tconv_same' }),
    L.upSampling2d({ size: [2, 2], name: 'near' }),
  ] }),
  // Sequences: Conv1D, merges, 1-D pooling, permute, reshape, repeat, activations.
  sequence: () => {
    const x = tf.input({ shape: [6, 4], name: 'seq' });
    const c = L.conv1d({ filters: 5, kernelSize: 2, dilationRate: 2, padding: 'same', activation: 'tanh', name: 'c1d' }).apply(x);
    const d = L.conv1d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'sigmoid', name: 'c1d_b' }).apply(x);
    const merged = ['add', 'multiply', 'average', 'maximum', 'minimum'].map((m) => L[m]({ name: m }).apply([c, d]));
    const cat = L.concatenate({ name: 'cat' }).apply(merged);
    const mp = L.maxPooling1d({ poolSize: 2, name: 'mp1' }).apply(cat);
    const ap = L.averagePooling1d({ poolSize: 3, strides: 1, padding: 'same', name: 'ap1' }).apply(cat);
    const flat = L.flatten({ name: 'flat' }).apply(L.permute({ dims: [2, 1], name: 'perm' }).apply(mp));
    const small = L.dense({ units: 6, name: 'small' }).apply(flat);
    const acts = ['elu', 'selu', 'softplus', 'softsign', 'hardSigmoid', 'swish', 'gelu', 'relu6', 'linear', 'tanh']
      .map((a) => L.activation({ activation: a, name: `act_${a}` }).apply(small));
    const layered = [L.leakyReLU({ alpha: 0.2, name: 'leaky' }), L.prelu({ name: 'prelu' }), L.elu({ name: 'elu_layer' }),
      L.softmax({ name: 'softmax' }), L.reLU({ maxValue: 0.5, name: 'relu_max' })].map((l) => l.apply(small));
    const rep = L.reshape({ targetShape: [3, -1], name: 'reshape' }).apply(L.repeatVector({ n: 2, name: 'rep' }).apply(small));
    const pooled = [L.globalAveragePooling1d({ name: 'gap1' }).apply(ap), L.globalMaxPooling1d({ name: 'gmp1' }).apply(rep)];
    return tf.model({ name: 'sequence', inputs: x, outputs: [...acts, ...layered, ...pooled, rep] });
  },
  // Dense on a 3-D input (a matrix product broadcast over the steps).
  dense3d: () => tf.sequential({ name: 'dense3d', layers: [L.dense({ inputShape: [4, 3], units: 5, activation: 'relu', name: 'd' })] }),
  // Two inputs (int ids through an Embedding), a nested Sequential called twice, a shared Dense.
  nested: () => {
    const ids = tf.input({ shape: [5], dtype: 'int32', name: 'ids' });
    const feats = tf.input({ shape: [3], name: 'feats' });
    const pooled = L.globalMaxPooling1d({ name: 'pool' }).apply(L.embedding({ inputDim: 10, outputDim: 3, name: 'emb' }).apply(ids));
    const inner = tf.sequential({ name: 'inner', layers: [
      L.dense({ inputShape: [3], units: 3, activation: 'relu', name: 'h' }), L.dense({ units: 3, name: 'h2' })] });
    const a = inner.apply(feats), b = inner.apply(pooled);
    const shared = L.dense({ units: 2, name: 'shared' });
    const out = L.concatenate({ name: 'out' }).apply([shared.apply(a), shared.apply(b)]);
    return tf.model({ name: 'nested', inputs: [ids, feats], outputs: [out, a] });
  },
};

await tf.setBackend('cpu');
for (const [id, make] of Object.entries(BUILT)) {
  test(`${id} (layers model saved by tfjs): native and wasm match tfjs`, async (t) => {
    const model = make();
    randomizeWeights(model, 1000);
    const dir = path.join(work, id);
    const modelJson = await saveModel(model, dir);
    const names = kerasEndpoints(modelJson);
    const inputs = model.inputs.map((inp, i) => {
      const shape = inp.shape.map((d) => d ?? 1);
      const n = shape.reduce((x, y) => x * y, 1);
      const dtype = inp.dtype;
      const data = seededData(n, dtype, { seed: 7 + i, lo: dtype === 'int32' ? 0 : -2, hi: dtype === 'int32' ? 9 : 2 });
      const file = path.join(dir, `input${i}.npy`);
      writeNpy(file, data, shape, dtype);
      return { kiln: names.inputs[i], file, data, shape, dtype };
    });
    const result = model.predict(inputs.map((i) => toTensor(i.dtype, i.shape, i.data)));
    const refs = (Array.isArray(result) ? result : [result]).map((r, i) => ({
      kiln: names.outputs[i], data: r.dataSync(), shape: r.shape,
    }));
    await checkKiln(t, modelJson, path.join(dir, `${id}.kiln`), inputs, refs);
  });
}
