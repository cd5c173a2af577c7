// A TypeScript project that uses alexnet-cuda as a consumer would, compiled by
// test/package/typings.test.ts against the packed tarball under a strict tsconfig with no
// @types/node (types: []) and skipLibCheck off: every declaration the package's entry point
// reaches is checked, and any Node type in one (Buffer, NodeJS.*, node:stream) fails to compile.
// Results are used with their declared types, without casts; the @ts-expect-error lines check
// that those types are precise (a result typed `any` would make them fail as unused).
// Only type-checked, never run.
import {
  ArrayDataset,
  CheckpointDirectory,
  DataLoader,
  SGD,
  Tensor,
  Trainer,
  createAlexNet,
  encodeCheckpoint,
  encodeOnnx,
  exportOnnx,
  getBackend,
  importTorchCheckpoint,
  loadFashionMnist,
  loadModel,
  nn,
  ops,
  predict,
  readCheckpoint,
  saveCheckpoint,
  userCacheDir,
  type AlexNet,
  type Batch,
  type EvalResult,
  type FitResult,
  type NestedArray,
  type OutputStream,
  type Prediction,
} from 'alexnet-cuda';

/** Logits of a model: float32 values, flat and nested by shape. */
export async function logits(model: AlexNet): Promise<{ flat: Float32Array; rows: number[][]; any: NestedArray }> {
  const { inChannels, inputSize } = model.config;
  const images = Tensor.normal([2, inChannels, inputSize, inputSize], { seed: 7 });
  const y = model.eval().forward(images);
  const flat: Float32Array = await y.toArray();
  const rows: number[][] = await y.toNested(2);
  const any: NestedArray = await y.toNested();
  // @ts-expect-error float32 logits are not an Int32Array
  const wrong: Int32Array = await y.toArray();
  void wrong;
  const probabilities: Float32Array = await ops.softmax(y).toArray();
  void probabilities;
  y.dispose();
  images.dispose();
  return { flat, rows, any };
}

/** A training step by hand: float32 loss and gradients, int32 labels. */
export async function step(model: AlexNet, batch: Batch): Promise<number> {
  const labels: Int32Array = await batch.labels.toArray();
  // @ts-expect-error int32 labels are not a Float32Array
  const notFloat: Float32Array = await batch.labels.toArray();
  void notFloat;
  const loss = new nn.CrossEntropyLoss();
  const out = loss.compute(model.train().forward(batch.input), batch.labels);
  const value: Float32Array = await out.loss.toArray();
  model.backward(out.gradLogits);
  const optimizer = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  optimizer.step();
  return value[0]! + labels.length;
}

/** Layers on their own give float32 tensors. */
export async function layers(x: Tensor<'float32'>): Promise<Float32Array> {
  const conv = new nn.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, seed: 1 });
  const pooled = new nn.MaxPool2d({ kernelSize: 2, stride: 2 }).forward(new nn.ReLU().forward(conv.forward(x)));
  return pooled.toArray();
}

/** Data, training, checkpoints, prediction and export, with their result types. */
export async function workflow(images: Uint8Array, labels: Int32Array, output: OutputStream): Promise<void> {
  const train = new ArrayDataset({ images, labels, shape: [1, 28, 28], classes: ['a', 'b'] });
  const loader = new DataLoader(train, { batchSize: 2, shuffle: true, seed: 1, transform: [{ kind: 'resize', size: [32, 32] }] });
  void loader;
  const model = createAlexNet({ preset: 'd2l', numClasses: 2, inputSize: 32 });
  const trainer = new Trainer(model);
  const fitted: FitResult = await trainer.fit(train, null, { epochs: 1, batchSize: 2, output, progress: 'none' });
  const evaluated: EvalResult = await trainer.evaluate(train);
  void [fitted.history.length, evaluated.top1];

  await saveCheckpoint('model.safetensors', model, { classes: ['a', 'b'] });
  const bytes: Uint8Array = await encodeCheckpoint(model);
  const onnx: Uint8Array = await encodeOnnx(model);
  const checkpoint = await readCheckpoint('model.safetensors');
  const loaded = await loadModel('model.safetensors', { backend: 'cpu' });
  const folder = new CheckpointDirectory('runs/checkpoints');
  void [bytes, onnx, checkpoint, folder];

  const predictions: Prediction[] = await predict(loaded, [images.subarray(0, 28 * 28)], { topk: 1 });
  const label: string = predictions[0]!.label;
  void label;
  const imported: AlexNet = await importTorchCheckpoint('alexnet-owt-7be5be79.pth', { preset: 'torchvision' });
  await exportOnnx(imported, 'alexnet.onnx');
  const backend = getBackend('auto');
  const onDevice: Tensor<'float32'> = await Tensor.zeros([1, 2]).to(backend);
  const cloned: Float32Array = await onDevice.clone().reshape([2]).toArray();
  const classIds: Int32Array = await Tensor.fromArray(new Int32Array([0, 1])).toArray();
  void classIds;
  void cloned;
  const fashion = await loadFashionMnist('test', {
    fetch: async (url: string) => ({ ok: url.length > 0, status: 200, arrayBuffer: async () => new ArrayBuffer(0) }),
  });
  const cache: string = userCacheDir({ HOME: '/home/user' });
  void [fashion, cache];
}
