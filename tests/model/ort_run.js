// Runs an ONNX model with ONNX Runtime (the onnxruntime-node npm package) on .npy inputs and writes each
// output as OUT_DIR/<name>.npy. Used by tests/model/onnx_export_test.cpp to check exported graphs in the
// runtime deployments use. Usage: node ort_run.js MODEL.onnx OUT_DIR name=file.npy ...
// ORT_RUN_REPEAT=N runs N more times and prints the time of each (docs/benchmarks.md, "ONNX Runtime");
// ORT_RUN_THREADS=N sets the intra-op threads.
// The package is found through NODE_PATH (scripts/setup-onnxruntime installs it).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const DTYPES = { '<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array] };

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order is not supported`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  if (!(descr in DTYPES)) throw new Error(`${file}: dtype ${descr} is not supported`);
  const [type, Ctor] = DTYPES[descr];
  const bytes = buf.subarray(start);
  const data = new Ctor(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return new ort.Tensor(type, data, shape);
}

function writeNpy(file, tensor) {
  const descr = { float32: '<f4', int64: '<i8' }[tensor.type];
  if (!descr) throw new Error(`output type ${tensor.type} is not supported`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), data]));
}

async function main() {
  const [model, outDir, ...pairs] = process.argv.slice(2);
  const feeds = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    feeds[p.slice(0, eq)] = readNpy(p.slice(eq + 1));
  }
  const options = { graphOptimizationLevel: 'all' };
  if (process.env.ORT_RUN_THREADS) options.intraOpNumThreads = Number(process.env.ORT_RUN_THREADS);
  let t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, options);
  console.log(`session created in ${Number(process.hrtime.bigint() - t0) / 1e6} ms`);
  const results = await session.run(feeds);
  for (let i = 0; i < Number(process.env.ORT_RUN_REPEAT || 0); ++i) {
    t0 = process.hrtime.bigint();
    await session.run(feeds);
    console.log(`run ${i + 1}: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) writeNpy(path.join(outDir, `${name}.npy`), results[name]);
  console.log(`ran ${path.basename(model)}: ${session.outputNames.map(n => `${n} [${results[n].dims}]`).join(', ')}`);
}

main().catch(e => {
  console.error(`ort_run: ${e.message || e}`);
  process.exit(1);
});
