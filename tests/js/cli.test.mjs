// The command-line tools as a user meets them: kiln-convert's errors and atomic output,
// --list-ops, and kiln-run's input checks and output files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy, writeNpy, kilnBin } from '../tools/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const convertBin = kilnBin('kiln-convert');
const runBin = kilnBin('kiln-run');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-'));

function sh(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

// A tfjs graph model: y = relu(x · w + b) followed by `tail` (an op name, to test unsupported ones).
function writeModel(name, tail = null) {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { recursive: true });
  const w = Float32Array.from([1, -1, 0.5, 2, 0, -2]); // [2,3]
  const b = Float32Array.from([0.25, 0, -1]);
  const node = (n, op, input = [], attr = {}) => ({ name: n, op, input, attr });
  const nodes = [
    node('x', 'Placeholder', [], { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: [{ size: '-1' }, { size: '2' }] } } }),
    node('w', 'Const', [], { dtype: { type: 'DT_FLOAT' } }),
    node('b', 'Const', [], { dtype: { type: 'DT_FLOAT' } }),
    node('mm', '_FusedMatMul', ['x', 'w', 'b'], {
      transpose_a: { b: false }, transpose_b: { b: false }, num_args: { i: '1' },
      fused_ops: { list: { s: [btoa('BiasAdd'), btoa('Relu')] } }, T: { type: 'DT_FLOAT' },
    }),
  ];
  if (tail) nodes.push(node('t1', tail, ['mm']), node('t2', 'Relu', ['t1']), node('t3', tail, ['t2']), node('t4', 'Zorch', ['t3']));
  const model = {
    format: 'graph-model',
    modelTopology: { node: nodes },
    weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [2, 3], dtype: 'float32' }, { name: 'b', shape: [3], dtype: 'float32' }] }],
  };
  fs.writeFileSync(path.join(d, 'w.bin'), Buffer.concat([Buffer.from(w.buffer), Buffer.from(b.buffer)]));
  fs.writeFileSync(path.join(d, 'model.json'), JSON.stringify(model));
  return path.join(d, 'model.json');
}

test('kiln-convert lists every unsupported op and writes nothing', () => {
  const model = writeModel('unsupported', 'Frobnicate');
  const out = path.join(dir, 'unsupported.kiln');
  const r = sh(convertBin, [model, '-o', out]);
  assert.equal(r.code, 1);
  assert.match(r.err, /2 unsupported op types/);
  assert.match(r.err, /Frobnicate: 2 nodes: 't1', 't3'|Frobnicate: 2 nodes: 't3', 't1'/);
  assert.match(r.err, /Zorch: 1 node: 't4'/);
  assert.ok(!fs.existsSync(out), 'no bundle on failure');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
});

test('a failed conversion never replaces a good bundle', () => {
  const good = writeModel('good');
  const out = path.join(dir, 'keep.kiln');
  assert.equal(sh(convertBin, [good, '-o', out, '-q']).code, 0);
  const before = fs.readFileSync(out);
  const r = sh(convertBin, [writeModel('bad', 'Frobnicate'), '-o', out]);
  assert.equal(r.code, 1);
  assert.deepEqual(fs.readFileSync(out), before);
});

test('kiln-convert --list-ops marks unsupported ops', () => {
  const r = sh(convertBin, ['--list-ops', writeModel('list', 'Frobnicate')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^_FusedMatMul\s+1\s+ok$/m);
  assert.match(r.out, /^Frobnicate\s+2\s+UNSUPPORTED$/m);
  assert.match(r.out, /^Relu\s+1\s+ok$/m);
});

test('kiln-convert names a malformed model.json by byte offset', () => {
  const bad = path.join(dir, 'broken.json');
  fs.writeFileSync(bad, '{"format": "graph-model", "modelTopology": {"node": [}');
  const r = sh(convertBin, [bad, '-o', path.join(dir, 'broken.kiln')]);
  assert.equal(r.code, 1);
  assert.match(r.err, /byte \d+/);
});

test('kiln-run: inputs from .npy, outputs to .npy, named errors', () => {
  const bundle = path.join(dir, 'run.kiln');
  assert.equal(sh(convertBin, [writeModel('run'), '-o', bundle, '-q']).code, 0);
  const x = path.join(dir, 'x.npy');
  writeNpy(x, Float32Array.from([1, 2]), [1, 2], 'float32');
  const outDir = path.join(dir, 'out');
  fs.mkdirSync(outDir);
  const r = sh(runBin, [bundle, '--input', `x=${x}`, '--output-dir', outDir]);
  assert.equal(r.code, 0, r.err);
  // relu([1,2] · [[1,-1,0.5],[2,0,-2]] + [0.25,0,-1]) = relu([5.25, -1, -4.5])
  const y = readNpy(path.join(outDir, 'mm.npy'));
  assert.deepEqual(y.shape, [1, 3]);
  assert.deepEqual(Array.from(y.data), [5.25, 0, 0]);

  const wrongShape = path.join(dir, 'x3.npy');
  writeNpy(wrongShape, Float32Array.from([1, 2, 3]), [1, 3], 'float32');
  let e = sh(runBin, [bundle, '--input', `x=${wrongShape}`]);
  assert.equal(e.code, 1);
  assert.match(e.err, /input 'x': expected shape float32\[1,2\], got float32\[1,3\]/);

  const wrongType = path.join(dir, 'xi.npy');
  writeNpy(wrongType, Int32Array.from([1, 2]), [1, 2], 'int32');
  e = sh(runBin, [bundle, '--input', `x=${wrongType}`]);
  assert.match(e.err, /input 'x': expected dtype float32, got int32/);

  e = sh(runBin, [bundle, '--input', `nope=${x}`]);
  assert.match(e.err, /no input of that name/);

  const truncated = path.join(dir, 'truncated.kiln');
  fs.writeFileSync(truncated, fs.readFileSync(bundle).subarray(0, 300));
  e = sh(runBin, [truncated]);
  assert.equal(e.code, 1);
  assert.match(e.err, /truncated/);

  const help = sh(runBin, ['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /--bench N/);
});
