// The ops as JavaScript calls them, one function per op of core/op_list.h, of the same name. Each
// reads its arguments (stating every tensor's element type), checks their shapes (core/shapes.h),
// allocates its outputs, queues the work on the backend and returns the new tensors. Also the shape
// queries, which compute an op's output shape without running it.
#include "ops.h"

#include <initializer_list>
#include <string>
#include <utility>

#include "../core/backend.h"
#include "../core/errors.h"
#include "../core/shapes.h"
#include "errors.h"
#include "op_call.h"

namespace alexnet::binding {
namespace {

constexpr DType f32 = DType::f32;
constexpr DType i32 = DType::i32;

const Shape* shape_of(const OptTensor& t) { return t ? &t->shape : nullptr; }

// Reads integer fields of the object argument at `index` into their places: {key, &field}.
void int_fields(const OpCall& call, size_t index, const char* name,
                std::initializer_list<std::pair<const char*, int*>> fields) {
  Napi::Object o = call.object(index, name);
  for (const auto& [key, field] : fields) *field = int_field(o, key, call.op());
}

// {strideH, strideW, padTop, padBottom, padLeft, padRight, groups}
Conv2dGeometry conv2d_geometry(const OpCall& call, size_t index) {
  Conv2dGeometry g;
  int_fields(call, index, "geometry",
             {{"strideH", &g.stride_h},
              {"strideW", &g.stride_w},
              {"padTop", &g.pad_top},
              {"padBottom", &g.pad_bottom},
              {"padLeft", &g.pad_left},
              {"padRight", &g.pad_right},
              {"groups", &g.groups}});
  shapes::conv2d_geometry(call.op(), g);
  return g;
}

// {kernelH, kernelW, strideH, strideW, padH, padW}
Pool2dGeometry pool2d_geometry(const OpCall& call, size_t index) {
  Pool2dGeometry g;
  int_fields(call, index, "geometry",
             {{"kernelH", &g.kernel_h},
              {"kernelW", &g.kernel_w},
              {"strideH", &g.stride_h},
              {"strideW", &g.stride_w},
              {"padH", &g.pad_h},
              {"padW", &g.pad_w}});
  shapes::pool2d_geometry(call.op(), g);
  return g;
}

// {size, alpha, beta, k}, alpha in PyTorch's convention
LrnParams lrn_params(const OpCall& call, size_t index) {
  Napi::Object o = call.object(index, "params");
  LrnParams p;
  p.size = int_field(o, "size", call.op());
  p.alpha = number_arg(o.Get("alpha"), call.op(), "alpha");
  p.beta = number_arg(o.Get("beta"), call.op(), "beta");
  p.k = number_arg(o.Get("k"), call.op(), "k");
  return p;
}

// {momentum, dampening, weightDecay, nesterov}; the learning rate and step count are step scalars.
SgdParams sgd_params(const OpCall& call, size_t index) {
  Napi::Object o = call.object(index, "options");
  SgdParams p;
  p.momentum = static_cast<float>(number_arg(o.Get("momentum"), call.op(), "momentum"));
  p.dampening = static_cast<float>(number_arg(o.Get("dampening"), call.op(), "dampening"));
  p.weight_decay = static_cast<float>(number_arg(o.Get("weightDecay"), call.op(), "weightDecay"));
  p.nesterov = bool_arg(o.Get("nesterov"), call.op(), "nesterov");
  return p;
}

// {beta1, beta2, eps, weightDecay, decoupled}; the learning rate and step count are step scalars.
AdamParams adam_params(const OpCall& call, size_t index) {
  Napi::Object o = call.object(index, "options");
  AdamParams p;
  p.beta1 = number_arg(o.Get("beta1"), call.op(), "beta1");
  p.beta2 = number_arg(o.Get("beta2"), call.op(), "beta2");
  p.eps = number_arg(o.Get("eps"), call.op(), "eps");
  p.weight_decay = number_arg(o.Get("weightDecay"), call.op(), "weightDecay");
  p.decoupled = bool_arg(o.Get("decoupled"), call.op(), "decoupled");
  return p;
}

// The step scalars at `index`: an int32 tensor of kScalarWords words (op_params.h).
Tensor step_scalars(const OpCall& call, size_t index) {
  Tensor scalars = call.tensor(index, "scalars", DType::i32);
  shapes::step_scalars(call.op(), {"scalars", scalars.shape});
  return scalars;
}

// ---- elementwise ------------------------------------------------------------------------------

// addScaled(dst, src, alpha): dst += alpha * src
Napi::Value add_scaled(OpCall& call) {
  Tensor dst = call.tensor(0, "destination", f32);
  Tensor src = call.tensor(1, "source", f32);
  float alpha = static_cast<float>(call.number(2, "alpha"));
  shapes::require_same_numel(call.op(), {"source", src.shape}, {"destination", dst.shape});
  call.backend().add_scaled(dst, src, alpha);
  return call.none();
}

// multiply(a, b) -> a * b elementwise
Napi::Value multiply(OpCall& call) {
  Tensor a = call.tensor(0, "a", f32);
  Tensor b = call.tensor(1, "b", f32);
  shapes::require_same_shape(call.op(), {"a", a.shape}, {"b", b.shape});
  Tensor out = call.output(a.shape);
  call.backend().multiply(a, b, out);
  return call.result(out);
}

// advanceCounter(t, word, increment): the uint64 at int32 words [word, word + 1] of t += increment
Napi::Value advance_counter(OpCall& call) {
  Tensor t = call.tensor(0, "tensor", i32);
  int64_t word = call.integer(1, "word");
  uint64_t increment = call.seed(2, "increment");
  shapes::counter_word(call.op(), {"tensor", t.shape}, word);
  call.backend().advance_counter(t, static_cast<int>(word), increment);
  return call.none();
}

// copy(dst, src), of either element type
Napi::Value copy(OpCall& call) {
  Tensor dst = call.destination(0, "destination");
  Tensor src = call.tensor_of_either_dtype(1, "source");
  if (dst.dtype != src.dtype)
    throw alexnet::TypeError(std::string(call.op()) + ": source and destination must have the same dtype, got " +
                             dtype_name(src.dtype) + " and " + dtype_name(dst.dtype));
  shapes::require_same_numel(call.op(), {"source", src.shape}, {"destination", dst.shape});
  call.backend().copy(dst, src);
  return call.none();
}

// roundToBfloat16(dst, src): dst = src rounded to bfloat16 (fp32 storage); dst may be src
Napi::Value round_to_bfloat16(OpCall& call) {
  Tensor dst = call.destination(0, "destination");
  Tensor src = call.tensor(1, "source", f32);
  if (dst.dtype != DType::f32)
    throw alexnet::TypeError(std::string(call.op()) + ": expected a float32 destination, got " + dtype_name(dst.dtype));
  shapes::require_same_numel(call.op(), {"source", src.shape}, {"destination", dst.shape});
  call.backend().round_to_bfloat16(dst, src);
  return call.none();
}

// ---- conv2d -----------------------------------------------------------------------------------

// conv2dForward(x, w, b | null, geometry, fuseRelu) -> y
Napi::Value conv2d_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Tensor w = call.tensor(1, "weight", f32);
  OptTensor b = call.optional_tensor(2, "bias", f32);
  Conv2dGeometry g = conv2d_geometry(call, 3);
  bool relu = call.flag(4, "fuseRelu");
  Tensor y = call.output(shapes::conv2d_output(call.op(), {"input", x.shape}, {"weight", w.shape}, shape_of(b), g));
  call.backend().conv2d_forward(g, x, w, b, y, relu);
  return call.result(y);
}

// conv2dBackwardData(dy, w, geometry, inputShape) -> dx
Napi::Value conv2d_backward_data(OpCall& call) {
  Tensor dy = call.tensor(0, "gradOutput", f32);
  Tensor w = call.tensor(1, "weight", f32);
  Conv2dGeometry g = conv2d_geometry(call, 2);
  Shape input = call.shape(3, "inputShape");
  Shape output = shapes::conv2d_output(call.op(), {"inputShape", input}, {"weight", w.shape}, nullptr, g);
  shapes::require_same_shape(call.op(), {"the output computed from inputShape", output}, {"gradOutput", dy.shape});
  Tensor dx = call.output(input);
  call.backend().conv2d_backward_data(g, dy, w, dx);
  return call.result(dx);
}

// conv2dBackwardFilter(x, dy, geometry, weightShape, withBias, dwOut?, dbOut?) -> [dw, db | null];
// dw and db are written into dwOut and dbOut when given (views of the flat gradient buffer).
Napi::Value conv2d_backward_filter(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Tensor dy = call.tensor(1, "gradOutput", f32);
  Conv2dGeometry g = conv2d_geometry(call, 2);
  Shape weight = call.shape(3, "weightShape");
  bool with_bias = call.flag(4, "withBias");
  Shape output = shapes::conv2d_output(call.op(), {"input", x.shape}, {"weightShape", weight}, nullptr, g);
  shapes::require_same_shape(call.op(), {"the output computed from weightShape", output}, {"gradOutput", dy.shape});
  Tensor dw = call.output_into(5, "gradWeightOut", weight);
  OptTensor db;
  if (with_bias) db = call.output_into(6, "gradBiasOut", {weight[0]});
  call.backend().conv2d_backward_filter(g, x, dy, dw, db);
  return call.result(dw, db);
}

// ---- lrn --------------------------------------------------------------------------------------

// lrnForward(x, params) -> y
Napi::Value lrn_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  LrnParams p = lrn_params(call, 1);
  shapes::nchw(call.op(), {"input", x.shape});
  Tensor y = call.output(x.shape);
  call.backend().lrn_forward(p, x, y);
  return call.result(y);
}

