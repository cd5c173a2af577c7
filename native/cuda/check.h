// Turning CUDA, cuDNN and cuBLAS status codes into the project's exceptions (core/errors.h).
// Every library call in the CUDA build goes through one of the CHECK macros below, so a failure
// always names the call, the status and the library's own explanation, e.g.
//   cudnnConvolutionForward(...) failed: CUDNN_STATUS_BAD_PARAM (...)
// Out-of-memory statuses become OutOfMemoryError (the process can go on); sticky CUDA errors, after
// which the context cannot be used again, become DeviceLostError; everything else BackendError.
#pragma once

#include <cublasLt.h>
#include <cublas_api.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

namespace alexnet::cuda {

// Each throws when the status is not success; `call` is the text of the call (from the macro).
void check_cuda(cudaError_t status, const char* call);
void check_cudnn(cudnnStatus_t status, const char* call);
void check_cublas(cublasStatus_t status, const char* call);

// After a kernel launch: reports a bad launch configuration at once, and any earlier asynchronous
// failure that the runtime has recorded since the last check.
void check_launch(const char* kernel);

// True for the errors that leave the CUDA context unusable (the process must restart).
bool is_sticky(cudaError_t status);

// Throws the exception that matches a CUDA error (OutOfMemoryError, DeviceLostError or BackendError).
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call);

}  // namespace alexnet::cuda

#define CUDA_CHECK(call) ::alexnet::cuda::check_cuda((call), #call)
#define CUDNN_CHECK(call) ::alexnet::cuda::check_cudnn((call), #call)
#define CUBLAS_CHECK(call) ::alexnet::cuda::check_cublas((call), #call)
