// Owning wrappers for cuDNN descriptors: created in the constructor (throwing on failure), destroyed
// in the destructor (never throwing), so a plan that fails half-way through leaks nothing.
#pragma once

// cuDNN 9 marks the legacy convolution, tensor and filter descriptor API deprecated; it is present,
// supported and what this build uses (see conv2d.cc), so the warnings are silenced where it is used.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <cudnn.h>

#include <cstdint>
#include <string>

#include "check.h"
#include "core/errors.h"

namespace alexnet::cuda {

template <typename T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T), const char* Name>
class CudnnDescriptor {
 public:
  CudnnDescriptor() { check_cudnn(Create(&handle_), Name); }
  ~CudnnDescriptor() {
    if (handle_) Destroy(handle_);
  }
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  T get() const { return handle_; }
  operator T() const { return handle_; }

 private:
  T handle_ = nullptr;
};

inline constexpr char kCreateTensor[] = "cudnnCreateTensorDescriptor";
inline constexpr char kCreateFilter[] = "cudnnCreateFilterDescriptor";
inline constexpr char kCreateConvolution[] = "cudnnCreateConvolutionDescriptor";
inline constexpr char kCreateActivation[] = "cudnnCreateActivationDescriptor";
inline constexpr char kCreateLrn[] = "cudnnCreateLRNDescriptor";

using TensorDescriptor =
    CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor, kCreateTensor>;
using FilterDescriptor =
    CudnnDescriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor, kCreateFilter>;
using ConvolutionDescriptor = CudnnDescriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                                              cudnnDestroyConvolutionDescriptor, kCreateConvolution>;
using ActivationDescriptor = CudnnDescriptor<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor,
                                             cudnnDestroyActivationDescriptor, kCreateActivation>;
using LrnDescriptor =
    CudnnDescriptor<cudnnLRNDescriptor_t, cudnnCreateLRNDescriptor, cudnnDestroyLRNDescriptor, kCreateLrn>;

// cuDNN takes int dimensions; every dimension here comes from a validated tensor shape.
inline int dim_int(int64_t d, const char* what) {
  if (d < 0 || d > INT32_MAX)
    throw BackendError(std::string(what) + " = " + std::to_string(d) + " is outside cuDNN's int range");
  return static_cast<int>(d);
}

// A packed NCHW float tensor descriptor.
inline void set_nchw(cudnnTensorDescriptor_t desc, int64_t n, int64_t c, int64_t h, int64_t w) {
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, dim_int(n, "tensor dim N"),
                                         dim_int(c, "tensor dim C"), dim_int(h, "tensor dim H"),
                                         dim_int(w, "tensor dim W")));
}

}  // namespace alexnet::cuda

#pragma GCC diagnostic pop
