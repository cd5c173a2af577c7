/**
 * The parameter names and shapes of an AlexNet configuration, without allocating its memory: the
 * model is built on a backend whose tensors have shapes and nothing else (initialization then costs
 * nothing either). This is how a checkpoint is checked against the model it describes before the
 * model is built: a 196-byte file whose metadata claims a model of gigabytes is refused at once,
 * because it cannot hold that model's parameters.
 * @internal
 * @module
 */
import { Backend } from '../backend/backend';
import type { NativeAddon, NativeDType } from '../backend/native';
import { AlexNet, type AlexNetConfig } from './alexnet';

/** A tensor of a shape and nothing else. */
class ShapeOnlyTensor {
  disposed = false;
  constructor(
    readonly shape: number[],
    readonly dtype: NativeDType,
  ) {}

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  upload(): void {}
  fill(): this {
    return this;
  }
  fillUniform(): this {
    return this;
  }
  fillNormal(): this {
    return this;
  }
  view(shape: readonly number[]): ShapeOnlyTensor {
    return new ShapeOnlyTensor([...shape], this.dtype);
  }
  slice(_offset: number, shape: readonly number[]): ShapeOnlyTensor {
    return new ShapeOnlyTensor([...shape], this.dtype);
  }
  dispose(): void {
    this.disposed = true;
  }
  download(): Promise<never> {
    return Promise.reject(new Error('a shape-only tensor holds no values'));
  }
}

let shapeOnly: Backend | undefined;

/** A backend that builds models without memory; any computation on it throws. */
function shapeOnlyBackend(): Backend {
  if (!shapeOnly) {
    // copy: the model moves its parameters into flat buffers (nn/flatParameters.ts); no values to move here.
    const own: Record<string | symbol, unknown> = { backendName: 'cpu', Tensor: ShapeOnlyTensor, copy: () => {} };
    const addon = new Proxy(own, {
      get(target, key) {
        if (key in target) return target[key];
        return () => {
          throw new Error(`the shape-only backend computes nothing (${String(key)})`);
        };
      },
    });
    shapeOnly = new Backend('cpu', addon as unknown as NativeAddon);
  }
  return shapeOnly;
}

/**
 * The parameters `config` gives a model, name to shape, in the model's order, without allocating.
 * Throws what {@link AlexNet}'s constructor throws for a configuration it cannot build.
 */
export function parameterShapes(config: AlexNetConfig): Map<string, number[]> {
  const model = new AlexNet({ ...config, seed: BigInt(config.seed), backend: shapeOnlyBackend() });
  return new Map(model.namedParameters().map(([name, p]) => [name, [...p.value.shape]]));
}
