// make_savedmodels.mjs — writes small SavedModels the way TensorFlow lays them out, without
// TensorFlow: saved_model.pb encoded with protobufjs from the converter's own .proto files.
// Their weights are Const nodes (variables and checkpoints are covered by the real
// SavedModels in tests/data/savedmodel/). Each model comes with the numbers it was built from,
// so a test can compute its reference independently (tfjs, or plain JS).
//
//   tf1_cut        TF1 graph_def, two signatures; 'from_hidden' feeds an inner tensor (cuts
//                  the graph there). y = relu(x·W1)·W2 + b.
//   tf2_functions  TF2 layout: StatefulPartitionedCall → nested functions, a function called
//                  as an op, "node:out_arg:i" names, attrs left to stripped_op_list defaults.
//   tf2_lstm       a Keras-style LSTM: StatelessWhile over TensorLists (standard_lstm), called
//                  through the CuDNN variant, which the converter must swap for the CPU one
//                  by api_implements.
//
// Usage: node tests/tools/make_savedmodels.mjs OUT_DIR   (writes OUT_DIR/<name>/saved_model.pb)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { seededData } from './common.mjs';

const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../converter/proto/saved_model.proto');

// ---- Nodes -------------------------------------------------------------------------------------
const type = (t) => ({ type: t });
const types = (...t) => ({ list: { type: t } });
const func = (name) => ({ func: { name } });
const shape = (dims) => ({ dim: dims.map((size) => ({ size })) });
const node = (name, op, input = [], attr = {}) => ({ name, op, input, attr });
const F = 'DT_FLOAT', I = 'DT_INT32', V = 'DT_VARIANT', B = 'DT_BOOL';

function constant(name, dtype, dims, values) {
  const buf = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => (dtype === F ? buf.writeFloatLE(v, 4 * i) : buf.writeInt32LE(v, 4 * i)));
  return node(name, 'Const', [], { dtype: type(dtype), value: { tensor: { dtype, tensorShape: shape(dims), tensorContent: buf } } });
}

// Seeded weights in [-1, 1), rounded to float32 so both sides start from the same numbers.
function weights(n, seed) {
  return Array.from(seededData(n, 'float32', { seed, lo: -1, hi: 1 }));
}

const placeholder = (name, dtype, dims) => node(name, 'Placeholder', [], { dtype: type(dtype), shape: { shape: shape(dims) } });
const tensorInfo = (name, dtype, dims) => ({ name, dtype, tensorShape: shape(dims) });
const fn = (name, inputs, outputs, nodes, ret, attr = {}) => ({
  signature: { name, inputArg: inputs.map((a) => ({ name: a })), outputArg: outputs.map((a) => ({ name: a })) },
  nodeDef: nodes, ret, attr,
});
const opdef = (name, outputs, attrs = {}) => ({
  name,
  outputArg: outputs.map((o) => (typeof o === 'string' ? { name: o } : o)),
  attr: Object.entries(attrs).map(([n, d]) => ({ name: n, defaultValue: d })),
});

function savedModel({ nodes, library = [], ops = [], signatures }) {
  return {
    savedModelSchemaVersion: 1,
    metaGraphs: [{
      metaInfoDef: { tags: ['serve'], strippedOpList: { op: ops } },
      graphDef: { node: nodes, library: { function: library } },
      signatureDef: signatures,
    }],
  };
}

// ---- The models ----------------------------------------------------------------------------------
function tf1Cut() {
  const w1 = weights(12, 101), w2 = weights(8, 102), b = weights(2, 103);
  const sm = savedModel({
    nodes: [
      placeholder('x', F, [-1, 3]),
      constant('w1', F, [3, 4], w1), constant('w2', F, [4, 2], w2), constant('b', F, [2], b),
      node('hidden', 'MatMul', ['x', 'w1'], { T: type(F), transpose_a: { b: false }, transpose_b: { b: false } }),
      node('relu', 'Relu', ['hidden'], { T: type(F) }),
      node('logits', 'MatMul', ['relu', 'w2'], { T: type(F), transpose_a: { b: false }, transpose_b: { b: false } }),
      node('y', 'BiasAdd', ['logits', 'b'], { T: type(F), data_format: { s: Buffer.from('NHWC') } }),
    ],
    signatures: {
      serving_default: { inputs: { x: tensorInfo('x:0', F, [-1, 3]) }, outputs: { y: tensorInfo('y:0', F, [-1, 2]) } },
      from_hidden: { inputs: { h: tensorInfo('hidden:0', F, [-1, 4]) }, outputs: { y: tensorInfo('y:0', F, [-1, 2]) } },
    },
  });
  return { sm, w1, w2, b };
}

