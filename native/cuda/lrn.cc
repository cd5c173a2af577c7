#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include "lrn.h"

#include "check.h"

namespace alexnet::cuda {
namespace {

const float kOne = 1.0f;
const float kZero = 0.0f;

}  // namespace

cudnnTensorDescriptor_t LrnEngine::descriptor_for(const Shape& shape) {
  const std::array<int64_t, 4> key{shape[0], shape[1], shape[2], shape[3]};
  auto it = descriptors_.find(key);
  if (it != descriptors_.end()) return it->second->get();
  auto desc = std::make_unique<TensorDescriptor>();
  set_nchw(*desc, shape[0], shape[1], shape[2], shape[3]);
  cudnnTensorDescriptor_t handle = desc->get();
  descriptors_.emplace(key, std::move(desc));
  return handle;
}

// Setting the parameters is a host-side store, cheap enough to do on every call.
void LrnEngine::set_params(const LrnParams& p) {
  CUDNN_CHECK(cudnnSetLRNDescriptor(lrn_, static_cast<unsigned>(p.size), p.alpha, p.beta, p.k));
}

void LrnEngine::forward(const LrnParams& p, const Tensor& x, const Tensor& y) {
  if (x.numel() == 0) return;
  cudnnTensorDescriptor_t desc = descriptor_for(x.shape);
  set_params(p);
  CUDNN_CHECK(cudnnLRNCrossChannelForward(ctx_.cudnn(), lrn_, CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne, desc, x.f32(),
                                          &kZero, desc, y.f32()));
}

void LrnEngine::backward(const LrnParams& p, const Tensor& x, const Tensor& y, const Tensor& dy, const Tensor& dx) {
  if (x.numel() == 0) return;
  cudnnTensorDescriptor_t desc = descriptor_for(x.shape);
  set_params(p);
  CUDNN_CHECK(cudnnLRNCrossChannelBackward(ctx_.cudnn(), lrn_, CUDNN_LRN_CROSS_CHANNEL_DIM1, &kOne, desc, y.f32(), desc,
                                           dy.f32(), desc, x.f32(), &kZero, desc, dx.f32()));
}

}  // namespace alexnet::cuda
