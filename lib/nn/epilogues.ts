/**
 * The switch for cuBLASLt's epilogues across a Linear, ReLU, Linear sequence (torchvision's and the
 * Keras models' fc7, ReLU, fc8): the first layer's forward keeps the ReLU's mask (RELU_AUX_BIAS),
 * and the second layer's backward-data product applies it and sums the first layer's bias
 * gradient in the same call (DRELU_BGRAD), instead of a ReLU backward and a bias-gradient kernel
 * apart. One switch for the pair: the backward epilogue consumes what the forward one keeps.
 * Sequences with a Dropout between (paper, seed-tf and d2l put it after the ReLU) do not fit and
 * run unfused either way.
 *
 * Off by default until a GPU run has timed it against the unfused path (scripts/device-check.sh
 * does); ALEXNET_LINEAR_EPILOGUES=1 turns it on. The CPU build computes the same bits either way.
 * @module
 */

let enabled = process.env.ALEXNET_LINEAR_EPILOGUES === '1';

/** Turns the Linear, ReLU, Linear epilogues on or off (a captured step re-captures after a change). */
export function setLinearEpilogues(on: boolean): void {
  if (typeof on !== 'boolean') throw new TypeError(`setLinearEpilogues: on must be a boolean, got ${typeof on}`);
  enabled = on;
}

/** Whether the Linear, ReLU, Linear epilogues are on. */
export function linearEpilogues(): boolean {
  return enabled;
}