// lrnBackward(x, y, dy, params) -> dx
Napi::Value lrn_backward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Tensor y = call.tensor(1, "output", f32);
  Tensor dy = call.tensor(2, "gradOutput", f32);
  LrnParams p = lrn_params(call, 3);
  shapes::nchw(call.op(), {"input", x.shape});
  shapes::require_same_shape(call.op(), {"input", x.shape}, {"output", y.shape});
  shapes::require_same_shape(call.op(), {"input", x.shape}, {"gradOutput", dy.shape});
  Tensor dx = call.output(x.shape);
  call.backend().lrn_backward(p, x, y, dy, dx);
  return call.result(dx);
}

// ---- pool2d -----------------------------------------------------------------------------------

// maxPool2dForward(x, geometry) -> y
Napi::Value max_pool2d_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Pool2dGeometry g = pool2d_geometry(call, 1);
  Tensor y = call.output(shapes::pool2d_output(call.op(), {"input", x.shape}, g));
  call.backend().max_pool2d_forward(g, x, y);
  return call.result(y);
}

// maxPool2dBackward(x, y, dy, geometry) -> dx
Napi::Value max_pool2d_backward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Tensor y = call.tensor(1, "output", f32);
  Tensor dy = call.tensor(2, "gradOutput", f32);
  Pool2dGeometry g = pool2d_geometry(call, 3);
  Shape pooled = shapes::pool2d_output(call.op(), {"input", x.shape}, g);
  shapes::require_same_shape(call.op(), {"the pooled input", pooled}, {"output", y.shape});
  shapes::require_same_shape(call.op(), {"output", y.shape}, {"gradOutput", dy.shape});
  Tensor dx = call.output(x.shape);
  call.backend().max_pool2d_backward(g, x, y, dy, dx);
  return call.result(dx);
}

