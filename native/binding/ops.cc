// The op functions as JavaScript sees them. Each checks its arguments (shapes.h), allocates its
// outputs from the backend's caching allocator, enqueues the work and returns the new tensors.
#include "ops.h"

#include "../core/backend.h"
#include "../core/errors.h"
#include "../core/shapes.h"
#include "addon_state.h"
#include "errors.h"
#include "tensor_handle.h"

namespace alexnet::binding {
namespace {

Tensor new_tensor(Backend& be, const Shape& shape, DType dtype = DType::f32) {
  Tensor t;
  t.shape = shape;
  t.dtype = dtype;
  t.storage = be.allocate(t.bytes());
  return t;
}

Napi::Value wrap(Napi::Env env, const Tensor& t) { return TensorHandle::wrap(env, t); }
Napi::Value wrap(Napi::Env env, const std::optional<Tensor>& t) {
  return t ? TensorHandle::wrap(env, *t) : env.Null();
}

Napi::Array pair(Napi::Env env, Napi::Value a, Napi::Value b) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(uint32_t(0), a);
  out.Set(uint32_t(1), b);
  return out;
}

Napi::Object object_arg(const Napi::Value& v, const char* op, const char* name) {
  if (!v.IsObject()) throw alexnet::TypeError(std::string(op) + ": " + name + " must be an object");
  return v.As<Napi::Object>();
}

// {strideH, strideW, padTop, padBottom, padLeft, padRight, groups}
Conv2dGeometry conv_geometry(const Napi::Value& v) {
  const char* op = "conv2d";
  Napi::Object o = object_arg(v, op, "geometry");
  Conv2dGeometry g;
  g.stride_h = int_field(o, "strideH", op);
  g.stride_w = int_field(o, "strideW", op);
  g.pad_top = int_field(o, "padTop", op);
  g.pad_bottom = int_field(o, "padBottom", op);
  g.pad_left = int_field(o, "padLeft", op);
  g.pad_right = int_field(o, "padRight", op);
  g.groups = int_field(o, "groups", op);
  shapes::conv2d_geometry(g);
  return g;
}

// {kernelH, kernelW, strideH, strideW, padH, padW}
Pool2dGeometry pool_geometry(const Napi::Value& v) {
  const char* op = "maxPool2d";
  Napi::Object o = object_arg(v, op, "geometry");
  Pool2dGeometry g;
  g.kernel_h = int_field(o, "kernelH", op);
  g.kernel_w = int_field(o, "kernelW", op);
  g.stride_h = int_field(o, "strideH", op);
  g.stride_w = int_field(o, "strideW", op);
  g.pad_h = int_field(o, "padH", op);
  g.pad_w = int_field(o, "padW", op);
  return g;
}

// {size, alpha, beta, k}, alpha in PyTorch's convention
LrnParams lrn_params(const Napi::Value& v) {
  const char* op = "localResponseNorm";
  Napi::Object o = object_arg(v, op, "params");
  LrnParams p;
  p.size = int_field(o, "size", op);
  p.alpha = number_arg(o.Get("alpha"), op, "alpha");
  p.beta = number_arg(o.Get("beta"), op, "beta");
  p.k = number_arg(o.Get("k"), op, "k");
  return p;
}

using OpBody = Napi::Value (*)(const Napi::CallbackInfo&, Backend&);

template <OpBody body>
Napi::Value op(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value { return body(info, backend(info.Env())); });
}

// conv2dForward(x, w, b | null, geometry, fuseRelu) -> y
Napi::Value conv2d_forward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "conv2dForward";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor w = tensor_arg(info, 1, op, "weight");
  OptTensor b = optional_tensor_arg(info, 2, op, "bias");
  Conv2dGeometry g = conv_geometry(info[3]);
  bool relu = bool_arg(info[4], op, "fuseRelu");
  Tensor y = new_tensor(be, shapes::conv2d_output(x, w, b, g));
  be.conv2d_forward(g, x, w, b, y, relu);
  return wrap(info.Env(), y);
}

