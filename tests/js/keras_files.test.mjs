// Keras model files: tf.keras 2 .h5, Keras 3 legacy .h5 and Keras 3 .keras (stored and deflated
// zip), written by tests/tools/make_keras_fixtures.py into tests/fixtures/keras/ (tests/setup.sh),
// converted by kiln-convert at the manifest's input shapes (batch 2) and run by kiln-run on
// seeded inputs. The reference is the same model run by @tensorflow/tfjs as a layers model: the
// fixture's tfjs/ folder holds its Keras 2 config and the same weights as a tfjs manifest; GRUs
// with reset_after=true, which tfjs lacks (text_rnn), are computed from the Keras equations
// (kerasReference in tests/tools/keras_models.mjs). Every output must be within
// 1e-4 * max(1, max|ref|) of the reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, kilnBin, readNpy, recordFormatResult, safeName, seededData, tf, unravel, writeNpy } from '../tools/common.mjs';
import { kerasReference } from '../tools/keras_models.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fixtures = path.join(root, 'tests/fixtures/keras');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-keras-files-'));
const manifestPath = path.join(fixtures, 'MANIFEST.json');

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

await tf.setBackend('cpu');

test('the Keras fixtures are there', () => {
  assert.ok(fs.existsSync(manifestPath), `${manifestPath} is missing: run tests/setup.sh`);
});

const manifest = fs.existsSync(manifestPath) ? JSON.parse(fs.readFileSync(manifestPath, 'utf8')) : {};
for (const [id, spec] of Object.entries(manifest)) {
  test(`${id}: every Keras file of the model matches the reference`, async (t) => {
    const dir = path.join(work, id);
    fs.mkdirSync(dir, { recursive: true });
    // Floats in [-2, 2); int inputs (token ids) over their range.
    const inputs = spec.inputs.map((inp, i) => {
      const n = inp.shape.reduce((a, b) => a * b, 1), dtype = inp.dtype ?? 'float32';
      const [lo, hi] = inp.range ?? [-2, 2];
      const data = seededData(n, dtype, { seed: 11 + i, lo, hi });
      const file = path.join(dir, `${safeName(inp.name)}.npy`);
      writeNpy(file, data, inp.shape, dtype);
      return { ...inp, dtype, data, file };
    });
    const outs = await kerasReference(path.join(fixtures, id, 'tfjs', 'model.json'), inputs);
    assert.equal(outs.length, spec.outputs.length);
    const refs = outs.map((o, k) => ({ name: spec.outputs[k], ...o }));

    for (const file of spec.files) {
      await t.test(file, () => {
        const bundle = path.join(dir, `${file}.kiln`);
        const outDir = path.join(dir, `${file}.out`);
        const report = run(kilnBin('kiln-convert'), [path.join(fixtures, id, file), '-o', bundle,
          ...inputs.flatMap((i) => ['--input', `${i.name}:${i.shape}`])]);
        for (const i of inputs) assert.match(report, new RegExp(`input +${i.name} `), 'inputs are named after the InputLayers');
        run(kilnBin('kiln-run'), [bundle, ...inputs.flatMap((i) => ['--input', `${i.name}=${i.file}`]), '--output-dir', outDir]);
        let err = 0;
        for (const ref of refs) {
          const got = readNpy(path.join(outDir, `${safeName(ref.name)}.npy`));
          assert.deepEqual(got.shape, ref.shape, `${ref.name}: shape`);
          const r = compare(got.data, ref.data);
          assert.ok(r.ok, `${file} ${ref.name}: max |got-ref| = ${r.maxAbsErr} > ${r.tol} at ` +
            `[${unravel(r.worst.index, ref.shape)}] (got ${r.worst.got}, ref ${r.worst.ref})`);
          err = Math.max(err, r.maxAbsErr / Math.max(1, r.maxAbsRef));
        }
        recordFormatResult({ format: `Keras file (${file})`, model: `${id} (tests/tools/make_keras_fixtures.py)`,
          against: 'tfjs running its Keras 2 config (a GRU with reset_after: the Keras equations in JS)', native: err, ok: true });
      });
    }
  });
}

test('kiln-convert refuses a .keras zip bomb with a limit, and writes nothing', () => {
  const bundle = path.join(work, 'bomb.kiln');
  const r = spawnSync(kilnBin('kiln-convert'), [path.join(fixtures, 'bad', 'bomb.keras'), '-o', bundle], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /bomb\.keras: model\.weights\.h5: 67108864 bytes deflated to \d+ is over the limit of 100:1/);
  assert.ok(!fs.existsSync(bundle));
});
