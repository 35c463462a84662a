// seeds.mjs — writes the fuzzers' seed corpora (tests/fuzz/run.sh calls it; nothing here is
// committed):
//   OUT/tfjs/    tfjs graph models as fuzz_tfjs reads them: model.json, then the weight file
//                after the marker of fuzz_targets.h
//   OUT/keras/   tfjs layers models (Keras configs), the same way, for fuzz_keras
//   OUT/pb/      the graph models as frozen GraphDefs (tests/tools/tfjs_to_pb.mjs)
//   OUT/savedmodel/  SavedModels: saved_model.pb, checkpoint index and data after markers
//   OUT/kerasfile/   the Keras .h5 and .keras files of tests/fixtures/keras (tests/setup.sh)
//   OUT/bundle/  all of them converted by KILN_CONVERT
// The models are small graphs written here to cover the lowerings, the Keras layers and the
// readers' attr, tensor and weight encodings, plus every real model of tests/fixtures/models and
// the frozen MobileNetV1 .pb of tests/data, each pruned to its first few ops or layers (real
// structure in a few KiB: the fuzzers make far more executions on small inputs; the whole
// models are damaged in tests/js/damage.test.mjs).
//
// Usage: node tests/fuzz/seeds.mjs OUT KILN_CONVERT
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { models as savedModels, writeSavedModel } from '../tools/make_savedmodels.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MARKER = Buffer.from('\n#KILN-SHARD#\n'); // KF_SHARD_MARKER
const [out, convertBin] = process.argv.slice(2);
if (!out || !convertBin) throw new Error('usage: node tests/fuzz/seeds.mjs OUT KILN_CONVERT');

// ---- graph-building helpers (tfjs model.json's protobuf-JSON attrs) -------------------------

const b64 = (s) => Buffer.from(s).toString('base64');
const attr = {
  type: (t) => ({ type: t }),
  i: (v) => ({ i: String(v) }),
  f: (v) => ({ f: v }),
  b: (v) => ({ b: v }),
  s: (v) => ({ s: b64(v) }),
  ints: (v) => ({ list: { i: v.map(String) } }),
  strs: (v) => ({ list: { s: v.map(b64) } }),
  shape: (dims) => ({ shape: { dim: dims.map((d) => ({ size: String(d) })) } }),
};
const F = attr.type('DT_FLOAT'), I = attr.type('DT_INT32');

// A graph under construction: nodes and the weights that go to the manifest.
function graph() {
  const nodes = [], weights = [];
  const g = {
    nodes, weights,
    op(name, op, input = [], attrs = {}) { nodes.push({ name, op, input, attr: attrs }); return name; },
    input(name, dims, dtype = 'DT_FLOAT') { return g.op(name, 'Placeholder', [], { dtype: attr.type(dtype), shape: attr.shape(dims) }); },
    // A Const whose value is in the weights (as tfjs stores them); `quant` picks an encoding.
    weight(name, dtype, shape, values, quant) {
      weights.push({ name, dtype, shape, values, quant });
      return g.op(name, 'Const', [], { dtype: attr.type(dtype === 'int32' ? 'DT_INT32' : dtype === 'bool' ? 'DT_BOOL' : 'DT_FLOAT') });
    },
    ints(name, values) { return g.weight(name, 'int32', [values.length], values); },
    scalar(name, v, dtype = 'int32') { return g.weight(name, dtype, [], [v]); },
    floats(name, shape, seed = 1, quant = undefined) {
      const n = shape.reduce((a, b) => a * b, 1);
      return g.weight(name, 'float32', shape, Array.from({ length: n }, (_, k) => (((k + seed) * 7919) % 17) / 8 - 1), quant);
    },
    // A Const with its value inline in the tensor attr, as GraphDef JSON allows.
    inline(name, tensor) {
      return g.op(name, 'Const', [], { dtype: attr.type(tensor.dtype), value: { tensor } });
    },
  };
  return g;
}

