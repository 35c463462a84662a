// tfjs_to_pb.mjs — turns a tfjs graph model (model.json + binary weight shards) into a frozen
// binary GraphDef, so that the converter's .pb path can be tested on the same models as its tfjs
// path. Each weight becomes its Const node's `value` tensor, with tensor_content in little-endian
// bytes; quantized weights are dequantized as tfjs does.
//
// Usage: node tests/tools/tfjs_to_pb.mjs path/to/model.json out.pb
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../converter/proto/graph.proto');

// IEEE binary16 bits as a number (exact, so writeFloatLE keeps it exactly).
function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1, exp = (h >> 10) & 31, man = h & 1023;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 31) return man ? NaN : sign * Infinity;
  return sign * (1024 + man) * 2 ** (exp - 25);
}

// One manifest weight from buf at offset: { dtype, shape, content (little-endian bytes), size (bytes read) }.
function decodeWeight(w, buf, offset) {
  const count = w.shape.reduce((a, b) => a * b, 1);
  const q = w.quantization;
  const bytesPer = q ? { uint8: 1, uint16: 2, float16: 2 }[q.dtype] : { float32: 4, int32: 4, bool: 1 }[w.dtype];
  const fail = what => { throw new Error(`weight '${w.name}': ${what}`); };
  if (!bytesPer) fail(`${q ? `quantization ${q.dtype}` : `dtype ${w.dtype}`} is not supported`);
  const size = count * bytesPer;
  if (offset + size > buf.length) fail('runs past the end of its shards');
  const raw = buf.subarray(offset, offset + size);
  const dtype = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' }[w.dtype];
  if (!q) return { dtype, shape: w.shape, content: Buffer.from(raw), size };

  const get = q.dtype === 'uint8' ? i => raw[i] : i => raw.readUInt16LE(2 * i);
  const content = Buffer.alloc(count * 4);
  if (q.dtype === 'float16') {
    if (w.dtype !== 'float32') fail(`float16 quantization of ${w.dtype} is not supported`);
    for (let i = 0; i < count; i++) content.writeFloatLE(halfToFloat(get(i)), 4 * i);
  } else {
    if (typeof q.scale !== 'number' || typeof q.min !== 'number') fail(`${q.dtype} quantization needs scale and min`);
    // As tfjs: q * scale + min in double, then rounded to float32 (or Math.round for int32).
    const value = i => get(i) * q.scale + q.min;
    if (w.dtype === 'float32') for (let i = 0; i < count; i++) content.writeFloatLE(value(i), 4 * i);
    else if (w.dtype === 'int32') for (let i = 0; i < count; i++) content.writeInt32LE(Math.round(value(i)), 4 * i);
    else fail(`${q.dtype} quantization of ${w.dtype} is not supported`);
  }
  return { dtype, shape: w.shape, content, size };
}

// All weights by name; each manifest group's shards are concatenated and read in order.
function readWeights(model, dir) {
  const weights = new Map();
  for (const group of model.weightsManifest ?? []) {
    const buf = Buffer.concat(group.paths.map(p => fs.readFileSync(path.join(dir, decodeURIComponent(p)))));
    let offset = 0;
    for (const w of group.weights) {
      const t = decodeWeight(w, buf, offset);
      offset += t.size;
      weights.set(w.name, t);
    }
    if (offset !== buf.length) {
      throw new Error(`shards ${group.paths.join(', ')} have ${buf.length} bytes, their weights ${offset}`);
    }
  }
  return weights;
}

// fromObject silently drops enum names it does not know, so check every dtype name first.
function checkDtypes(value, known) {
  if (Array.isArray(value)) return value.forEach(v => checkDtypes(v, known));
  if (!value || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    const names = key === 'type' || key === 'dtype' ? [v].flat().filter(x => typeof x === 'string') : [];
    for (const name of names) if (!(name in known)) throw new Error(`unknown dtype ${name}`);
    checkDtypes(v, known);
  }
}

function main() {
  const [modelPath, outPath] = process.argv.slice(2);
  if (!modelPath || !outPath) throw new Error('usage: node tfjs_to_pb.mjs path/to/model.json out.pb');
  const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const topology = model.modelTopology;
  if (model.format === 'layers-model' || topology?.model_config) {
    throw new Error(`${modelPath}: a Keras layers model, not a graph model`);
  }
  if (!Array.isArray(topology?.node)) throw new Error(`${modelPath}: no modelTopology.node, not a tfjs graph model`);
  if (topology.library?.function?.length) {
    console.warn(`warning: the ${topology.library.function.length} functions of modelTopology.library are dropped`);
  }

  const root = protobuf.loadSync(PROTO);
  const GraphDef = root.lookupType('tensorflow.GraphDef');
  checkDtypes(topology.node, root.lookupEnum('tensorflow.DataType').values);

  const weights = readWeights(model, path.dirname(modelPath));
  const nodes = new Map(topology.node.map(n => [n.name, n]));
  for (const [name, t] of weights) {
    const node = nodes.get(name);
    if (!node) throw new Error(`weight '${name}' has no node in modelTopology`);
    const tensor = { dtype: t.dtype, tensorShape: { dim: t.shape.map(size => ({ size })) }, tensorContent: t.content };
    node.attr = { ...node.attr, value: { tensor } };
  }

  // modelTopology is protobuf's JSON form of GraphDef: fromObject reads its base64 bytes,
  // int64 strings and enum names.
  const graph = GraphDef.fromObject({ node: topology.node, versions: topology.versions });
  const bytes = GraphDef.encode(graph).finish();
  fs.writeFileSync(outPath, bytes);
  console.log(`${outPath}: ${topology.node.length} nodes, ${weights.size} weights, ${bytes.length} bytes`);
}

try {
  main();
} catch (e) {
  console.error(`tfjs_to_pb: ${e.message}`);
  process.exit(1);
}
