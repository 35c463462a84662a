// Helpers shared by the benchmark's scripts: a model's inputs, the seeded input data, .npy
// files, and loading a tfjs graph model from a folder. No tfjs import here: each runner
// imports only the runtime it measures.
import fs from 'node:fs';
import path from 'node:path';

// ---- a model's inputs ------------------------------------------------------------------
// [{name, dtype, shape}] of a tfjs graph model: its signature's inputs, else its Placeholders
// (the order kiln-convert uses). An unknown batch dimension becomes 1, as in kiln-convert.
const DTYPE = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_UINT8: 'uint8', DT_BOOL: 'bool' };

export function inputSpecs(modelJsonPath) {
  const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  const sig = Object.values(json.signature?.inputs ?? {});
  const raw = sig.length
    ? sig.map((s) => ({ name: s.name.replace(/:0$/, ''), dtype: s.dtype, dims: s.tensorShape?.dim }))
    : json.modelTopology.node.filter((n) => n.op === 'Placeholder')
      .map((n) => ({ name: n.name, dtype: n.attr?.dtype?.type, dims: n.attr?.shape?.shape?.dim }));
  return raw.map(({ name, dtype, dims }) => {
    if (!DTYPE[dtype]) throw new Error(`input ${name}: dtype ${dtype} is not float32, int32, uint8 or bool`);
    if (!dims) throw new Error(`input ${name} has no static shape`);
    const shape = dims.map((d, k) => {
      const n = Number(d.size ?? 1);
      if (n >= 0) return n;
      if (k === 0) return 1;
      throw new Error(`input ${name}: dimension ${k} is unknown`);
    });
    return { name, dtype: DTYPE[dtype], shape };
  });
}

// ---- seeded data -----------------------------------------------------------------------
// xorshift32 as in kiln-run --seeded and tests/tools/common.mjs: each step x ^= x<<13;
// x ^= x>>>17; x ^= x<<5 (uint32); u = (x>>>8) / 2^24; float32 in [0,1), integers 0..255
// (bool 0..1). Input k is seeded with 0x12345678 + k.
export function seededData(n, dtype, seed) {
  const out = dtype === 'float32' ? new Float32Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  const scale = dtype === 'float32' ? 1 : dtype === 'bool' ? 2 : 256;
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const u = (x >>> 8) / 16777216;
    out[i] = dtype === 'float32' ? u : Math.floor(scale * u);
  }
  return out;
}

// ---- .npy (v1.0, little-endian, C order; enough for our own files and kiln-run's) ----------
const DESCR = { float32: '<f4', int32: '<i4', uint8: '|u1', bool: '|b1' };
const ARRAY = { '<f4': Float32Array, '<i4': Int32Array, '|u1': Uint8Array, '|b1': Uint8Array };

export function writeNpy(file, data, shape, dtype) {
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((11 + header.length) % 64)) % 64) + '\n';
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

export function readNpy(file) {
  const b = fs.readFileSync(file);
  if (b[6] !== 1) throw new Error(`${file}: only .npy v1.0 is read here`);
  const len = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + len);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const T = ARRAY[descr];
  if (!T) throw new Error(`${file}: dtype ${descr} is not read here`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').filter((s) => s.trim()).map(Number);
  const start = b.byteOffset + 10 + len;
  return { data: new T(b.buffer.slice(start, b.byteOffset + b.length)), shape };
}

// A tensor name as a file name, as kiln-run --output-dir does it (after dropping ':0').
export const safeName = (name) => name.replace(/:0$/, '').replace(/[^A-Za-z0-9._-]/g, '_');

// ---- tfjs ------------------------------------------------------------------------------
// An IOHandler reading model.json and its weight shards from a folder (tfjs' own file://
// loader needs tfjs-node).
export function fileIOHandler(modelJsonPath) {
  return {
    async load() {
      const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
      const dir = path.dirname(modelJsonPath);
      const weightSpecs = [];
      const shards = [];
      for (const group of json.weightsManifest ?? []) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) shards.push(fs.readFileSync(path.join(dir, decodeURIComponent(p))));
      }
      const all = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
      };
    },
  };
}
