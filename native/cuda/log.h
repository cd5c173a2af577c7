// The CUDA build's diagnostic lines on stderr. ALEXNET_CUDA_LOG=1 prints the choices the engines
// make (one line each, when made), =2 also every candidate they weighed; unset or 0 prints nothing
// but warnings, which ALEXNET_QUIET=1 silences too. ALEXNET_CUDA_LOG_FILE=PATH appends the lines to
// that file instead of stderr (bench/convLayers.ts reads the engines chosen from it). Pure C++ (no CUDA headers): the
// self-test of the CPU build links it with the convolution plan cache's code.
#pragma once

namespace alexnet::cuda {

// ALEXNET_CUDA_LOG as a number (read once; anything that is not a number counts as 0).
int log_level();

// Prints "alexnet cuda: " and the formatted text (printf-style) and a newline when `level` <=
// log_level(); level 0 is a warning, printed unless ALEXNET_QUIET=1 (and no log was asked for).
void log_line(int level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace alexnet::cuda
