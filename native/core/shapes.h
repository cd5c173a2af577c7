// Shape checks and output shapes of the ops, shared by both builds: what keeps every backend's
// memory accesses inside its tensors, checked before an op reaches a backend. Each throws a
// RangeError whose message names the op, the parameter, what was expected and what came.
//
// Not here: element types (the binding checks each tensor's as it reads it, binding/op_call.h) and
// the ranges of parameters that do not touch memory, such as LRN's constants, dropout's p or SGD's
// rates (the TypeScript layer checks those, once).
//
// Layer ops (convolution, LRN, pooling, linear, activation, dropout, loss) reject a tensor with a
// dimension of size 0: the libraries under them do not all accept one. Elementwise updates of whole
// tensors (fills, add_scaled, multiply, copy, the SGD step) accept one: there is nothing to do.
#pragma once

#include <cstdint>

#include "op_params.h"
#include "tensor.h"

namespace alexnet::shapes {

// A tensor argument as the checks see it: the name messages call it by, and its shape.
struct Arg {
  const char* name;
  const Shape& shape;
};

// Output shapes. Each checks its arguments first (ranks, sizes of 0, matching channels and
// features, windows that fit); `bias` may be null.
Shape conv2d_output(const char* op, Arg input, Arg weight, const Shape* bias, const Conv2dGeometry& g);
Shape pool2d_output(const char* op, Arg input, const Pool2dGeometry& g);
Shape adaptive_avg_pool2d_output(const char* op, Arg input, int64_t out_h, int64_t out_w);
Shape linear_output(const char* op, Arg input, Arg weight, const Shape* bias);
Shape linear_input_grad(const char* op, Arg grad_output, Arg weight);  // linear's backward-data
Shape linear_weight_grad(const char* op, Arg input, Arg grad_output);  // linear's backward-weight

// Geometry that the window arithmetic divides by or indexes with.
void conv2d_geometry(const char* op, const Conv2dGeometry& g);
void pool2d_geometry(const char* op, const Pool2dGeometry& g);

// Checks of ops whose outputs take their inputs' shapes.
void nchw(const char* op, Arg input);  // 4-D [N, C, H, W] (LRN)
void rows(const char* op, Arg input);  // 2-D [N, classes] (softmax)
void labels(const char* op, Arg logits, Arg labels);
void topk(const char* op, Arg logits, Arg labels, int64_t k, Arg counter);

// A tensor of step scalars (op_params.h): kScalarWords int32 words.
void step_scalars(const char* op, Arg scalars);
// The counter advance_counter adds to: an even word (8-byte aligned) with a second word after it.
void counter_word(const char* op, Arg t, int64_t word);

// The int32 words of a ReLU mask for a [rows, cols] output (linear_forward_relu_mask): one bit per
// element, each row padded to a multiple of 128 bits (cuBLASLt's rule for its bit mask's leading
// dimension; the CPU build keeps its own bits in as many words).
int64_t relu_mask_words(int64_t rows, int64_t cols);

// The preprocess op's output shape: [N, out_channels, out_h, out_w] from x [N, C, H, W] (C 1 or 3;
// out_channels C, or 3 from 1).
Shape preprocess_output(const char* op, Arg input, int64_t out_channels, int64_t out_h, int64_t out_w);

// The pieces the checks above are made of, for the binding's checks of single ops.
void require_rank(const char* op, Arg t, int rank, const char* layout);
void require_non_empty(const char* op, Arg t);
void require_same_shape(const char* op, Arg expected, Arg got);
void require_same_numel(const char* op, Arg a, Arg b);

}  // namespace alexnet::shapes
