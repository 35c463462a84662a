#!/usr/bin/env node
// Extract nsfwjs' bundled models into plain tfjs model folders.
//
// nsfwjs ships each model as CommonJS modules instead of files:
//   dist/models/<id>/model.min.js             -> module.exports = the model.json object
//   dist/models/<id>/group1-shardKofN.min.js  -> module.exports = base64 of that shard's bytes
// We write OUT_DIR/<id>/model.json plus one file per weightsManifest path, named exactly
// as the manifest says, and check that the shard bytes add up to what the manifest declares.
//
// Usage: node tests/tools/extract_nsfwjs.cjs NSFWJS_PACKAGE_DIR OUT_DIR [ID...]
//   IDs default to all three: mobilenet_v2 (layers), mobilenet_v2_mid (graph), inception_v3 (layers).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ALL = ['mobilenet_v2', 'mobilenet_v2_mid', 'inception_v3'];

// Bytes per element of a stored weight (quantized weights are stored in the quantized dtype).
const STORED_BYTES = { float32: 4, int32: 4, bool: 1, uint8: 1, int8: 1, uint16: 2, int16: 2, float16: 2 };

function expectedBytes(manifest) {
  let total = 0;
  for (const group of manifest) {
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const dt = w.quantization ? w.quantization.dtype : w.dtype;
      const size = STORED_BYTES[dt];
      if (!size) throw new Error(`weight ${w.name}: cannot size dtype ${dt}`);
      total += n * size;
    }
  }
  return total;
}

function extract(pkgDir, outDir, id) {
  const src = path.join(pkgDir, 'dist', 'models', id);
  if (!fs.existsSync(path.join(src, 'model.min.js'))) {
    throw new Error(`${src}/model.min.js not found (is nsfwjs 4.3.0 installed?)`);
  }
  const model = require(path.resolve(src, 'model.min.js'));
  if (!model || !model.modelTopology || !Array.isArray(model.weightsManifest)) {
    throw new Error(`${src}/model.min.js did not export a tfjs model.json object`);
  }
  // Write into a temporary folder and rename at the end, so a half-written model is never seen.
  const dst = path.join(outDir, id);
  const tmp = `${dst}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let written = 0;
  for (const group of model.weightsManifest) {
    for (const p of group.paths) {
      const name = decodeURIComponent(p);
      if (name.includes('/') || name.startsWith('.')) throw new Error(`${id}: unexpected shard path ${p}`);
      const b64 = require(path.resolve(src, `${name}.min.js`));
      if (typeof b64 !== 'string') throw new Error(`${src}/${name}.min.js did not export a base64 string`);
      const bytes = Buffer.from(b64, 'base64');
      fs.writeFileSync(path.join(tmp, name), bytes);
      written += bytes.length;
    }
  }
  const want = expectedBytes(model.weightsManifest);
  if (written !== want) throw new Error(`${id}: shards hold ${written} bytes, the manifest declares ${want}`);
  fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(model));
  fs.rmSync(dst, { recursive: true, force: true });
  fs.renameSync(tmp, dst);
  const kind = model.modelTopology.node ? 'graph' : 'layers';
  console.log(`extract_nsfwjs: ${id} (${kind} model, ${written} weight bytes) -> ${dst}`);
}

function main(argv) {
  if (argv.length < 2) {
    console.error('usage: extract_nsfwjs.cjs NSFWJS_PACKAGE_DIR OUT_DIR [ID...]');
    process.exit(2);
  }
  const [pkgDir, outDir, ...ids] = argv;
  for (const id of ids.length ? ids : ALL) {
    if (!ALL.includes(id)) throw new Error(`unknown nsfwjs model ${id} (known: ${ALL.join(', ')})`);
    extract(pkgDir, outDir, id);
  }
}

try {
  main(process.argv.slice(2));
} catch (e) {
  console.error(`extract_nsfwjs: ${e.message}`);
  process.exit(1);
}