function encodeWeight(w) {
  const spec = { name: w.name, shape: w.shape, dtype: w.dtype };
  if (w.dtype === 'int32') return [spec, Buffer.from(Int32Array.from(w.values).buffer)];
  if (w.dtype === 'bool') return [spec, Buffer.from(Uint8Array.from(w.values.map(Number)))];
  if (w.quant === 'uint8' || w.quant === 'uint16') {
    const lo = Math.min(...w.values), hi = Math.max(...w.values), levels = w.quant === 'uint8' ? 255 : 65535;
    const scale = (hi - lo) / levels || 1;
    const q = w.values.map((v) => Math.round((v - lo) / scale));
    spec.quantization = { dtype: w.quant, scale, min: lo };
    return [spec, Buffer.from((w.quant === 'uint8' ? Uint8Array : Uint16Array).from(q).buffer)];
  }
  if (w.quant === 'float16') {
    spec.quantization = { dtype: 'float16' };
    const h = Buffer.alloc(2 * w.values.length);
    // Values here are multiples of 1/8 in [-1, 1): exact in binary16.
    w.values.forEach((v, k) => h.writeUInt16LE(toHalf(v), 2 * k));
    return [spec, h];
  }
  return [spec, Buffer.from(Float32Array.from(w.values).buffer)];
}

function toHalf(v) {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0, a = Math.abs(v), e = Math.floor(Math.log2(a));
  return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
}

// model.json text and its one weight file (named "0", as fuzz_tfjs writes it).
function modelFiles(g, extra = {}) {
  const specs = [], bufs = [];
  for (const w of g.weights) {
    const [spec, buf] = encodeWeight(w);
    specs.push(spec);
    bufs.push(buf);
  }
  const model = {
    format: 'graph-model',
    modelTopology: { node: g.nodes, versions: { producer: 1 } },
    weightsManifest: [{ paths: ['0'], weights: specs }],
    ...extra,
  };
  return [JSON.stringify(model), Buffer.concat(bufs)];
}

// ---- the small models ------------------------------------------------------------------------

const models = {};

