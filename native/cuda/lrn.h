// Cross-channel local response normalization through cuDNN (cudnnLRNCrossChannelForward/Backward,
// CUDNN_LRN_CROSS_CHANNEL_DIM1). The op's alpha is already in cuDNN's convention (cuDNN divides it
// by the window size itself, as PyTorch does), so it is passed unchanged.
#pragma once

#include <array>
#include <map>
#include <memory>

#include "context.h"
#include "core/op_params.h"
#include "cudnn_desc.h"

namespace alexnet::cuda {

class LrnEngine {
 public:
  explicit LrnEngine(CudaContext& ctx) : ctx_(ctx) {}
  void forward(const LrnParams& p, const Tensor& x, const Tensor& y);
  void backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx);

 private:
  cudnnTensorDescriptor_t descriptor_for(const Shape& shape);  // cached per shape
  void set_params(const LrnParams& p);

  CudaContext& ctx_;
  LrnDescriptor lrn_;
  std::map<std::array<int64_t, 4>, std::unique_ptr<TensorDescriptor>> descriptors_;
};

}  // namespace alexnet::cuda
