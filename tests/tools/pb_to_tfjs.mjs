#!/usr/bin/env node
// pb_to_tfjs.mjs — turns a frozen binary GraphDef (.pb) into a tfjs graph model (model.json plus
// one weights .bin) that @tensorflow/tfjs loads, so that an old TF1 .pb can be checked against
// tfjs (tfjs_to_pb.mjs goes the other way). It reads the .pb with protobufjs and the project's own
// protos (converter/proto/graph.proto), with no TensorFlow involved:
//
// - Each Const node becomes a weight named after the node (float32, int32 or bool; int64 becomes
//   int32 as tfjs' own converter does), its values taken from tensor_content (little-endian) or
//   from the typed *_val field, where, as in TensorFlow, fewer values than elements repeat the
//   last one (and none at all means zeros). The node keeps its attrs, with `value` reduced to
//   dtype and shape as in a tfjs model.json.
// - Every other node keeps its op, inputs, device and attrs, in protobuf's JSON form that
//   tfjs-converter reads: strings base64 in "s", int64 as decimal strings in "i", "list"
//   values, "type" as DT_ names, "shape" as {dim: [{size: "N"}]}.
//
// No OpDef defaults are filled in: attrs the graph lacks stay missing, and tfjs applies its own
// defaults (or fails). The one exception is opt-in: --tfjs-defaults adds the attrs whose absence
// makes tfjs 4.x crash although TensorFlow defines a default for them (TF's graph import, used
// by tensorflowjs_converter, always fills these in, so tfjs never learned to):
//   Conv2D, DepthwiseConv2dNative: dilations = [1, 1, 1, 1]
// Every node it patches is listed on stdout, so the patch is visible in the test's log.
//
// Usage: node tests/tools/pb_to_tfjs.mjs frozen.pb OUT_DIR [--tfjs-defaults]
//   writes OUT_DIR/model.json and OUT_DIR/weights.bin
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../converter/proto/graph.proto');
const WEIGHTS_FILE = 'weights.bin';

// The attrs that --tfjs-defaults adds when missing: op -> {attr: AttrValue JSON}. TF's OpDef
// defaults (tensorflow/core/ops/nn_ops.cc); tfjs-converter 4.x reads them with no default.
const TFJS_MISSING_DEFAULTS = {
  Conv2D: { dilations: { list: { i: ['1', '1', '1', '1'] } } },
  DepthwiseConv2dNative: { dilations: { list: { i: ['1', '1', '1', '1'] } } },
};

// DataType -> how a Const of that type becomes a tfjs weight.
const WEIGHT_TYPES = {
  DT_FLOAT: { dtype: 'float32', bytes: 4, field: 'floatVal', write: (b, o, v) => b.writeFloatLE(v, o), read: (b, o) => b.readFloatLE(o) },
  DT_INT32: { dtype: 'int32', bytes: 4, field: 'intVal', write: (b, o, v) => b.writeInt32LE(v, o), read: (b, o) => b.readInt32LE(o) },
  DT_BOOL: { dtype: 'bool', bytes: 1, field: 'boolVal', write: (b, o, v) => b.writeUInt8(v ? 1 : 0, o), read: (b, o) => (b[o] ? 1 : 0) },
  // int64 has 8-byte content; tfjs has no int64 and keeps it as int32 (values must fit).
  DT_INT64: { dtype: 'int32', bytes: 4, field: 'int64Val', contentBytes: 8, write: (b, o, v) => b.writeInt32LE(v, o), read: (b, o) => Number(b.readBigInt64LE(o)) },
};

function usage(msg) {
  if (msg) console.error(`pb_to_tfjs: ${msg}`);
  console.error('usage: node tests/tools/pb_to_tfjs.mjs frozen.pb OUT_DIR [--tfjs-defaults]');
  process.exit(2);
}

