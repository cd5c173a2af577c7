/**
 * In-place elementwise helpers: dst += alpha * src, and copies.
 * @module
 */
import { Tensor } from '../tensor';
import { native, sameBackend } from './common';

/** dst += alpha * src (same number of elements). */
export function addScaled(dst: Tensor, src: Tensor, alpha = 1): void {
  const backend = sameBackend('addScaled', { dst, src });
  native(() => backend.native.addScaled(dst.handle, src.handle, alpha));
}

/** Copies src's values into dst (same number of elements and dtype). */
export function copyInto(dst: Tensor, src: Tensor): void {
  const backend = sameBackend('copyInto', { dst, src });
  native(() => backend.native.copy(dst.handle, src.handle));
}
