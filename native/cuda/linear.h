// Fully connected layers through cuBLASLt, with one plan (descriptors and the heuristic's algorithm)
// cached per (m, n, k, transposes, epilogue, math mode). See linear.cc for the row-major to
// column-major mapping.
#pragma once

#include <array>
#include <map>
#include <memory>

#include "context.h"
#include "core/backend.h"

namespace alexnet::cuda {

class LinearEngine {
 public:
  explicit LinearEngine(CudaContext& ctx);
  ~LinearEngine();

  void forward(const Tensor& x, const Tensor& w, const OptTensor& b, const Tensor& y, bool fuse_relu);
  void backward_data(const Tensor& dy, const Tensor& w, const Tensor& dx);
  void backward_weight(const Tensor& x, const Tensor& dy, const Tensor& dw, const OptTensor& db);
  // The Linear, ReLU, Linear epilogues (op_list.h): RELU_AUX_BIAS and DRELU_BGRAD.
  void forward_relu_mask(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, const Tensor& mask);
  void backward_data_relu(const Tensor& dy, const Tensor& w, const Tensor& mask, const Tensor& dx, const Tensor& db);

  enum class Epilogue { none = 0, bias = 1, relu = 2, relu_bias = 3, relu_aux_bias = 4, drelu_bgrad = 5 };

 private:
  struct Plan;
  using Key = std::array<int64_t, 7>;  // m, n, k, transpose a, transpose b, epilogue, math mode
  Plan& plan_for(int64_t m, int64_t n, int64_t k, bool transpose_a, bool transpose_b, Epilogue epilogue);
  // D = op(A) op(B) (+ bias, ReLU), column-major, D being m x n with leading dimension m.
  void run(Plan& p, const float* a, const float* b, float* d, const float* bias, void* aux = nullptr);

  CudaContext& ctx_;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace alexnet::cuda
