// Helpers for tests that build Keras layers models with tf.layers, save them as tfjs saves them
// (model.json + one weight shard) and compare Kiln's outputs with tfjs', and for the reference
// outputs of layers tfjs lacks (GRU with reset_after=true), computed from the Keras equations.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compare, loadModel, runModel, seededData, tf, unravel } from './common.mjs';
import { modelFilesWriter } from './model_files.mjs';

// Layer weights drawn from [-1, 1) (variances from [0.5, 1.5)), so that no layer is an identity.
export function randomizeWeights(model, seed) {
  model.setWeights(model.weights.map((w, k) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const variance = /variance/.test(w.originalName);
    const data = seededData(n, 'float32', { seed: seed + k, lo: variance ? 0.5 : -1, hi: variance ? 1.5 : 1 });
    return tf.tensor(data, w.shape);
  }));
}

// Writes DIR/model.json and DIR/weights.bin; returns the model.json path.
export async function saveModel(model, dir) {
  await model.save(tf.io.withSaveHandler(modelFilesWriter(dir)));
  return path.join(dir, 'model.json');
}

// got and ref: {data, shape}; within 1e-4 * max(1, max|ref|).
export function expectClose(what, got, ref) {
  const r = compare(got.data, ref.data);
  assert.deepEqual(got.shape, ref.shape, `${what}: shape`);
  assert.ok(r.ok, `${what}: max |got-ref| = ${r.maxAbsErr} > ${r.tol} at [${unravel(r.worst.index, ref.shape)}]` +
    ` (got ${r.worst.got}, ref ${r.worst.ref})`);
}

// ---- GRU with reset_after=true (Keras 2 and 3's default; bias [2, 3*units]) ----

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

// Keras' GRUCell with reset_after: for each step, x·W + b_in and h·U + b_rec split into z, r, h
// parts; z = σ(xz + hz), r = σ(xr + hr), hh = tanh(xh + r * hh_rec), h = z*h + (1-z)*hh.
// Returns the last h, [batch, units].
export function gruResetAfter(x, [batch, steps, feat], W, U, bias, units) {
  const g = 3 * units;
  const out = new Float64Array(batch * units);
  for (let b = 0; b < batch; b++) {
    let h = new Float64Array(units);
    for (let t = 0; t < steps; t++) {
      const xp = new Float64Array(g), hp = new Float64Array(g);
      for (let j = 0; j < g; j++) {
        xp[j] = bias[j];
        hp[j] = bias[g + j];
        for (let i = 0; i < feat; i++) xp[j] += x[(b * steps + t) * feat + i] * W[i * g + j];
        for (let i = 0; i < units; i++) hp[j] += h[i] * U[i * g + j];
      }
      const next = new Float64Array(units);
      for (let j = 0; j < units; j++) {
        const z = sigmoid(xp[j] + hp[j]), r = sigmoid(xp[units + j] + hp[units + j]);
        const hh = Math.tanh(xp[2 * units + j] + r * hp[2 * units + j]);
        next[j] = z * h[j] + (1 - z) * hh;
      }
      h = next;
    }
    out.set(h, b * units);
  }
  return out;
}

// ---- reference outputs of a layers model ----

// {weight name: Float32Array} of a tfjs layers model with float32 weights in one manifest group.
function readWeights(modelJson, json) {
  const [group] = json.weightsManifest;
  const bytes = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(path.dirname(modelJson), p))));
  const out = {};
  let at = 0;
  for (const spec of group.weights) {
    assert.equal(spec.dtype, 'float32', `${spec.name}: only float32 weights here`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    out[spec.name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + 4 * n));
    at += 4 * n;
  }
  return { specs: group.weights, values: out };
}

const resetAfterGru = (layer) => layer.class_name === 'GRU' && layer.config.reset_after === true;

// Layers of a Sequential config run by tfjs as a model of their own on x (a tf.Tensor), with
// their weights; returns the output tensor.
async function runPart(weights, layers, x) {
  const first = { class_name: 'InputLayer', config: { batch_input_shape: [null, ...x.shape.slice(1)], dtype: x.dtype, name: 'part_input' } };
  const names = new Set(layers.map((l) => l.config.name));
  const specs = weights.specs.filter((s) => names.has(s.name.split('/')[0]));
  const data = Buffer.concat(specs.map((s) => Buffer.from(weights.values[s.name].buffer)));
  const modelTopology = { class_name: 'Sequential', config: { name: 'part', layers: [first, ...layers] } };
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs: specs,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) }));
  return model.predict(x);
}

// The outputs of a tfjs layers model (model.json + weights, a Keras 2 config) on inputs
// [{data, shape, dtype}], each {data, shape}, in the model's output order: tfjs' predict. tfjs
// refuses GRUs with reset_after=true; a Sequential model may have them (with the Keras
// defaults: tanh, sigmoid gates, a bias, only the last state, forwards): tfjs runs the layers
// between them, gruResetAfter the GRUs.
export async function kerasReference(modelJson, inputs) {
  const json = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  const topology = json.modelTopology.model_config ?? json.modelTopology;
  const tensors = inputs.map((i) => tf.tensor(i.data, i.shape, i.dtype ?? 'float32'));
  const grus = topology.class_name === 'Sequential' ? topology.config.layers.filter(resetAfterGru) : [];
  if (!grus.length) {
    const { kind, model } = await loadModel(modelJson);
    const outs = await runModel(kind, model, tensors.map((tensor) => ({ tensor })));
    return outs.map((o) => ({ data: o.dataSync(), shape: o.shape }));
  }
  assert.equal(tensors.length, 1, 'a Sequential model has one input');
  const weights = readWeights(modelJson, json);
  let x = tensors[0], part = [];
  for (const layer of topology.config.layers.slice(topology.config.layers[0].class_name === 'InputLayer' ? 1 : 0)) {
    if (!resetAfterGru(layer)) {
      part.push(layer);
      continue;
    }
    if (part.length) x = await runPart(weights, part, x);
    part = [];
    const c = layer.config, name = c.name;
    assert.ok(c.activation === 'tanh' && c.recurrent_activation === 'sigmoid' && c.use_bias !== false &&
      !c.return_sequences && !c.return_state && !c.go_backwards, `${name}: only Keras' default GRU here`);
    const [W, U, bias] = ['kernel', 'recurrent_kernel', 'bias'].map((w) => weights.values[`${name}/${w}`]);
    assert.ok(W && U && bias, `${name}: the weights are there`);
    x = tf.tensor(Float32Array.from(gruResetAfter(x.dataSync(), x.shape, W, U, bias, c.units)), [x.shape[0], c.units]);
  }
  if (part.length) x = await runPart(weights, part, x);
  return [{ data: x.dataSync(), shape: x.shape }];
}