// adaptiveAvgPool2dForward(x, outH, outW) -> y
Napi::Value adaptive_avg_pool2d_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  int64_t out_h = call.integer(1, "outputHeight"), out_w = call.integer(2, "outputWidth");
  Tensor y = call.output(shapes::adaptive_avg_pool2d_output(call.op(), {"input", x.shape}, out_h, out_w));
  call.backend().adaptive_avg_pool2d_forward(x, y);
  return call.result(y);
}

// adaptiveAvgPool2dBackward(dy, inputShape) -> dx
Napi::Value adaptive_avg_pool2d_backward(OpCall& call) {
  Tensor dy = call.tensor(0, "gradOutput", f32);
  Shape input = call.shape(1, "inputShape");
  shapes::nchw(call.op(), {"gradOutput", dy.shape});
  Shape pooled = shapes::adaptive_avg_pool2d_output(call.op(), {"inputShape", input}, dy.dim(2), dy.dim(3));
  shapes::require_same_shape(call.op(), {"the pooled input", pooled}, {"gradOutput", dy.shape});
  Tensor dx = call.output(input);
  call.backend().adaptive_avg_pool2d_backward(dy, dx);
  return call.result(dx);
}

// ---- activation -------------------------------------------------------------------------------

// reluForward(x) -> y
Napi::Value relu_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  shapes::require_non_empty(call.op(), {"input", x.shape});
  Tensor y = call.output(x.shape);
  call.backend().relu_forward(x, y);
  return call.result(y);
}

