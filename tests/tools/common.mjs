// Helpers for Kiln's JS tests: load a tfjs model from a local folder, make the seeded
// inputs that the C side makes too, read and write .npy files, compare outputs.
// The reference is the pure-JS @tensorflow/tfjs CPU backend (no tfjs-node).
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileIOHandler } from './model_files.mjs';

export { tf };
export { fileIOHandler };

// PROD mode only silences tfjs' own console warnings (such as the tfjs-node banner).
tf.enableProdMode();

// ---- loading a tfjs model from a folder ----------------------------------------------------

// 'graph' for a graph model (a GraphDef-like node list), 'layers' for a Keras layers model.
export function modelKind(modelJsonPath) {
  const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  return json.modelTopology && Array.isArray(json.modelTopology.node) ? 'graph' : 'layers';
}

export async function loadGraphModel(modelJsonPath) {
  return tf.loadGraphModel(fileIOHandler(modelJsonPath));
}

// Either kind: returns {kind, model}.
export async function loadModel(modelJsonPath) {
  const kind = modelKind(modelJsonPath);
  const handler = fileIOHandler(modelJsonPath);
  const model = kind === 'graph' ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  return { kind, model };
}

// Runs a model on named input tensors; returns the output tensors in model.outputs order.
export async function runModel(kind, model, inputTensors /* [{name, tensor}] */) {
  let r;
  if (kind === 'graph') {
    const feed = {};
    for (const i of inputTensors) feed[i.name] = i.tensor;
    r = await model.executeAsync(feed, model.outputs.map((o) => o.name));
  } else {
    const ts = inputTensors.map((i) => i.tensor);
    r = model.predict(ts.length === 1 ? ts[0] : ts);
  }
  return Array.isArray(r) ? r : [r];
}

// A tensor name as a file name: every character outside [A-Za-z0-9._-] becomes '_'.
export function safeName(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

// ---- seeded inputs ---------------------------------------------------------------------------
// The same generator as the C side, so both can make the same inputs without sharing files:
// xorshift32 seeded with seed + input index; each step x ^= x<<13; x ^= x>>>17; x ^= x<<5
// (uint32); u = (x>>>8) / 2^24 in [0,1). float32: lo + (hi-lo)*u computed in double, then
// rounded to float32 (default [0,1)). int32/uint8/bool: floor(lo + (hi-lo+1)*u) (default
// 0..255, bool 0..1). Elements are filled in C (row-major) order.
export const DEFAULT_SEED = 0x12345678;

export function seededData(n, dtype, { seed = DEFAULT_SEED, lo, hi } = {}) {
  let x = seed >>> 0;
  if (x === 0) x = 1; // xorshift32 never leaves 0
  const isInt = dtype !== 'float32';
  lo = lo ?? 0;
  hi = hi ?? (dtype === 'bool' ? 1 : isInt ? 255 : 1);
  const out = dtype === 'float32' ? new Float32Array(n)
    : dtype === 'int32' ? new Int32Array(n)
      : dtype === 'uint8' || dtype === 'bool' ? new Uint8Array(n)
        : null;
  if (!out) throw new Error(`seededData: unsupported dtype ${dtype}`);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    const u = (x >>> 8) / 16777216;
    out[i] = isInt ? Math.floor(lo + (hi - lo + 1) * u) : lo + (hi - lo) * u;
  }
  return out;
}

// specs: [{name, dtype, shape, range?: [lo, hi]}] -> [{...spec, data}], input k seeded with seed + k.
export function seededInputs(specs, { seed = DEFAULT_SEED } = {}) {
  return specs.map((s, k) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const data = seededData(n, s.dtype, { seed: (seed + k) >>> 0, lo: s.range?.[0], hi: s.range?.[1] });
    return { ...s, data };
  });
}

// A tfjs tensor for seeded data (tfjs has no uint8 tensors: uint8 inputs go in as int32).
export function toTensor(dtype, shape, data) {
  if (dtype === 'uint8') return tf.tensor(Int32Array.from(data), shape, 'int32');
  return tf.tensor(data, shape, dtype);
}

// ---- .npy ------------------------------------------------------------------------------------
// Written as v1.0, little-endian, C order, header padded so the data starts at a multiple of 64.
// Read: v1.0, v2.0 and v3.0 with the same dtypes; anything else is an error naming the file.
const NPY_DESCR = { float32: '<f4', int32: '<i4', uint8: '|u1', bool: '|b1' };
const NPY_DTYPE = { '<f4': 'float32', '<i4': 'int32', '|u1': 'uint8', '<u1': 'uint8', '|b1': 'bool', '<b1': 'bool' };
const ARRAY_OF = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array };
const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

export function npyBytes(data, shape, dtype) {
  const descr = NPY_DESCR[dtype];
  if (!descr) throw new Error(`npy: unsupported dtype ${dtype}`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (data.length !== n) throw new Error(`npy: ${data.length} elements for shape [${shape}]`);
  const T = ARRAY_OF[dtype];
  const typed = data instanceof T ? data : T.from(data);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1; // magic(6) version(2) length(2) header '\n'
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (header.length > 65535) throw new Error('npy: header too long for v1.0');
  const pre = Buffer.alloc(10);
  NPY_MAGIC.copy(pre, 0);
  pre[6] = 1; pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength)]);
}

// Atomic: written to FILE.tmp, then renamed.
export function writeNpy(file, data, shape, dtype) {
  const bytes = npyBytes(data, shape, dtype);
  fs.writeFileSync(`${file}.tmp`, bytes);
  fs.renameSync(`${file}.tmp`, file);
}

