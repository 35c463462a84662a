// The demo page's server: static files over HTTP on this machine only, no dependencies.
//   node demo/serve.mjs [--port N] [--host ADDR]     (default 127.0.0.1:8080; --port 0 picks one)
// It serves demo/ (the page), js/ as /kiln/ (the package, as a user would ship it), the
// converted models (demo/models/*.kiln, made by demo/convert.sh) and the sample pictures from
// an npm package (@vladmandic/face-api's, MIT), and /manifest.json: which models and samples
// there are, and the size of each file of the runtime, raw and gzip. Prints one line,
// "Kiln demo: http://HOST:PORT/ ...", once it listens.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const host = arg('--host', '127.0.0.1');
const port = Number(arg('--port', '8080'));

const SAMPLES = path.join(root, 'tests/node_modules/@vladmandic/face-api/demo');
// The models the page knows how to show, in the order it shows them.
const MODELS = ['blazeface-back', 'movenet-lightning', 'selfie'];
const RUNTIME = ['kiln.js', 'kiln.wasm', 'kiln-scalar.wasm', 'worker.js', 'worker-thread.js'];

// URL prefix -> folder, and which files of it may be served.
const ROUTES = [
  ['/kiln/', path.join(root, 'js'), (f) => RUNTIME.includes(f)],
  ['/models/', path.join(root, 'demo/models'), (f) => f.endsWith('.kiln')],
  ['/samples/', SAMPLES, (f) => /^sample\d+\.jpg$/.test(f)],
  ['/', path.join(root, 'demo'), (f) => ['index.html', 'demo.js', 'demo.css'].includes(f)],
];
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.kiln': 'application/octet-stream', '.jpg': 'image/jpeg' };

const sizes = (file) => {
  const bytes = fs.readFileSync(file);
  return { bytes: bytes.length, gzip: zlib.gzipSync(bytes, { level: 9 }).length };
};

function manifest() {
  const have = (dir, f) => fs.existsSync(path.join(dir, f));
  return {
    models: MODELS.filter((id) => have(path.join(root, 'demo/models'), `${id}.kiln`))
      .map((id) => ({ id, url: `models/${id}.kiln`, bytes: fs.statSync(path.join(root, 'demo/models', `${id}.kiln`)).size })),
    samples: fs.existsSync(SAMPLES) ? fs.readdirSync(SAMPLES).filter((f) => /^sample\d+\.jpg$/.test(f)).sort().map((f) => `samples/${f}`) : [],
    runtime: Object.fromEntries(RUNTIME.filter((f) => have(path.join(root, 'js'), f)).map((f) => [f, sizes(path.join(root, 'js', f))])),
  };
}

function serve(req, res) {
  const url = new URL(req.url, 'http://x');
  const send = (status, type, body, headers = {}) =>
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers }).end(req.method === 'HEAD' ? undefined : body);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
  if (url.pathname === '/manifest.json') return send(200, TYPES['.json'], JSON.stringify(manifest()));
  const pathname = url.pathname === '/' ? '/index.html' : url.pathname;
  for (const [prefix, dir, allowed] of ROUTES) {
    if (!pathname.startsWith(prefix)) continue;
    const name = decodeURIComponent(pathname.slice(prefix.length));
    if (!allowed(name)) break; // plain names only: no '/', so nothing outside DIR
    const file = path.join(dir, name);
    let stat;
    try {
      stat = fs.statSync(file);
    } catch {
      break;
    }
    // With its Content-Length, so that kiln.js streams a bundle straight into wasm memory.
    res.writeHead(200, { 'content-type': TYPES[path.extname(name)], 'content-length': stat.size, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') return res.end();
    return fs.createReadStream(file).pipe(res);
  }
  send(404, 'text/plain', `not found: ${url.pathname}\n`);
}

const server = http.createServer(serve);
server.listen(port, host, () => {
  const { port: p } = server.address();
  const shown = host.includes(':') ? `[${host}]` : host;
  console.log(`Kiln demo: http://${shown}:${p}/  (open it in a browser; Ctrl-C stops the server)`);
});
server.on('error', (e) => {
  console.error(`demo/serve.mjs: ${e.code === 'EADDRINUSE' ? `port ${port} is in use (try --port N)` : e.message}`);
  process.exit(1);
});
