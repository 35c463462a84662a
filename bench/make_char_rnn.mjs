// Writes one of the benchmark's char-RNN models, built like tfjs-examples' lstm-text-generation:
// a one-hot sequence [1, 40, 71] (sampleLen 40, a charset of 71) -> LSTM(s) -> Dense(71, softmax),
// with tfjs' layer defaults (hard_sigmoid gates). Called by bench.mjs when DIR/model.json is
// missing or older than this script or common.mjs:
//   node bench/make_char_rnn.mjs ID DIR     ID: char-rnn (LSTM 128) or char-rnn-2x256 (2 × LSTM 256)
// Writes DIR/weights.bin, then DIR/model.json (a tfjs layers model, as model.save writes it).
// The weights are seeded, so every run writes the same bytes: tfjs' initializers are random.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { modelFilesWriter } from '../tests/tools/model_files.mjs';
import { seededData } from './common.mjs';

const SAMPLE_LEN = 40;
const CHARSET = 71;
const MODELS = { 'char-rnn': [128], 'char-rnn-2x256': [256, 256] };
const SEED = 0x5eed0000;

const [id, dir] = process.argv.slice(2);
if (!dir || !MODELS[id]) {
  console.error(`usage: node bench/make_char_rnn.mjs ID DIR (ID: ${Object.keys(MODELS).join(', ')})`);
  process.exit(2);
}
tf.enableProdMode();

const sizes = MODELS[id];
const model = tf.sequential({ name: id.replace(/-/g, '_') });
sizes.forEach((units, k) => model.add(tf.layers.lstm({
  units, returnSequences: k < sizes.length - 1, name: `lstm_${k + 1}`,
  // Overwritten below; tfjs' default orthogonal initializer takes a minute on the CPU backend.
  recurrentInitializer: 'zeros',
  ...(k === 0 ? { inputShape: [SAMPLE_LEN, CHARSET] } : {}),
})));
model.add(tf.layers.dense({ units: CHARSET, activation: 'softmax', name: 'dense' }));

// Weight k: uniform in [-limit, limit) from the seeded generator (seed SEED + k). Matrices: Glorot's
// limit sqrt(6 / (fan_in + fan_out)), tfjs' scale, times a gain (4 for the LSTMs, 8 for the Dense
// head); biases: limit 0.5. At tfjs' scale the softmax stays near uniform (every class about 1/71),
// so a wrong output would be close to the right one; these give a peaked distribution, as a
// trained model's (top classes about 0.2-0.4).
model.setWeights(model.weights.map((w, k) => {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const gain = w.originalName.startsWith('dense/') ? 8 : 4;
  const limit = w.shape.length === 2 ? gain * Math.sqrt(6 / (w.shape[0] + w.shape[1])) : 0.5;
  return tf.tensor(seededData(n, 'float32', SEED + k).map((u) => limit * (2 * u - 1)), w.shape);
}));

await model.save(tf.io.withSaveHandler(modelFilesWriter(dir)));
