// Exports a tfjs graph model (model.json) to ONNX (opset 13) so that ONNX Runtime can run the very
// same weights. Weights are taken from tfjs after loading (so uint8/float16-quantized weights are
// dequantized exactly as tfjs does). Layout: TF is NHWC; conv-like ops are emitted in NCHW and
// Transposes are inserted only where a layout-agnostic op needs NHWC (Reshape, Squeeze, Softmax,
// MatMul ...). Covers the op subset of common CNNs; anything else throws "unsupported op".
//   node bench/tfjs_to_onnx.mjs MODEL.json OUT.onnx
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import * as tf from '@tensorflow/tfjs';
import { fileIOHandler, inputSpecs, seededData } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const P = new protobuf.Root().loadSync(path.join(here, 'onnx_min.proto'), { keepCase: true });
const ModelProto = P.lookupType('onnx.ModelProto');
const AT = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 };
const ODT = { float32: 1, int32: 6, int64: 7, bool: 9 };

export async function exportOnnx(modelPath) {
  const j = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  if (!Array.isArray(j.modelTopology?.node)) throw new Error('not a tfjs graph model');
  const model = await tf.loadGraphModel(fileIOHandler(modelPath));
  const W = model.weights; // name -> [Tensor]
  const nodesByName = new Map(j.modelTopology.node.map(n => [n.name, n]));
  // ---- static shapes of every node output 0 (one tfjs run requesting all nodes) ----
  const specs = inputSpecs(modelPath);
  const feed = {};
  specs.forEach((s, k) => { // tfjs has no uint8 tensors
    const data = seededData(s.shape.reduce((a, b) => a * b, 1), s.dtype, 0x12345678 + k);
    feed[s.name] = tf.tensor(data, s.shape, s.dtype === 'float32' ? 'float32' : s.dtype === 'bool' ? 'bool' : 'int32');
  });
  const want = j.modelTopology.node.filter(n => !['Const', 'Placeholder', 'NoOp'].includes(n.op)).map(n => n.name);
  const shapes = new Map();
  const outs = model.execute(feed, want); // throws for control-flow models -> unsupported anyway
  want.forEach((n, k) => shapes.set(n, outs[k].shape)); tf.dispose(outs);
  for (const s of specs) shapes.set(s.name.replace(/:0$/, ''), s.shape);

  const onodes = []; const inits = []; const initNames = new Set(); let uid = 0;
  const fresh = (p) => `${p}__${uid++}`;
  const attr = (name, v, type) => {
    if (type === AT.INTS) return { name, type, ints: v };
    if (type === AT.FLOATS) return { name, type, floats: v };
    if (type === AT.STRING) return { name, type, s: Buffer.from(v) };
    if (type === AT.FLOAT) return { name, type, f: v };
    return { name, type: AT.INT, i: v };
  };
  const node = (op, ins, outsN, attrs = []) => { onodes.push({ op_type: op, input: ins, output: outsN, name: fresh(op), attribute: attrs }); return outsN[0]; };
  const init = (name, data, dims, dtype) => { // data: TypedArray
    if (initNames.has(name)) return name; initNames.add(name);
    let raw;
    if (dtype === 'int64') { const b = new BigInt64Array(data.length); data.forEach((v, i) => { b[i] = BigInt(Math.trunc(v)); }); raw = b; }
    else raw = data;
    inits.push({ name, dims, data_type: ODT[dtype], raw_data: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) });
    return name;
  };
  const constI64 = (vals) => init(fresh('i64'), Float64Array.from(vals), [vals.length], 'int64');
  const constF = (v) => init(fresh('f'), Float32Array.of(v), [], 'float32');

  // tensor bookkeeping
  const alias = new Map();   // tf tensor name -> onnx name
  const layout = new Map();  // onnx name -> 'NCHW' (only set for NCHW tensors)
  const rank = new Map();    // onnx name -> rank
  const tfName = (s) => { const [n, i] = s.split(':'); return (!i || i === '0') ? n : `${n}:${i}`; };
  const constNode = (s) => { let n = nodesByName.get(tfName(s).split(':')[0]);  // follow Identity chains (frozen 'x/read' nodes)
    while (n && n.op === 'Identity') n = nodesByName.get(n.input[0].replace(/^\^/, '').split(':')[0]); return n && n.op === 'Const' ? n : null; };
  const isConst = (s) => !!constNode(s);
  const constVal = (s) => W[constNode(s).name][0];
  const S = (a) => Buffer.from(a.s, 'base64').toString();
  const ints = (a) => (a?.list?.i || []).map(Number);
  function ref(s) { // onnx name for a tf input string
    s = tfName(s);
    if (alias.has(s)) return alias.get(s);
    const nm = s.split(':')[0];
    if (isConst(s)) { const t = constVal(s); const nn = init(constNode(s).name, t.dataSync(), t.shape, t.dtype === 'bool' ? 'bool' : t.dtype); rank.set(nn, t.shape.length); return nn; }
    throw new Error('unresolved tensor ' + s);
  }
  const cacheN = new Map(), cacheH = new Map();
  function asNCHW(s) { // s = onnx name
    if (layout.get(s) === 'NCHW') return s;
    if (cacheN.has(s)) return cacheN.get(s);
    const o = node('Transpose', [s], [fresh('toNCHW')], [attr('perm', [0, 3, 1, 2], AT.INTS)]); layout.set(o, 'NCHW'); rank.set(o, 4); cacheN.set(s, o); return o;
  }
  function asNHWC(s) {
    if (layout.get(s) !== 'NCHW') return s;
    if (cacheH.has(s)) return cacheH.get(s);
    const o = node('Transpose', [s], [fresh('toNHWC')], [attr('perm', [0, 2, 3, 1], AT.INTS)]); rank.set(o, 4); cacheH.set(s, o); return o;
  }
  // a const/broadcast operand next to an NCHW tensor
  function constForNCHW(tfIn) {
    const t = constVal(tfIn); const d = t.dataSync(); let sh = [...t.shape];
    if (sh.length === 0 || (sh.length === 1 && sh[0] === 1)) return init(fresh('c'), d, sh, t.dtype);
    while (sh.length < 4) sh.unshift(1);
    const t4 = tf.tensor(d, sh, t.dtype).transpose([0, 3, 1, 2]); const r = init(fresh('c'), t4.dataSync(), t4.shape, t.dtype); t4.dispose(); return r;
  }
  const set = (tfOut, onnxName, lay) => { alias.set(tfOut, onnxName); if (lay === 'NCHW') layout.set(onnxName, 'NCHW'); const sh = shapes.get(tfOut); if (sh) rank.set(onnxName, sh.length); };
  const act = (x, a, n, extra) => { // fused activation
    switch (a) {
      case undefined: return x;
      case 'Relu': return node('Relu', [x], [fresh('relu')]);
      case 'Relu6': return node('Clip', [x, constF(0), constF(6)], [fresh('relu6')]);
      case 'Elu': return node('Elu', [x], [fresh('elu')]);
      case 'Sigmoid': return node('Sigmoid', [x], [fresh('sig')]);
      case 'Tanh': return node('Tanh', [x], [fresh('tanh')]);
      case 'LeakyRelu': return node('LeakyRelu', [x], [fresh('lrelu')], [attr('alpha', n.attr.leakyrelu_alpha?.f ?? 0.2, AT.FLOAT)]);
      case 'Prelu': return node('PRelu', [x, extra], [fresh('prelu')]);
      default: throw new Error('unsupported fused activation ' + a);
    }
  };
  const convPads = (n) => {
    const p = S(n.attr.padding);
    if (p === 'SAME') return [attr('auto_pad', 'SAME_UPPER', AT.STRING)];
    if (p === 'VALID') return [attr('auto_pad', 'VALID', AT.STRING)];
    if (p === 'EXPLICIT') { const e = ints(n.attr.explicit_paddings); return [attr('pads', [e[2], e[4], e[3], e[5]], AT.INTS)]; }
    throw new Error('padding ' + p);
  };
  const chkNHWC = (n) => { if (n.attr?.data_format && S(n.attr.data_format) !== 'NHWC') throw new Error('data_format ' + S(n.attr.data_format)); };

  // topological order
  const order = []; const seen = new Set();
  const visit = (name) => { if (seen.has(name)) return; seen.add(name); const n = nodesByName.get(name); if (!n) return;
    for (const i of n.input || []) visit(i.replace(/^\^/, '').split(':')[0]); order.push(n); };
  const outNames = j.signature?.outputs ? Object.values(j.signature.outputs).map(o => o.name.replace(/:0$/, '')) : model.outputs.map(o => o.name.replace(/:0$/, ''));
  for (const o of outNames) visit(o.split(':')[0]);

  const gInputs = [];
  for (const n of order) {
    const ins = (n.input || []).filter(i => !i.startsWith('^'));
    const a = n.attr || {};
    switch (n.op) {
      case 'Const': break;
      case 'Placeholder': { const sh = shapes.get(n.name); gInputs.push({ name: n.name, type: { tensor_type: { elem_type: ODT[specs.find(s => s.name.replace(/:0$/, '') === n.name)?.dtype || 'float32'] ?? 1, shape: { dim: sh.map(d => ({ dim_value: d })) } } } }); set(n.name, n.name); break; }
      case 'Identity': case 'StopGradient': case 'Snapshot': { if (isConst(ins[0])) break; const r = ref(ins[0]); alias.set(n.name, r); break; }
      case 'Conv2D': case '_FusedConv2D': case 'DepthwiseConv2dNative': case 'FusedDepthwiseConv2dNative': {
        chkNHWC(n);
        const dw = n.op.includes('Depthwise'); const x = asNCHW(ref(ins[0]));
        const wt = constVal(ins[1]); const [kh, kw, ci, co] = wt.shape; let w4;
        if (dw) w4 = wt.transpose([2, 3, 0, 1]).reshape([ci * co, 1, kh, kw]); else w4 = wt.transpose([3, 2, 0, 1]);
        const wn = init(fresh(n.name + '/W'), w4.dataSync(), w4.shape, 'float32'); w4.dispose();
        const fused = (a.fused_ops?.list?.s || []).map(s => Buffer.from(s, 'base64').toString());
        const cin = [x, wn];
        let k = 2;
        if (fused[0] === 'BiasAdd') { const b = constVal(ins[k++]); cin.push(init(fresh(n.name + '/B'), b.dataSync(), [b.shape[0]], 'float32')); }
        else if (fused.length) throw new Error('unsupported fused_ops ' + fused);
        const st = ints(a.strides); const dl = ints(a.dilations); const at = [attr('strides', [st[1], st[2]], AT.INTS), attr('kernel_shape', [kh, kw], AT.INTS), ...convPads(n)];
        if (dl.length) at.push(attr('dilations', [dl[1], dl[2]], AT.INTS));
        if (dw) at.push(attr('group', ci, AT.INT));
        let y = node('Conv', cin, [fresh(n.name)], at); layout.set(y, 'NCHW');
        let extra; if (fused[1] === 'Prelu') extra = constForNCHW(ins[k++]);
        y = act(y, fused[1], n, extra); set(n.name, y, 'NCHW'); break; }
      case 'MaxPool': case 'AvgPool': { chkNHWC(n); const x = asNCHW(ref(ins[0])); const ks = ints(a.ksize), st = ints(a.strides);
        const y = node(n.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x], [fresh(n.name)], [attr('kernel_shape', [ks[1], ks[2]], AT.INTS), attr('strides', [st[1], st[2]], AT.INTS), ...convPads(n)]);
        set(n.name, y, 'NCHW'); break; }
      case 'BiasAdd': case 'Add': case 'AddV2': case 'Sub': case 'Mul': case 'RealDiv': case 'Maximum': case 'Minimum': case 'SquaredDifference': case 'Prelu': {
        const onnxOp = { BiasAdd: 'Add', Add: 'Add', AddV2: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min', SquaredDifference: 'Sub', Prelu: 'PRelu' }[n.op];
        const [ia, ib] = ins; const ca = isConst(ia), cb = isConst(ib);
        let ra = ca ? null : ref(ia), rb = cb ? null : ref(ib);
        const nchw = (ra && layout.get(ra) === 'NCHW') || (rb && layout.get(rb) === 'NCHW');
        const bcast = (r, tfIn) => { // non-const operand next to an NCHW tensor
          const rk = rank.get(r); if (rk === 4) return asNCHW(r); if (rk === 0) return r;
          if (rk === 1) return node('Reshape', [r, constI64([-1, 1, 1])], [fresh('bc')]);
          const sh = shapes.get(tfName(tfIn)); if (!sh) throw new Error('no shape for ' + tfIn);
          const r4 = node('Reshape', [r, constI64([...Array(4 - sh.length).fill(1), ...sh])], [fresh('bc')]); rank.set(r4, 4); return asNCHW(r4); };
        if (nchw) { ra = ca ? constForNCHW(ia) : bcast(ra, ia); rb = cb ? constForNCHW(ib) : bcast(rb, ib); } else { ra = ra ?? ref(ia); rb = rb ?? ref(ib); }
        let y = node(onnxOp, [ra, rb], [fresh(n.name)]);
        if (n.op === 'SquaredDifference') y = node('Mul', [y, y], [fresh(n.name)]);
        set(n.name, y, nchw ? 'NCHW' : undefined); break; }
      case 'AddN': { let rs = ins.map(ref); const nchw = rs.some(r => layout.get(r) === 'NCHW'); if (nchw) rs = rs.map(asNCHW);
        const y = node('Sum', rs, [fresh(n.name)]); set(n.name, y, nchw ? 'NCHW' : undefined); break; }
      case 'Relu': case 'Relu6': case 'Elu': case 'Sigmoid': case 'Tanh': case 'LeakyRelu': {
        const x = ref(ins[0]); const y = act(x, n.op, n); set(n.name, y, layout.get(x)); break; }
      case 'Exp': case 'Abs': case 'Neg': case 'Sqrt': case 'Reciprocal': case 'Floor': case 'Rsqrt': case 'Square': {
        const x = ref(ins[0]); let y;
        if (n.op === 'Rsqrt') y = node('Reciprocal', [node('Sqrt', [x], [fresh('sqrt')])], [fresh(n.name)]);
        else if (n.op === 'Square') y = node('Mul', [x, x], [fresh(n.name)]);
        else y = node(n.op, [x], [fresh(n.name)]);
        set(n.name, y, layout.get(x)); break; }
      case 'Mean': case 'Sum': case 'Max': case 'Min': { const x = ref(ins[0]); const axes = Array.from(constVal(ins[1]).dataSync()).map(v => v < 0 ? v + rank.get(x) : v);
        const keep = a.keep_dims?.b ? 1 : 0; const op = { Mean: 'ReduceMean', Sum: 'ReduceSum', Max: 'ReduceMax', Min: 'ReduceMin' }[n.op];
        let y;
        if (layout.get(x) === 'NCHW') { const m = { 0: 0, 1: 2, 2: 3, 3: 1 }; const ax = axes.map(v => m[v]);
          if (op === 'ReduceSum') y = node(op, [x, constI64(ax)], [fresh(n.name)], [attr('keepdims', keep, AT.INT)]);
          else y = node(op, [x], [fresh(n.name)], [attr('axes', ax, AT.INTS), attr('keepdims', keep, AT.INT)]);
          if (keep) { set(n.name, y, 'NCHW'); break; }
          // kept dims dropped: the remaining order is NCHW-ordered; if C and spatial both remain, fix to NHWC order
          const remain = [0, 1, 2, 3].filter(d => !axes.includes(d)); // NHWC dims remaining
          const remNCHW = [0, 3, 1, 2].filter(d => remain.includes(d));
          if (JSON.stringify(remain) !== JSON.stringify(remNCHW)) { const perm = remain.map(d => remNCHW.indexOf(d)); y = node('Transpose', [y], [fresh('perm')], [attr('perm', perm, AT.INTS)]); }
          set(n.name, y); break; }
        if (op === 'ReduceSum') y = node(op, [x, constI64(axes)], [fresh(n.name)], [attr('keepdims', keep, AT.INT)]);
        else y = node(op, [x], [fresh(n.name)], [attr('axes', axes, AT.INTS), attr('keepdims', keep, AT.INT)]);
        set(n.name, y); break; }
      case 'Pad': case 'PadV2': case 'MirrorPad': { const x = ref(ins[0]); const p = Array.from(constVal(ins[1]).dataSync()); const r = p.length / 2;
        let pr = []; for (let i = 0; i < r; i++) pr.push([p[2 * i], p[2 * i + 1]]);
        const nchw = layout.get(x) === 'NCHW'; if (nchw) pr = [pr[0], pr[3], pr[1], pr[2]];
        const pads = [...pr.map(q => q[0]), ...pr.map(q => q[1])]; const pin = [x, constI64(pads)];
        const at = [];
        if (n.op === 'PadV2') pin.push(init(fresh('cv'), constVal(ins[2]).dataSync(), [], 'float32'));
        if (n.op === 'MirrorPad') at.push(attr('mode', 'reflect', AT.STRING)); if (n.op === 'MirrorPad' && S(a.mode) !== 'REFLECT') throw new Error('MirrorPad SYMMETRIC');
        const y = node('Pad', pin, [fresh(n.name)], at); set(n.name, y, nchw ? 'NCHW' : undefined); break; }
      case 'ConcatV2': { const data = ins.slice(0, -1); let axis = constVal(ins[ins.length - 1]).dataSync()[0];
        let rs = data.map(s => isConst(s) ? null : ref(s)); const r0 = shapes.get(n.name).length; if (axis < 0) axis += r0;
        const nchw = r0 === 4 && rs.some(r => r && layout.get(r) === 'NCHW');
        rs = rs.map((r, k) => r ? (nchw ? asNCHW(r) : asNHWC(r)) : (nchw ? constForNCHW(data[k]) : ref(data[k])));
        const y = node('Concat', rs, [fresh(n.name)], [attr('axis', nchw ? { 0: 0, 1: 2, 2: 3, 3: 1 }[axis] : axis, AT.INT)]);
        set(n.name, y, nchw ? 'NCHW' : undefined); break; }
      case 'DepthToSpace': { chkNHWC(n); const x = asNCHW(ref(ins[0])); const y = node('DepthToSpace', [x], [fresh(n.name)], [attr('blocksize', Number(a.block_size.i), AT.INT), attr('mode', 'DCR', AT.STRING)]); set(n.name, y, 'NCHW'); break; }
      case 'ResizeBilinear': case 'ResizeNearestNeighbor': { const x = asNCHW(ref(ins[0])); const sh = shapes.get(n.name); // NHWC out shape
        const ac = a.align_corners?.b, hp = a.half_pixel_centers?.b; const lin = n.op === 'ResizeBilinear';
        const ctm = ac ? 'align_corners' : hp ? (lin ? 'half_pixel' : 'tf_half_pixel_for_nn') : 'asymmetric';
        const at = [attr('mode', lin ? 'linear' : 'nearest', AT.STRING), attr('coordinate_transformation_mode', ctm, AT.STRING)];
        if (!lin) at.push(attr('nearest_mode', ac ? 'round_prefer_ceil' : 'floor', AT.STRING));
        const y = node('Resize', [x, '', '', constI64([sh[0], sh[3], sh[1], sh[2]])], [fresh(n.name)], at); set(n.name, y, 'NCHW'); break; }
      case 'Reshape': { const x = asNHWC(ref(ins[0])); const shp = isConst(ins[1]) ? constI64(Array.from(constVal(ins[1]).dataSync())) : constI64(shapes.get(n.name));
        set(n.name, node('Reshape', [x, shp], [fresh(n.name)])); break; }
      case 'Squeeze': { const x = asNHWC(ref(ins[0])); let ax = ints(a.squeeze_dims).length ? ints(a.squeeze_dims) : ints(a.axis);
        set(n.name, node('Squeeze', ax.length ? [x, constI64(ax)] : [x], [fresh(n.name)])); break; }
      case 'ExpandDims': { const x = asNHWC(ref(ins[0])); const ax = Array.from(constVal(ins[1]).dataSync()); set(n.name, node('Unsqueeze', [x, constI64(ax)], [fresh(n.name)])); break; }
      case 'Softmax': { const x = asNHWC(ref(ins[0])); set(n.name, node('Softmax', [x], [fresh(n.name)], [attr('axis', -1, AT.INT)])); break; }
      case 'Transpose': { const x = asNHWC(ref(ins[0])); set(n.name, node('Transpose', [x], [fresh(n.name)], [attr('perm', Array.from(constVal(ins[1]).dataSync()), AT.INTS)])); break; }
      case 'MatMul': case '_FusedMatMul': { const x = asNHWC(ref(ins[0])); const ta = a.transpose_a?.b ? 1 : 0, tb = a.transpose_b?.b ? 1 : 0;
        const fused = (a.fused_ops?.list?.s || []).map(s => Buffer.from(s, 'base64').toString());
        const gin = [x, ref(ins[1])]; if (fused[0] === 'BiasAdd') gin.push(ref(ins[2])); else if (fused.length) throw new Error('fused ' + fused);
        let y = node('Gemm', gin, [fresh(n.name)], [attr('transA', ta, AT.INT), attr('transB', tb, AT.INT)]);
        y = act(y, fused[1], n); set(n.name, y); break; }
      default: throw new Error(`unsupported op ${n.op} (${n.name})`);
    }
  }
  const gOutputs = [];
  for (const o of outNames) { const r = asNHWC(ref(o)); const nm = 'out:' + o; node('Identity', [r], [nm]); gOutputs.push({ name: nm, type: { tensor_type: { elem_type: 1 } } }); }
  const m = { ir_version: 7, producer_name: 'kiln/bench/tfjs_to_onnx.mjs', opset_import: [{ domain: '', version: 13 }],
    graph: { name: path.basename(path.dirname(modelPath)), node: onodes, initializer: inits, input: gInputs, output: gOutputs } };
  const err = ModelProto.verify(m); if (err) throw new Error(err);
  return { bytes: ModelProto.encode(ModelProto.fromObject(m)).finish(), outNames, nNodes: onodes.length, nTranspose: onodes.filter(x => x.op_type === 'Transpose').length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [modelPath, out] = process.argv.slice(2);
  if (!out) {
    console.error('usage: node bench/tfjs_to_onnx.mjs MODEL.json OUT.onnx');
    process.exit(2);
  }
  tf.enableProdMode();
  const r = await exportOnnx(modelPath);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(`${out}.tmp`, r.bytes);
  fs.renameSync(`${out}.tmp`, out);
  console.log(`wrote ${out}: ${r.bytes.length} bytes, ${r.nNodes} nodes (${r.nTranspose} Transpose), outputs ${r.outNames.join(',')}`);
}