// reluBackward(y, dy) -> dx
Napi::Value relu_backward(OpCall& call) {
  Tensor y = call.tensor(0, "output", f32);
  Tensor dy = call.tensor(1, "gradOutput", f32);
  shapes::require_non_empty(call.op(), {"output", y.shape});
  shapes::require_same_shape(call.op(), {"output", y.shape}, {"gradOutput", dy.shape});
  Tensor dx = call.output(y.shape);
  call.backend().relu_backward(y, dy, dx);
  return call.result(dx);
}

// softmaxForward(x) -> y, over the last dimension of a 2-D tensor
Napi::Value softmax_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  shapes::rows(call.op(), {"input", x.shape});
  Tensor y = call.output(x.shape);
  call.backend().softmax_forward(x, y);
  return call.result(y);
}

// ---- dropout ----------------------------------------------------------------------------------

// dropoutForward(x, p, scalars) -> [y, mask]; seed and offset are read from the scalars when it runs
Napi::Value dropout_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  float p = static_cast<float>(call.number(1, "p"));
  Tensor scalars = step_scalars(call, 2);
  shapes::require_non_empty(call.op(), {"input", x.shape});
  Tensor y = call.output(x.shape);
  Tensor mask = call.output(x.shape);
  call.backend().dropout_forward(p, scalars, x, y, mask);
  return call.result(y, mask);
}

// ---- linear -----------------------------------------------------------------------------------

// linearForward(x, w, b | null, fuseRelu) -> y
Napi::Value linear_forward(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Tensor w = call.tensor(1, "weight", f32);
  OptTensor b = call.optional_tensor(2, "bias", f32);
  bool relu = call.flag(3, "fuseRelu");
  Tensor y = call.output(shapes::linear_output(call.op(), {"input", x.shape}, {"weight", w.shape}, shape_of(b)));
  call.backend().linear_forward(x, w, b, y, relu);
  return call.result(y);
}

// linearBackwardData(dy, w) -> dx
Napi::Value linear_backward_data(OpCall& call) {
  Tensor dy = call.tensor(0, "gradOutput", f32);
  Tensor w = call.tensor(1, "weight", f32);
  Tensor dx = call.output(shapes::linear_input_grad(call.op(), {"gradOutput", dy.shape}, {"weight", w.shape}));
  call.backend().linear_backward_data(dy, w, dx);
  return call.result(dx);
}

// linearBackwardWeight(x, dy, withBias, dwOut?, dbOut?) -> [dw, db | null], written into dwOut and
// dbOut when given
Napi::Value linear_backward_weight(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Tensor dy = call.tensor(1, "gradOutput", f32);
  bool with_bias = call.flag(2, "withBias");
  Tensor dw = call.output_into(3, "gradWeightOut",
                               shapes::linear_weight_grad(call.op(), {"input", x.shape}, {"gradOutput", dy.shape}));
  OptTensor db;
  if (with_bias) db = call.output_into(4, "gradBiasOut", {dy.dim(1)});
  call.backend().linear_backward_weight(x, dy, dw, db);
  return call.result(dw, db);
}

// linearForwardReluMask(x, w, b) -> [y, mask]: y = relu(x wᵀ + b) and the ReLU's mask
Napi::Value linear_forward_relu_mask(OpCall& call) {
  Tensor x = call.tensor(0, "input", f32);
  Tensor w = call.tensor(1, "weight", f32);
  Tensor b = call.tensor(2, "bias", f32);
  Tensor y = call.output(shapes::linear_output(call.op(), {"input", x.shape}, {"weight", w.shape}, &b.shape));
  Tensor mask = call.output({shapes::relu_mask_words(y.dim(0), y.dim(1))}, i32);
  call.backend().linear_forward_relu_mask(x, w, b, y, mask);
  return call.result(y, mask);
}

// linearBackwardDataRelu(dy, w, mask, dbOut?) -> [dx, db]: dx = (dy w) where the mask is set, else
// 0; db = column sums of dx (the bias gradient of the layer whose ReLU made the mask)
Napi::Value linear_backward_data_relu(OpCall& call) {
  Tensor dy = call.tensor(0, "gradOutput", f32);
  Tensor w = call.tensor(1, "weight", f32);
  Tensor mask = call.tensor(2, "mask", i32);
  Shape input = shapes::linear_input_grad(call.op(), {"gradOutput", dy.shape}, {"weight", w.shape});
  const Shape mask_shape{shapes::relu_mask_words(input[0], input[1])};
  shapes::require_same_shape(call.op(), {"the mask of the input's shape", mask_shape}, {"mask", mask.shape});
  Tensor dx = call.output(input);
  Tensor db = call.output_into(3, "gradBiasOut", {input[1]});
  call.backend().linear_backward_data_relu(dy, w, mask, dx, db);
  return call.result(dx, db);
}