// conv2dBackwardData(dy, w, geometry, inputShape) -> dx
Napi::Value conv2d_backward_data(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "conv2dBackwardData";
  Tensor dy = tensor_arg(info, 0, op, "gradOutput");
  Tensor w = tensor_arg(info, 1, op, "weight");
  Conv2dGeometry g = conv_geometry(info[2]);
  Tensor dx = new_tensor(be, shape_arg(info[3], op, "inputShape"));
  shapes::require_same_shape(op, "the output computed from inputShape", Tensor{nullptr, shapes::conv2d_output(dx, w, std::nullopt, g)},
                             "gradOutput", dy);
  be.conv2d_backward_data(g, dy, w, dx);
  return wrap(info.Env(), dx);
}

// conv2dBackwardFilter(x, dy, geometry, weightShape, withBias) -> [dw, db | null]
Napi::Value conv2d_backward_filter(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "conv2dBackwardFilter";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor dy = tensor_arg(info, 1, op, "gradOutput");
  Conv2dGeometry g = conv_geometry(info[2]);
  Tensor dw = new_tensor(be, shape_arg(info[3], op, "weightShape"));
  bool with_bias = bool_arg(info[4], op, "withBias");
  shapes::require_same_shape(op, "the output computed from weightShape", Tensor{nullptr, shapes::conv2d_output(x, dw, std::nullopt, g)},
                             "gradOutput", dy);
  OptTensor db;
  if (with_bias) db = new_tensor(be, {dw.dim(0)});
  be.conv2d_backward_filter(g, x, dy, dw, db);
  return pair(info.Env(), wrap(info.Env(), dw), wrap(info.Env(), db));
}

// lrnForward(x, params) -> y
Napi::Value lrn_forward(const Napi::CallbackInfo& info, Backend& be) {
  Tensor x = tensor_arg(info, 0, "lrnForward", "input");
  LrnParams p = lrn_params(info[1]);
  shapes::lrn(x, p);
  Tensor y = new_tensor(be, x.shape);
  be.lrn_forward(p, x, y);
  return wrap(info.Env(), y);
}

// lrnBackward(x, y, dy, params) -> dx
Napi::Value lrn_backward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "lrnBackward";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor y = tensor_arg(info, 1, op, "output");
  Tensor dy = tensor_arg(info, 2, op, "gradOutput");
  LrnParams p = lrn_params(info[3]);
  shapes::lrn(x, p);
  shapes::require_same_shape(op, "input", x, "output", y);
  shapes::require_same_shape(op, "input", x, "gradOutput", dy);
  Tensor dx = new_tensor(be, x.shape);
  be.lrn_backward(p, x, y, dy, dx);
  return wrap(info.Env(), dx);
}

// maxPool2dForward(x, geometry) -> y
Napi::Value max_pool2d_forward(const Napi::CallbackInfo& info, Backend& be) {
  Tensor x = tensor_arg(info, 0, "maxPool2dForward", "input");
  Pool2dGeometry g = pool_geometry(info[1]);
  Tensor y = new_tensor(be, shapes::pool2d_output(x, g));
  be.max_pool2d_forward(g, x, y);
  return wrap(info.Env(), y);
}

// maxPool2dBackward(x, y, dy, geometry) -> dx
Napi::Value max_pool2d_backward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "maxPool2dBackward";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor y = tensor_arg(info, 1, op, "output");
  Tensor dy = tensor_arg(info, 2, op, "gradOutput");
  Pool2dGeometry g = pool_geometry(info[3]);
  Tensor expected{nullptr, shapes::pool2d_output(x, g)};
  shapes::require_same_shape(op, "the pooled input", expected, "output", y);
  shapes::require_same_shape(op, "output", y, "gradOutput", dy);
  Tensor dx = new_tensor(be, x.shape);
  be.max_pool2d_backward(g, x, y, dy, dx);
  return wrap(info.Env(), dx);
}

// adaptiveAvgPool2dForward(x, outH, outW) -> y
Napi::Value adaptive_avg_pool2d_forward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "adaptiveAvgPool2dForward";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor y = new_tensor(be, shapes::adaptive_avg_pool2d_output(x, int_arg(info[1], op, "outputHeight"),
                                                                int_arg(info[2], op, "outputWidth")));
  be.adaptive_avg_pool2d_forward(x, y);
  return wrap(info.Env(), y);
}

