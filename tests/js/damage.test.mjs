// Damaged files: real bundles, a frozen .pb and tfjs models (model.json and weight shards),
// truncated at many offsets and with bytes overwritten, through kiln-convert, kiln-run and the
// JS API. Every case must end in a named error (exit status 1 and the tool's message on stderr,
// naming the model for kiln-convert; a KilnError in JS) or a valid result; never a signal, a
// hang, a sanitizer report or a wasm trap. Bundles are also damaged with their checksum recomputed, so that the damage reaches
// the loader's validation instead of stopping at the checksum.
//
// The randomness is seeded (SEED): a failure names its case, and reruns give the same cases.
// Natively, the tools of build/ are used, or of $KILN_BUILD_DIR (tests/run.sh: build-asan/,
// where sanitizer reports are caught too).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load, KilnError } from '../../js/kiln.js';
import { kilnBin } from '../tools/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const convertBin = kilnBin('kiln-convert');
const runBin = kilnBin('kiln-run');
const PB = path.join(root, 'tests/data/mobilenet_v1_0.25_128_frozen.pb');
const BLAZEFACE = path.join(root, 'tests/fixtures/models/blazeface-back');
const SEED = 0x5eed2026;
const TIMEOUT_MS = 30000; // per process; generous for sanitizer builds on a busy machine
const JOBS = Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-damage-'));
// A huge allocation fails as plain malloc does (a named out-of-memory error), not as an ASan report.
const env = { ...process.env, ASAN_OPTIONS: `allocator_may_return_null=1${process.env.ASAN_OPTIONS ? `:${process.env.ASAN_OPTIONS}` : ''}` };

// ---- helpers -------------------------------------------------------------------------------------

