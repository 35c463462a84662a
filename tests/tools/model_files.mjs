// tfjs model files on disk, without tfjs itself (the tests and bench/ each have their own tfjs):
// an IOHandler that loads model.json and its weight shards from a folder (tfjs' own file://
// loader needs tfjs-node, which we do not use), and a save handler that writes them.
import fs from 'node:fs';
import path from 'node:path';

// An IOHandler that reads model.json and every shard its weightsManifest lists, in order.
export function fileIOHandler(modelJsonPath) {
  return {
    async load() {
      const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
      const dir = path.dirname(modelJsonPath);
      const weightSpecs = [];
      const shards = [];
      for (const group of json.weightsManifest || []) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) shards.push(fs.readFileSync(path.join(dir, decodeURIComponent(p))));
      }
      const all = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer,
        trainingConfig: json.trainingConfig,
      };
    },
  };
}

// For tf.io.withSaveHandler: writes DIR/weights.bin, then DIR/model.json through a rename, so
// that model.json's presence means the model is complete.
export function modelFilesWriter(dir) {
  return async (a) => {
    fs.mkdirSync(dir, { recursive: true });
    const data = Array.isArray(a.weightData) ? Buffer.concat(a.weightData.map((b) => Buffer.from(b))) : Buffer.from(a.weightData);
    fs.writeFileSync(path.join(dir, 'weights.bin'), data);
    const json = {
      format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, modelTopology: a.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
    };
    fs.writeFileSync(path.join(dir, 'model.json.tmp'), JSON.stringify(json));
    fs.renameSync(path.join(dir, 'model.json.tmp'), path.join(dir, 'model.json'));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  };
}