function tf2Functions() {
  const w = weights(12, 201), b = weights(4, 202);
  const library = [
    fn('__inference_signature_wrapper_10', ['x'], ['a', 'b'], [
      node('pc', 'PartitionedCall', ['x'], { f: func('__inference_model_20'), Tin: types(F), Tout: types(F, F) }),
      node('identity', 'Identity', ['pc:output:0'], { T: type(F) }),
      node('identity_1', 'Identity', ['pc:output:1'], { T: type(F) }),
    ], { a: 'identity:output:0', b: 'identity_1:output:0' }),
    fn('__inference_model_20', ['inp'], ['out0', 'out1'], [
      constant('w', F, [3, 4], w),
      constant('axis', I, [], [1]),
      node('mm', 'MatMul', ['inp', 'w:output:0'], { T: type(F) }), // transpose_a/b: OpDef defaults
      node('dense', '__inference_dense_30', ['mm:product:0']),
      node('split', 'Split', ['axis:output:0', 'dense:y:0'], { T: type(F), num_split: { i: 2 } }),
    ], { out0: 'split:output:1', out1: 'split:output:0' }),
    fn('__inference_dense_30', ['v'], ['y'], [
      constant('bias', F, [4], b),
      node('ba', 'BiasAdd', ['v', 'bias:output:0'], { T: type(F) }), // data_format: OpDef default
      node('t', 'Tanh', ['ba:output:0'], { T: type(F) }),
    ], { y: 't:y:0' }),
  ];
  const sm = savedModel({
    nodes: [
      placeholder('serving_default_x', F, [2, 3]),
      node('StatefulPartitionedCall', 'StatefulPartitionedCall', ['serving_default_x'],
        { f: func('__inference_signature_wrapper_10'), Tin: types(F), Tout: types(F, F) }),
    ],
    library,
    ops: [
      opdef('MatMul', ['product'], { transpose_a: { b: false }, transpose_b: { b: false } }),
      opdef('BiasAdd', ['output'], { data_format: { s: Buffer.from('NHWC') } }),
      opdef('Tanh', ['y']), opdef('Const', ['output']), opdef('Identity', ['output']),
      opdef('Split', [{ name: 'output', numberAttr: 'num_split' }]),
      opdef('PartitionedCall', [{ name: 'output', typeListAttr: 'Tout' }]),
      opdef('StatefulPartitionedCall', [{ name: 'output', typeListAttr: 'Tout' }]),
    ],
    signatures: {
      serving_default: {
        inputs: { x: tensorInfo('serving_default_x:0', F, [2, 3]) },
        outputs: { a: tensorInfo('StatefulPartitionedCall:0', F, [2, 2]), b: tensorInfo('StatefulPartitionedCall:1', F, [2, 2]) },
      },
    },
  });
  return { sm, w, b };
}

