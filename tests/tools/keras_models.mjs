// Helpers for tests that build Keras layers models with tf.layers, save them as tfjs saves them
// (model.json + one weight shard) and compare Kiln's outputs with tfjs'.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { compare, seededData, tf, unravel } from './common.mjs';

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
  fs.mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (a) => {
    const data = Array.isArray(a.weightData) ? Buffer.concat(a.weightData.map((b) => Buffer.from(b))) : Buffer.from(a.weightData);
    fs.writeFileSync(path.join(dir, 'weights.bin'), data);
    const json = {
      format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return path.join(dir, 'model.json');
}

// got and ref: {data, shape}; within 1e-4 * max(1, max|ref|).
export function expectClose(what, got, ref) {
  const r = compare(got.data, ref.data);
  assert.deepEqual(got.shape, ref.shape, `${what}: shape`);
  assert.ok(r.ok, `${what}: max |got-ref| = ${r.maxAbsErr} > ${r.tol} at [${unravel(r.worst.index, ref.shape)}]` +
    ` (got ${r.worst.got}, ref ${r.worst.ref})`);
}