models.cnn = () => {
  const g = graph();
  g.input('x', [-1, 8, 8, 3]);
  g.op('conv', 'Conv2D', ['x', g.floats('w', [3, 3, 3, 4])], { T: F, strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]) });
  g.op('bias', 'BiasAdd', ['conv', g.floats('b', [4], 3)], { T: F });
  g.op('relu', 'Relu6', ['bias'], { T: F });
  g.op('dw', 'DepthwiseConv2dNative', ['relu', g.floats('dww', [3, 3, 4, 1], 5)], { T: F, strides: attr.ints([1, 2, 2, 1]), padding: attr.s('VALID') });
  g.op('max', 'MaxPool', ['dw'], { T: F, ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME') });
  g.op('avg', 'AvgPool', ['max'], { T: F, ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s('VALID') });
  g.op('mean', 'Mean', ['avg', g.ints('axes', [1, 2])], { T: F, Tidx: I, keep_dims: attr.b(false) });
  g.op('fc', 'MatMul', ['mean', g.floats('fcw', [4, 3], 2)], { T: F, transpose_a: attr.b(false), transpose_b: attr.b(false) });
  g.op('probs', 'Softmax', ['fc'], { T: F });
  return g;
};

models.fused = () => {
  const g = graph();
  g.input('x', [1, 6, 6, 2]);
  g.op('c', '_FusedConv2D', ['x', g.floats('w', [1, 1, 2, 3], 0, 'uint8'), g.floats('b', [3])],
    { T: F, num_args: attr.i(1), fused_ops: attr.strs(['BiasAdd', 'Relu']), strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), epsilon: attr.f(0) });
  g.op('d', 'FusedDepthwiseConv2dNative', ['c', g.floats('dw', [3, 3, 3, 2], 4), g.floats('db', [6], 1)],
    { T: F, num_args: attr.i(1), fused_ops: attr.strs(['BiasAdd', 'Relu6']), strides: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'), dilations: attr.ints([1, 1, 1, 1]) });
  g.op('r', 'Reshape', ['d', g.ints('shape', [1, -1])], { T: F, Tshape: I });
  g.op('m', '_FusedMatMul', ['r', g.floats('mw', [54, 5], 6), g.floats('mb', [5], 7)],
    { T: F, num_args: attr.i(1), fused_ops: attr.strs(['BiasAdd', 'LeakyRelu']), leakyrelu_alpha: attr.f(0.2), transpose_a: attr.b(false), transpose_b: attr.b(false) });
  g.op('out', 'LogSoftmax', ['m'], { T: F });
  return g;
};

models.quantized = () => {
  const g = graph();
  g.input('x', [2, 4]);
  g.weights.push({ name: 'q8', dtype: 'float32', shape: [4, 4], values: Array.from({ length: 16 }, (_, k) => k / 8 - 1), quant: 'uint8' });
  g.weights.push({ name: 'q16', dtype: 'float32', shape: [4], values: [0.5, -0.25, 0.125, 1], quant: 'uint16' });
  g.weights.push({ name: 'h', dtype: 'float32', shape: [4], values: [0.5, -0.75, 0, 0.875], quant: 'float16' });
  g.weights.push({ name: 'qi', dtype: 'int32', shape: [2], values: [1, 0], quant: 'uint8' });
  for (const n of ['q8', 'q16', 'h']) g.op(n, 'Const', [], { dtype: F });
  g.op('qi', 'Const', [], { dtype: I });
  g.op('mm', 'MatMul', ['x', 'q8'], { T: F, transpose_a: attr.b(false), transpose_b: attr.b(true) });
  g.op('a', 'AddV2', ['mm', 'q16'], { T: F });
  g.op('m', 'Mul', ['a', 'h'], { T: F });
  g.op('t', 'Transpose', ['m', 'qi'], { T: F, Tperm: I });
  return g;
};

models.unary = () => {
  const g = graph();
  g.input('x', [2, 3]);
  let prev = 'x';
  const ops = ['Abs', 'Neg', 'Exp', 'Log1p', 'Sqrt', 'Rsqrt', 'Tanh', 'Sigmoid', 'Floor', 'Ceil', 'Round', 'Rint',
    'Square', 'Sin', 'Cos', 'Tan', 'Atan', 'Elu', 'Selu', 'Softplus', 'Softsign', 'Erf', 'Sign', 'Reciprocal',
    'Relu', 'Expm1', 'Log', 'Inv'];
  for (const op of ops) prev = g.op(`u/${op}`, op, [prev], { T: F });
  g.op('leaky', 'LeakyRelu', [prev], { T: F, alpha: attr.f(0.1) });
  g.op('clip', 'ClipByValue', ['leaky', g.scalar('lo', -1, 'float32'), g.scalar('hi', 1, 'float32')], { T: F });
  return g;
};

models.binary = () => {
  const g = graph();
  g.input('x', [2, 3]);
  g.input('y', [3]);
  let prev = 'x';
  for (const op of ['Add', 'Sub', 'Mul', 'RealDiv', 'Div', 'Maximum', 'Minimum', 'Pow', 'SquaredDifference',
    'FloorDiv', 'FloorMod', 'Atan2']) prev = g.op(`b/${op}`, op, [prev, 'y'], { T: F });
  g.op('n', 'AddN', [prev, 'x', prev], { T: F, N: attr.i(3) });
  g.op('p', 'Prelu', ['n', g.floats('alpha', [3])], { T: F });
  g.op('sd', 'SquaredDifference', ['p', g.floats('c', [1, 1], 9)], { T: F });
  return g;
};

models.logic = () => {
  const g = graph();
  g.input('x', [4], 'DT_INT32');
  g.input('y', [2, 4]);
  g.op('xf', 'Cast', ['x'], { SrcT: I, DstT: F, Truncate: attr.b(false) });
  g.op('gt', 'Greater', ['y', 'xf'], { T: F });
  g.op('le', 'LessEqual', ['y', g.scalar('half', 0.5, 'float32')], { T: F });
  g.op('eq', 'Equal', ['x', g.scalar('one', 1)], { T: I });
  g.op('and', 'LogicalAnd', ['gt', 'le']);
  g.op('or', 'LogicalOr', ['and', 'eq']);
  g.op('not', 'LogicalNot', ['or']);
  g.op('any', 'Any', ['not', g.ints('ax', [1])], { Tidx: I, keep_dims: attr.b(true) });
  g.op('all', 'All', ['not', g.ints('ax0', [0])], { Tidx: I, keep_dims: attr.b(false) });
  g.op('cast', 'Cast', ['any'], { SrcT: attr.type('DT_BOOL'), DstT: I });
  g.op('fd', 'FloorDiv', ['x', g.ints('d', [3, -2, 5, 7])], { T: I });
  g.op('fm', 'FloorMod', ['fd', g.ints('m', [2, 3, -4, 5])], { T: I });
  g.op('ne', 'NotEqual', ['fm', 'x'], { T: I });
  g.op('ge', 'GreaterEqual', ['fm', 'x'], { T: I });
  g.op('lt', 'Less', ['fm', 'x'], { T: I });
  return g;
};

models.shape = () => {
  const g = graph();
  g.input('x', [2, 3, 4]);
  g.op('t', 'Transpose', ['x', g.ints('perm', [2, 0, 1])], { T: F, Tperm: I });
  g.op('e', 'ExpandDims', ['t', g.scalar('dim', -1)], { T: F, Tdim: I });
  g.op('s', 'Squeeze', ['e'], { T: F, squeeze_dims: attr.ints([3]) });
  g.op('tile', 'Tile', ['s', g.ints('mult', [1, 2, 1])], { T: F, Tmultiples: I });
  g.op('sl', 'Slice', ['tile', g.ints('begin', [1, 0, 1]), g.ints('slsize', [-1, 3, 2])], { T: F, Index: I });
  g.op('ss', 'StridedSlice', ['tile', g.ints('sb', [0, 3, 0]), g.ints('se', [0, 0, 3]), g.ints('st', [1, -1, 2])],
    { T: F, Index: I, begin_mask: attr.i(1), end_mask: attr.i(3), ellipsis_mask: attr.i(0), new_axis_mask: attr.i(0), shrink_axis_mask: attr.i(0) });
  g.op('c', 'ConcatV2', ['sl', 'sl', g.scalar('axis', -1)], { T: F, N: attr.i(2), Tidx: I });
  g.op('p', 'Pack', ['c', 'c'], { T: F, N: attr.i(2), axis: attr.i(1) });
  g.op('u', 'Unpack', ['p'], { T: F, num: attr.i(2), axis: attr.i(1) });
  g.op('sp', 'Split', [g.scalar('sax', 2), 'u:1'], { T: F, num_split: attr.i(2) });
  g.op('sv', 'SplitV', ['sp:1', g.ints('sizes', [1, -1]), g.scalar('svax', 1)], { T: F, Tlen: I, num_split: attr.i(2) });
  g.op('pad', 'Pad', ['sv:1', g.weight('pads', 'int32', [3, 2], [0, 1, 1, 0, 2, 2])], { T: F, Tpaddings: I });
  g.op('pad2', 'PadV2', ['pad', 'pads', g.scalar('cv', -1, 'float32')], { T: F, Tpaddings: I });
  g.op('mp', 'MirrorPad', ['pad2', g.weight('mpads', 'int32', [3, 2], [0, 0, 1, 1, 1, 0])], { T: F, Tpaddings: I, mode: attr.s('REFLECT') });
  g.op('shape', 'Shape', ['mp'], { T: F, out_type: I });
  g.op('fill', 'Fill', ['shape', g.scalar('v', 0.5, 'float32')], { T: F, index_type: I });
  g.op('bt', 'BroadcastTo', ['fill', 'shape'], { T: F, Tidx: I });
  g.op('z', 'ZerosLike', ['bt'], { T: F });
  g.op('o', 'OnesLike', ['z'], { T: F });
  g.op('sum', 'AddV2', ['o', 'mp'], { T: F });
  g.op('range', 'Range', [g.scalar('r0', 0), g.scalar('r1', 6), g.scalar('r2', 2)], { Tidx: I });
  g.op('size', 'Size', ['x'], { T: F, out_type: I });
  g.op('rank', 'Rank', ['x'], { T: F });
  return g;
};

models.layout = () => {
  const g = graph();
  g.input('x', [1, 4, 4, 2]);
  g.op('s2d', 'SpaceToDepth', ['x'], { T: F, block_size: attr.i(2), data_format: attr.s('NHWC') });
  g.op('d2s', 'DepthToSpace', ['s2d'], { T: F, block_size: attr.i(2), data_format: attr.s('NHWC') });
  g.op('s2b', 'SpaceToBatchND', ['d2s', g.ints('bs', [2, 2]), g.weight('sp', 'int32', [2, 2], [0, 0, 2, 2])], { T: F, Tblock_shape: I, Tpaddings: I });
  g.op('b2s', 'BatchToSpaceND', ['s2b', 'bs', g.weight('cr', 'int32', [2, 2], [0, 0, 0, 2])], { T: F, Tblock_shape: I, Tcrops: I });
  return g;
};

models.reduce = () => {
  const g = graph();
  g.input('x', [2, 3, 4]);
  g.op('sum', 'Sum', ['x', g.ints('a1', [1])], { T: F, Tidx: I, keep_dims: attr.b(true) });
  g.op('max', 'Max', ['sum', g.ints('a2', [-1, 0])], { T: F, Tidx: I, keep_dims: attr.b(false) });
  g.op('min', 'Min', ['x', g.scalar('a3', 2)], { T: F, Tidx: I, keep_dims: attr.b(false) });
  g.op('prod', 'Prod', ['min', g.ints('a4', [])], { T: F, Tidx: I, keep_dims: attr.b(false) });
  g.op('mean', 'Mean', ['prod', g.ints('a5', [0, 1])], { T: F, Tidx: I, keep_dims: attr.b(true) });
  g.op('bn', 'FusedBatchNormV3', ['x', g.floats('scale', [4]), g.floats('offset', [4], 2), g.floats('mean_', [4], 3), g.weight('var', 'float32', [4], [1, 2, 0.5, 0.25])],
    { T: F, U: F, epsilon: attr.f(0.001), is_training: attr.b(false), data_format: attr.s('NHWC') });
  g.op('sm', 'Softmax', ['bn'], { T: F });
  return g;
};

// Indices that come from an input: the kernels must check them at run time.
models.index = () => {
  const g = graph();
  g.input('idx', [2], 'DT_INT32');
  g.input('x', [4, 3]);
  g.op('gather', 'GatherV2', [g.floats('params', [4, 3]), 'idx', g.scalar('gax', 0)], { Tparams: F, Tindices: I, Taxis: I, batch_dims: attr.i(0) });
  g.op('gnd', 'GatherNd', ['x', g.weight('nd', 'int32', [2, 2], [0, 1, 3, 2])], { Tparams: F, Tindices: I });
  g.op('gt', 'Greater', ['x', g.scalar('zero', 0, 'float32')], { T: F });
  g.op('sel', 'SelectV2', ['gt', 'x', g.floats('alt', [3], 2)], { T: F });
  g.op('argmax', 'ArgMax', ['sel', g.scalar('amax', 1)], { T: F, Tidx: I, output_type: I });
  g.op('argmin', 'ArgMin', ['sel', g.scalar('amin', 0)], { T: F, Tidx: I, output_type: attr.type('DT_INT64') });
  g.op('topk', 'TopKV2', ['sel', g.scalar('k', 2)], { T: F, sorted: attr.b(true) });
  g.op('onehot', 'OneHot', ['idx', g.scalar('depth', 4), g.scalar('on', 1, 'float32'), g.scalar('off', 0, 'float32')], { T: F, TI: I, axis: attr.i(-1) });
  return g;
};

// A While loop in TF1 control-flow form (as tfjs graph models keep it), its bound from an input.
models.loop = () => {
  const g = graph();
  g.input('x', [3]);
  g.input('n', [], 'DT_INT32');
  g.scalar('zero', 0);
  g.scalar('one', 1);
  g.scalar('two', 2, 'float32');
  const enter = (name, src, constant) => g.op(name, 'Enter', [src], { T: F, frame_name: attr.s('loop'), is_constant: attr.b(constant), parallel_iterations: attr.i(10) });
  enter('enter_i', 'zero', false);
  enter('enter_acc', 'x', false);
  enter('enter_n', 'n', true);
  enter('enter_one', 'one', true);
  enter('enter_two', 'two', true);
  g.op('merge_i', 'Merge', ['enter_i', 'next_i'], { T: I, N: attr.i(2) });
  g.op('merge_acc', 'Merge', ['enter_acc', 'next_acc'], { T: F, N: attr.i(2) });
  g.op('less', 'Less', ['merge_i', 'enter_n'], { T: I });
  g.op('cond', 'LoopCond', ['less']);
  g.op('switch_i', 'Switch', ['merge_i', 'cond'], { T: I });
  g.op('switch_acc', 'Switch', ['merge_acc', 'cond'], { T: F });
  g.op('body_i', 'Identity', ['switch_i:1'], { T: I });
  g.op('body_acc', 'Identity', ['switch_acc:1'], { T: F });
  g.op('add_i', 'AddV2', ['body_i', 'enter_one'], { T: I });
  g.op('mul', 'Mul', ['body_acc', 'enter_two'], { T: F });
  g.op('next_i', 'NextIteration', ['add_i'], { T: I });
  g.op('next_acc', 'NextIteration', ['mul'], { T: F });
  g.op('exit_acc', 'Exit', ['switch_acc'], { T: F });
  g.op('exit_i', 'Exit', ['switch_i'], { T: I });
  g.op('acc', 'Identity', ['exit_acc'], { T: F });
  g.op('count', 'Identity', ['exit_i'], { T: I });
  return g;
};

// Consts inline in the graph (tensorContent, typed values, a splat), Identity ops and a signature.
models.inline = () => {
  const g = graph();
  g.input('x', [2, 2]);
  g.inline('tc', { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '2' }, { size: '2' }] }, tensorContent: Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer).toString('base64') });
  g.inline('fv', { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '2' }] }, floatVal: [0.5] });
  g.inline('iv', { dtype: 'DT_INT32', tensorShape: { dim: [{ size: '2' }] }, intVal: [2, 2] });
  g.op('mm', 'MatMul', ['x', 'tc'], { T: F, transpose_a: attr.b(true), transpose_b: attr.b(false) });
  g.op('id', 'Identity', ['mm'], { T: F });
  g.op('ids', 'IdentityN', ['id', 'fv'], { T: attr.ints([]) });
  g.op('sg', 'StopGradient', ['ids'], { T: F });
  g.op('r', 'Reshape', ['sg', 'iv'], { T: F });
  g.op('a', 'Add', ['r', 'ids:1'], { T: F });
  g.op('snap', 'Snapshot', ['a'], { T: F });
  return g;
};
const signatures = {
  inline: { signature: { inputs: { x: { name: 'x:0' } }, outputs: { y: { name: 'snap:0' } } } },
};

