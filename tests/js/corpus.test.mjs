// The model-corpus check in CI: a few models that, between them, use every op type of the
// models that pass the full corpus check (tests/tools/corpus.mjs, report in docs/COVERAGE.md)
// are converted, run natively and in wasm and compared with tfjs, and must pass.
//
// The subset is picked at test time: `kiln-convert --list-ops` gives each passing model's op
// types, and coverSubset() takes models greedily, most op types not yet covered per second of
// checking, until every op type is covered (11 models, about two minutes on 2 cores today).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, corpusModels, coverSubset, listOps, runCorpus } from '../tools/corpus.mjs';

// ==== EXTEND AS OPS LAND ====================================================================
// The models that pass the full corpus check, each with the seconds its check took in
// docs/COVERAGE.md (the cost coverSubset weighs). When a model starts passing there, add it.
const PASSING = {
  age: 5,
  antispoof: 6,
  blazeface: 8,
  'blazeface-back': 7,
  'blazeface-front': 4,
  'blazepose-detector': 10,
  'blazepose-full': 7,
  'blazepose-heavy': 17,
  'blazepose-lite': 6,
  centernet: 68,
  efficientpose: 52,
  emotion: 4,
  facemesh: 5,
  faceboxes: 7,
  'facemesh-attention': 7,
  'facemesh-attention-pinto': 7,
  'facemesh-detection-full': 8,
  'facemesh-detection-short': 5,
  faceres: 12,
  'faceres-deep': 11,
  gear: 49,
  gender: 4,
  'gender-ssrnet-imdb': 4,
  handdetect: 20,
  handtrack: 15,
  'handlandmark-full': 12,
  'handlandmark-lite': 6,
  'handlandmark-sparse': 9,
  handskeleton: 12,
  iris: 6,
  liveness: 4,
  meet: 6,
  mobileface: 7,
  mobilefacenet: 12,
  'movenet-lightning': 24,
  'movenet-multipose': 59,
  'movenet-thunder': 63,
  nanodet: 50,
  posenet: 27,
  rvm: 13,
  selfie: 13,
  mobilenet_v2_mid: 18,
  mobilenet_v2: 15,
  inception_v3: 37,
};
// ============================================================================================

const bin = path.join(ROOT, 'build');
if (!fs.existsSync(path.join(bin, 'kiln-convert'))) throw new Error(`${bin}/kiln-convert is missing: run tests/setup.sh`);

test('every model listed as passing is in the corpus', () => {
  const ids = new Set(corpusModels().map((e) => e.id));
  assert.deepEqual(Object.keys(PASSING).filter((id) => !ids.has(id)), []);
});

// Each passing model's op types (kiln-convert --list-ops: fast); a model that has an op type
// called unsupported now is a regression, reported by its own test below.
const models = [];
for (const e of corpusModels().filter((m) => m.id in PASSING)) {
  const { ops, note } = await listOps(e, { bin });
  const unsupported = ops.filter((o) => !o.ok).map((o) => o.op);
  models.push({ id: e.id, ops: ops.map((o) => o.op), unsupported, note, seconds: PASSING[e.id] });
}

test('kiln-convert --list-ops supports every op type of the passing models', () => {
  for (const m of models) {
    assert.ok(m.ops.length, `${m.id}: kiln-convert --list-ops listed nothing`);
    assert.deepEqual(m.unsupported, [], `${m.id}: op types now called unsupported${m.note ? ` (${m.note})` : ''}`);
  }
});

const subset = coverSubset(models);
describe(`models covering every op type: ${subset.join(', ')}`, { concurrency: 2 }, () => {
  for (const id of subset) {
    test(`${id}: native and wasm match tfjs`, async () => {
      const [r] = await runCorpus({ ids: [id], bin });
      assert.equal(r.status, 'pass', `${id}: ${r.status}: ${r.message}`);
    });
  }
});
