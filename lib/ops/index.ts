/**
 * The functional ops: each forward and backward pass as a function over Tensors. Layers in
 * `nn` are built from these; use them directly for custom models or to check gradients.
 * @module
 */
export * from './activation';
export { roundToBfloat16 } from './bfloat16';
export * from './conv2d';
export * from './dropout';
export * from './elementwise';
export * from './linear';
export * from './loss';
export * from './lrn';
export * from './pool2d';
export * from './preprocess';