// A Const node's tensor as {dtype, shape, data: Buffer} in tfjs' weight layout.
function constWeight(node, tensor, DataType) {
  const fail = (what) => { throw new Error(`Const '${node.name}': ${what}`); };
  if (!tensor) fail('no `value` tensor');
  const dtName = DataType[tensor.dtype];
  const wt = WEIGHT_TYPES[dtName];
  if (!wt) fail(`dtype ${dtName ?? tensor.dtype} is not supported (float32, int32, int64, bool are)`);
  const shapeProto = tensor.tensorShape ?? { dim: [] };
  if (shapeProto.unknownRank) fail('unknown rank');
  const shape = (shapeProto.dim ?? []).map((d) => Number(d.size));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`bad shape [${shape}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = Buffer.alloc(count * wt.bytes);
  const check = (v, i) => {
    if (wt.dtype === 'int32' && (!Number.isSafeInteger(v) || v < -(2 ** 31) || v >= 2 ** 31)) {
      fail(`element ${i} = ${v} does not fit in int32`);
    }
    return v;
  };

  const content = tensor.tensorContent;
  if (content && content.length) {
    const per = wt.contentBytes ?? wt.bytes;
    if (content.length !== count * per) fail(`tensor_content has ${content.length} bytes for ${count} elements of ${dtName}`);
    const src = Buffer.from(content.buffer, content.byteOffset, content.length);
    for (let i = 0; i < count; i++) wt.write(data, i * wt.bytes, check(wt.read(src, i * per), i));
  } else {
    const vals = tensor[wt.field] ?? [];
    if (vals.length > count) fail(`${vals.length} values for ${count} elements`);
    // TensorFlow: with fewer values than elements, the last value is repeated; none means zeros.
    if (vals.length > 0) {
      for (let i = 0; i < count; i++) {
        const v = vals[Math.min(i, vals.length - 1)];
        wt.write(data, i * wt.bytes, check(typeof v === 'object' ? Number(v.toString()) : Number(v), i)); // Long -> number
      }
    }
  }
  return { dtype: wt.dtype, shape, data };
}

function main() {
  const argv = process.argv.slice(2);
  const tfjsDefaults = argv.includes('--tfjs-defaults');
  const positional = argv.filter((a) => a !== '--tfjs-defaults');
  for (const a of positional) if (a.startsWith('--')) usage(`unknown option ${a}`);
  if (positional.length !== 2) usage();
  const [pbPath, outDir] = positional;

  const root = protobuf.loadSync(PROTO);
  const GraphDef = root.lookupType('tensorflow.GraphDef');
  const DataType = root.lookupEnum('tensorflow.DataType').valuesById;
  const graph = GraphDef.decode(fs.readFileSync(pbPath));
  if (!graph.node.length) throw new Error(`${pbPath}: no nodes`);

  // protobuf's JSON form, as in a tfjs model.json: bytes base64, int64 strings, enum names;
  // fields at their default value and empty lists left out (members of a oneof stay in).
  const toJson = (msg, Type) => Type.toObject(msg, { enums: String, longs: String, bytes: String, defaults: false, arrays: false });
  const NodeDef = root.lookupType('tensorflow.NodeDef');

  const weightSpecs = [];
  const chunks = [];
  let offset = 0;
  const patched = [];
  const nodes = graph.node.map((n) => {
    const json = toJson(n, NodeDef);
    if (n.op === 'Const') {
      const tensor = n.attr?.value?.tensor;
      const w = constWeight(n, tensor, DataType);
      weightSpecs.push({ name: n.name, shape: w.shape, dtype: w.dtype });
      chunks.push(w.data);
      offset += w.data.length;
      // As in a tfjs model.json: the tensor's dtype and shape only; its values are the weight.
      json.attr.value = { tensor: { dtype: DataType[tensor.dtype], tensorShape: json.attr.value.tensor.tensorShape ?? {} } };
    } else if (tfjsDefaults && TFJS_MISSING_DEFAULTS[n.op]) {
      for (const [name, value] of Object.entries(TFJS_MISSING_DEFAULTS[n.op])) {
        if (json.attr?.[name] === undefined) {
          json.attr = { ...json.attr, [name]: value };
          patched.push(`${n.op} ${n.name}: ${name}`);
        }
      }
    }
    // An enum value the protos do not name would come out as a number: tfjs would misread it.
    JSON.stringify(json.attr ?? {}, (k, v) => {
      if ((k === 'type' || k === 'dtype') && typeof v === 'number') throw new Error(`node '${n.name}': unknown DataType ${v}`);
      return v;
    });
    return json;
  });

  // tfjs reads versions.producer unconditionally: an empty VersionDef when the graph has none.
  const versions = graph.versions ? toJson(graph.versions, root.lookupType('tensorflow.VersionDef')) : {};
  const modelTopology = { node: nodes, versions };
  const model = {
    format: 'graph-model',
    generatedBy: `frozen GraphDef ${path.basename(pbPath)}`,
    convertedBy: 'kiln tests/tools/pb_to_tfjs.mjs',
    modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightSpecs }],
  };

  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, WEIGHTS_FILE), Buffer.concat(chunks));
  fs.writeFileSync(path.join(outDir, 'model.json'), JSON.stringify(model));
  for (const p of patched) console.log(`tfjs default added: ${p}`);
  console.log(`${path.join(outDir, 'model.json')}: ${nodes.length} nodes, ${weightSpecs.length} weights, ${offset} bytes` +
    (tfjsDefaults ? `, ${patched.length} attrs added for tfjs` : ''));
}

try {
  main();
} catch (e) {
  console.error(`pb_to_tfjs: ${e.message}`);
  process.exit(1);
}