// Keras layers models (tfjs "layers-model"), for fuzz_keras.
const kerasModels = {};
const layer = (class_name, name, config, inbound) =>
  ({ class_name, name, config: { name, ...config }, ...(inbound ? { inbound_nodes: [inbound.map((n) => [n, 0, 0, {}])] } : {}) });

kerasModels.sequential = () => ({
  class_name: 'Sequential',
  config: {
    name: 'seq',
    layers: [
      layer('Conv2D', 'conv', { batch_input_shape: [null, 8, 8, 3], filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, data_format: 'channels_last', dilation_rate: [1, 1] }),
      layer('BatchNormalization', 'bn', { axis: -1, epsilon: 0.001, center: true, scale: true }),
      layer('MaxPooling2D', 'pool', { pool_size: [2, 2], strides: [2, 2], padding: 'valid' }),
      layer('DepthwiseConv2D', 'dw', { kernel_size: [3, 3], strides: [1, 1], padding: 'same', depth_multiplier: 1, activation: 'relu6', use_bias: true }),
      layer('ZeroPadding2D', 'zp', { padding: [[1, 0], [0, 1]] }),
      layer('GlobalAveragePooling2D', 'gap', {}),
      layer('Dropout', 'drop', { rate: 0.5 }),
      layer('Dense', 'dense', { units: 3, activation: 'softmax', use_bias: true }),
    ],
  },
});
const sequentialWeights = [
  ['conv/kernel', [3, 3, 3, 4]], ['conv/bias', [4]], ['bn/gamma', [4]], ['bn/beta', [4]], ['bn/moving_mean', [4]],
  ['bn/moving_variance', [4], 'positive'], ['dw/depthwise_kernel', [3, 3, 4, 1]], ['dw/bias', [4]],
  ['dense/kernel', [4, 3]], ['dense/bias', [3]],
];