// adaptiveAvgPool2dBackward(dy, inputShape) -> dx
Napi::Value adaptive_avg_pool2d_backward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "adaptiveAvgPool2dBackward";
  Tensor dy = tensor_arg(info, 0, op, "gradOutput");
  Tensor dx = new_tensor(be, shape_arg(info[1], op, "inputShape"));
  shapes::require_dtype(op, "gradOutput", dy, DType::f32);
  shapes::require_rank(op, "gradOutput", dy, 4, "[N, C, H, W]");
  Tensor expected{nullptr, shapes::adaptive_avg_pool2d_output(dx, dy.dim(2), dy.dim(3))};
  shapes::require_same_shape(op, "the pooled input", expected, "gradOutput", dy);
  be.adaptive_avg_pool2d_backward(dy, dx);
  return wrap(info.Env(), dx);
}

// reluForward(x) -> y
Napi::Value relu_forward(const Napi::CallbackInfo& info, Backend& be) {
  Tensor x = tensor_arg(info, 0, "reluForward", "input");
  shapes::require_dtype("reluForward", "input", x, DType::f32);
  Tensor y = new_tensor(be, x.shape);
  be.relu_forward(x, y);
  return wrap(info.Env(), y);
}

// reluBackward(y, dy) -> dx
Napi::Value relu_backward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "reluBackward";
  Tensor y = tensor_arg(info, 0, op, "output");
  Tensor dy = tensor_arg(info, 1, op, "gradOutput");
  shapes::require_dtype(op, "output", y, DType::f32);
  shapes::require_same_shape(op, "output", y, "gradOutput", dy);
  Tensor dx = new_tensor(be, y.shape);
  be.relu_backward(y, dy, dx);
  return wrap(info.Env(), dx);
}

// dropoutForward(x, p, seed, offset) -> [y, mask]
Napi::Value dropout_forward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "dropoutForward";
  Tensor x = tensor_arg(info, 0, op, "input");
  shapes::require_dtype(op, "input", x, DType::f32);
  double p = number_arg(info[1], op, "p");
  if (!(p >= 0 && p < 1)) throw alexnet::RangeError("dropoutForward: p must be in [0, 1), got " + std::to_string(p));
  uint64_t seed = seed_arg(info[2], op, "seed");
  uint64_t offset = seed_arg(info[3], op, "offset");
  Tensor y = new_tensor(be, x.shape);
  Tensor mask = new_tensor(be, x.shape);
  be.dropout_forward(float(p), seed, offset, x, y, mask);
  return pair(info.Env(), wrap(info.Env(), y), wrap(info.Env(), mask));
}

// multiply(a, b) -> a * b elementwise (dropout's backward: dy * mask)
Napi::Value multiply(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "multiply";
  Tensor a = tensor_arg(info, 0, op, "a");
  Tensor b = tensor_arg(info, 1, op, "b");
  shapes::require_dtype(op, "a", a, DType::f32);
  shapes::require_same_shape(op, "a", a, "b", b);
  Tensor out = new_tensor(be, a.shape);
  be.multiply(a, b, out);
  return wrap(info.Env(), out);
}

// linearForward(x, w, b | null, fuseRelu) -> y
Napi::Value linear_forward(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "linearForward";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor w = tensor_arg(info, 1, op, "weight");
  OptTensor b = optional_tensor_arg(info, 2, op, "bias");
  bool relu = bool_arg(info[3], op, "fuseRelu");
  Tensor y = new_tensor(be, shapes::linear_output(x, w, b));
  be.linear_forward(x, w, b, y, relu);
  return wrap(info.Env(), y);
}

// linearBackwardData(dy, w) -> dx
Napi::Value linear_backward_data(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "linearBackwardData";
  Tensor dy = tensor_arg(info, 0, op, "gradOutput");
  Tensor w = tensor_arg(info, 1, op, "weight");
  shapes::require_dtype(op, "gradOutput", dy, DType::f32);
  shapes::require_rank(op, "gradOutput", dy, 2, "[N, outFeatures]");
  shapes::require_rank(op, "weight", w, 2, "[outFeatures, inFeatures]");
  if (dy.dim(1) != w.dim(0))
    throw alexnet::RangeError("linearBackwardData: gradOutput has " + std::to_string(dy.dim(1)) +
                              " features, weight " + shape_string(w.shape) + " produces " + std::to_string(w.dim(0)));
  Tensor dx = new_tensor(be, {dy.dim(0), w.dim(1)});
  be.linear_backward_data(dy, w, dx);
  return wrap(info.Env(), dx);
}