function rng(seed) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
  return { int: (n) => next() % n, pick: (a) => a[next() % a.length] };
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32c(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
// A bundle's checksum (u32 at byte 8) made right again for its (damaged) bytes [12, end).
function fixChecksum(bytes) {
  const b = Buffer.from(bytes);
  b.writeUInt32LE(crc32c(b.subarray(12)), 8);
  return b;
}
// Where the bundle's WEIGHTS section starts: everything before it is structure.
const weightsOffset = (bytes) => Number(Buffer.from(bytes).readBigUInt64LE(48 + 16 * 4));

// Overwrites 1 to 4 bytes in [lo, hi): bit flips, boundary values or random bytes.
function damage(r, bytes, lo = 0, hi = bytes.length) {
  const b = Buffer.from(bytes), where = [];
  for (let n = 1 + r.int(4); n > 0; n--) {
    const at = lo + r.int(hi - lo);
    const kind = r.int(3);
    b[at] = kind === 0 ? b[at] ^ (1 << r.int(8)) : kind === 1 ? r.pick([0, 1, 0x7f, 0x80, 0xff]) : r.int(256);
    where.push(at);
  }
  return [b, `bytes ${where.join(',')}`];
}

// Offsets to cut at: the edges, around every 64-byte boundary of the first KiB, and random ones.
function cutOffsets(r, size, n) {
  const set = new Set([0, 1, 2, 4, 8, 16, 127, 128, 129, size - 1, size - 2]);
  for (let k = 64; k < 1024; k += 64) set.add(k - 1), set.add(k);
  for (let k = 0; k < n; k++) set.add(r.int(size));
  return [...set].filter((o) => o >= 0 && o < size).sort((a, b) => a - b);
}

// Runs a tool; resolves with {code, signal, out, err, timedOut}.
function spawn(bin, args) {
  return new Promise((resolve) => {
    execFile(bin, args, { env, timeout: TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 1 << 24, encoding: 'utf8' },
      (error, out, err) => resolve({
        code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
        signal: error?.signal ?? null, timedOut: !!error?.killed, out, err,
      }));
  });
}

// Runs async fns with at most JOBS at a time.
async function pool(fns) {
  const results = new Array(fns.length);
  let next = 0;
  const worker = async () => {
    while (next < fns.length) {
      const i = next++;
      results[i] = await fns[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(JOBS, fns.length) }, worker));
  return results;
}

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

// A tool's run ended well: success, or status 1 with the tool's own error line ("tool: what",
// naming the file for a file it cannot read or convert), and no crash, hang or sanitizer report.
// Returns the problem, or null.
function problem(tool, r, file) {
  if (r.timedOut) return `${tool} hung (killed after ${TIMEOUT_MS} ms)`;
  if (r.signal) return `${tool} died of ${r.signal}: ${r.err.slice(-800)}`;
  if (SANITIZER.test(r.err)) return `${tool}: sanitizer report: ${r.err.slice(0, 1500)}`;
  if (r.code === 0) return null;
  if (r.code !== 1) return `${tool} exited with status ${r.code}: ${r.err.slice(-800)}`;
  const line = r.err.split('\n').find((l) => l.startsWith(`${tool}: `));
  const named = tool === 'kiln-convert' ? line?.startsWith(`${tool}: ${file}: `) : !!line;
  if (!named || line.length < `${tool}: `.length + 20)
    return `${tool} failed without a message saying what: ${JSON.stringify(r.err.slice(0, 400))}`;
  return null;
}

// kiln-run with seeded inputs.
async function checkRun(bundle) {
  return problem('kiln-run', await spawn(runBin, [bundle, '--seeded']), bundle);
}

// kiln-convert; a success is then run, a failure must leave no output behind.
async function checkConvert(model, out) {
  const r = await spawn(convertBin, [model, '-q', '-o', out]);
  const p = problem('kiln-convert', r, model);
  if (p) return p;
  if (r.code !== 0) return fs.existsSync(out) ? `kiln-convert failed but left ${out}` : null;
  const p2 = await checkRun(out);
  fs.rmSync(out, { force: true });
  return p2 && `converted, then ${p2}`;
}

// The JS API: load, run on zeros, dispose. Any failure must be a KilnError that is not a trap.
async function checkJs(bytes) {
  let model;
  try {
    model = await load(bytes);
    const feeds = Object.fromEntries(model.inputs.map((t) => {
      const n = t.shape.reduce((a, b) => a * b, 1);
      const A = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array }[t.dtype];
      return [t.name, new A(n)];
    }));
    await model.run(feeds);
    return null;
  } catch (e) {
    if (!(e instanceof KilnError)) return `load/run threw ${e?.name}: ${e?.message}`;
    if (/wasm trap|internal error/.test(e.message)) return `wasm trap: ${e.message}`;
    if (!(e.code >= 1 && e.code <= 5) || e.message.length < 10) return `KilnError without a useful message: ${e.code} ${e.message}`;
    return null;
  } finally {
    model?.dispose();
  }
}

// Runs the cases ({name, check}) and fails with every case that went wrong.
async function expectAllNamed(cases) {
  const problems = (await pool(cases.map((c) => async () => {
    const p = await c.check();
    return p && `${c.name}: ${p}`;
  }))).filter(Boolean);
  assert.deepEqual(problems, [], `${problems.length} of ${cases.length} cases went wrong`);
}

// ---- fixtures --------------------------------------------------------------------------------

