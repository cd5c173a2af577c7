// A smoke test of the CUDA addon through its JavaScript binding alone (no TypeScript, no CPU
// addon): load, probe, info, a small conv + linear + loss + SGD step, and the error classes.
//   node test/native/smoke.js [path/to/alexnet_cuda.node]
'use strict';
const path = require('node:path');
const file = process.argv[2] ? path.resolve(process.argv[2]) : path.join(__dirname, '../../addons/cuda/build/Release/alexnet_cuda.node');
const m = require(file);
let failures = 0;
function check(ok, what, detail = '') {
  if (!ok) failures++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
}
(async () => {
  const probe = m.probe();
  check(probe.available, `probe (${m.backendName})`, JSON.stringify(probe));
  if (!probe.available) process.exit(1);
  console.log(m.info());
  const T = (shape, data, dtype = 'float32') => {
    const t = new m.Tensor(shape, dtype);
    if (data) t.upload(dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data));
    return t;
  };
  // conv: x all ones [1,1,4,4], w all ones [1,1,3,3], pad 1 -> interior 9, edges 6, corners 4; + bias 1; relu
  const x = T([1, 1, 4, 4], new Array(16).fill(1));
  const w = T([1, 1, 3, 3], new Array(9).fill(1));
  const b = T([1], [1]);
  const g = { strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, groups: 1 };
  const y = m.conv2dForward(x, w, b, g, true);
  const yv = Array.from(await y.download());
  check(JSON.stringify(yv) === JSON.stringify([5, 7, 7, 5, 7, 10, 10, 7, 7, 10, 10, 7, 5, 7, 7, 5]), 'conv2dForward', yv.join(','));
  // asymmetric padding through the binding
  const ga = { ...g, padTop: 0, padLeft: 0 };
  const ya = m.conv2dForward(x, w, null, ga, false);
  check(JSON.stringify(Array.from(await ya.download())) === JSON.stringify([9, 9, 6, 9, 9, 6, 6, 6, 4]), 'conv2dForward asymmetric', ya.shape.join('x'));
  // linear + loss + backward + sgd
  const lx = T([2, 3], [1, 2, 3, 4, 5, 6]);
  const lw = T([2, 3], [0.1, 0.2, 0.3, -0.1, -0.2, -0.3]);
  const lb = T([2], [0.5, -0.5]);
  const ly = m.linearForward(lx, lw, lb, false);
  const lyv = Array.from(await ly.download());
  const want = [1.4 + 0.5, -1.4 - 0.5, 3.2 + 0.5, -3.2 - 0.5];
  check(lyv.every((v, i) => Math.abs(v - want[i]) < 1e-5), 'linearForward', lyv.join(','));
  const labels = T([2], [0, 1], 'int32');
  const [loss, dl] = m.softmaxCrossEntropy(ly, labels, true);
  const lossv = (await loss.download())[0];
  check(Math.abs(lossv - (Math.log1p(Math.exp(-3.8)) + Math.log1p(Math.exp(7.4))) / 2) < 1e-5, 'softmaxCrossEntropy', String(lossv));
  const [dw, db] = m.linearBackwardWeight(lx, dl, true);
  // The step scalars: lr 0.1 (float32 bits in word 0) and step 0.
  const scalars = new m.Tensor([4], 'int32');
  const words = new Int32Array(4);
  new Float32Array(words.buffer, 0, 1)[0] = 0.1;
  scalars.upload(words);
  m.sgdStep([lw, lb], [dw, db], null, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, scalars);
  const [loss2] = m.softmaxCrossEntropy(m.linearForward(lx, lw, lb, false), labels, false);
  const loss2v = (await loss2.download())[0];
  check(loss2v < lossv, 'an SGD step lowers the loss', `${lossv} -> ${loss2v}`);
  await m.synchronize();
  m.synchronizeBlocking();
  // errors
  try {
    m.conv2dForward(x, T([1, 2, 3, 3]), null, g, false);
    check(false, 'shape mismatch throws');
  } catch (e) {
    check(e instanceof RangeError, 'shape mismatch is a RangeError', e.message);
  }
  try {
    new m.Tensor([1 << 28, 1 << 10], 'float32');  // 1 TiB
    check(false, 'out of memory throws');
  } catch (e) {
    check(e.code === 'ERR_OUT_OF_MEMORY', 'out of memory is ERR_OUT_OF_MEMORY', `${e.name}: ${e.message}`);
  }
  const after = T([2], [3, 4]);
  check(JSON.stringify(Array.from(await after.download())) === '[3,4]', 'works after out-of-memory');
  m.setMathMode('tf32');
  check(m.backendName !== 'cuda' || m.info().mathMode === 'tf32', 'setMathMode tf32');
  m.setMathMode('fp32');
  m.setDeterministic(true);
  check(m.backendName !== 'cuda' || m.info().deterministic === true, 'setDeterministic');
  console.log('allocatorStats', m.allocatorStats());
  m.emptyCache();
  console.log(`${failures} failures`);
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.log('FAIL threw', e);
  process.exit(1);
});
