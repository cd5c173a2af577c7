#include "shapes.h"

#include <sstream>

#include "errors.h"

namespace alexnet {

std::string shape_string(const Shape& s) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < s.size(); ++i) out << (i ? ", " : "") << s[i];
  out << "]";
  return out.str();
}

namespace shapes {
namespace {

template <typename E, typename... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  throw E(out.str());
}

int64_t window_output(const char* op, const char* dim, int64_t in, int64_t pad, int kernel, int stride) {
  int64_t span = in + pad - kernel;
  if (span < 0)
    fail<RangeError>(op, ": kernel ", kernel, " is larger than the padded input ", dim, " ", in + pad);
  return span / stride + 1;
}

}  // namespace

void require_dtype(const char* op, const char* name, const Tensor& t, DType dtype) {
  if (t.dtype != dtype) fail<TypeError>(op, ": ", name, " must be ", dtype_name(dtype), ", got ", dtype_name(t.dtype));
}

void require_rank(const char* op, const char* name, const Tensor& t, int rank, const char* layout) {
  if (t.rank() != rank)
    fail<RangeError>(op, ": ", name, " must be ", rank, "-D ", layout, ", got shape ", shape_string(t.shape));
}

void require_same_shape(const char* op, const char* name_a, const Tensor& a, const char* name_b, const Tensor& b) {
  if (a.shape != b.shape)
    fail<RangeError>(op, ": ", name_b, " must have the shape of ", name_a, " ", shape_string(a.shape), ", got ",
                     shape_string(b.shape));
}

void require_positive(const char* op, const char* name, int64_t value) {
  if (value <= 0) fail<RangeError>(op, ": ", name, " must be a positive integer, got ", value);
}

void require_non_negative(const char* op, const char* name, int64_t value) {
  if (value < 0) fail<RangeError>(op, ": ", name, " must be a non-negative integer, got ", value);
}

void conv2d_geometry(const Conv2dGeometry& g) {
  const char* op = "conv2d";
  require_positive(op, "stride", g.stride_h);
  require_positive(op, "stride", g.stride_w);
  require_non_negative(op, "padding", g.pad_top);
  require_non_negative(op, "padding", g.pad_bottom);
  require_non_negative(op, "padding", g.pad_left);
  require_non_negative(op, "padding", g.pad_right);
  require_positive(op, "groups", g.groups);
}

Shape conv2d_output(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b, const Conv2dGeometry& g) {
  const char* op = "conv2d";
  conv2d_geometry(g);
  require_dtype(op, "input", x, DType::f32);
  require_dtype(op, "weight", w, DType::f32);
  require_rank(op, "input", x, 4, "[N, C, H, W]");
  require_rank(op, "weight", w, 4, "[outChannels, inChannels / groups, kH, kW]");
  const int64_t c = x.dim(1), o = w.dim(0);
  if (c % g.groups != 0) fail<RangeError>(op, ": input channels ", c, " are not divisible by groups ", g.groups);
  if (o % g.groups != 0) fail<RangeError>(op, ": output channels ", o, " are not divisible by groups ", g.groups);
  if (w.dim(1) * g.groups != c)
    fail<RangeError>(op, ": weight expects ", w.dim(1) * g.groups, " input channels (", w.dim(1), " per group x ",
                     g.groups, " groups), input ", shape_string(x.shape), " has ", c);
  if (w.dim(2) <= 0 || w.dim(3) <= 0) fail<RangeError>(op, ": weight has an empty kernel ", shape_string(w.shape));
  if (b) {
    require_dtype(op, "bias", *b, DType::f32);
    if (b->rank() != 1 || b->dim(0) != o)
      fail<RangeError>(op, ": bias must have shape [", o, "], got ", shape_string(b->shape));
  }
  const int64_t oh = window_output(op, "height", x.dim(2), g.pad_top + g.pad_bottom, static_cast<int>(w.dim(2)), g.stride_h);
  const int64_t ow = window_output(op, "width", x.dim(3), g.pad_left + g.pad_right, static_cast<int>(w.dim(3)), g.stride_w);
  return {x.dim(0), o, oh, ow};
}