// A small tfjs graph model: conv -> bias -> relu6 -> mean -> matmul -> softmax, weights in w.bin.
function smallModel(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const shape = (dims) => ({ dim: dims.map((d) => ({ size: String(d) })) });
  const ints = (v) => ({ list: { i: v.map(String) } });
  const F = { type: 'DT_FLOAT' };
  const node = (name, op, input, attr = {}) => ({ name, op, input, attr });
  const weights = [
    { name: 'w', shape: [3, 3, 3, 4], dtype: 'float32' }, { name: 'b', shape: [4], dtype: 'float32' },
    { name: 'axes', shape: [2], dtype: 'int32' }, { name: 'fc', shape: [4, 3], dtype: 'float32' },
  ];
  const nodes = [
    node('x', 'Placeholder', [], { dtype: F, shape: { shape: shape([1, 8, 8, 3]) } }),
    ...weights.map((w) => node(w.name, 'Const', [], { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } })),
    node('conv', 'Conv2D', ['x', 'w'], { T: F, strides: ints([1, 1, 1, 1]), padding: { s: btoa('SAME') } }),
    node('bias', 'BiasAdd', ['conv', 'b'], { T: F }),
    node('relu', 'Relu6', ['bias'], { T: F }),
    node('mean', 'Mean', ['relu', 'axes'], { T: F, keep_dims: { b: false } }),
    node('logits', 'MatMul', ['mean', 'fc'], { T: F }),
    node('probs', 'Softmax', ['logits'], { T: F }),
  ];
  const f32 = (n, k) => Float32Array.from({ length: n }, (_, i) => (((i + k) * 37) % 11) / 5 - 1);
  const shard = Buffer.concat([f32(108, 1), f32(4, 2), Int32Array.from([1, 2]), f32(12, 3)].map((a) => Buffer.from(a.buffer)));
  fs.writeFileSync(path.join(dir, 'w.bin'), shard);
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: nodes }, weightsManifest: [{ paths: ['w.bin'], weights }] }, null, 1));
  return path.join(dir, 'model.json');
}

const fixtures = {};