// linearBackwardWeight(x, dy, withBias) -> [dw, db | null]
Napi::Value linear_backward_weight(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "linearBackwardWeight";
  Tensor x = tensor_arg(info, 0, op, "input");
  Tensor dy = tensor_arg(info, 1, op, "gradOutput");
  bool with_bias = bool_arg(info[2], op, "withBias");
  shapes::require_dtype(op, "input", x, DType::f32);
  shapes::require_dtype(op, "gradOutput", dy, DType::f32);
  shapes::require_rank(op, "input", x, 2, "[N, inFeatures]");
  shapes::require_rank(op, "gradOutput", dy, 2, "[N, outFeatures]");
  if (dy.dim(0) != x.dim(0))
    throw alexnet::RangeError("linearBackwardWeight: gradOutput has batch " + std::to_string(dy.dim(0)) +
                              ", input has " + std::to_string(x.dim(0)));
  Tensor dw = new_tensor(be, {dy.dim(1), x.dim(1)});
  OptTensor db;
  if (with_bias) db = new_tensor(be, {dy.dim(1)});
  be.linear_backward_weight(x, dy, dw, db);
  return pair(info.Env(), wrap(info.Env(), dw), wrap(info.Env(), db));
}

// softmaxForward(x) -> y, over the last dimension of a 2-D tensor
Napi::Value softmax_forward(const Napi::CallbackInfo& info, Backend& be) {
  Tensor x = tensor_arg(info, 0, "softmaxForward", "input");
  shapes::require_dtype("softmaxForward", "input", x, DType::f32);
  shapes::require_rank("softmaxForward", "input", x, 2, "[N, classes]");
  Tensor y = new_tensor(be, x.shape);
  be.softmax_forward(x, y);
  return wrap(info.Env(), y);
}

// softmaxCrossEntropy(logits, labels, withGrad) -> [loss (shape [1]), dlogits | null]
Napi::Value softmax_cross_entropy(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "softmaxCrossEntropy";
  Tensor logits = tensor_arg(info, 0, op, "logits");
  Tensor labels = tensor_arg(info, 1, op, "labels");
  bool with_grad = bool_arg(info[2], op, "withGrad");
  shapes::softmax_cross_entropy(logits, labels);
  Tensor loss = new_tensor(be, {1});
  OptTensor grad;
  if (with_grad) grad = new_tensor(be, logits.shape);
  be.softmax_cross_entropy(logits, labels, loss, grad);
  return pair(info.Env(), wrap(info.Env(), loss), wrap(info.Env(), grad));
}

// countTopkCorrect(logits, labels, k, counter): counter[0] += correct rows
Napi::Value count_topk_correct(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "countTopkCorrect";
  Tensor logits = tensor_arg(info, 0, op, "logits");
  Tensor labels = tensor_arg(info, 1, op, "labels");
  int64_t k = int_arg(info[2], op, "k");
  Tensor counter = tensor_arg(info, 3, op, "counter");
  shapes::topk(logits, labels, static_cast<int>(std::min<int64_t>(k, INT32_MAX)), counter);
  be.count_topk_correct(logits, labels, static_cast<int>(k), counter);
  return info.Env().Undefined();
}

// copy(dst, src)
Napi::Value copy(const Napi::CallbackInfo& info, Backend& be) {
  Tensor dst = tensor_arg(info, 0, "copy", "destination");
  Tensor src = tensor_arg(info, 1, "copy", "source");
  if (dst.dtype != src.dtype) throw alexnet::TypeError("copy: source and destination must have the same dtype");
  if (dst.numel() != src.numel())
    throw alexnet::RangeError("copy: source " + shape_string(src.shape) + " and destination " +
                              shape_string(dst.shape) + " hold different numbers of elements");
  be.copy(dst, src);
  return info.Env().Undefined();
}

// addScaled(dst, src, alpha): dst += alpha * src
Napi::Value add_scaled(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "addScaled";
  Tensor dst = tensor_arg(info, 0, op, "destination");
  Tensor src = tensor_arg(info, 1, op, "source");
  shapes::require_dtype(op, "destination", dst, DType::f32);
  shapes::require_dtype(op, "source", src, DType::f32);
  if (dst.numel() != src.numel())
    throw alexnet::RangeError("addScaled: source " + shape_string(src.shape) + " and destination " +
                              shape_string(dst.shape) + " hold different numbers of elements");
  be.add_scaled(dst, src, static_cast<float>(number_arg(info[2], op, "alpha")));
  return info.Env().Undefined();
}