// ---- loss -------------------------------------------------------------------------------------

// softmaxCrossEntropy(logits, labels, withGrad) -> [loss (shape [1]), dlogits | null]
Napi::Value softmax_cross_entropy(OpCall& call) {
  Tensor logits = call.tensor(0, "logits", f32);
  Tensor labels = call.tensor(1, "labels", i32);
  bool with_grad = call.flag(2, "withGrad");
  shapes::labels(call.op(), {"logits", logits.shape}, {"labels", labels.shape});
  Tensor loss = call.output({1});
  OptTensor grad;
  if (with_grad) grad = call.output(logits.shape);
  call.backend().softmax_cross_entropy(logits, labels, loss, grad);
  return call.result(loss, grad);
}

// countTopkCorrect(logits, labels, k, counter): counter[0] += correct rows
Napi::Value count_topk_correct(OpCall& call) {
  Tensor logits = call.tensor(0, "logits", f32);
  Tensor labels = call.tensor(1, "labels", i32);
  int64_t k = call.integer(2, "k");
  Tensor counter = call.tensor(3, "counter", f32);
  shapes::topk(call.op(), {"logits", logits.shape}, {"labels", labels.shape}, k, {"counter", counter.shape});
  call.backend().count_topk_correct(logits, labels, static_cast<int>(k), counter);
  return call.none();
}

// ---- sgd --------------------------------------------------------------------------------------

// sgdStep(params[], grads[], buffers[] | null, options, scalars); the buffers are read when
// momentum != 0; the learning rate and step count come from the scalars when the update runs.
Napi::Value sgd_step(OpCall& call) {
  std::vector<Tensor> params = call.tensors(0, "params", f32);
  std::vector<Tensor> grads = call.tensors(1, "grads", f32);
  SgdParams p = sgd_params(call, 3);
  Tensor scalars = step_scalars(call, 4);
  if (grads.size() != params.size())
    throw alexnet::RangeError(std::string(call.op()) + ": grads must hold one tensor per parameter");
  std::vector<Tensor> buffers;
  if (p.momentum != 0) {
    buffers = call.tensors(2, "buffers", f32);
    if (buffers.size() != params.size())
      throw alexnet::RangeError(std::string(call.op()) + ": buffers must hold one tensor per parameter");
  }
  std::vector<SgdTensors> tensors;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string op = std::string(call.op()) + " (i = " + std::to_string(i) + ")";
    shapes::require_same_shape(op.c_str(), {"params[i]", params[i].shape}, {"grads[i]", grads[i].shape});
    if (!buffers.empty())
      shapes::require_same_shape(op.c_str(), {"params[i]", params[i].shape}, {"buffers[i]", buffers[i].shape});
    tensors.push_back({params[i], grads[i], buffers.empty() ? Tensor{} : buffers[i]});
  }
  call.backend().sgd_step(p, tensors, scalars);
  return call.none();
}

// ---- adam -------------------------------------------------------------------------------------

// adamStep(params[], grads[], expAvgs[], expAvgSqs[], options, scalars); the learning rate and step
// count come from the scalars when the update runs.
Napi::Value adam_step(OpCall& call) {
  std::vector<Tensor> params = call.tensors(0, "params", f32);
  std::vector<Tensor> grads = call.tensors(1, "grads", f32);
  std::vector<Tensor> exp_avgs = call.tensors(2, "expAvgs", f32);
  std::vector<Tensor> exp_avg_sqs = call.tensors(3, "expAvgSqs", f32);
  AdamParams p = adam_params(call, 4);
  Tensor scalars = step_scalars(call, 5);
  if (grads.size() != params.size() || exp_avgs.size() != params.size() || exp_avg_sqs.size() != params.size())
    throw alexnet::RangeError(std::string(call.op()) +
                              ": grads, expAvgs and expAvgSqs must hold one tensor per parameter");
  std::vector<AdamTensors> tensors;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string op = std::string(call.op()) + " (i = " + std::to_string(i) + ")";
    shapes::require_same_shape(op.c_str(), {"params[i]", params[i].shape}, {"grads[i]", grads[i].shape});
    shapes::require_same_shape(op.c_str(), {"params[i]", params[i].shape}, {"expAvgs[i]", exp_avgs[i].shape});
    shapes::require_same_shape(op.c_str(), {"params[i]", params[i].shape}, {"expAvgSqs[i]", exp_avg_sqs[i].shape});
    tensors.push_back({params[i], grads[i], exp_avgs[i], exp_avg_sqs[i]});
  }
  call.backend().adam_step(p, tensors, scalars);
  return call.none();
}

