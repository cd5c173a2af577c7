// Convolution forward, backward-data and backward-filter through cuDNN's legacy API
// (cudnnConvolution*), with a plan cached per (shape, geometry, math mode, determinism): descriptors
// made once, and the algorithm of each direction chosen once by cuDNN's own timing search
// (cudnnFind*AlgorithmEx) on the first call. The fallback of conv2d.h's ConvEngine; see
// conv2d_legacy.cc for the details.
#pragma once

#include <array>
#include <map>
#include <memory>

#include "context.h"
#include "core/backend.h"
#include "cudnn_desc.h"

namespace alexnet::cuda {

class LegacyConvEngine {
 public:
  explicit LegacyConvEngine(CudaContext& ctx);
  ~LegacyConvEngine();

  void forward(const Conv2dGeometry& g, const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y,
               bool fuse_relu);
  void backward_data(const Conv2dGeometry& g, const Tensor& dy, const Tensor& w, const Tensor& dx);
  void backward_filter(const Conv2dGeometry& g, const Tensor& x, const Tensor& dy, const Tensor& dw,
                       const OptTensor& db);

  // Plans cached so far (for tests of the caching).
  size_t plan_count() const { return plans_.size(); }

 private:
  struct Plan;
  // input n, c, h, w (as cuDNN sees it, after any explicit padding), weight o, c/g, kh, kw,
  // pad h, w, stride h, w, groups, math mode, deterministic
  using Key = std::array<int64_t, 15>;
  Plan& plan_for(const Conv2dGeometry& g, const Shape& input, const Shape& weight, int pad_h, int pad_w);
  Plan& plan_for(const Conv2dGeometry& g, const Shape& input, const Shape& weight, const Shape& output);
  void find_forward(Plan& p, const float* x, const float* w, float* y);
  void find_backward_data(Plan& p, const float* w, const float* dy, float* dx);
  void find_backward_filter(Plan& p, const float* x, const float* dy, float* dw);

  CudaContext& ctx_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
  ActivationDescriptor relu_;  // for the fused conv + bias + ReLU
};

}  // namespace alexnet::cuda
