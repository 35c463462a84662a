// Recurrent Keras layers (LSTM, GRU, SimpleRNN, Bidirectional) in layers models built here with
// tf.layers and seeded random weights, saved as tfjs saves them, converted by kiln-convert (the
// time loop becomes a Kiln loop) and run by kiln-run at batch 2: every output within
// 1e-4 * max(1, max|ref|) of tfjs' predict. tfjs has no GRU with reset_after=true (Keras 2 and
// 3's default), so that model is a tfjs GRU whose config and bias are rewritten, and its
// reference is computed from the Keras equations in plain JS (gruResetAfter in
// tests/tools/keras_models.mjs). One model also runs in wasm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kilnBin, readNpy, safeName, seededData, tf, writeNpy } from '../tools/common.mjs';
import { expectClose, gruResetAfter, randomizeWeights, saveModel } from '../tools/keras_models.mjs';
import { load } from '../../js/kiln.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-keras-rnn-'));
const BATCH = 2;
const L = tf.layers;

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

// Kiln's names for a model's inputs and outputs: the InputLayers, and "layer" / "layer:i" for
// output i of a layer (all first calls here).
function endpoints(modelJson) {
  const model = JSON.parse(fs.readFileSync(modelJson, 'utf8')).modelTopology;
  const config = model.config;
  if (model.class_name === 'Sequential') {
    const first = config.layers[0];
    const input = first.class_name === 'InputLayer' ? first.config.name : `${first.config.name}_input`;
    return { inputs: [input], outputs: [config.layers[config.layers.length - 1].config.name] };
  }
  const name = ([layer, node, tensor]) => {
    assert.equal(node, 0, `${layer}: only first calls are mapped here`);
    return tensor ? `${layer}:${tensor}` : layer;
  };
  return { inputs: config.input_layers.map(name), outputs: config.output_layers.map(name) };
}

// Seeded inputs at batch BATCH: floats in [-2, 2), int ids in [0, vocab).
function makeInputs(model, dir, names, vocab) {
  return model.inputs.map((inp, i) => {
    const shape = [BATCH, ...inp.shape.slice(1)];
    const n = shape.reduce((a, b) => a * b, 1);
    const int = inp.dtype === 'int32';
    const data = seededData(n, inp.dtype, { seed: 11 + i, lo: int ? 0 : -2, hi: int ? vocab - 1 : 2 });
    const file = path.join(dir, `input${i}.npy`);
    writeNpy(file, data, shape, inp.dtype);
    return { kiln: names.inputs[i], file, data, shape, dtype: inp.dtype };
  });
}

// Converts at batch BATCH, runs natively; returns {output name: {data, shape}}.
function runNative(modelJson, inputs) {
  const bundle = modelJson.replace(/model\.json$/, 'model.kiln');
  run(kilnBin('kiln-convert'), [modelJson, '-o', bundle, ...inputs.flatMap((i) => ['--input', `${i.kiln}:${i.shape}`])]);
  const outDir = `${bundle}.out`;
  fs.mkdirSync(outDir, { recursive: true });
  run(kilnBin('kiln-run'), [bundle, ...inputs.flatMap((i) => ['--input', `${i.kiln}=${i.file}`]), '--output-dir', outDir]);
  const names = endpoints(modelJson).outputs;
  return { bundle, outs: Object.fromEntries(names.map((o) => [o, readNpy(path.join(outDir, `${safeName(o)}.npy`))])) };
}

const MODELS = {
  // LSTM over the whole sequence (tfjs' default hard_sigmoid gates).
  lstm_sequences: () => tf.sequential({ layers: [
    L.lstm({ inputShape: [7, 3], units: 5, returnSequences: true, name: 'lstm' })] }),
  // GRU (reset_after false, tfjs' only kind) reading the steps backwards, sigmoid gates.
  gru_backwards: () => tf.sequential({ layers: [
    L.gru({ inputShape: [6, 4], units: 3, goBackwards: true, recurrentActivation: 'sigmoid', name: 'gru' })] }),
  // SimpleRNN with relu, no bias, backwards, all steps; then a linear-activation GRU.
  simple_rnn: () => tf.sequential({ layers: [
    L.simpleRNN({ inputShape: [5, 2], units: 4, activation: 'relu', useBias: false, goBackwards: true, returnSequences: true, name: 'srnn' }),
    L.gru({ units: 3, activation: 'linear', recurrentActivation: 'hardSigmoid', returnSequences: true, name: 'gru_lin' })] }),
  // Three stacked LSTMs and a Dense head.
  stacked: () => tf.sequential({ layers: [
    L.lstm({ inputShape: [8, 3], units: 6, returnSequences: true, recurrentActivation: 'sigmoid', name: 'l1' }),
    L.lstm({ units: 5, returnSequences: true, name: 'l2' }),
    L.lstm({ units: 4, name: 'l3' }),
    L.dense({ units: 2, activation: 'softmax', name: 'head' })] }),
  // Bidirectional in every merge mode, with LSTM, GRU and SimpleRNN inside.
  bidirectional: () => {
    const x = tf.input({ shape: [5, 3], name: 'x' });
    const cat = L.bidirectional({ layer: L.lstm({ units: 4, returnSequences: true, name: 'bl' }), name: 'bi_concat' }).apply(x);
    const sum = L.bidirectional({ layer: L.gru({ units: 3 }), mergeMode: 'sum', name: 'bi_sum' }).apply(cat);
    const ave = L.bidirectional({ layer: L.simpleRNN({ units: 3, returnSequences: true }), mergeMode: 'ave', name: 'bi_ave' }).apply(x);
    const mul = L.bidirectional({ layer: L.lstm({ units: 2, goBackwards: true }), mergeMode: 'mul', name: 'bi_mul' }).apply(x);
    const [fw, bw] = L.bidirectional({ layer: L.gru({ units: 2, returnSequences: true }), mergeMode: null, name: 'bi_none' }).apply(x);
    return tf.model({ inputs: x, outputs: [cat, sum, ave, mul, fw, bw] });
  },
  // return_state, and an encoder-decoder: the decoder LSTM starts from the encoder's states.
  states: () => {
    const src = tf.input({ shape: [6, 3], name: 'src' });
    const dst = tf.input({ shape: [4, 2], name: 'dst' });
    const [encSeq, h, c] = L.lstm({ units: 4, returnState: true, returnSequences: true, name: 'enc' }).apply(src);
    const [gruOut, gruH] = L.gru({ units: 3, returnState: true, name: 'gru_state' }).apply(encSeq);
    const dec = L.lstm({ units: 4, returnSequences: true, name: 'dec' }).apply(dst, { initialState: [h, c] });
    return tf.model({ inputs: [src, dst], outputs: [encSeq, h, c, gruOut, gruH, dec] });
  },
  // A text model: int ids -> Embedding -> LSTM -> Dense.
  text: () => {
    const ids = tf.input({ shape: [9], dtype: 'int32', name: 'ids' });
    const emb = L.embedding({ inputDim: 20, outputDim: 6, name: 'emb' }).apply(ids);
    const cls = L.dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(L.lstm({ units: 8, name: 'lstm_text' }).apply(emb));
    return tf.model({ inputs: ids, outputs: cls });
  },
};

