// The demo page: real models on real pictures, entirely in the browser, with Kiln's package
// (served as /kiln/ by demo/serve.mjs) running each model in its own Web Worker.
//
// Each model sees the picture letterboxed into its square input (padded with black, aspect
// kept), and its results are mapped back onto the picture. For tests, window.kilnDemo holds
// every model's last input tensor and outputs, and <body data-state> is "ready" once the
// models are loaded, "running" during a run and "done" after it.
import { load, wasmFeatures, version } from './kiln/worker.js';

const $ = (id) => document.getElementById(id);
const canvas = $('canvas');
const ctx = canvas.getContext('2d');
const kb = (n) => `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;
const setStatus = (text, error = false) => { $('status').textContent = text; $('status').classList.toggle('error', error); };

// ---- The models: how to feed each one and how to show what it says -------------------

// The square letterbox of a w x h picture in an S x S input: scale and offset (in input pixels).
function letterbox(w, h, S) {
  const scale = S / Math.max(w, h);
  return { w, h, scale, dx: (S - w * scale) / 2, dy: (S - h * scale) / 2 };
}

// RGB of the picture letterboxed into S x S: a Float32Array mapped by norm(v) or an Int32Array.
function pixels(image, S, dtype, norm) {
  const c = new OffscreenCanvas(S, S);
  const g = c.getContext('2d', { willReadFrequently: true });
  const { scale, dx, dy } = letterbox(image.width, image.height, S);
  g.fillStyle = 'black';
  g.fillRect(0, 0, S, S);
  g.drawImage(image, dx, dy, image.width * scale, image.height * scale);
  const rgba = g.getImageData(0, 0, S, S).data;
  const out = dtype === 'int32' ? new Int32Array(S * S * 3) : new Float32Array(S * S * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    out[j] = norm(rgba[i]); out[j + 1] = norm(rgba[i + 1]); out[j + 2] = norm(rgba[i + 2]);
  }
  return out;
}

// From input pixels (u, v) of an S x S letterbox back to picture pixels.
const unbox = (u, v, lb) => [(u - lb.dx) / lb.scale, (v - lb.dy) / lb.scale];

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const byShape = (outputs, test) => Object.values(outputs).find((t) => test(t.shape));

// BlazeFace (back camera, 256 x 256): SSD anchors at strides 16 (2 per cell) and 32 (6 per
// cell, three layers of MediaPipe's config sharing one grid), all of size 1 (fixed anchor size),
// centred in their cell. Each anchor's 16 regressors are a box (dx, dy, w, h) and 6 keypoints
// (x, y) in input pixels, relative to the anchor's centre; its logit is a face's score.
function anchors(S) {
  const out = [];
  for (const [stride, perCell] of [[16, 2], [32, 6]]) {
    const n = S / stride;
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) for (let k = 0; k < perCell; k++) out.push([(x + 0.5) * stride, (y + 0.5) * stride]);
  }
  return out;
}

function iou(a, b) {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0), h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

function decodeFaces(outputs, S, lb, { minScore = 0.6, maxIou = 0.3 } = {}) {
  // The 16 x 16 grid's 512 anchors come first, then the 8 x 8 grid's 384.
  const parts = [512, 384].map((n) => [byShape(outputs, (s) => s[1] === n && s[2] === 16), byShape(outputs, (s) => s[1] === n && s[2] === 1)]);
  const grid = anchors(S);
  const found = [];
  let a = 0;
  for (const [boxes, scores] of parts) {
    for (let i = 0; i < scores.data.length; i++, a++) {
      const score = sigmoid(scores.data[i]);
      if (score < minScore) continue;
      const r = boxes.data.subarray(16 * i, 16 * i + 16);
      const [cx, cy] = [grid[a][0] + r[0], grid[a][1] + r[1]];
      const [x0, y0] = unbox(cx - r[2] / 2, cy - r[3] / 2, lb);
      const [x1, y1] = unbox(cx + r[2] / 2, cy + r[3] / 2, lb);
      const points = Array.from({ length: 6 }, (_, k) => unbox(grid[a][0] + r[4 + 2 * k], grid[a][1] + r[5 + 2 * k], lb));
      found.push({ score, x0, y0, x1, y1, points });
    }
  }
  // Non-maximum suppression: the best box of each overlapping group.
  found.sort((p, q) => q.score - p.score);
  const kept = [];
  for (const f of found) if (kept.every((k) => iou(f, k) <= maxIou)) kept.push(f);
  return kept;
}

// MoveNet's 17 keypoints (COCO order) and the bones between them.
const BONES = [[0, 1], [0, 2], [1, 3], [2, 4], [5, 6], [5, 7], [7, 9], [6, 8], [8, 10], [5, 11], [6, 12], [11, 12], [11, 13], [13, 15], [12, 14], [14, 16]];

const MODELS = {
  'blazeface-back': {
    title: 'Face detection', what: 'BlazeFace (back camera)', color: '#34c759',
    input: (image, S) => pixels(image, S, 'float32', (v) => v / 127.5 - 1),
    draw(g, outputs, S, lb) {
      const faces = decodeFaces(outputs, S, lb);
      g.lineWidth = 3 / g.getTransform().a;
      for (const f of faces) {
        g.strokeStyle = this.color;
        g.strokeRect(f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
        g.fillStyle = this.color;
        for (const [x, y] of f.points) g.fillRect(x - g.lineWidth, y - g.lineWidth, 2 * g.lineWidth, 2 * g.lineWidth);
        g.font = `${14 / g.getTransform().a}px system-ui`;
        g.fillText(`${Math.round(100 * f.score)}%`, f.x0, f.y0 - 4 / g.getTransform().a);
      }
      return `${faces.length} face${faces.length === 1 ? '' : 's'}`;
    },
  },
  'movenet-lightning': {
    title: 'Pose', what: 'MoveNet Lightning', color: '#ff9f0a',
    input: (image, S) => pixels(image, S, 'int32', (v) => v),
    draw(g, outputs, S, lb, minScore = 0.3) {
      const k = byShape(outputs, (s) => s.length === 4 && s[2] === 17 && s[3] === 3).data; // y, x, score in [0, 1]
      const pts = Array.from({ length: 17 }, (_, i) => [...unbox(k[3 * i + 1] * S, k[3 * i] * S, lb), k[3 * i + 2]]);
      g.lineWidth = 4 / g.getTransform().a;
      g.strokeStyle = this.color;
      g.fillStyle = this.color;
      for (const [a, b] of BONES) {
        if (pts[a][2] < minScore || pts[b][2] < minScore) continue;
        g.beginPath(); g.moveTo(pts[a][0], pts[a][1]); g.lineTo(pts[b][0], pts[b][1]); g.stroke();
      }
      const seen = pts.filter((p) => p[2] >= minScore);
      for (const [x, y] of seen) { g.beginPath(); g.arc(x, y, 1.5 * g.lineWidth, 0, 2 * Math.PI); g.fill(); }
      return `${seen.length} of 17 keypoints`;
    },
  },
  selfie: {
    title: 'Selfie segmentation', what: "MediaPipe's selfie model", color: '#af52de', under: true,
    input: (image, S) => pixels(image, S, 'float32', (v) => v / 255),
    draw(g, outputs, S, lb) {
      const mask = byShape(outputs, (s) => s.length === 4 && s[1] === S && s[2] === S).data;
      const img = new ImageData(S, S);
      let person = 0;
      for (let i = 0; i < S * S; i++) {
        img.data[4 * i] = 175; img.data[4 * i + 1] = 82; img.data[4 * i + 2] = 222; img.data[4 * i + 3] = 120 * mask[i];
        person += mask[i] > 0.5;
      }
      const c = new OffscreenCanvas(S, S);
      c.getContext('2d').putImageData(img, 0, 0);
      // The mask covers the letterbox: its square, mapped back, overhangs the picture.
      const [x0, y0] = unbox(0, 0, lb);
      g.save();
      g.beginPath(); g.rect(0, 0, lb.w, lb.h); g.clip();
      g.drawImage(c, x0, y0, S / lb.scale, S / lb.scale);
      g.restore();
      return `${Math.round((100 * person) / (S * S))}% of the square is person`;
    },
  },
};

// ---- The page --------------------------------------------------------------------------

const state = { models: {}, image: null, results: {}, runs: 0 };
window.kilnDemo = state;

function modelCard(id, entry) {
  const m = MODELS[id];
  const div = document.createElement('div');
  div.className = `model${entry ? '' : ' missing'}`;
  div.innerHTML = `<label><input type="checkbox" ${entry ? 'checked' : 'disabled'}> <span class="swatch"></span></label>
    <div class="stats"></div>`;
  div.querySelector('.swatch').style.background = m.color;
  div.querySelector('label').append(`${m.title}`);
  div.querySelector('.stats').textContent = entry ? `${m.what} · ${mb(entry.bytes)} · loading…` : `${m.what}: not converted (see demo/convert.sh)`;
  div.querySelector('input').addEventListener('change', () => state.image && show(state.image));
  $('models').append(div);
  return div;
}

async function loadModels(manifest) {
  const entries = Object.fromEntries(manifest.models.map((e) => [e.id, e]));
  const cards = Object.fromEntries(Object.keys(MODELS).map((id) => [id, modelCard(id, entries[id])]));
  await Promise.all(manifest.models.map(async (e) => {
    const card = cards[e.id];
    const t0 = performance.now();
    const model = await load(e.url, {
      onProgress: (loaded, total) => { card.querySelector('.stats').textContent = `${MODELS[e.id].what} · ${mb(loaded)} of ${total ? mb(total) : '?'}`; },
    });
    state.models[e.id] = { model, card, entry: e, times: [], loadMs: performance.now() - t0 };
    stats(e.id);
  }));
}

function stats(id) {
  const s = state.models[id];
  const t = s.times;
  const warm = t.slice(1).sort((a, b) => a - b);
  const ms = (x) => `${x.toFixed(1)} ms`;
  s.card.querySelector('.stats').textContent = `${MODELS[id].what} · ${mb(s.entry.bytes)} · loaded in ${s.loadMs.toFixed(0)} ms` +
    (t.length ? ` · first run ${ms(t[0])}` : '') +
    (warm.length ? ` · then ${ms(t.at(-1))} (median ${ms(warm[(warm.length - 1) >> 1])} of ${warm.length})` : '') +
    (s.summary ? ` · ${s.summary}` : '');
}

function runtimeInfo(manifest, build) {
  const r = manifest.runtime;
  const wasm = build === 'simd128' ? 'kiln.wasm' : 'kiln-scalar.wasm';
  const size = (f) => (r[f] ? `${kb(r[f].bytes)} (${kb(r[f].gzip)} gzip)` : '?');
  const rows = [
    ['Kiln', `${version}, in a Web Worker per model`],
    ['wasm build', `${wasm} (${build}${wasmFeatures().simd ? '' : '; this browser has no SIMD128'})`],
    [wasm, size(wasm)],
    ['kiln.js', size('kiln.js')],
    ['worker.js + worker-thread.js', r['worker.js'] && r['worker-thread.js']
      ? `${kb(r['worker.js'].bytes + r['worker-thread.js'].bytes)} (${kb(r['worker.js'].gzip + r['worker-thread.js'].gzip)} gzip)` : '?'],
  ];
  $('runtime').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt'), dd = document.createElement('dd');
    dt.textContent = k; dd.textContent = v;
    return [dt, dd];
  }));
}

// Runs every checked model on IMAGE (an ImageBitmap) RUNS times and draws what they found.
async function show(image, runs = 1) {
  state.image = image;
  document.body.dataset.state = 'running';
  const scale = Math.min(1, 960 / image.width, 720 / image.height);
  canvas.width = Math.round(image.width * scale);
  canvas.height = Math.round(image.height * scale);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  ctx.setTransform(scale, 0, 0, scale, 0, 0); // draw in picture pixels
  const ids = Object.keys(MODELS).filter((id) => state.models[id]?.card.querySelector('input').checked);
  for (const id of ids) {
    const s = state.models[id];
    const info = s.model.inputs[0];
    setStatus(`Running ${MODELS[id].what}…`);
    const data = MODELS[id].input(image, info.shape[1]);
    let outputs;
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      // The input is kept (for tests): copied to the worker, not moved.
      outputs = await s.model.run({ [info.name]: data });
      s.times.push(performance.now() - t0);
    }
    state.results[id] = { input: { name: info.name, dtype: info.dtype, shape: info.shape, data }, outputs };
  }
  // Masks first, then what is drawn on top of them.
  const summaries = [];
  for (const id of [...ids].sort((a, b) => (MODELS[a].under ? -1 : 0) - (MODELS[b].under ? -1 : 0))) {
    const S = state.models[id].model.inputs[0].shape[1];
    state.models[id].summary = MODELS[id].draw(ctx, state.results[id].outputs, S, letterbox(image.width, image.height, S));
    stats(id);
  }
  for (const id of ids) summaries.push(`${MODELS[id].title}: ${state.models[id].summary}`);
  state.runs++;
  setStatus(ids.length ? summaries.join(' · ') : 'No model selected.');
  document.body.dataset.state = 'done';
}

async function showUrl(url, button) {
  for (const b of $('samples').children) b.setAttribute('aria-pressed', String(b === button));
  const blob = await (await fetch(url)).blob();
  await show(await createImageBitmap(blob));
}

async function showFile(file) {
  if (!file || !file.type.startsWith('image/')) return setStatus('That is not a picture.', true);
  for (const b of $('samples').children) b.setAttribute('aria-pressed', 'false');
  try {
    await show(await createImageBitmap(file));
  } catch (e) {
    setStatus(`Cannot read ${file.name}: ${e.message}`, true);
  }
}

async function main() {
  const manifest = await (await fetch('manifest.json')).json();
  for (const [i, url] of manifest.samples.entries()) {
    const b = document.createElement('button');
    b.type = 'button';
    b.title = `Sample ${i + 1}`;
    b.innerHTML = `<img alt="Sample picture ${i + 1}" src="${url}">`;
    b.addEventListener('click', () => showUrl(url, b));
    $('samples').append(b);
  }
  $('file').addEventListener('change', (e) => showFile(e.target.files[0]));
  $('again').addEventListener('click', () => state.image && show(state.image, 10));
  const stage = $('stage');
  stage.addEventListener('dragover', (e) => { e.preventDefault(); stage.classList.add('drop'); });
  stage.addEventListener('dragleave', () => stage.classList.remove('drop'));
  stage.addEventListener('drop', (e) => { e.preventDefault(); stage.classList.remove('drop'); showFile(e.dataTransfer.files[0]); });
  if (!manifest.models.length) throw new Error('no model is converted yet: run demo/convert.sh (or demo/run.sh)');
  await loadModels(manifest);
  runtimeInfo(manifest, Object.values(state.models)[0].model.build);
  document.body.dataset.state = 'ready';
  if (manifest.samples.length) await showUrl(manifest.samples[0], $('samples').children[0]);
  else setStatus('Pick a picture.');
}

main().catch((e) => {
  setStatus(`Error: ${e.message}`, true);
  document.body.dataset.state = 'error';
  console.error(e);
});
