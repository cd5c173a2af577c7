#include "check.h"

#include <string>

#include "core/errors.h"

namespace alexnet::cuda {
namespace {

const char* kRestart =
    ": the CUDA context is unusable after this error and every later GPU call will fail; restart the "
    "process to use the GPU again";

std::string describe(const char* call, const char* status_name, const char* status_text) {
  std::string msg = std::string(call) + " failed: " + status_name;
  if (status_text && *status_text) msg += std::string(" (") + status_text + ")";
  return msg;
}

// A library call can fail because an earlier kernel hit a sticky error; report that as what it is.
void throw_if_context_lost(const char* call) {
  const cudaError_t pending = cudaPeekAtLastError();
  if (is_sticky(pending)) throw_cuda_error(pending, call);
}

}  // namespace

bool is_sticky(cudaError_t status) {
  switch (status) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorECCUncorrectable:
    case cudaErrorContextIsDestroyed:
    case cudaErrorTensorMemoryLeak:
    case cudaErrorExternalDevice:
      return true;
    default:
      return false;
  }
}

void throw_cuda_error(cudaError_t status, const char* call) {
  const std::string msg = describe(call, cudaGetErrorName(status), cudaGetErrorString(status));
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: clear it so that later calls do not report it again
    throw OutOfMemoryError("out of device memory: " + msg);
  }
  if (is_sticky(status)) throw DeviceLostError(msg + kRestart);
  cudaGetLastError();  // a non-sticky error must not resurface at the next unrelated check
  throw BackendError(msg);
}

void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess) throw_cuda_error(status, call);
}

void check_launch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw_cuda_error(status, (std::string("launching kernel ") + kernel).c_str());
}

void check_cudnn(cudnnStatus_t status, const char* call) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  throw_if_context_lost(call);
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));  // cuDNN 9: the reason behind the last failure
  const std::string msg = describe(call, cudnnGetErrorString(status), detail);
  if (status == CUDNN_STATUS_ALLOC_FAILED) {
    cudaGetLastError();
    throw OutOfMemoryError("out of memory: " + msg);
  }
  throw BackendError(msg);
}

void check_cublas(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw_if_context_lost(call);
  const std::string msg = describe(call, cublasGetStatusName(status), cublasGetStatusString(status));
  if (status == CUBLAS_STATUS_ALLOC_FAILED) {
    cudaGetLastError();
    throw OutOfMemoryError("out of memory: " + msg);
  }
  throw BackendError(msg);
}

}  // namespace alexnet::cuda