kerasModels.functional = () => ({
  class_name: 'Functional',
  config: {
    name: 'fn',
    layers: [
      layer('InputLayer', 'in', { batch_input_shape: [null, 6], dtype: 'float32' }, null),
      layer('Dense', 'a', { units: 4, activation: 'tanh', use_bias: true }, ['in']),
      layer('Dense', 'b', { units: 4, activation: 'linear', use_bias: false }, ['in']),
      layer('Add', 'add', {}, ['a', 'b']),
      layer('Concatenate', 'cat', { axis: -1 }, ['add', 'a']),
      layer('Reshape', 'rs', { target_shape: [2, 4] }, ['cat']),
      layer('Permute', 'perm', { dims: [2, 1] }, ['rs']),
      layer('Flatten', 'flat', {}, ['perm']),
      layer('LeakyReLU', 'leaky', { alpha: 0.3 }, ['flat']),
      layer('Activation', 'act', { activation: 'sigmoid' }, ['leaky']),
      layer('Multiply', 'mul', {}, ['act', 'flat']),
      layer('Softmax', 'sm', { axis: -1 }, ['mul']),
    ],
    input_layers: [['in', 0, 0]],
    output_layers: [['sm', 0, 0], ['add', 0, 0]],
  },
});
const functionalWeights = [['a/kernel', [6, 4]], ['a/bias', [4]], ['b/kernel', [6, 4]]];

