/**
 * Turning a list of sample indices into one batch of host memory ([N, C, H, W] float32), the same
 * way on the main thread and in worker threads, so both give identical bytes.
 *
 * Each sample's random transforms draw from a stream derived from (seed, epoch, dataset index):
 * the result depends on nothing else (not the batch it lands in, not the thread, not where a
 * resumed run started).
 * @internal
 * @module
 */
import { MAX_ARRAY_LENGTH, type Seed } from '../tensor';
import type { WorkerSource } from './dataset';
import { decodeImage } from './decode';
import { imageFromBytesCHW, type Image } from './image';
import { Rng } from './rng';
import type { Pipeline } from './transforms/pipeline';

/** The image at dataset index `index` of a worker source. */
export function sourceImage(source: WorkerSource, index: number): Image | Promise<Image> {
  const at = source.indices ? source.indices[index]! : index;
  if (source.kind === 'arrays') {
    const [c, h, w] = source.shape;
    return imageFromBytesCHW(source.images, c, h, w, at * c * h * w);
  }
  const file = source.files[at]!;
  return decodeImage(file, source.resize === null ? { channels: source.channels } : { channels: source.channels, resize: source.resize });
}

/** Throws a RangeError naming batchSize when `count` samples of `shape` do not fit one array. */
export function checkBatchSize(count: number, shape: readonly number[]): void {
  const values = count * shape.reduce((a, b) => a * b, 1);
  if (values > MAX_ARRAY_LENGTH) {
    throw new RangeError(
      `batchSize ${count} with samples of shape [${shape.join(', ')}] makes a batch of ${values.toLocaleString('en-US')} values, ` +
        `more than one array can hold (${MAX_ARRAY_LENGTH.toLocaleString('en-US')}): use a smaller batchSize`,
    );
  }
}

/** The random stream of one sample in one epoch. */
export function sampleRng(seed: Seed, epoch: number, index: number): Rng {
  return new Rng(seed, epoch, index);
}

/** A batch in host memory. */
export interface HostBatch {
  /** N * C * H * W values (a view of `data.buffer`, which may be longer). */
  data: Float32Array;
  /** [C, H, W] of every sample. */
  sampleShape: [number, number, number];
}

/**
 * Transforms the images at `indices` and packs them; `buffer` is reused when large enough.
 * Throws a RangeError when samples end up with different shapes.
 */
export async function assembleBatch(
  getImage: (index: number, position: number) => Image | Promise<Image>,
  indices: Int32Array,
  pipeline: Pipeline,
  seed: Seed,
  epoch: number,
  buffer?: ArrayBuffer,
): Promise<HostBatch> {
  // Start every read at once: decoding (sharp) runs on libuv's threads in parallel; in-memory reads
  // are immediate. Each read gets a handler at once: they are awaited in order below, and one that
  // fails while an earlier one is still pending (or after an earlier failure) must not reject
  // unobserved, which would end the process.
  const reads: (Image | Promise<Image>)[] = [];
  for (const [position, index] of indices.entries()) {
    const read = getImage(index, position);
    if (read instanceof Promise) read.catch(() => {});
    reads.push(read);
  }
  let data: Float32Array | undefined;
  let shape: [number, number, number] | undefined;
  let sampleSize = 0;
  for (let i = 0; i < indices.length; i++) {
    const read = reads[i]!;
    const image = pipeline.apply(read instanceof Promise ? await read : read, sampleRng(seed, epoch, indices[i]!));
    if (!shape) {
      shape = [image.channels, image.height, image.width];
      sampleSize = image.data.length;
      checkBatchSize(indices.length, shape);
      const bytes = indices.length * sampleSize * 4;
      data =
        buffer && buffer.byteLength >= bytes
          ? new Float32Array(buffer, 0, indices.length * sampleSize)
          : new Float32Array(indices.length * sampleSize);
    } else if (image.channels !== shape[0] || image.height !== shape[1] || image.width !== shape[2]) {
      throw new RangeError(
        `sample ${indices[i]} has shape [${image.channels}, ${image.height}, ${image.width}] after the transforms but sample ` +
          `${indices[0]} has [${shape.join(', ')}]: end the transforms with a fixed-size resize or crop`,
      );
    }
    data!.set(image.data, i * sampleSize);
  }
  if (!data || !shape) throw new RangeError('a batch needs at least one sample');
  return { data, sampleShape: shape };
}
