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

void require_positive(const char* op, const char* name, int64_t value) {
  if (value <= 0) fail<RangeError>(op, ": ", name, " must be a positive integer, got ", value);
}

void require_non_negative(const char* op, const char* name, int64_t value) {
  if (value < 0) fail<RangeError>(op, ": ", name, " must be a non-negative integer, got ", value);
}

int64_t window_output(const char* op, const char* dim, int64_t in, int64_t pad, int kernel, int stride) {
  int64_t span = in + pad - kernel;
  if (span < 0) fail<RangeError>(op, ": kernel ", kernel, " is larger than the padded input ", dim, " ", in + pad);
  return span / stride + 1;
}

void require_bias(const char* op, const Shape* bias, int64_t channels) {
  if (bias && (bias->size() != 1 || (*bias)[0] != channels))
    fail<RangeError>(op, ": bias must have shape [", channels, "], got ", shape_string(*bias));
}

// Rank first, then no dimension of size 0: the two checks every layer op makes of every tensor.
void require_layer_input(const char* op, Arg t, int rank, const char* layout) {
  require_rank(op, t, rank, layout);
  require_non_empty(op, t);
}

}  // namespace

void require_rank(const char* op, Arg t, int rank, const char* layout) {
  if (t.shape.size() != static_cast<size_t>(rank))
    fail<RangeError>(op, ": ", t.name, " must be ", rank, "-D ", layout, ", got shape ", shape_string(t.shape));
}

void require_non_empty(const char* op, Arg t) {
  for (int64_t d : t.shape)
    if (d == 0)
      fail<RangeError>(op, ": ", t.name, " must have no dimension of size 0, got shape ", shape_string(t.shape));
}

void require_same_shape(const char* op, Arg expected, Arg got) {
  if (expected.shape != got.shape)
    fail<RangeError>(op, ": ", got.name, " must have the shape of ", expected.name, " ", shape_string(expected.shape),
                     ", got ", shape_string(got.shape));
}

void require_same_numel(const char* op, Arg a, Arg b) {
  if (numel_of(a.shape) != numel_of(b.shape))
    fail<RangeError>(op, ": ", a.name, " ", shape_string(a.shape), " and ", b.name, " ", shape_string(b.shape),
                     " hold different numbers of elements");
}

void conv2d_geometry(const char* op, const Conv2dGeometry& g) {
  require_positive(op, "stride", g.stride_h);
  require_positive(op, "stride", g.stride_w);
  require_non_negative(op, "padding", g.pad_top);
  require_non_negative(op, "padding", g.pad_bottom);
  require_non_negative(op, "padding", g.pad_left);
  require_non_negative(op, "padding", g.pad_right);
  require_positive(op, "groups", g.groups);
}

Shape conv2d_output(const char* op, Arg input, Arg weight, const Shape* bias, const Conv2dGeometry& g) {
  conv2d_geometry(op, g);
  require_layer_input(op, input, 4, "[N, C, H, W]");
  require_layer_input(op, weight, 4, "[outChannels, inChannels / groups, kH, kW]");
  const Shape &x = input.shape, &w = weight.shape;
  const int64_t c = x[1], o = w[0];
  if (c % g.groups != 0) fail<RangeError>(op, ": input channels ", c, " are not divisible by groups ", g.groups);
  if (o % g.groups != 0) fail<RangeError>(op, ": output channels ", o, " are not divisible by groups ", g.groups);
  if (w[1] * g.groups != c)
    fail<RangeError>(op, ": ", weight.name, " expects ", w[1] * g.groups, " input channels (", w[1], " per group x ",
                     g.groups, " groups), ", input.name, " ", shape_string(x), " has ", c);
  require_bias(op, bias, o);
  const int64_t oh = window_output(op, "height", x[2], g.pad_top + g.pad_bottom, static_cast<int>(w[2]), g.stride_h);
  const int64_t ow = window_output(op, "width", x[3], g.pad_left + g.pad_right, static_cast<int>(w[3]), g.stride_w);
  return {x[0], o, oh, ow};
}

// Padding above half the kernel would make windows that lie wholly in the padding, with no
// element to take the maximum of (or to send the gradient to).
void pool2d_geometry(const char* op, const Pool2dGeometry& g) {
  require_positive(op, "kernelSize", g.kernel_h);
  require_positive(op, "kernelSize", g.kernel_w);
  require_positive(op, "stride", g.stride_h);
  require_positive(op, "stride", g.stride_w);
  require_non_negative(op, "padding", g.pad_h);
  require_non_negative(op, "padding", g.pad_w);
  if (2 * g.pad_h > g.kernel_h || 2 * g.pad_w > g.kernel_w)
    fail<RangeError>(op, ": padding must be at most half the kernel size, got padding ", g.pad_h, "x", g.pad_w,
                     " for kernel ", g.kernel_h, "x", g.kernel_w);
}