// ---- real models, pruned to their first few ops: real structure in a few KiB ---------------------

// Bytes of one manifest weight in its shards.
const weightBytes = (w) => w.shape.reduce((a, b) => a * b, 1) *
  ({ uint8: 1, uint16: 2, float16: 2 }[w.quantization?.dtype] ?? { float32: 4, int32: 4, bool: 1 }[w.dtype]);

// Keeps the weights keep(name) accepts, their shards joined into one file "0"; returns its bytes.
function keepWeights(model, dir, keep) {
  const specs = [], parts = [];
  for (const group of model.weightsManifest ?? []) {
    const buf = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, decodeURIComponent(p)))));
    let off = 0;
    for (const w of group.weights) {
      const n = weightBytes(w);
      if (keep(w.name)) specs.push(w), parts.push(buf.subarray(off, off + n));
      off += n;
    }
  }
  model.weightsManifest = [{ paths: ['0'], weights: specs }];
  return Buffer.concat(parts);
}

// The nodes the `n`-th op node (in file order) depends on.
function ancestors(nodes, n) {
  const byName = new Map(nodes.map((x) => [x.name, x]));
  const ops = nodes.filter((x) => x.op !== 'Const' && x.op !== 'Placeholder');
  const keep = new Set(), todo = [ops[Math.min(n, ops.length) - 1].name];
  while (todo.length) {
    const name = todo.pop();
    if (keep.has(name) || !byName.has(name)) continue;
    keep.add(name);
    for (const i of byName.get(name).input ?? []) todo.push(i.replace(/^\^/, '').replace(/:\d+$/, ''));
  }
  return nodes.filter((x) => keep.has(x.name));
}

