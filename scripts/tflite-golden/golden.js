// golden.js runs original .tflite models with the TFLite WebAssembly runtime
// (@tensorflow/tfjs-tflite, single-threaded, SIMD build) to produce reference
// outputs for checking converted ONNX models.
//
//   NODE_PATH=$LIVEGATE_CACHE/tflite-golden/node_modules node golden.js JOB.json
//
// JOB.json: {"cases": [{"model": "m.tflite", "input": "in.bin", "output": "out.bin"}]}
// in.bin is the model's single float32 input, little-endian, in its shape.
// out.bin receives every output of the model, float32, concatenated in the
// model's output order. Nothing is fetched: the packages are extracted into
// the cache by scripts/setup.d/40-convert.sh.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const tflitePkg = path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json'));
const wasmDir = path.join(tflitePkg, 'wasm') + '/';
const useSimd = process.env.GOLDEN_PLAIN !== '1';

// Node shims: the client believes it runs in a web worker.
globalThis.self = globalThis;
globalThis.location = { origin: 'file://', href: 'file://' + wasmDir };
globalThis.importScripts = (url) => {
  let file = path.basename(String(url).replace(/^file:\/\//, ''));
  // Never the threaded builds (they need Worker); pick SIMD or plain.
  file = file.replace('_simd_threaded.js', '_simd.js').replace('_threaded.js', '.js');
  if (!useSimd) file = file.replace('_simd.js', '.js');
  const src = fs.readFileSync(path.join(wasmDir, file), 'utf8');
  vm.runInThisContext(src, { filename: file });
  const wasmFile = path.join(wasmDir, file.replace(/\.js$/, '.wasm'));
  const factory = globalThis.tflite_web_api_ModuleFactory;
  globalThis.tflite_web_api_ModuleFactory = (opts) =>
    factory(Object.assign({}, opts, { wasmBinary: fs.readFileSync(wasmFile) }));
};

const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tflite = require('@tensorflow/tfjs-tflite');

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  await tf.setBackend('cpu');
  tflite.setWasmPath(wasmDir);
  const models = new Map();
  for (const c of job.cases) {
    let model = models.get(c.model);
    if (!model) {
      const buf = fs.readFileSync(c.model);
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      model = await tflite.loadTFLiteModel(ab, { numThreads: -1 });
      models.set(c.model, model);
    }
    const info = model.inputs[0];
    const raw = fs.readFileSync(c.input);
    const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const x = tf.tensor(data, info.shape, 'float32');
    let y = model.predict(x);
    const outs = [];
    if (y instanceof tf.Tensor) {
      outs.push(y);
    } else if (Array.isArray(y)) {
      outs.push(...y);
    } else {
      for (const o of model.outputs) outs.push(y[o.name]);
    }
    const parts = outs.map((t) => Buffer.from(new Float32Array(t.dataSync()).buffer));
    fs.writeFileSync(c.output, Buffer.concat(parts));
    x.dispose();
    outs.forEach((t) => t.dispose());
  }
}

main().then(() => process.exit(0), (e) => {
  console.error('golden.js:', e && e.stack || e);
  process.exit(1);
});