await tf.setBackend('cpu');
for (const [id, make] of Object.entries(MODELS)) {
  test(`${id}: kiln-run matches tfjs`, async (t) => {
    const model = make();
    randomizeWeights(model, 500);
    const dir = path.join(work, id);
    const modelJson = await saveModel(model, dir);
    const names = endpoints(modelJson);
    const inputs = makeInputs(model, dir, names, 20);
    const result = model.predict(inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype)));
    const refs = (Array.isArray(result) ? result : [result]).map((r) => ({ data: r.dataSync(), shape: r.shape }));
    assert.equal(refs.length, names.outputs.length);
    const { bundle, outs } = runNative(modelJson, inputs);
    names.outputs.forEach((o, k) => expectClose(`native ${o}`, outs[o], refs[k]));

    if (id !== 'bidirectional') return;
    await t.test('wasm (js/kiln.js) gives the same outputs', async () => {
      const m = await load(bundle);
      try {
        const got = await m.run(Object.fromEntries(inputs.map((i) => [i.kiln, { data: i.data, shape: i.shape }])));
        names.outputs.forEach((o, k) => expectClose(`wasm ${o}`, got[o], refs[k]));
      } finally {
        m.dispose();
      }
    });
  });
}

// ---- GRU with reset_after=true (Keras 2 and 3's default; bias [2, 3*units]) ----

test('GRU reset_after=true: kiln-run matches the Keras equations', async () => {
  const units = 4, shape = [BATCH, 6, 3];
  const model = tf.sequential({ layers: [L.gru({ inputShape: shape.slice(1), units, recurrentActivation: 'sigmoid', name: 'gru2' })] });
  randomizeWeights(model, 900);
  const dir = path.join(work, 'gru_reset_after');
  const modelJson = await saveModel(model, dir);
  const [W, U] = model.getWeights().map((w) => w.dataSync());
  const bias = seededData(2 * 3 * units, 'float32', { seed: 77, lo: -1, hi: 1 });
  // The same model as Keras 2 would save it: reset_after true, bias [2, 3*units] (input, recurrent).
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  json.modelTopology.config.layers[0].config.reset_after = true;
  const specs = json.weightsManifest[0].weights;
  const biasSpec = specs.find((s) => s.name.endsWith('/bias'));
  assert.ok(biasSpec, 'the GRU has a bias');
  biasSpec.shape = [2, 3 * units];
  fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(specs.map((s) => {
    const data = s === biasSpec ? bias : s.name.endsWith('/recurrent_kernel') ? U : W;
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  })));
  fs.writeFileSync(modelJson, JSON.stringify(json));

  const names = endpoints(modelJson);
  const x = seededData(shape.reduce((a, b) => a * b, 1), 'float32', { seed: 5, lo: -2, hi: 2 });
  const file = path.join(dir, 'x.npy');
  writeNpy(file, x, shape, 'float32');
  const { outs } = runNative(modelJson, [{ kiln: names.inputs[0], file, shape }]);
  expectClose('gru2', outs.gru2, { data: gruResetAfter(x, shape, W, U, bias, units), shape: [BATCH, units] });
});

// ---- what is refused, by name ----

test('an LSTM fed by a mask_zero Embedding is refused, naming the layer', async () => {
  const model = tf.sequential({ layers: [
    L.embedding({ inputShape: [5], inputDim: 10, outputDim: 3, maskZero: true, name: 'emb_mask' }),
    L.dropout({ rate: 0.1, name: 'drop' }),
    L.lstm({ units: 2, name: 'lstm_masked' })] });
  const modelJson = await saveModel(model, path.join(work, 'masked'));
  assert.throws(() => run(kilnBin('kiln-convert'), [modelJson, '-o', path.join(work, 'masked.kiln')]),
    (e) => /layer 'lstm_masked' \(LSTM\).*mask/.test(e.stderr));
});