// A Keras LSTM as TF 2 saves it: time-major TensorLists and a StatelessWhile whose loop
// variables are (counter, max iterations, time, output list, h, c, input list, kernel,
// recurrent kernel, bias); the last four the body returns unchanged.
function tf2Lstm({ batch = 2, steps = 5, features = 3, units = 4 } = {}) {
  const kernel = weights(features * 4 * units, 301), recurrent = weights(units * 4 * units, 302);
  const bias = weights(4 * units, 303);
  const loopTypes = [I, I, I, V, F, F, V, F, F, F];
  const args = ['loop_counter', 'max_iterations', 'time', 'output_ta', 'h', 'c', 'input_ta', 'kernel', 'recurrent_kernel', 'bias'];
  const list = { element_dtype: type(F), shape_type: type(I) };
  const cond = fn('while_cond_40', args, ['identity'], [
    constant('steps', I, [], [steps]),
    node('less', 'Less', ['loop_counter', 'max_iterations'], { T: type(I) }),
    node('less_1', 'Less', ['time', 'steps:output:0'], { T: type(I) }),
    node('and', 'LogicalAnd', ['less:z:0', 'less_1:z:0']),
    node('identity', 'Identity', ['and:z:0'], { T: type(B) }),
  ], { identity: 'identity:output:0' });
  const body = fn('while_body_41', args, args.map((a) => `${a}_next`), [
    constant('element_shape', I, [2], [batch, features]),
    constant('one', I, [], [1]),
    constant('split_axis', I, [], [1]),
    node('x', 'TensorListGetItem', ['input_ta', 'time', 'element_shape:output:0'], { element_dtype: type(F) }),
    node('xw', 'MatMul', ['x:item:0', 'kernel'], { T: type(F) }),
    node('hu', 'MatMul', ['h', 'recurrent_kernel'], { T: type(F) }),
    node('z', 'AddV2', ['xw:product:0', 'hu:product:0'], { T: type(F) }),
    node('zb', 'BiasAdd', ['z:z:0', 'bias'], { T: type(F) }),
    node('gates', 'Split', ['split_axis:output:0', 'zb:output:0'], { T: type(F), num_split: { i: 4 } }),
    node('i', 'Sigmoid', ['gates:output:0'], { T: type(F) }),
    node('f', 'Sigmoid', ['gates:output:1'], { T: type(F) }),
    node('g', 'Tanh', ['gates:output:2'], { T: type(F) }),
    node('o', 'Sigmoid', ['gates:output:3'], { T: type(F) }),
    node('fc', 'Mul', ['f:y:0', 'c'], { T: type(F) }),
    node('ig', 'Mul', ['i:y:0', 'g:y:0'], { T: type(F) }),
    node('c_new', 'AddV2', ['fc:z:0', 'ig:z:0'], { T: type(F) }),
    node('tc', 'Tanh', ['c_new:z:0'], { T: type(F) }),
    node('h_new', 'Mul', ['o:y:0', 'tc:y:0'], { T: type(F) }),
    node('set', 'TensorListSetItem', ['output_ta', 'time', 'h_new:z:0'], { element_dtype: type(F) }),
    node('time_1', 'AddV2', ['time', 'one:output:0'], { T: type(I) }),
    node('counter_1', 'AddV2', ['loop_counter', 'one:output:0'], { T: type(I) }),
    ...['max_iterations', 'input_ta', 'kernel', 'recurrent_kernel', 'bias'].map((a, k) =>
      node(`identity_${k}`, 'Identity', [a], { T: type(loopTypes[args.indexOf(a)]) })),
  ], {
    loop_counter_next: 'counter_1:z:0', max_iterations_next: 'identity_0:output:0', time_next: 'time_1:z:0',
    output_ta_next: 'set:output_handle:0', h_next: 'h_new:z:0', c_next: 'c_new:z:0',
    input_ta_next: 'identity_1:output:0', kernel_next: 'identity_2:output:0',
    recurrent_kernel_next: 'identity_3:output:0', bias_next: 'identity_4:output:0',
  });
  const lstmArgs = ['inputs', 'init_h', 'init_c', 'kernel', 'recurrent_kernel', 'bias'];
  const lstmOuts = ['last_output', 'outputs', 'state_h', 'state_c'];
  const standard = fn('__inference_standard_lstm_50', lstmArgs, lstmOuts, [
    constant('perm', I, [3], [1, 0, 2]),
    constant('in_shape', I, [2], [batch, features]),
    constant('out_shape', I, [2], [batch, units]),
    constant('steps', I, [], [steps]),
    constant('zero', I, [], [0]),
    constant('begin', I, [1], [-1]), constant('end', I, [1], [0]), constant('stride', I, [1], [1]),
    node('transpose', 'Transpose', ['inputs', 'perm:output:0'], { T: type(F), Tperm: type(I) }),
    node('input_ta', 'TensorListFromTensor', ['transpose:y:0', 'in_shape:output:0'], list),
    node('output_ta', 'TensorListReserve', ['out_shape:output:0', 'steps:output:0'], list),
    node('while', 'StatelessWhile', ['zero:output:0', 'steps:output:0', 'zero:output:0', 'output_ta:handle:0',
      'init_h', 'init_c', 'input_ta:output_handle:0', 'kernel', 'recurrent_kernel', 'bias'],
    { T: types(...loopTypes), cond: func('while_cond_40'), body: func('while_body_41'), parallel_iterations: { i: 32 } }),
    node('stack', 'TensorListStack', ['while:output:3', 'out_shape:output:0'], { element_dtype: type(F), num_elements: { i: steps } }),
    node('last', 'StridedSlice', ['stack:tensor:0', 'begin:output:0', 'end:output:0', 'stride:output:0'],
      { T: type(F), Index: type(I), shrink_axis_mask: { i: 1 } }),
    node('outputs', 'Transpose', ['stack:tensor:0', 'perm:output:0'], { T: type(F), Tperm: type(I) }),
  ], { last_output: 'last:output:0', outputs: 'outputs:y:0', state_h: 'while:output:4', state_c: 'while:output:5' },
  { api_implements: { s: Buffer.from('lstm_4f2b') }, api_preferred_device: { s: Buffer.from('CPU') } });
  // What a GPU would run: the converter must not pick this one.
  const cudnn = fn('__inference_cudnn_lstm_with_fallback_60', lstmArgs, lstmOuts, [
    node('cudnn', 'CudnnRNNV3', ['inputs', 'init_h', 'init_c', 'kernel'], { T: type(F) }),
    node('o0', 'Identity', ['cudnn:output:0'], { T: type(F) }),
  ], { last_output: 'o0:output:0', outputs: 'o0:output:0', state_h: 'o0:output:0', state_c: 'o0:output:0' },
  { api_implements: { s: Buffer.from('lstm_4f2b') }, api_preferred_device: { s: Buffer.from('GPU') } });
  const wrapper = fn('__inference_signature_wrapper_70', ['x'], ['last', 'seq'], [
    constant('kernel', F, [features, 4 * units], kernel),
    constant('recurrent_kernel', F, [units, 4 * units], recurrent),
    constant('bias', F, [4 * units], bias),
    constant('zeros', F, [batch, units], new Array(batch * units).fill(0)),
    node('lstm', 'PartitionedCall', ['x', 'zeros:output:0', 'zeros:output:0', 'kernel:output:0',
      'recurrent_kernel:output:0', 'bias:output:0'],
    { f: func('__inference_cudnn_lstm_with_fallback_60'), Tin: types(F, F, F, F, F, F), Tout: types(F, F, F, F) }),
    node('last', 'Identity', ['lstm:output:0'], { T: type(F) }),
    node('seq', 'Identity', ['lstm:output:1'], { T: type(F) }),
  ], { last: 'last:output:0', seq: 'seq:output:0' });
  const sm = savedModel({
    nodes: [
      placeholder('serving_default_x', F, [batch, steps, features]),
      node('StatefulPartitionedCall', 'StatefulPartitionedCall', ['serving_default_x'],
        { f: func('__inference_signature_wrapper_70'), Tin: types(F), Tout: types(F, F) }),
    ],
    library: [wrapper, cudnn, standard, cond, body],
    ops: [
      opdef('MatMul', ['product'], { transpose_a: { b: false }, transpose_b: { b: false } }),
      opdef('BiasAdd', ['output'], { data_format: { s: Buffer.from('NHWC') } }),
      opdef('StridedSlice', ['output'], { begin_mask: { i: 0 }, end_mask: { i: 0 }, ellipsis_mask: { i: 0 }, new_axis_mask: { i: 0 } }),
      opdef('StatelessWhile', [{ name: 'output', typeListAttr: 'T' }]),
    ],
    signatures: {
      serving_default: {
        inputs: { x: tensorInfo('serving_default_x:0', F, [batch, steps, features]) },
        outputs: { last: tensorInfo('StatefulPartitionedCall:0', F, [batch, units]), seq: tensorInfo('StatefulPartitionedCall:1', F, [batch, steps, units]) },
      },
    },
  });
  return { sm, kernel, recurrent, bias, batch, steps, features, units };
}

export const models = { tf1_cut: tf1Cut, tf2_functions: tf2Functions, tf2_lstm: tf2Lstm };

// Writes model `name` under dir/name; returns its description (weights and sizes).
export function writeSavedModel(dir, name) {
  const made = models[name]();
  const SavedModel = protobuf.loadSync(PROTO).lookupType('tensorflow.SavedModel');
  const msg = SavedModel.fromObject(made.sm);
  const out = path.join(dir, name);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'saved_model.pb'), SavedModel.encode(msg).finish());
  return { ...made, dir: out };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node tests/tools/make_savedmodels.mjs OUT_DIR');
    process.exit(2);
  }
  for (const name of Object.keys(models)) console.log(writeSavedModel(dir, name).dir);
}