// sgdStep(params[], grads[], buffers[] | null, options)
Napi::Value sgd_step(const Napi::CallbackInfo& info, Backend& be) {
  const char* op = "sgdStep";
  if (!info[0].IsArray() || !info[1].IsArray())
    throw alexnet::TypeError("sgdStep: params and grads must be arrays of Tensors");
  Napi::Array params = info[0].As<Napi::Array>(), grads = info[1].As<Napi::Array>();
  Napi::Object o = object_arg(info[3], op, "options");
  SgdParams p;
  p.lr = static_cast<float>(number_arg(o.Get("lr"), op, "lr"));
  p.momentum = static_cast<float>(number_arg(o.Get("momentum"), op, "momentum"));
  p.dampening = static_cast<float>(number_arg(o.Get("dampening"), op, "dampening"));
  p.weight_decay = static_cast<float>(number_arg(o.Get("weightDecay"), op, "weightDecay"));
  p.nesterov = bool_arg(o.Get("nesterov"), op, "nesterov");
  p.first_step = bool_arg(o.Get("firstStep"), op, "firstStep");
  if (p.momentum < 0 || p.dampening < 0 || p.weight_decay < 0 || p.lr < 0)
    throw alexnet::RangeError("sgdStep: lr, momentum, dampening and weightDecay must be non-negative");
  if (grads.Length() != params.Length())
    throw alexnet::RangeError("sgdStep: grads must hold one tensor per parameter");
  Napi::Array buffers;
  if (p.momentum != 0) {
    if (!info[2].IsArray() || info[2].As<Napi::Array>().Length() != params.Length())
      throw alexnet::TypeError("sgdStep: momentum buffers must be an array with one tensor per parameter");
    buffers = info[2].As<Napi::Array>();
  }
  std::vector<SgdTensors> tensors;
  for (uint32_t i = 0; i < params.Length(); ++i) {
    SgdTensors t;
    t.param = TensorHandle::unwrap(params.Get(i), op, "params[i]");
    t.grad = TensorHandle::unwrap(grads.Get(i), op, "grads[i]");
    shapes::require_dtype(op, "params[i]", t.param, DType::f32);
    shapes::require_same_shape(op, "params[i]", t.param, "grads[i]", t.grad);
    if (p.momentum != 0) {
      t.momentum_buffer = TensorHandle::unwrap(buffers.Get(i), op, "buffers[i]");
      shapes::require_same_shape(op, "params[i]", t.param, "buffers[i]", t.momentum_buffer);
    }
    tensors.push_back(std::move(t));
  }
  be.sgd_step(p, tensors);
  return info.Env().Undefined();
}

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, fn, name));
  };
  add("conv2dForward", op<conv2d_forward>);
  add("conv2dBackwardData", op<conv2d_backward_data>);
  add("conv2dBackwardFilter", op<conv2d_backward_filter>);
  add("lrnForward", op<lrn_forward>);
  add("lrnBackward", op<lrn_backward>);
  add("maxPool2dForward", op<max_pool2d_forward>);
  add("maxPool2dBackward", op<max_pool2d_backward>);
  add("adaptiveAvgPool2dForward", op<adaptive_avg_pool2d_forward>);
  add("adaptiveAvgPool2dBackward", op<adaptive_avg_pool2d_backward>);
  add("reluForward", op<relu_forward>);
  add("reluBackward", op<relu_backward>);
  add("dropoutForward", op<dropout_forward>);
  add("multiply", op<multiply>);
  add("linearForward", op<linear_forward>);
  add("linearBackwardData", op<linear_backward_data>);
  add("linearBackwardWeight", op<linear_backward_weight>);
  add("softmaxForward", op<softmax_forward>);
  add("softmaxCrossEntropy", op<softmax_cross_entropy>);
  add("countTopkCorrect", op<count_topk_correct>);
  add("copy", op<copy>);
  add("addScaled", op<add_scaled>);
  add("sgdStep", op<sgd_step>);
}

}  // namespace alexnet::binding
