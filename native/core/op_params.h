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
struct SgdParams {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
  bool first_step = false;  // momentum buffers start as a copy of g, as PyTorch does
};

enum class MathMode { fp32, tf32 };

}  // namespace alexnet
