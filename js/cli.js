#!/usr/bin/env node
// `kiln run`: kiln-run (src/cli/kiln_run.c) for people without the native build, on kiln.wasm
// in Node. Same options, same output; .npy files in and out.
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { load, version, KilnError } from './kiln.js';

const USAGE = `usage: kiln run MODEL.kiln [options]
       kiln --version

Runs the model once (or more with --bench) in WebAssembly and prints each
output's shape and first values. With no inputs given, prints the model's
inputs and outputs.

options:
  --input NAME=FILE.npy   feed input NAME from a NumPy file (the name may be left
                          out when the model has one input); repeat per input
  --seeded                feed every input not given with deterministic values
                          (xorshift32, seed 0x12345678 + input index; floats in
                          [0,1), integers in 0..255), as kiln-run does
  --output-dir DIR        write each output to DIR/<name>.npy, where <name> is the
                          output's name with every character outside
                          [A-Za-z0-9._-] replaced by '_'
  --bench N               after the first run, run N times and print the median
                          and minimum milliseconds
  -h, --help              this text
`;

class UsageError extends Error {}

// ---- .npy (NumPy's format, version 1-3, C order, little-endian) -----------------------

const NPY_DTYPES = { '<f4': ['float32', Float32Array], '<i4': ['int32', Int32Array], '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array] };
const MAGIC = '\x93NUMPY';

function readNpy(file) {
  const b = fs.readFileSync(file);
  const fail = (why) => { throw new UsageError(`${file}: ${why}`); };
  if (b.length < 10 || b.toString('latin1', 0, 6) !== MAGIC) fail('not a .npy file');
  const major = b[6];
  if (major < 1 || major > 3) fail(`unsupported .npy version ${major}`);
  const start = major === 1 ? 10 : 12;
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.length >= 12 ? b.readUInt32LE(8) : fail('truncated header');
  if (start + headerLen > b.length) fail('truncated header');
  const header = b.toString(major === 3 ? 'utf8' : 'latin1', start, start + headerLen);
  const field = (key, re) => new RegExp(`'${key}'\\s*:\\s*${re}`).exec(header)?.[1] ?? fail(`bad header, no '${key}': ${header.trim()}`);
  const descr = field('descr', "'([^']*)'");
  if (field('fortran_order', '(True|False)') !== 'False') fail('Fortran order is not supported');
  if (!NPY_DTYPES[descr]) fail(`dtype '${descr}' is not supported (only <f4, <i4, |u1, |b1)`);
  const dims = field('shape', '\\(([^)]*)\\)').split(',').map((s) => s.trim()).filter(Boolean);
  if (dims.some((d) => !/^\d+$/.test(d))) fail(`bad shape in header: ${header.trim()}`);
  const shape = dims.map(Number);
  const [dtype, Array] = NPY_DTYPES[descr];
  const bytes = shape.reduce((a, d) => a * d, 1) * Array.BYTES_PER_ELEMENT;
  const at = start + headerLen;
  if (b.length - at !== bytes) fail(`shape [${shape}] of ${dtype} needs ${bytes} data bytes, the file has ${b.length - at}`);
  return { dtype, shape, data: new Array(b.buffer.slice(b.byteOffset + at, b.byteOffset + at + bytes)) };
}

function writeNpy(file, { data, shape, dtype }) {
  const descr = Object.keys(NPY_DTYPES).find((k) => NPY_DTYPES[k][0] === dtype);
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + dict.length + 1) % 64); // data starts 64-byte aligned, as NumPy writes
  const header = Buffer.from(`${dict}${' '.repeat(pad % 64)}\n`, 'latin1');
  const pre = Buffer.from([...Buffer.from(MAGIC, 'latin1'), 1, 0, header.length & 255, header.length >> 8]);
  fs.writeFileSync(file, Buffer.concat([pre, header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

// ---- kiln run ------------------------------------------------------------------------

// xorshift32 as kiln-run's seeded_fill.
function seeded(count, dtype, seed) {
  const out = dtype === 'float32' ? new Float32Array(count) : dtype === 'int32' ? new Int32Array(count) : new Uint8Array(count);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    const u = (x >>> 8) / 16777216;
    out[i] = dtype === 'float32' ? u : dtype === 'bool' ? Number(u >= 0.5) : Math.floor(256 * u);
  }
  return out;
}

const desc = (kind, t) => `${kind} ${t.name} ${t.dtype}[${t.shape.join(',')}]`;
const safeName = (name) => name.replace(/[^A-Za-z0-9._-]/g, '_');

function values({ data, dtype }) {
  const head = Array.from(data.subarray(0, 8), (v) => (dtype === 'float32' ? String(Number(v.toPrecision(6))) : String(v)));
  return ` = ${head.join(' ')}${data.length > 8 ? ` ... (${data.length} values)` : ''}`;
}

function parse(argv) {
  const o = { inputs: [], seeded: false, outputDir: null, bench: 0, model: null };
  const value = (i, flag) => {
    if (i >= argv.length) throw new UsageError(`${flag} needs a value`);
    return argv[i];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--input') o.inputs.push(value(++i, a));
    else if (a === '--seeded') o.seeded = true;
    else if (a === '--output-dir') o.outputDir = value(++i, a);
    else if (a === '--bench') {
      o.bench = Number(value(++i, a));
      if (!Number.isInteger(o.bench) || o.bench < 1) throw new UsageError(`--bench needs a positive integer, got '${argv[i]}'`);
    } else if (a.startsWith('-') || o.model) throw new UsageError(`unexpected argument '${a}'`);
    else o.model = a;
  }
  if (!o.model) throw new UsageError('no model given');
  return o;
}

async function run(o) {
  let t0 = performance.now();
  const model = await load(path.resolve(o.model));
  const loadMs = performance.now() - t0;
  if (!o.inputs.length && !o.seeded) {
    for (const t of model.inputs) console.log(desc('input ', t));
    for (const t of model.outputs) console.log(desc('output', t));
    console.log(`wasm build ${model.build}`);
    return;
  }
  const feeds = {};
  for (const spec of o.inputs) {
    const eq = spec.indexOf('=');
    let name = eq < 0 ? null : spec.slice(0, eq);
    const file = eq < 0 ? spec : spec.slice(eq + 1);
    if (name === null) {
      if (model.inputs.length !== 1) throw new UsageError(`--input ${spec}: the model has ${model.inputs.length} inputs, say which (NAME=FILE.npy)`);
      name = model.inputs[0].name;
    }
    const t = model.inputs.find((i) => i.name === name);
    if (!t) throw new UsageError(`--input ${spec}: the model has no input '${name}' (its inputs: ${model.inputs.map((i) => `'${i.name}'`).join(', ')})`);
    const a = readNpy(file);
    if (a.dtype !== t.dtype) throw new UsageError(`--input ${spec}: input '${name}' is ${t.dtype}, the file holds ${a.dtype}`);
    feeds[name] = { data: a.data, shape: a.shape };
  }
  model.inputs.forEach((t, i) => {
    if (feeds[t.name]) return;
    if (!o.seeded) throw new UsageError(`input '${t.name}' is not given (use --input ${t.name}=FILE.npy or --seeded)`);
    feeds[t.name] = seeded(t.shape.reduce((a, b) => a * b, 1), t.dtype, 0x12345678 + i);
  });
  t0 = performance.now();
  const out = await model.run(feeds);
  console.log(`load ${loadMs.toFixed(3)} ms, first run ${(performance.now() - t0).toFixed(3)} ms`);
  if (o.outputDir) fs.mkdirSync(o.outputDir, { recursive: true });
  for (const t of model.outputs) {
    console.log(desc('output', { name: t.name, ...out[t.name] }) + values(out[t.name]));
    if (o.outputDir) writeNpy(path.join(o.outputDir, `${safeName(t.name)}.npy`), out[t.name]);
  }
  if (o.bench) {
    const ms = [];
    for (let i = 0; i < o.bench; i++) {
      t0 = performance.now();
      await model.run(feeds);
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    console.log(`bench: ${o.bench} runs, median ${ms[o.bench >> 1].toFixed(3)} ms, min ${ms[0].toFixed(3)} ms`);
  }
  model.dispose();
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  if (cmd === '--version') console.log(version);
  else if (cmd === '-h' || cmd === '--help') process.stdout.write(USAGE);
  else if (cmd === undefined) throw new UsageError('no command (kiln run MODEL.kiln ...)');
  else if (cmd !== 'run') throw new UsageError(`unknown command '${cmd}'`);
  else if (rest.includes('-h') || rest.includes('--help')) process.stdout.write(USAGE);
  else await run(parse(rest));
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`kiln: ${e.message}\n(kiln --help explains the options)`);
    process.exitCode = 2;
  } else {
    console.error(`kiln: ${e instanceof KilnError ? `${e.status}: ` : ''}${e.message}`);
    process.exitCode = 1;
  }
}
