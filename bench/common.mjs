// Helpers shared by the benchmark's scripts: a model's inputs, the seeded input data, .npy
// files, and loading a tfjs model from a folder. No tfjs import here: each runner
// imports only the runtime it measures.
import fs from 'node:fs';
import path from 'node:path';

// ---- a model's inputs ------------------------------------------------------------------
// [{name, dtype, shape}] of a tfjs model, named as kiln-convert names them. A graph model: its
// signature's inputs, else its Placeholders. A Keras layers model: a Functional model's input
// layers; a Sequential model's first layer (an InputLayer, else Keras' "<first layer>_input").
// An unknown batch dimension becomes 1, as in kiln-convert.
const DTYPE = { DT_FLOAT: 'float32', DT_INT32: 'int32', DT_UINT8: 'uint8', DT_BOOL: 'bool' };
const DTYPES = new Set(Object.values(DTYPE));

// Whether model.json holds a graph model (a GraphDef-like node list) rather than a layers model.
export const isGraphModel = (json) => Array.isArray(json.modelTopology?.node);

export function inputSpecs(modelJsonPath) {
  const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  const raw = isGraphModel(json) ? graphInputs(json) : layersInputs(json.modelTopology);
  return raw.map(({ name, dtype, rawDtype, dims }) => {
    if (!dtype) throw new Error(`input ${name}: dtype ${rawDtype} is not float32, int32, uint8 or bool`);
    if (!dims) throw new Error(`input ${name} has no static shape`);
    const shape = dims.map((n, k) => {
      if (n >= 0) return n;
      if (k === 0) return 1;
      throw new Error(`input ${name}: dimension ${k} is unknown`);
    });
    return { name, dtype, shape };
  });
}

function graphInputs(json) {
  const sig = Object.values(json.signature?.inputs ?? {});
  const raw = sig.length
    ? sig.map((s) => ({ name: s.name.replace(/:0$/, ''), dtype: s.dtype, dims: s.tensorShape?.dim }))
    : json.modelTopology.node.filter((n) => n.op === 'Placeholder')
      .map((n) => ({ name: n.name, dtype: n.attr?.dtype?.type, dims: n.attr?.shape?.shape?.dim }));
  return raw.map(({ name, dtype, dims }) => ({ name, dtype: DTYPE[dtype], rawDtype: dtype, dims: dims?.map((d) => Number(d.size ?? 1)) }));
}

function layersInputs(topology) {
  const model = topology?.model_config ?? topology; // Keras' to_json() wraps it, tfjs' save does not
  const config = model?.config;
  const layers = Array.isArray(config) ? config : config?.layers; // Keras 2.2's Sequential: the list
  if (!Array.isArray(layers) || !layers.length) throw new Error('the layers model has no layers');
  const input = (layer, name) => {
    const dtype = layer.config?.dtype ?? 'float32';
    return { name, dtype: DTYPES.has(dtype) ? dtype : undefined, rawDtype: JSON.stringify(dtype),
      dims: (layer.config?.batch_input_shape ?? layer.config?.batch_shape)?.map((d) => (d === null ? -1 : d)) };
  };
  if (model.class_name === 'Sequential') {
    const first = layers[0];
    const name = first.class_name === 'InputLayer' ? first.config.name : `${first.config?.name}_input`;
    return [input(first, name)];
  }
  const refs = config.input_layers ?? [];
  return (typeof refs[0] === 'string' ? [refs] : refs).map(([name]) => {
    const layer = layers.find((l) => (l.name ?? l.config?.name) === name);
    if (!layer) throw new Error(`input layer ${name} is not among the model's layers`);
    return input(layer, name);
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

// float32 one-hot rows (the last dimension is the classes): row r's hot class is
// floor(classes * u_r), u_r the generator's r-th value, as a text model's encoded characters.
export function seededOneHot(shape, seed) {
  const classes = shape[shape.length - 1];
  const rows = shape.reduce((a, b) => a * b, 1) / classes;
  const out = new Float32Array(rows * classes);
  seededData(rows, 'float32', seed).forEach((u, r) => { out[r * classes + Math.floor(classes * u)] = 1; });
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

// The tfjs model-file IOHandler is the tests' (tests/tools/model_files.mjs, tfjs-free).
export { fileIOHandler } from '../tests/tools/model_files.mjs';
