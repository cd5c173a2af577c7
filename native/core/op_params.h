// Parameters of the ops, shared by every backend. Shapes are NCHW, float32; weights are laid out
// as PyTorch lays them out (conv [out, in/groups, kh, kw], linear [out, in]).
#pragma once

#include <cstdint>

namespace alexnet {

struct Conv2dGeometry {
  int stride_h = 1, stride_w = 1;
  // Zero padding on each side; top != bottom (or left != right) is allowed, as Keras' ZeroPadding2D
  // followed by a 'valid' convolution, or TensorFlow's 'SAME' padding with an even total, needs.
  int pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int groups = 1;
  bool symmetric() const { return pad_top == pad_bottom && pad_left == pad_right; }
};

// Max pooling window, floor mode, symmetric padding (PyTorch's MaxPool2d without ceil_mode or dilation).
struct Pool2dGeometry {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
};

// Cross-channel local response normalization, in PyTorch's and cuDNN's convention:
//   y_c = x_c / (k + alpha / size * sum_{c' in window(c)} x_c'^2) ^ beta
// with the window c - size/2 .. c + size/2 clipped at the channel edges (size is odd).
// The paper and TensorFlow write alpha without the division by size; the TypeScript layer converts.
struct LrnParams {
  int size = 5;
  double alpha = 1e-4;
  double beta = 0.75;
  double k = 2.0;
};

// SGD with momentum, dampening, weight decay and Nesterov, exactly as torch.optim.SGD computes it:
//   g = grad + weight_decay * p;  buf = momentum * buf + (1 - dampening) * g  (buf = g on the first step)
//   p -= lr * (nesterov ? g + momentum * buf : buf)
// The learning rate and the step count are not here: the update reads them from device memory
// (SgdScalars), so that a captured step uses the values of the step it runs as.
struct SgdParams {
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

// Adam and AdamW exactly as torch.optim.Adam and AdamW compute them (single-tensor, no amsgrad),
// with t the step being taken (1 on the first):
//   AdamW: p *= 1 - lr * weight_decay         Adam: g = grad + weight_decay * p
//   m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g
//   p += (-lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The scalar factors are computed in double and rounded to float, as PyTorch's Python floats are;
// the elementwise arithmetic is float. lr and the step count come from device memory (AdamScalars).
struct AdamParams {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool decoupled = false;  // AdamW's decay of the parameter instead of Adam's L2 term in the gradient
};

// Step scalars: the few numbers that change from one training step to the next, kept in device
// memory (an int32 tensor of kScalarWords words) so that a step captured into a graph reads the
// current values when it is launched, not the values it was captured with. TypeScript writes them
// when they change (lib/training/stepScalars.ts); the step advances its counters itself
// (advance_counter).
constexpr int kScalarWords = 4;

// SGD's: the learning rate, and the steps taken before this one (0: the first, which starts the
// momentum buffers as a copy of the gradient, as PyTorch does).
struct SgdScalars {
  float lr;
  uint32_t unused;
  uint64_t step;
};
constexpr int kSgdStepWord = 2;  // where `step` starts, in 32-bit words

// Adam's: the learning rate (a double: PyTorch computes lr / (1 - beta1^t) and 1 - lr * weight_decay
// in double), and the steps taken before this one.
struct AdamScalars {
  double lr;
  uint64_t step;
};
constexpr int kAdamStepWord = 2;  // where `step` starts, in 32-bit words

// Dropout's: the seed of its random stream and the position the next mask starts at.
struct DropoutScalars {
  uint64_t seed;
  uint64_t offset;
};
constexpr int kDropoutOffsetWord = 2;

static_assert(sizeof(SgdScalars) == kScalarWords * 4 && sizeof(DropoutScalars) == kScalarWords * 4 &&
                  sizeof(AdamScalars) == kScalarWords * 4,
              "step scalars are kScalarWords 32-bit words");

// The most channels the preprocessing op normalizes separately (images are grey or RGB).
constexpr int kMaxPreprocessChannels = 4;

// Turning image bytes into a model's input on the device (the preprocess op), with exactly the
// arithmetic of the TypeScript transforms (lib/data/transforms): bytes / 255, then a bilinear
// resize through the given filter tables (resize.ts), grey copied to every output channel
// (greyToRgb.ts), then (x - mean[c]) * inv_std[c] (normalize.ts), all rounded where they round.
struct PreprocessParams {
  bool normalize = false;
  // Per output channel; doubles, because the TypeScript transforms compute in doubles.
  double mean[kMaxPreprocessChannels] = {0, 0, 0, 0};
  double inv_std[kMaxPreprocessChannels] = {1, 1, 1, 1};
};

enum class MathMode { fp32, tf32 };

}  // namespace alexnet
