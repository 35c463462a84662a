// The demo page in a real browser: Debian's Chromium, headless, driven by playwright-core.
// Serves the page (demo/serve.mjs), waits for it to run every converted model on the first
// sample picture in its workers, clicks another sample, gives it a picture file as a user
// would, then checks that each model's outputs
// equal, bit for bit, those of the same bundle run in Node (js/kiln.js) on the exact input
// tensor the page made from the picture. Also runs one model on the page's main thread
// (kiln.js without a worker), and saves a screenshot (build/browser/demo.png) that must not
// be blank. Needs tests/setup.sh (chromium, playwright-core, the demo's models).
//   node --test tests/browser/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { load } from '../../js/kiln.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
// As the machine notes say works here: no sandbox (root), and no background connections
// (this machine's network is closed).
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];
const SHOT = path.join(root, 'build/browser/demo.png');

let server, base, browser, page;
const pageErrors = [];

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run tests/setup.sh (apt package chromium)`);
  server = spawn(process.execPath, [path.join(root, 'demo/serve.mjs'), '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = /http:\/\/[^\s]+\//.exec(out);
      if (m) resolve(m[0]);
    });
    server.on('exit', (code) => reject(new Error(`demo/serve.mjs exited with ${code}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 60000 });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
});

after(async () => {
  await browser?.close();
  server?.kill();
});

// Waits until the page has finished its RUNS-th run (data-state "done"), or fails with its status.
async function waitDone(runs) {
  await page.waitForFunction((n) => ['done', 'error'].includes(document.body.dataset.state) && (document.body.dataset.state === 'error' || window.kilnDemo.runs >= n),
    runs, { timeout: 90000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, 'done', await page.locator('#status').textContent());
}

// The page's last input and outputs of model ID, as {input: {name, dtype, shape, data}, outputs: {name: {dtype, shape, data}}}.
async function pageResult(id) {
  const r = await page.evaluate((model) => {
    const b64 = (a) => {
      const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      let s = '';
      for (let i = 0; i < u8.length; i += 32768) s += String.fromCharCode(...u8.subarray(i, i + 32768));
      return btoa(s);
    };
    const { input, outputs } = window.kilnDemo.results[model];
    return {
      input: { ...input, data: b64(input.data) },
      outputs: Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: b64(t.data) }])),
    };
  }, id);
  const bytes = (s) => new Uint8Array(Buffer.from(s, 'base64'));
  r.input.bytes = bytes(r.input.data);
  for (const t of Object.values(r.outputs)) t.bytes = bytes(t.data);
  return r;
}

const ARRAYS = { float32: Float32Array, int32: Int32Array, uint8: Uint8Array, bool: Uint8Array };

test('the demo runs every converted model in Chromium, as Node runs it', async () => {
  const manifest = await (await fetch(`${base}manifest.json`)).json();
  assert.ok(manifest.models.length >= 1, 'no model converted for the demo (demo/convert.sh)');
  assert.ok(manifest.samples.length >= 2, 'no sample pictures (@vladmandic/face-api in tests/package.json)');
  await page.goto(base);
  await waitDone(1);
  // Another picture, through the page's own controls: a sample, then a file of the user's.
  await page.locator('#samples button').nth(1).click();
  await waitDone(2);
  await page.locator('#file').setInputFiles(path.join(root, 'tests/node_modules/@vladmandic/face-api/demo/sample3.jpg'));
  await waitDone(3);
  const shown = await page.evaluate(() => Object.keys(window.kilnDemo.results));
  assert.deepEqual(shown.sort(), manifest.models.map((m) => m.id).sort());
  const build = await page.evaluate(() => Object.values(window.kilnDemo.models)[0].model.build);
  assert.equal(build, 'simd128');

  for (const { id, url } of manifest.models) {
    const r = await pageResult(id);
    const model = await load(path.join(root, 'demo', url));
    const input = new ARRAYS[r.input.dtype](r.input.bytes.buffer);
    const expected = await model.run({ [r.input.name]: { data: input, shape: r.input.shape } });
    model.dispose();
    assert.deepEqual(Object.keys(r.outputs).sort(), Object.keys(expected).sort(), id);
    for (const [name, t] of Object.entries(expected)) {
      const got = r.outputs[name];
      assert.deepEqual([got.dtype, got.shape], [t.dtype, t.shape], `${id} ${name}`);
      const want = new Uint8Array(t.data.buffer);
      const differ = want.findIndex((b, i) => b !== got.bytes[i]);
      assert.ok(got.bytes.length === want.length && differ < 0,
        `${id} ${name}: the page's output differs from Node's at byte ${differ} of ${want.length}`);
    }
  }
  assert.deepEqual(pageErrors, []);
});

test('kiln.js on the page\'s main thread gives the worker\'s result', async () => {
  const { id, url } = (await (await fetch(`${base}manifest.json`)).json()).models[0];
  const same = await page.evaluate(async ({ model, src }) => {
    const { load: loadHere } = await import('./kiln/kiln.js');
    const { input, outputs } = window.kilnDemo.results[model];
    let progress = 0;
    const m = await loadHere(src, { onProgress: (loaded) => { progress = loaded; } });
    const out = await m.run({ [input.name]: input.data });
    m.dispose();
    return { progress, equal: Object.entries(outputs).every(([k, t]) => t.data.every((v, i) => Object.is(v, out[k].data[i]))) };
  }, { model: id, src: url });
  assert.ok(same.progress > 0, 'onProgress was called');
  assert.ok(same.equal, `${id}: main thread and worker differ`);
});

test('a screenshot of the page, not blank', async () => {
  fs.mkdirSync(path.dirname(SHOT), { recursive: true });
  const png = await page.screenshot({ path: SHOT });
  // The saved PNG itself, decoded by the browser: the picture area must hold many colours.
  const colours = await page.evaluate(async (b64) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const c = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = c.getContext('2d');
    g.drawImage(bitmap, 0, 0);
    const box = document.getElementById('canvas').getBoundingClientRect();
    const px = g.getImageData(box.x, box.y, box.width, box.height).data;
    const seen = new Set();
    for (let i = 0; i < px.length; i += 4 * 7) seen.add((px[i] >> 3) << 10 | (px[i + 1] >> 3) << 5 | px[i + 2] >> 3);
    return seen.size;
  }, png.toString('base64'));
  assert.ok(colours > 500, `the picture area of ${SHOT} has only ${colours} colours: blank?`);
});
