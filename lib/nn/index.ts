/**
 * Layers with forward and backward passes, parameters and gradients.
 * @module
 */
export { ReLU } from './activation';
export { Conv2d, type Conv2dConfig } from './conv2d';
export { Dropout, type DropoutState } from './dropout';
export { linearEpilogues, setLinearEpilogues } from './epilogues';
export { FLAT_ALIGNMENT, FlatParameters, type FlatSegment } from './flatParameters';
export { Flatten } from './flatten';
export { selectableNames } from './freeze';
export { Linear, type LinearConfig } from './linear';
export { LocalResponseNorm } from './lrn';
export { CrossEntropyLoss } from './loss';
export { Module, Parameter, type BackwardOptions } from './module';
export { AdaptiveAvgPool2d, MaxPool2d } from './pool2d';
export { Sequential } from './sequential';