Shape pool2d_output(const Tensor& x, const Pool2dGeometry& g) {
  const char* op = "maxPool2d";
  require_dtype(op, "input", x, DType::f32);
  require_rank(op, "input", x, 4, "[N, C, H, W]");
  require_positive(op, "kernelSize", g.kernel_h);
  require_positive(op, "kernelSize", g.kernel_w);
  require_positive(op, "stride", g.stride_h);
  require_positive(op, "stride", g.stride_w);
  require_non_negative(op, "padding", g.pad_h);
  require_non_negative(op, "padding", g.pad_w);
  if (2 * g.pad_h > g.kernel_h || 2 * g.pad_w > g.kernel_w)
    fail<RangeError>(op, ": padding must be at most half the kernel size, got padding ", g.pad_h, "x", g.pad_w,
                     " for kernel ", g.kernel_h, "x", g.kernel_w);
  const int64_t oh = window_output(op, "height", x.dim(2), 2 * g.pad_h, g.kernel_h, g.stride_h);
  const int64_t ow = window_output(op, "width", x.dim(3), 2 * g.pad_w, g.kernel_w, g.stride_w);
  return {x.dim(0), x.dim(1), oh, ow};
}

void lrn(const Tensor& x, const LrnParams& p) {
  const char* op = "localResponseNorm";
  require_dtype(op, "input", x, DType::f32);
  require_rank(op, "input", x, 4, "[N, C, H, W]");
  if (p.size < 1 || p.size > 15 || p.size % 2 == 0)
    fail<RangeError>(op, ": size must be an odd integer from 1 to 15, got ", p.size);
  if (!(p.k >= 1e-5)) fail<RangeError>(op, ": k must be at least 1e-5, got ", p.k);
  if (!(p.alpha >= 0)) fail<RangeError>(op, ": alpha must be non-negative, got ", p.alpha);
  if (!(p.beta >= 0.01)) fail<RangeError>(op, ": beta must be at least 0.01, got ", p.beta);
}

Shape adaptive_avg_pool2d_output(const Tensor& x, int64_t out_h, int64_t out_w) {
  const char* op = "adaptiveAvgPool2d";
  require_dtype(op, "input", x, DType::f32);
  require_rank(op, "input", x, 4, "[N, C, H, W]");
  require_positive(op, "outputSize", out_h);
  require_positive(op, "outputSize", out_w);
  if (x.dim(2) <= 0 || x.dim(3) <= 0) fail<RangeError>(op, ": input has an empty plane ", shape_string(x.shape));
  return {x.dim(0), x.dim(1), out_h, out_w};
}

Shape linear_output(const Tensor& x, const Tensor& w, const std::optional<Tensor>& b) {
  const char* op = "linear";
  require_dtype(op, "input", x, DType::f32);
  require_dtype(op, "weight", w, DType::f32);
  require_rank(op, "input", x, 2, "[N, inFeatures]");
  require_rank(op, "weight", w, 2, "[outFeatures, inFeatures]");
  if (w.dim(1) != x.dim(1))
    fail<RangeError>(op, ": weight expects ", w.dim(1), " input features, input ", shape_string(x.shape), " has ",
                     x.dim(1));
  if (b) {
    require_dtype(op, "bias", *b, DType::f32);
    if (b->rank() != 1 || b->dim(0) != w.dim(0))
      fail<RangeError>(op, ": bias must have shape [", w.dim(0), "], got ", shape_string(b->shape));
  }
  return {x.dim(0), w.dim(0)};
}

void softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  const char* op = "softmaxCrossEntropy";
  require_dtype(op, "logits", logits, DType::f32);
  require_dtype(op, "labels", labels, DType::i32);
  require_rank(op, "logits", logits, 2, "[N, classes]");
  require_rank(op, "labels", labels, 1, "[N]");
  if (labels.dim(0) != logits.dim(0))
    fail<RangeError>(op, ": labels must have shape [", logits.dim(0), "], got ", shape_string(labels.shape));
  require_positive(op, "batch size", logits.dim(0));
  require_positive(op, "classes", logits.dim(1));
}

void topk(const Tensor& logits, const Tensor& labels, int k, const Tensor& counter) {
  softmax_cross_entropy(logits, labels);
  if (k < 1 || k > logits.dim(1))
    fail<RangeError>("countTopkCorrect: k must be an integer from 1 to ", logits.dim(1), ", got ", k);
  require_dtype("countTopkCorrect", "counter", counter, DType::f32);
  if (counter.numel() != 1)
    fail<RangeError>("countTopkCorrect: counter must hold one element, got shape ", shape_string(counter.shape));
}

}  // namespace shapes
}  // namespace alexnet
