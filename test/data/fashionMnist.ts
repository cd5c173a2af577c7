/**
 * Finding Fashion-MNIST for tests: where it is missing, a test skips with the reason, unless
 * ALEXNET_CI=1 demands it (then the test fails).
 */
import { hasMnistStyleFiles, fashionMnistSearchPaths } from '../../lib/data/fashionMnist';
import { ciRequiresEverything } from '../helpers';

/** The folder holding Fashion-MNIST, or undefined. */
export function fashionMnistDir(): string | undefined {
  return fashionMnistSearchPaths(process.env.ALEXNET_FASHION_MNIST).find((d) => hasMnistStyleFiles(d));
}

export const FASHION_MNIST_MISSING =
  'Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or set ALEXNET_FASHION_MNIST to its folder)';

/** The dataset's folder; skips the test (or fails it under ALEXNET_CI=1) when absent. */
export function requireFashionMnist(ctx: { skip: (note?: string) => never }): string {
  const dir = fashionMnistDir();
  if (dir) return dir;
  if (ciRequiresEverything) throw new Error(FASHION_MNIST_MISSING);
  return ctx.skip(FASHION_MNIST_MISSING);
}
