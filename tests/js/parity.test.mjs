// End-to-end parity with TensorFlow semantics: real models from npm, converted by kiln-convert,
// run by kiln-run (native) and by the JS API (wasm) on the same seeded inputs, each output
// compared with @tensorflow/tfjs (pure-JS CPU backend) within 1e-4 * max(1, max|ref|).
// The binary-GraphDef path is checked too: each model is re-encoded as a frozen .pb with its
// weights as Const tensors (tests/tools/tfjs_to_pb.mjs) and must give the same outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, readNpy, unravel, kilnBin } from '../tools/common.mjs';
import { load } from '../../js/kiln.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = kilnBin;
const fixtures = path.join(root, 'tests/fixtures/models');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-parity-'));

// Model ids under tests/fixtures/models (installed from npm by tests/setup.sh).
const MODELS = ['mobilenet_v2_mid', 'blazeface-back', 'facemesh'];

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
}

// Kiln names a tensor "node" for output 0 and "node:N" otherwise; tfjs says "node:0" too.
const kilnName = (tfName) => tfName.replace(/:0$/, '');

function expectClose(what, got, ref) {
  const r = compare(got.data, ref.data);
  assert.deepEqual(got.shape, ref.shape, `${what}: shape`);
  assert.ok(r.ok, `${what}: max |got-ref| = ${r.maxAbsErr} > ${r.tol} at [${unravel(r.worst.index, ref.shape)}]` +
    ` (got ${r.worst.got}, ref ${r.worst.ref})`);
  return r;
}

// Converts MODEL to a bundle and checks the size budget: weights + 2 % + 16 KiB.
function convert(model, out, extra = []) {
  const report = run(bin('kiln-convert'), [model, '-o', out, ...extra]);
  const weights = Number(/weights (\d+) bytes/.exec(report)[1]);
  const size = fs.statSync(out).size;
  assert.ok(size <= weights * 1.02 + 16384, `${out}: ${size} bytes for ${weights} bytes of weights`);
  return report;
}

for (const id of MODELS) {
  test(`${id}: native and wasm match tfjs`, async (t) => {
    const modelJson = path.join(fixtures, id, 'model.json');
    assert.ok(fs.existsSync(modelJson), `${modelJson} is missing: run tests/setup.sh`);
    const dir = path.join(work, id);
    run(process.execPath, [path.join(root, 'tests/tools/tfjs_ref.mjs'), modelJson, dir]);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const inputs = manifest.inputs.map((i) => ({ ...i, ...readNpy(path.join(dir, 'inputs', `${i.safe}.npy`)) }));
    const refs = manifest.outputs.map((o) => ({ ...o, ...readNpy(path.join(dir, 'ref', `${o.safe}.npy`)) }));

    const bundle = path.join(dir, `${id}.kiln`);
    convert(modelJson, bundle);
    const feedArgs = inputs.flatMap((i) => ['--input', `${kilnName(i.name)}=${path.join(dir, 'inputs', `${i.safe}.npy`)}`]);

    const native = {};
    await t.test('native (kiln-run)', () => {
      const outDir = path.join(dir, 'native');
      fs.mkdirSync(outDir, { recursive: true });
      run(bin('kiln-run'), [bundle, ...feedArgs, '--output-dir', outDir]);
      for (const ref of refs) {
        const got = readNpy(path.join(outDir, `${kilnName(ref.name).replace(/[^A-Za-z0-9._-]/g, '_')}.npy`));
        native[ref.name] = got;
        expectClose(`native ${ref.name}`, got, ref);
      }
    });

    await t.test('wasm (js/kiln.js)', async () => {
      const model = await load(bundle);
      try {
        const feeds = Object.fromEntries(inputs.map((i) => [kilnName(i.name), { data: i.data, shape: i.shape }]));
        const outs = await model.run(feeds);
        for (const ref of refs) {
          const got = outs[kilnName(ref.name)];
          assert.ok(got, `wasm output ${kilnName(ref.name)} missing (have ${Object.keys(outs)})`);
          expectClose(`wasm ${ref.name}`, got, ref);
          // The two builds run the same C; they must agree far more tightly than with tfjs.
          const r = compare(got.data, native[ref.name].data, { rel: 1e-5 });
          assert.ok(r.ok, `wasm vs native ${ref.name}: ${r.maxAbsErr}`);
        }
      } finally {
        model.dispose();
      }
    });

    await t.test('frozen GraphDef (.pb) of the same model', () => {
      const pb = path.join(dir, `${id}.pb`);
      run(process.execPath, [path.join(root, 'tests/tools/tfjs_to_pb.mjs'), modelJson, pb]);
      const pbBundle = path.join(dir, `${id}-pb.kiln`);
      // A .pb has no signature: name the inputs (with shapes) and outputs.
      const extra = [
        ...inputs.flatMap((i) => ['--input', `${kilnName(i.name)}:${i.shape.join(',')}`]),
        ...refs.flatMap((o) => ['--output', kilnName(o.name)]),
      ];
      convert(pb, pbBundle, extra);
      const outDir = path.join(dir, 'pb');
      fs.mkdirSync(outDir, { recursive: true });
      run(bin('kiln-run'), [pbBundle, ...feedArgs, '--output-dir', outDir]);
      for (const ref of refs) {
        const got = readNpy(path.join(outDir, `${kilnName(ref.name).replace(/[^A-Za-z0-9._-]/g, '_')}.npy`));
        expectClose(`.pb ${ref.name}`, got, ref);
      }
    });
  });
}