function pruneGraphModel(model, dir, n) {
  model.modelTopology.node = ancestors(model.modelTopology.node, n);
  const keep = new Set(model.modelTopology.node.map((x) => x.name));
  delete model.signature;
  delete model.userDefinedMetadata;
  return keepWeights(model, dir, (name) => keep.has(name));
}

// The first `n` layers of a functional Keras model, the last one its output.
function pruneLayersModel(model, dir, n) {
  const cfg = (model.modelTopology.model_config ?? model.modelTopology).config;
  cfg.layers = cfg.layers.slice(0, n);
  cfg.output_layers = [[cfg.layers[cfg.layers.length - 1].name, 0, 0]];
  const keep = new Set(cfg.layers.map((l) => l.name));
  return keepWeights(model, dir, (name) => keep.has(name.split('/')[0]));
}

// ---- writing -----------------------------------------------------------------------------------

const TARGETS = ['tfjs', 'pb', 'bundle', 'keras', 'savedmodel', 'kerasfile'];
for (const t of TARGETS) fs.mkdirSync(path.join(out, t), { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-seeds-'));
const quiet = { stdio: ['ignore', 'ignore', 'pipe'] };

function convert(name, model) {
  try {
    execFileSync(convertBin, [model, '-q', '-o', path.join(out, 'bundle', name)], quiet);
  } catch (e) {
    console.warn(`seeds: ${name}: no bundle: ${String(e.stderr).trim().split('\n')[0]}`);
  }
}

// Writes model.json and its weight file "0" to a temporary directory and the seeds made from
// them: the fuzz_tfjs (or fuzz_keras) input, a .pb (graph models) and a bundle. Returns the dir.
function seedsOf(name, model, shard, kind = 'tfjs') {
  const dir = path.join(tmp, name), json = JSON.stringify(model);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'model.json'), json);
  fs.writeFileSync(path.join(dir, '0'), shard);
  fs.writeFileSync(path.join(out, kind, name), Buffer.concat([Buffer.from(json), MARKER, shard]));
  if (kind === 'tfjs') {
    try {
      execFileSync('node', [path.join(root, 'tests/tools/tfjs_to_pb.mjs'), path.join(dir, 'model.json'), path.join(out, 'pb', name)], quiet);
    } catch (e) {
      console.warn(`seeds: ${name}: no .pb: ${String(e.stderr).trim()}`);
    }
  }
  convert(name, path.join(dir, 'model.json'));
}

