#!/usr/bin/env node
// Reference outputs from @tensorflow/tfjs (pure-JS CPU backend) for one model and the seeded inputs.
//
//   node tests/tools/tfjs_ref.mjs MODEL_DIR/model.json OUT_DIR [--input NAME:d0,d1,...]... [--seed N]
//
// Writes OUT_DIR/inputs/<safe>.npy, OUT_DIR/ref/<safe>.npy for every output in model.outputs,
// and OUT_DIR/manifest.json = {model, tfjs, backend, seed, inputs, outputs}, where inputs and
// outputs are [{name, safe, dtype, shape}] and <safe> is the name with characters outside
// [A-Za-z0-9._-] replaced by '_'. Input shapes come from the model (-1 in dim 0 becomes 1);
// --input NAME:dims overrides one (NAME as in the manifest; dims may be empty for a scalar).
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  tf, loadModel, runModel, safeName, seededInputs, toTensor, writeNpy, DEFAULT_SEED,
} from './common.mjs';

function usage(msg) {
  if (msg) console.error(`tfjs_ref: ${msg}`);
  console.error('usage: node tests/tools/tfjs_ref.mjs MODEL_DIR/model.json OUT_DIR [--input NAME:d0,d1,...]... [--seed N]');
  process.exit(2);
}

function parseArgs(argv) {
  const a = { positional: [], shapes: new Map(), seed: DEFAULT_SEED };
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--input') {
      const v = argv[++i];
      if (v === undefined) usage('--input needs NAME:d0,d1,...');
      const colon = v.lastIndexOf(':'); // names may hold ':' ("x:0"); dims never do
      if (colon <= 0) usage(`--input ${v}: expected NAME:d0,d1,...`);
      const dimsText = v.slice(colon + 1).trim();
      const dims = dimsText === '' ? [] : dimsText.split(',').map((d) => Number(d.trim()));
      if (dims.some((d) => !Number.isInteger(d) || d < 0)) usage(`--input ${v}: dims must be integers >= 0`);
      a.shapes.set(v.slice(0, colon), dims);
    } else if (t === '--seed') {
      a.seed = Number(argv[++i]);
      if (!Number.isInteger(a.seed) || a.seed < 0 || a.seed > 0xffffffff) usage('--seed needs an integer in 0..2^32-1');
    } else if (t.startsWith('--')) usage(`unknown option ${t}`);
    else a.positional.push(t);
  }
  if (a.positional.length !== 2) usage();
  return a;
}

// The model's inputs as [{name, dtype, shape}], dims resolved.
function inputSpecs(kind, model, shapes) {
  const specs = model.inputs.map((inp) => ({
    name: inp.name,
    dtype: inp.dtype || 'float32',
    shape: inp.shape ? [...inp.shape] : null,
  }));
  for (const name of shapes.keys()) {
    if (!specs.some((s) => s.name === name)) {
      throw new Error(`--input ${name}: the model has no such input (it has ${specs.map((s) => s.name).join(', ')})`);
    }
  }
  for (const s of specs) {
    if (shapes.has(s.name)) s.shape = shapes.get(s.name);
    if (!s.shape) throw new Error(`input ${s.name} has an unknown rank: pass --input ${s.name}:d0,d1,...`);
    s.shape = s.shape.map((d, i) => (d === null || d === undefined || d < 0) && i === 0 ? 1 : d);
    if (s.shape.some((d) => d === null || d === undefined || d < 0)) {
      throw new Error(`input ${s.name} has unknown dims [${s.shape}]: pass --input ${s.name}:d0,d1,...`);
    }
    if (!['float32', 'int32', 'uint8', 'bool'].includes(s.dtype)) throw new Error(`input ${s.name}: dtype ${s.dtype} not supported`);
  }
  return specs;
}

function checkUnique(list, what) {
  const seen = new Map();
  for (const x of list) {
    if (seen.has(x.safe)) throw new Error(`${what} ${seen.get(x.safe)} and ${x.name} have the same file name ${x.safe}`);
    seen.set(x.safe, x.name);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const [modelJson, outDir] = args.positional;
  await tf.setBackend('cpu');
  await tf.ready();

  let t0 = performance.now();
  const { kind, model } = await loadModel(modelJson);
  const loadMs = performance.now() - t0;

  const specs = inputSpecs(kind, model, args.shapes);
  const inputs = seededInputs(specs, { seed: args.seed }).map((x) => ({ ...x, safe: safeName(x.name) }));
  checkUnique(inputs, 'inputs');
  const tensors = inputs.map((x) => ({ name: x.name, tensor: toTensor(x.dtype, x.shape, x.data) }));

  t0 = performance.now();
  const results = await runModel(kind, model, tensors);
  const runMs = performance.now() - t0;

  const names = kind === 'graph' ? model.outputs.map((o) => o.name) : model.outputs.map((o) => o.name);
  if (results.length !== names.length) throw new Error(`the model gave ${results.length} outputs for ${names.length} names`);
  const outputs = results.map((t, i) => ({ name: names[i], safe: safeName(names[i]), dtype: t.dtype, shape: t.shape, tensor: t }));
  checkUnique(outputs, 'outputs');

  fs.mkdirSync(path.join(outDir, 'inputs'), { recursive: true });
  fs.mkdirSync(path.join(outDir, 'ref'), { recursive: true });
  for (const x of inputs) writeNpy(path.join(outDir, 'inputs', `${x.safe}.npy`), x.data, x.shape, x.dtype);
  for (const o of outputs) {
    if (!['float32', 'int32', 'bool'].includes(o.dtype)) throw new Error(`output ${o.name}: dtype ${o.dtype} not supported`);
    writeNpy(path.join(outDir, 'ref', `${o.safe}.npy`), o.tensor.dataSync(), o.shape, o.dtype);
  }

  const manifest = {
    model: modelJson,
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    seed: args.seed,
    inputs: inputs.map(({ name, safe, dtype, shape }) => ({ name, safe, dtype, shape })),
    outputs: outputs.map(({ name, safe, dtype, shape }) => ({ name, safe, dtype, shape })),
  };
  const mf = path.join(outDir, 'manifest.json');
  fs.writeFileSync(`${mf}.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(`${mf}.tmp`, mf);

  for (const x of manifest.inputs) console.log(`input  ${x.name} ${x.dtype} [${x.shape}]`);
  for (const o of manifest.outputs) console.log(`output ${o.name} ${o.dtype} [${o.shape}]`);
  console.log(`tfjs ${tf.version.tfjs} ${tf.getBackend()}: load ${loadMs.toFixed(0)} ms, run ${runMs.toFixed(0)} ms`);
}

main().catch((e) => {
  console.error(`tfjs_ref: ${e.message}`);
  process.exit(1);
});