Shape pool2d_output(const char* op, Arg input, const Pool2dGeometry& g) {
  pool2d_geometry(op, g);
  require_layer_input(op, input, 4, "[N, C, H, W]");
  const Shape& x = input.shape;
  const int64_t oh = window_output(op, "height", x[2], 2 * g.pad_h, g.kernel_h, g.stride_h);
  const int64_t ow = window_output(op, "width", x[3], 2 * g.pad_w, g.kernel_w, g.stride_w);
  return {x[0], x[1], oh, ow};
}

Shape adaptive_avg_pool2d_output(const char* op, Arg input, int64_t out_h, int64_t out_w) {
  require_layer_input(op, input, 4, "[N, C, H, W]");
  require_positive(op, "outputSize", out_h);
  require_positive(op, "outputSize", out_w);
  return {input.shape[0], input.shape[1], out_h, out_w};
}

Shape linear_output(const char* op, Arg input, Arg weight, const Shape* bias) {
  require_layer_input(op, input, 2, "[N, inFeatures]");
  require_layer_input(op, weight, 2, "[outFeatures, inFeatures]");
  const Shape &x = input.shape, &w = weight.shape;
  if (w[1] != x[1])
    fail<RangeError>(op, ": ", weight.name, " expects ", w[1], " input features, ", input.name, " ", shape_string(x),
                     " has ", x[1]);
  require_bias(op, bias, w[0]);
  return {x[0], w[0]};
}

Shape linear_input_grad(const char* op, Arg grad_output, Arg weight) {
  require_layer_input(op, grad_output, 2, "[N, outFeatures]");
  require_layer_input(op, weight, 2, "[outFeatures, inFeatures]");
  const Shape &dy = grad_output.shape, &w = weight.shape;
  if (dy[1] != w[0])
    fail<RangeError>(op, ": ", grad_output.name, " has ", dy[1], " features, ", weight.name, " ", shape_string(w),
                     " produces ", w[0]);
  return {dy[0], w[1]};
}

Shape linear_weight_grad(const char* op, Arg input, Arg grad_output) {
  require_layer_input(op, input, 2, "[N, inFeatures]");
  require_layer_input(op, grad_output, 2, "[N, outFeatures]");
  const Shape &x = input.shape, &dy = grad_output.shape;
  if (dy[0] != x[0])
    fail<RangeError>(op, ": ", grad_output.name, " has batch ", dy[0], ", ", input.name, " has ", x[0]);
  return {dy[1], x[1]};
}

void nchw(const char* op, Arg input) { require_layer_input(op, input, 4, "[N, C, H, W]"); }

void rows(const char* op, Arg input) { require_layer_input(op, input, 2, "[N, classes]"); }

void labels(const char* op, Arg logits, Arg labels) {
  require_layer_input(op, logits, 2, "[N, classes]");
  require_rank(op, labels, 1, "[N]");
  if (labels.shape[0] != logits.shape[0])
    fail<RangeError>(op, ": ", labels.name, " must have shape [", logits.shape[0], "], got ",
                     shape_string(labels.shape));
}

void topk(const char* op, Arg logits, Arg labels, int64_t k, Arg counter) {
  shapes::labels(op, logits, labels);
  const int64_t classes = logits.shape[1];
  if (k < 1 || k > classes) fail<RangeError>(op, ": k must be an integer from 1 to ", classes, ", got ", k);
  if (numel_of(counter.shape) != 1)
    fail<RangeError>(op, ": ", counter.name, " must hold one element, got shape ", shape_string(counter.shape));
}

void step_scalars(const char* op, Arg scalars) {
  if (scalars.shape.size() != 1 || scalars.shape[0] != kScalarWords)
    fail<RangeError>(op, ": ", scalars.name, " must have shape [", kScalarWords, "], got ",
                     shape_string(scalars.shape));
}

void counter_word(const char* op, Arg t, int64_t word) {
  if (word < 0 || word % 2 != 0 || word + 2 > numel_of(t.shape))
    fail<RangeError>(op, ": word must be an even index with a word after it in ", t.name, " ", shape_string(t.shape),
                     ", got ", word);
}

int64_t relu_mask_words(int64_t rows, int64_t cols) { return rows * ((cols + 127) / 128) * 4; }

Shape preprocess_output(const char* op, Arg input, int64_t out_channels, int64_t out_h, int64_t out_w) {
  require_layer_input(op, input, 4, "[N, C, H, W]");
  const int64_t c = input.shape[1];
  if (c != 1 && c != 3) fail<RangeError>(op, ": ", input.name, " must have 1 or 3 channels, got ", c);
  if (out_channels != c && !(c == 1 && out_channels == 3))
    fail<RangeError>(op, ": outChannels must be ", c, (c == 1 ? " or 3" : ""), ", got ", out_channels);
  require_positive(op, "outputHeight", out_h);
  require_positive(op, "outputWidth", out_w);
  return {input.shape[0], out_channels, out_h, out_w};
}

}  // namespace shapes
}  // namespace alexnet
