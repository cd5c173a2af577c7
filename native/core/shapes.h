// Shape checks and output shapes for every op, shared by both builds. Each throws TypeError or
// RangeError with a message that names the op, the parameter, what was expected and what came.
#pragma once

#include <optional>
#include <string>

#include "op_params.h"
#include "tensor.h"

namespace alexnet::shapes {

Shape conv2d_output(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dGeometry& g);
void conv2d_geometry(const Conv2dGeometry& g);
Shape pool2d_output(const Tensor& x, const Pool2dGeometry& g);
void lrn(const Tensor& x, const LrnParams& p);
Shape adaptive_avg_pool2d_output(const Tensor& x, int64_t out_h, int64_t out_w);
Shape linear_output(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b);
void softmax_cross_entropy(const Tensor& logits, const Tensor& labels);
void topk(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter);

// Helpers used by the binding too.
void require_dtype(const char* op, const char* name, const Tensor& t, DType dtype);
void require_rank(const char* op, const char* name, const Tensor& t, int rank, const char* layout);
void require_same_shape(const char* op, const char* name_a, const Tensor& a, const char* name_b, const Tensor& b);
void require_positive(const char* op, const char* name, int64_t value);
void require_non_negative(const char* op, const char* name, int64_t value);

}  // namespace alexnet::shapes