before(() => {
  const small = smallModel(path.join(work, 'small'));
  const run = (args) => execFileSync(convertBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  fixtures.smallJson = small;
  fixtures.smallBundle = path.join(work, 'small.kiln');
  run([small, '-q', '-o', fixtures.smallBundle]);
  fixtures.pbBundle = path.join(work, 'mobilenet_v1.kiln');
  run([PB, '-q', '-o', fixtures.pbBundle]);
  fixtures.blazefaceBundle = path.join(work, 'blazeface.kiln');
  run([path.join(BLAZEFACE, 'model.json'), '-q', '-o', fixtures.blazefaceBundle]);
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

// Writes bytes to a fresh file in its own directory (a tfjs model's shards go next to it).
let serial = 0;
function caseFile(name, bytes, extra = {}) {
  const dir = path.join(work, `case-${serial++}`);
  fs.mkdirSync(dir);
  for (const [f, b] of Object.entries(extra)) fs.writeFileSync(path.join(dir, f), b);
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

// ---- bundles ---------------------------------------------------------------------------------

test('damaged bundles: kiln-run ends in a named error or a valid result', async () => {
  const r = rng(SEED);
  const cases = [];
  for (const [label, file, nCuts, nFixed] of [['small', fixtures.smallBundle, 12, 40], ['mobilenet_v1', fixtures.pbBundle, 12, 30]]) {
    const bytes = fs.readFileSync(file);
    for (const at of cutOffsets(r, bytes.length, nCuts)) {
      const f = caseFile(`${label}-cut${at}.kiln`, bytes.subarray(0, at));
      cases.push({ name: `${label} cut at ${at}`, check: () => checkRun(f) });
    }
    for (let k = 0; k < 4; k++) {
      const [b, where] = damage(r, bytes);
      const f = caseFile(`${label}-flip${k}.kiln`, b);
      cases.push({ name: `${label} ${where}`, check: () => checkRun(f) });
    }
    // With the checksum made right, mostly in the structure before the weights.
    const structure = weightsOffset(bytes);
    for (let k = 0; k < nFixed; k++) {
      const [b, where] = damage(r, bytes, 12, k % 4 === 3 ? bytes.length : structure);
      const f = caseFile(`${label}-fixed${k}.kiln`, fixChecksum(b));
      cases.push({ name: `${label} ${where} (checksum fixed)`, check: () => checkRun(f) });
    }
  }
  await expectAllNamed(cases);
});

test('damaged bundles: the JS API throws a KilnError or runs', async () => {
  const r = rng(SEED + 1);
  const cases = [];
  for (const [label, file, nCuts, nFixed] of [['small', fixtures.smallBundle, 20, 150], ['mobilenet_v1', fixtures.pbBundle, 10, 60],
    ['blazeface', fixtures.blazefaceBundle, 10, 60]]) {
    const bytes = fs.readFileSync(file);
    for (const at of cutOffsets(r, bytes.length, nCuts))
      cases.push({ name: `${label} cut at ${at}`, check: () => checkJs(bytes.subarray(0, at)) });
    const structure = weightsOffset(bytes);
    for (let k = 0; k < nFixed; k++) {
      const [b, where] = damage(r, bytes, 12, k % 4 === 3 ? bytes.length : structure);
      cases.push({ name: `${label} ${where} (checksum fixed)`, check: () => checkJs(fixChecksum(b)) });
    }
  }
  await expectAllNamed(cases);
});

// ---- a frozen GraphDef -------------------------------------------------------------------------

test('damaged .pb: kiln-convert ends in a named error or a bundle that runs', async () => {
  const r = rng(SEED + 2);
  const bytes = fs.readFileSync(PB);
  const cases = [];
  for (const at of cutOffsets(r, bytes.length, 0).filter((_, i) => i % 3 === 0).concat([r.int(bytes.length), r.int(bytes.length)])) {
    const f = caseFile(`cut${at}.pb`, bytes.subarray(0, at));
    cases.push({ name: `.pb cut at ${at}`, check: () => checkConvert(f, `${f}.kiln`) });
  }
  for (let k = 0; k < 16; k++) {
    // Mostly in the graph's structure: the first 4 KiB (node names, ops, attrs) or any byte.
    const [b, where] = damage(r, bytes, 0, k % 2 ? 4096 : bytes.length);
    const f = caseFile(`flip${k}.pb`, b);
    cases.push({ name: `.pb ${where}`, check: () => checkConvert(f, `${f}.kiln`) });
  }
  await expectAllNamed(cases);
});

// ---- tfjs graph models -------------------------------------------------------------------------

test('damaged model.json and weight shards: kiln-convert ends in a named error or a bundle that runs', async () => {
  const r = rng(SEED + 3);
  const cases = [];
  const models = [
    ['small', fixtures.smallJson, 'w.bin', 24, 24, 6],
    ['blazeface', path.join(BLAZEFACE, 'model.json'), 'blazeface-back.bin', 6, 8, 3],
  ];
  for (const [label, json, shardName, nCuts, nFlips, nShard] of models) {
    const text = fs.readFileSync(json), shard = fs.readFileSync(path.join(path.dirname(json), shardName));
    const withShard = { [shardName]: shard };
    const cuts = new Set();
    while (cuts.size < nCuts) cuts.add(r.int(text.length));
    for (const at of cuts) {
      const f = caseFile('model.json', text.subarray(0, at), withShard);
      cases.push({ name: `${label} model.json cut at ${at}`, check: () => checkConvert(f, `${f}.kiln`) });
    }
    for (let k = 0; k < nFlips; k++) {
      const [b, where] = damage(r, text);
      const f = caseFile('model.json', b, withShard);
      cases.push({ name: `${label} model.json ${where}`, check: () => checkConvert(f, `${f}.kiln`) });
    }
    for (let k = 0; k < nShard; k++) {
      const at = r.int(shard.length);
      const f = caseFile('model.json', text, { [shardName]: shard.subarray(0, at) });
      cases.push({ name: `${label} ${shardName} cut at ${at}`, check: () => checkConvert(f, `${f}.kiln`) });
      const [b, where] = damage(r, shard);
      const g = caseFile('model.json', text, { [shardName]: b });
      cases.push({ name: `${label} ${shardName} ${where}`, check: () => checkConvert(g, `${g}.kiln`) });
    }
    const f = caseFile('model.json', text, {});
    cases.push({ name: `${label} without its shard`, check: () => checkConvert(f, `${f}.kiln`) });
  }
  await expectAllNamed(cases);
});