// Parses the header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }
function parseNpyHeader(text, file) {
  const bad = (why) => new Error(`${file}: bad .npy header (${why}): ${JSON.stringify(text.trim())}`);
  const m = /^\{\s*(.*?)\s*,?\s*\}\s*$/s.exec(text);
  if (!m) throw bad('not a dict');
  const fields = {};
  const re = /'(\w+)'\s*:\s*('[^']*'|True|False|\([^)]*\))\s*(,|$)/y;
  const rest = m[1];
  let pos = 0;
  while (pos < rest.length) {
    re.lastIndex = pos;
    const f = re.exec(rest);
    if (!f) throw bad(`cannot parse at "${rest.slice(pos, pos + 20)}"`);
    fields[f[1]] = f[2];
    pos = re.lastIndex;
    while (pos < rest.length && /\s/.test(rest[pos])) pos++;
  }
  for (const k of ['descr', 'fortran_order', 'shape']) if (!(k in fields)) throw bad(`no '${k}'`);
  const descr = fields.descr.slice(1, -1);
  if (fields.fortran_order !== 'False') throw new Error(`${file}: fortran_order is ${fields.fortran_order}; only C order is supported`);
  if (descr.startsWith('>')) throw new Error(`${file}: big-endian dtype '${descr}' is not supported`);
  const dtype = NPY_DTYPE[descr];
  if (!dtype) throw new Error(`${file}: dtype '${descr}' is not supported (float32, int32, uint8, bool are)`);
  const inner = fields.shape.slice(1, -1).trim();
  const shape = inner === '' ? [] : inner.replace(/,\s*$/, '').split(',').map((s) => {
    const t = s.trim();
    if (!/^\d+$/.test(t)) throw bad(`shape entry "${t}"`);
    return Number(t);
  });
  return { dtype, shape };
}

// -> {data, shape, dtype}; data is a typed array (Uint8Array for bool) owning its bytes.
export function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b.length < 10 || !b.subarray(0, 6).equals(NPY_MAGIC)) throw new Error(`${file}: not a .npy file (bad magic)`);
  const major = b[6];
  let headerLen;
  let start;
  if (major === 1) { headerLen = b.readUInt16LE(8); start = 10; }
  else if (major === 2 || major === 3) {
    if (b.length < 12) throw new Error(`${file}: truncated .npy header`);
    headerLen = b.readUInt32LE(8); start = 12;
  } else throw new Error(`${file}: unsupported .npy version ${major}.${b[7]}`);
  if (start + headerLen > b.length) throw new Error(`${file}: truncated .npy header (${headerLen} bytes declared)`);
  const { dtype, shape } = parseNpyHeader(b.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen), file);
  const T = ARRAY_OF[dtype];
  const n = shape.reduce((a, d) => a * d, 1);
  const want = n * T.BYTES_PER_ELEMENT;
  const have = b.length - start - headerLen;
  if (!Number.isSafeInteger(want) || want !== have) {
    throw new Error(`${file}: shape [${shape}] of ${dtype} needs ${want} data bytes, the file has ${have}`);
  }
  const off = start + headerLen;
  const data = new T(b.buffer.slice(b.byteOffset + off, b.byteOffset + off + want));
  return { data, shape, dtype };
}

// ---- comparing outputs -----------------------------------------------------------------------
// Passes when every |got - ref| <= 1e-4 * max(1, max|ref|) (one tolerance for the whole tensor).
// NaN matches NaN and an infinity only itself; any other mismatch there is an infinite error.
// max|ref| is over the finite values, so an infinity in ref does not make the tolerance infinite.
// -> {ok, maxAbsErr, maxAbsRef, tol, worst: {index, got, ref} | null}
export function compare(got, ref, { rel = 1e-4 } = {}) {
  if (got.length !== ref.length) throw new Error(`compare: ${got.length} elements against ${ref.length}`);
  let maxAbsRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = Math.abs(ref[i]);
    if (a > maxAbsRef && a !== Infinity) maxAbsRef = a; // NaN never compares greater
  }
  let maxAbsErr = 0;
  let worst = null;
  for (let i = 0; i < ref.length; i++) {
    const g = Number(got[i]);
    const r = Number(ref[i]);
    let e;
    if (Number.isNaN(g) || Number.isNaN(r)) e = Number.isNaN(g) && Number.isNaN(r) ? 0 : Infinity;
    else if (g === r) e = 0; // also equal infinities
    else e = Math.abs(g - r);
    if (worst === null || e > maxAbsErr) { maxAbsErr = e; worst = { index: i, got: g, ref: r }; }
  }
  const tol = rel * Math.max(1, maxAbsRef);
  return { ok: maxAbsErr <= tol, maxAbsErr, maxAbsRef, tol, worst };
}

// Tests of model formats (SavedModel, Keras files) record each comparison they make when
// KILN_FORMATS_LOG names a file: one JSON line {format, model, against, native, wasm, ok}, the
// errors as |got - ref| / max(1, max|ref|). tests/tools/corpus.mjs collects them for docs/COVERAGE.md.
export function recordFormatResult(entry) {
  if (process.env.KILN_FORMATS_LOG) fs.appendFileSync(process.env.KILN_FORMATS_LOG, `${JSON.stringify(entry)}\n`);
}

// Flat C-order index -> coordinates, for messages.
export function unravel(index, shape) {
  const c = new Array(shape.length).fill(0);
  for (let k = shape.length - 1; k >= 0; k--) { c[k] = index % shape[k]; index = Math.floor(index / shape[k]); }
  return c;
}

// ---- Kiln's native tools ----------------------------------------------------------------------
// build/<name>, or <KILN_BUILD_DIR>/<name> (tests/run.sh runs some tests again on build-asan/).
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export function kilnBin(name) {
  return path.resolve(repoRoot, process.env.KILN_BUILD_DIR || 'build', name);
}