for (const [name, make] of Object.entries(models)) {
  const [json, shard] = modelFiles(make(), signatures[name]);
  seedsOf(name, JSON.parse(json), shard);
}

for (const [name, make, weights] of [['sequential', kerasModels.sequential, sequentialWeights], ['functional', kerasModels.functional, functionalWeights]]) {
  const g = graph();
  for (const [w, shape, positive] of weights) {
    g.floats(w, shape, w.length);
    if (positive) g.weights.at(-1).values = g.weights.at(-1).values.map((v) => v + 1.5);
  }
  const [json, shard] = modelFiles(g);
  const model = JSON.parse(json);
  seedsOf(name, { format: 'layers-model', modelTopology: make(), weightsManifest: model.weightsManifest }, shard, 'keras');
}

const fixtures = path.join(root, 'tests/fixtures/models');
for (const id of fs.readdirSync(fixtures).sort()) {
  const dir = path.join(fixtures, id), file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) continue;
  const model = JSON.parse(fs.readFileSync(file, 'utf8'));
  const layers = !Array.isArray(model.modelTopology?.node);
  const shard = layers ? pruneLayersModel(model, dir, 12) : pruneGraphModel(model, dir, 16);
  seedsOf(`${id}-pruned`, model, shard, layers ? 'keras' : 'tfjs');
}

// The frozen MobileNetV1 .pb, pruned the same way.
{
  const GraphDef = protobuf.loadSync(path.join(root, 'converter/proto/graph.proto')).lookupType('tensorflow.GraphDef');
  const g = GraphDef.toObject(GraphDef.decode(fs.readFileSync(path.join(root, 'tests/data/mobilenet_v1_0.25_128_frozen.pb'))));
  g.node = ancestors(g.node, 24);
  const file = path.join(out, 'pb', 'mobilenet_v1-pruned');
  fs.writeFileSync(file, GraphDef.encode(GraphDef.fromObject(g)).finish());
  convert('mobilenet_v1-pruned', file);
}

// SavedModels as fuzz_savedmodel reads them: saved_model.pb, the checkpoint index, its data
// shard: the real ones of tests/data/savedmodel and those tests/tools/make_savedmodels.mjs writes.
{
  const parts = (dir) => ['saved_model.pb', 'variables/variables.index', 'variables/variables.data-00000-of-00001']
    .map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f));
  const seed = (name, dir) => {
    fs.writeFileSync(path.join(out, 'savedmodel', name), Buffer.concat(parts(dir).flatMap((b, i) => (i ? [MARKER, b] : [b]))));
    convert(`savedmodel-${name}`, dir);
  };
  const real = path.join(root, 'tests/data/savedmodel');
  for (const name of fs.readdirSync(real).sort()) seed(name, path.join(real, name));
  for (const name of Object.keys(savedModels)) seed(name, writeSavedModel(tmp, name).dir);
}

// Keras files as fuzz_kerasfile reads them: each model's .h5 and .keras files as they are
// (whole: the smallest are 18 KiB, most of it HDF5's own structure), one bundle per model.
{
  const keras = path.join(root, 'tests/fixtures/keras'), manifest = path.join(keras, 'MANIFEST.json');
  if (!fs.existsSync(manifest)) console.warn(`seeds: no ${manifest}: no kerasfile seeds (run tests/setup.sh)`);
  for (const [id, spec] of Object.entries(fs.existsSync(manifest) ? JSON.parse(fs.readFileSync(manifest, 'utf8')) : {})) {
    for (const file of spec.files) fs.copyFileSync(path.join(keras, id, file), path.join(out, 'kerasfile', `${id}-${file}`));
    convert(`keras-${id}`, path.join(keras, id, spec.files[0]));
  }
}

fs.rmSync(tmp, { recursive: true, force: true });
for (const t of TARGETS) console.log(`seeds: ${t}: ${fs.readdirSync(path.join(out, t)).length} inputs`);
