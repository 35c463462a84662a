// The npm package as a user gets it: `npm pack` js/, install the tarball into an empty folder
// (offline: it has no dependencies), then import it from there by name and run a model, on the
// main thread, in a worker and with the `kiln` command. Also checks what the tarball holds and
// that its .d.ts type-check a consumer (when Debian's tsc is there).
//   node --test tests/js/package.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kilnBin } from '../tools/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-package-'));
const app = path.join(work, 'app');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'js/package.json'), 'utf8'));
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

// A one-op model, out = x · W: float32[1,2] · [2,2].
function matmulModel() {
  const dir = path.join(work, 'model');
  fs.mkdirSync(dir);
  const shape = (dims) => ({ dim: dims.map((d) => ({ size: String(d) })) });
  fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'x', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: shape([1, 2]) } } },
        { name: 'w', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: shape([2, 2]) } } } },
        { name: 'out', op: 'MatMul', input: ['x', 'w'], attr: { T: { type: 'DT_FLOAT' }, transpose_a: { b: false }, transpose_b: { b: false } } },
      ],
    },
    weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [2, 2], dtype: 'float32' }] }],
  }));
  const bundle = path.join(app, 'm.kiln');
  execFileSync(kilnBin('kiln-convert'), [path.join(dir, 'model.json'), '-o', bundle, '-q']);
  return bundle;
}

// Runs an ES module script in the app folder (as a file: a worker inherits the flags of
// node -e, which it refuses); returns what it printed, parsed as JSON.
let scripts = 0;
function node(script) {
  const file = path.join(app, `script${scripts++}.mjs`);
  fs.writeFileSync(file, script);
  return JSON.parse(execFileSync(process.execPath, [file], { cwd: app, encoding: 'utf8' }));
}

let tarball;
before(() => {
  fs.mkdirSync(app);
  tarball = path.join(work, npm(['pack', '--pack-destination', work], path.join(root, 'js')).trim().split('\n').pop());
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', '--offline', tarball], app);
  matmulModel();
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('the tarball holds the module, its types, the wasm builds, the CLI and the README, nothing else', () => {
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
  assert.deepEqual(files, [...pkg.files, 'package.json'].sort());
  for (const f of files) assert.ok(fs.statSync(path.join(app, 'node_modules/kiln', f)).size > 0, f);
});

test('import it by name and run a model', () => {
  const script = `
    import { load, version } from 'kiln';
    const model = await load('m.kiln');
    const { out } = await model.run({ x: new Float32Array([1, 1]) });
    console.log(JSON.stringify({ version, build: model.build, out: [...out.data], shape: out.shape }));
    model.dispose();`;
  const r = node(script);
  assert.deepEqual(r, { version: pkg.version, build: 'simd128', out: [4, 6], shape: [1, 2] });
});

test('kiln/worker runs it in a worker thread', () => {
  const script = `
    import { load } from 'kiln/worker';
    const model = await load('m.kiln');
    const x = new Float32Array([1, -1]);
    const { out } = await model.run({ x }, { transfer: true });
    console.log(JSON.stringify({ out: [...out.data], moved: x.length === 0, build: model.build }));
    model.dispose();`;
  const r = node(script);
  assert.deepEqual(r, { out: [-2, -2], moved: true, build: 'simd128' });
});

test('the scalar build gives the same results', () => {
  const script = `
    import { load } from 'kiln';
    const model = await load('m.kiln', { wasm: new URL('./node_modules/kiln/kiln-scalar.wasm', 'file://' + process.cwd() + '/') });
    const { out } = await model.run({ x: [0.5, 2] });
    console.log(JSON.stringify({ build: model.build, out: [...out.data] }));`;
  const r = node(script);
  assert.deepEqual(r, { build: 'scalar', out: [6.5, 9] });
});

test('npx kiln run, as kiln-run', () => {
  const x = path.join(app, 'x.npy');
  // float32 [1,2] = [2, 0.5], as NumPy writes it.
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
  const h = header + ' '.repeat(64 - ((10 + header.length + 1) % 64)) + '\n';
  fs.writeFileSync(x, Buffer.concat([Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0, h.length, 0]), Buffer.from(h, 'latin1'),
    Buffer.from(new Float32Array([2, 0.5]).buffer)]));
  const run = (...args) => spawnSync('npx', ['--offline', 'kiln', ...args], { cwd: app, encoding: 'utf8' });
  let r = run('run', 'm.kiln');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^input {2}x float32\[1,2\]$/m);
  assert.match(r.stdout, /^output out float32\[1,2\]$/m);
  r = run('run', 'm.kiln', '--input', 'x=x.npy', '--output-dir', 'out', '--bench', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^output out float32\[1,2\] = 3.5 6$/m);
  assert.match(r.stdout, /^bench: 2 runs, median [\d.]+ ms, min [\d.]+ ms$/m);
  // The written .npy is what kiln-run writes: same header, the values as float32.
  const npy = fs.readFileSync(path.join(app, 'out/out.npy'));
  assert.equal(npy.length, 128 + 8);
  assert.match(npy.toString('latin1', 10, 128), /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(1, 2\), \} +\n$/);
  assert.deepEqual([...new Float32Array(npy.buffer.slice(npy.byteOffset + 128, npy.byteOffset + 136))], [3.5, 6]);
  r = run('run', 'm.kiln', '--seeded');
  assert.equal(r.status, 0, r.stderr);
  r = run('run', 'm.kiln', '--input', 'y=x.npy');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no input 'y'.*'x'/);
  r = run('run', 'missing.kiln');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ENOENT/);
});

test('the .d.ts type-check a consumer', (t) => {
  if (spawnSync('tsc', ['--version']).status !== 0) return t.skip('no tsc (Debian package node-typescript)');
  fs.writeFileSync(path.join(app, 'use.mts'), `
    import { load, KilnError, wasmFeatures, type Tensor } from 'kiln';
    import { load as loadInWorker } from 'kiln/worker';
    const m = await load('m.kiln', { onProgress: (loaded: number, total?: number) => void [loaded, total] });
    const b: 'simd128' | 'scalar' = m.build;
    const r: Record<string, Tensor> = await m.run({ x: new Float32Array(2) });
    const w = await loadInWorker(new Uint8Array(8), { transfer: true });
    await w.run({ x: { data: [1, 2], shape: [1, 2] } }, { transfer: true });
    export const all = [b, r, w.build, wasmFeatures().simd, KilnError];`);
  const r = spawnSync('tsc', ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext',
    '--lib', 'es2022,dom', 'use.mts'], { cwd: app, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