// ---- preprocess -------------------------------------------------------------------------------

// preprocess(x uint8 [N, C, H, W], outChannels, outHeight, outWidth, normalize | null) -> y, with
// normalize = {mean: number[], invStd: number[]}, one value per output channel or one for all
Napi::Value preprocess(OpCall& call) {
  Tensor x = call.tensor(0, "input", DType::u8);
  const int64_t channels = call.integer(1, "outChannels");
  const int64_t height = call.integer(2, "outHeight"), width = call.integer(3, "outWidth");
  Shape out = shapes::preprocess_output(call.op(), {"input", x.shape}, channels, height, width);
  PreprocessParams p;
  if (!call.info_value(4).IsNull() && !call.info_value(4).IsUndefined()) {
    Napi::Object o = call.object(4, "normalize");
    p.normalize = true;
    for (const char* key : {"mean", "invStd"}) {
      Napi::Value v = o.Get(key);
      if (!v.IsArray()) throw alexnet::TypeError(std::string(call.op()) + ": normalize." + key + " must be an array");
      Napi::Array a = v.As<Napi::Array>();
      if (a.Length() != 1 && a.Length() != static_cast<uint32_t>(channels))
        throw alexnet::RangeError(std::string(call.op()) + ": normalize." + key + " must hold 1 or " +
                                  std::to_string(channels) + " values, got " + std::to_string(a.Length()));
      double* target = std::string(key) == "mean" ? p.mean : p.inv_std;
      for (int64_t c = 0; c < channels; ++c)
        target[c] = number_arg(a.Get(static_cast<uint32_t>(a.Length() == 1 ? 0 : c)), call.op(), key);
    }
  }
  Tensor y = call.output(out);
  call.backend().preprocess(p, x, y);
  return call.result(y);
}

// ---- shape queries: an op's output shape, from its input shapes, without running it ------------

// conv2dOutputShape(inputShape, weightShape, geometry) -> [N, outChannels, OH, OW]
Napi::Value conv2d_output_shape(OpCall& call) {
  Shape input = call.shape(0, "inputShape"), weight = call.shape(1, "weightShape");
  Conv2dGeometry g = conv2d_geometry(call, 2);
  return call.result(shapes::conv2d_output(call.op(), {"inputShape", input}, {"weightShape", weight}, nullptr, g));
}

// pool2dOutputShape(inputShape, geometry) -> [N, C, OH, OW] of max pooling
Napi::Value pool2d_output_shape(OpCall& call) {
  Shape input = call.shape(0, "inputShape");
  Pool2dGeometry g = pool2d_geometry(call, 1);
  return call.result(shapes::pool2d_output(call.op(), {"inputShape", input}, g));
}

// linearOutputShape(inputShape, weightShape) -> [N, outFeatures]
Napi::Value linear_output_shape(OpCall& call) {
  Shape input = call.shape(0, "inputShape"), weight = call.shape(1, "weightShape");
  return call.result(shapes::linear_output(call.op(), {"inputShape", input}, {"weightShape", weight}, nullptr));
}

// Runs an op's function with errors turned into JavaScript ones; the op's JavaScript name comes
// as the function's data (see register_ops).
template <Napi::Value (*body)(OpCall&)>
Napi::Value run(const Napi::CallbackInfo& info) {
  return guarded(info, [&]() -> Napi::Value {
    OpCall call(info, static_cast<const char*>(info.Data()));
    return body(call);
  });
}

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
  auto add = [&](const char* name, Napi::Value (*fn)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, fn, name, const_cast<char*>(name)));
  };
  // Every op of the list except the fills, which are Tensor methods (tensor_handle.cc).
#define ALEXNET_OP(name, js_name, params, args, writes) add(#js_name, run<name>);
#define ALEXNET_TENSOR_OP(name, js_name, params, args, writes)
#include "../core/op_list.h"
#undef ALEXNET_TENSOR_OP
#undef ALEXNET_OP
  add("conv2dOutputShape", run<conv2d_output_shape>);
  add("pool2dOutputShape", run<pool2d_output_shape>);
  add("linearOutputShape", run<linear_output_shape>);
}

}  // namespace alexnet::binding
