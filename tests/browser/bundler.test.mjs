// The npm package through a bundler: an app that imports `kiln` by name is built with Vite,
// and the built page runs a model in headless Chromium. Vite must find kiln.wasm through
// `new URL('./kiln.wasm', import.meta.url)` and emit it as an asset; the page's outputs must
// equal the same bundle run in Node. Needs tests/setup.sh (chromium, vite, playwright-core).
//   node --test tests/browser/bundler.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { load } from '../../js/kiln.js';
import { kilnBin } from '../tools/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-vite-'));
const app = path.join(work, 'app');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic'];
const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.kiln': 'application/octet-stream' };

function serve(dir) {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(dir, name === '/' ? 'index.html' : name);
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('an app bundled with Vite finds kiln.wasm and runs a model in Chromium', async () => {
  fs.mkdirSync(path.join(app, 'public'), { recursive: true });
  // The package, installed from its tarball as a user would.
  const tarball = npm(['pack', path.join(root, 'js'), '--pack-destination', work], work).trim().split('\n').pop();
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  npm(['install', '--offline', path.join(work, tarball)], app);

  // A model: the small CNN bundle the parity fixtures give (blazeface-back).
  const bundle = path.join(app, 'public', 'model.kiln');
  execFileSync(kilnBin('kiln-convert'), [path.join(root, 'tests/fixtures/models/blazeface-back/model.json'), '-o', bundle, '-q']);
  fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>');
  fs.writeFileSync(path.join(app, 'main.js'), `
import { load } from 'kiln';
const model = await load('/model.kiln');
const x = new Float32Array(256 * 256 * 3);
for (let i = 0; i < x.length; i++) x[i] = (i % 251) / 251;
const out = await model.run({ [model.inputs[0].name]: x });
window.result = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Array.from(v.data)]));
window.build = model.build;
`);
  const vite = path.join(root, 'tests/node_modules/.bin/vite');
  execFileSync(vite, ['build', '--logLevel', 'error'], { cwd: app, encoding: 'utf8' });
  const dist = path.join(app, 'dist');
  const assets = fs.readdirSync(path.join(dist, 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `vite emitted no .wasm asset: ${assets.join(', ')}`);

  const server = await serve(dist);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS, timeout: 60000 });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.result, null, { timeout: 60000 }).catch(() => {});
    assert.deepEqual(errors, []);
    const got = await page.evaluate(() => window.result);
    assert.ok(got, 'the page produced no result');

    // The same bundle and input in Node.
    const model = await load(bundle);
    const x = new Float32Array(256 * 256 * 3);
    for (let i = 0; i < x.length; i++) x[i] = (i % 251) / 251;
    const want = await model.run({ [model.inputs[0].name]: x });
    model.dispose();
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const [name, o] of Object.entries(want)) assert.deepEqual(got[name], Array.from(o.data), name);
  } finally {
    await browser.close();
    server.close();
  }
});
