// Checks of the CUDA build alone: how status codes become exceptions (no device needed), a sticky
// device error, and cuDNN's fused convolution call. Compiled into the CUDA self-test only
// (ALEXNET_SELFTEST_CUDA).
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <stdexcept>

#include "core/errors.h"
#include "cuda/check.h"
#include "selftest.h"

void launch_illegal_address_kernel();  // fault.cu

namespace alexnet::selftest {
namespace {

// The class of exception `f` throws: "OutOfMemoryError", "DeviceLostError", "BackendError", or what else.
template <typename F>
std::string thrown_class(F f, std::string* message) {
  try {
    f();
  } catch (const OutOfMemoryError& e) {
    *message = e.what();
    return "OutOfMemoryError";
  } catch (const DeviceLostError& e) {
    *message = e.what();
    return "DeviceLostError";
  } catch (const BackendError& e) {
    *message = e.what();
    return "BackendError";
  } catch (const std::exception& e) {
    *message = e.what();
    return "another exception";
  }
  return "nothing";
}

void expect_class(const std::string& name, const std::string& want, const std::string& must_contain,
                  const std::string& got, const std::string& message) {
  report(got == want && message.find(must_contain) != std::string::npos, name, got + ": " + message);
}

}  // namespace

// native/cuda/check.cc's mapping of status codes to exception classes, which the binding turns
// into OutOfMemoryError, DeviceLostError and BackendError in JavaScript. Needs the CUDA runtime's
// error tables only, not a device: the CPU suite runs it (--errors) where the CUDA build exists.
void test_cuda_errors() {
  using namespace alexnet::cuda;
  std::string m;
  for (cudaError_t sticky :
       {cudaErrorIllegalAddress, cudaErrorLaunchFailure, cudaErrorAssert, cudaErrorECCUncorrectable}) {
    const std::string name = cudaGetErrorName(sticky);
    report(is_sticky(sticky), "cuda errors: " + name + " is sticky", "");
    std::string got = thrown_class([&] { check_cuda(sticky, "cudaMemcpyAsync(...)"); }, &m);
    expect_class("cuda errors: " + name + " becomes DeviceLostError, saying to restart", "DeviceLostError", "restart",
                 got, m);
  }
  for (cudaError_t plain : {cudaErrorInvalidValue, cudaErrorInvalidConfiguration, cudaErrorNoDevice}) {
    const std::string name = cudaGetErrorName(plain);
    report(!is_sticky(plain), "cuda errors: " + name + " is not sticky", "");
    std::string got = thrown_class([&] { check_cuda(plain, "cudaMemcpyAsync(...)"); }, &m);
    expect_class("cuda errors: " + name + " becomes BackendError naming the call", "BackendError",
                 "cudaMemcpyAsync(...) failed: " + name, got, m);
  }
  std::string got = thrown_class([&] { check_cuda(cudaErrorMemoryAllocation, "cudaMalloc(&p, n)"); }, &m);
  expect_class("cuda errors: cudaErrorMemoryAllocation becomes OutOfMemoryError", "OutOfMemoryError",
               "out of device memory", got, m);
  got = thrown_class([&] { check_cudnn(CUDNN_STATUS_ALLOC_FAILED, "cudnnCreate(&h)"); }, &m);
  expect_class("cuda errors: CUDNN_STATUS_ALLOC_FAILED becomes OutOfMemoryError", "OutOfMemoryError",
               "cudnnCreate(&h) failed", got, m);
  got = thrown_class([&] { check_cudnn(CUDNN_STATUS_BAD_PARAM, "cudnnSetTensor4dDescriptor(...)"); }, &m);
  expect_class("cuda errors: CUDNN_STATUS_BAD_PARAM becomes BackendError", "BackendError", "CUDNN_STATUS_BAD_PARAM",
               got, m);
  got = thrown_class([&] { check_cublas(CUBLAS_STATUS_ALLOC_FAILED, "cublasLtCreate(&h)"); }, &m);
  expect_class("cuda errors: CUBLAS_STATUS_ALLOC_FAILED becomes OutOfMemoryError", "OutOfMemoryError",
               "cublasLtCreate(&h) failed", got, m);
  got = thrown_class([&] { check_cublas(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmul(...)"); }, &m);
  expect_class("cuda errors: CUBLAS_STATUS_INVALID_VALUE becomes BackendError", "BackendError",
               "CUBLAS_STATUS_INVALID_VALUE", got, m);
  got = thrown_class([] { check_cuda(cudaSuccess, "cudaMemcpyAsync(...)"); }, &m);
  report(got == "nothing", "cuda errors: success throws nothing", got);
}

// A kernel that writes to an invalid address poisons the CUDA context: the backend must report
// DeviceLostError saying so (not crash, not hang), and its destructor must not throw.
void test_device_lost(Backend& be) {
  launch_illegal_address_kernel();
  cudaDeviceSynchronize();  // let the fault happen (it runs on another stream than the backend's)
  try {
    be.synchronize();
    report(false, "sticky error becomes DeviceLostError", "synchronize did not throw");
  } catch (const DeviceLostError& e) {
    report(std::string(e.what()).find("restart") != std::string::npos, "sticky error becomes DeviceLostError",
           e.what());
  } catch (const std::exception& e) {
    report(false, "sticky error becomes DeviceLostError", std::string("wrong type: ") + e.what());
  }
  try {
    Tensor t = make(be, {4});
    be.fill(t, 1.0f);
    get(be, t);
    report(false, "ops after a sticky error throw", "no exception");
  } catch (const DeviceLostError& e) {
    report(true, "ops after a sticky error throw DeviceLostError", e.what());
  } catch (const std::exception& e) {
    report(false, "ops after a sticky error throw DeviceLostError", std::string("wrong type: ") + e.what());
  }
}

// The backend fuses conv + bias + ReLU with cudnnConvolutionBiasActivationForward when the search
// picks IMPLICIT_PRECOMP_GEMM, passing y as the (unread, alpha2 = 0) side input z. Whether the search
// picks that algorithm depends on the GPU, so the library's behaviour is checked here directly: with
// y full of NaN beforehand, the result must still be relu(conv(x) + b).
void test_fused_conv_directly() {
  const int n = 2, c = 8, h = 9, w = 9, o = 16, k = 3;
  ConvCase cc{"fused", n, c, h, w, o, k, k, {}, true, true};
  cc.g.pad_top = cc.g.pad_bottom = cc.g.pad_left = cc.g.pad_right = 1;
  const auto xv = random_vector(static_cast<size_t>(n * c * h * w), 1);
  const auto wv = random_vector(static_cast<size_t>(o * c * k * k), 2, -0.3f, 0.3f);
  const auto bv = random_vector(static_cast<size_t>(o), 3);
  const std::vector<float> dyv(static_cast<size_t>(n * o * h * w), 0.0f);
  std::vector<double> y, dx, dw, db;
  conv_ref(cc, xv, wv, bv, dyv, &y, &dx, &dw, &db);
  auto ok = [](bool good, const char* what) {
    if (!good) throw std::runtime_error(what);
  };
  float *dxp = nullptr, *dwp = nullptr, *dbp = nullptr, *dyp = nullptr;
  void* ws = nullptr;
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t xd, yd, bd;
  cudnnFilterDescriptor_t wd;
  cudnnConvolutionDescriptor_t cd;
  cudnnActivationDescriptor_t ad;
  ok(cudnnCreate(&handle) == CUDNN_STATUS_SUCCESS, "cudnnCreate");
  cudnnCreateTensorDescriptor(&xd);
  cudnnCreateTensorDescriptor(&yd);
  cudnnCreateTensorDescriptor(&bd);
  cudnnCreateFilterDescriptor(&wd);
  cudnnCreateConvolutionDescriptor(&cd);
  cudnnCreateActivationDescriptor(&ad);
  ok(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w) == 0, "x desc");
  ok(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, o, h, w) == 0, "y desc");
  ok(cudnnSetTensor4dDescriptor(bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, o, 1, 1) == 0, "b desc");
  ok(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, o, c, k, k) == 0, "w desc");
  ok(cudnnSetConvolution2dDescriptor(cd, 1, 1, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT) == 0, "conv");
  ok(cudnnSetConvolutionMathType(cd, CUDNN_FMA_MATH) == 0, "math");
  ok(cudnnSetActivationDescriptor(ad, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0) == 0, "act");
  const auto algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  size_t ws_bytes = 0;
  ok(cudnnGetConvolutionForwardWorkspaceSize(handle, xd, wd, cd, yd, algo, &ws_bytes) == 0, "ws size");
  ok(cudaMalloc(reinterpret_cast<void**>(&dxp), xv.size() * 4) == cudaSuccess, "malloc");
  ok(cudaMalloc(reinterpret_cast<void**>(&dwp), wv.size() * 4) == cudaSuccess, "malloc");
  ok(cudaMalloc(reinterpret_cast<void**>(&dbp), bv.size() * 4) == cudaSuccess, "malloc");
  ok(cudaMalloc(reinterpret_cast<void**>(&dyp), y.size() * 4) == cudaSuccess, "malloc");
  if (ws_bytes) ok(cudaMalloc(&ws, ws_bytes) == cudaSuccess, "malloc ws");
  cudaMemcpy(dxp, xv.data(), xv.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dwp, wv.data(), wv.size() * 4, cudaMemcpyHostToDevice);
  cudaMemcpy(dbp, bv.data(), bv.size() * 4, cudaMemcpyHostToDevice);
  cudaMemset(dyp, 0xff, y.size() * 4);  // all NaN
  const float one = 1.0f, zero = 0.0f;
  const cudnnStatus_t st = cudnnConvolutionBiasActivationForward(handle, &one, xd, dxp, wd, dwp, cd, algo, ws, ws_bytes,
                                                                 &zero, yd, dyp, bd, dbp, ad, yd, dyp);
  std::vector<float> got(y.size());
  cudaMemcpy(got.data(), dyp, got.size() * 4, cudaMemcpyDeviceToHost);
  const cudaError_t ce = cudaDeviceSynchronize();
  report(st == CUDNN_STATUS_SUCCESS && ce == cudaSuccess,
         "cudnnConvolutionBiasActivationForward runs (FMA, IMPLICIT_PRECOMP_GEMM)",
         std::string(cudnnGetErrorString(st)) + " / " + cudaGetErrorString(ce));
  compare("fused conv+bias+relu with NaN-filled y and alpha2 = 0", got, y, 1e-4, 1e-4);
  cudaFree(dxp);
  cudaFree(dwp);
  cudaFree(dbp);
  cudaFree(dyp);
  if (ws) cudaFree(ws);
  cudnnDestroyTensorDescriptor(xd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyTensorDescriptor(bd);
  cudnnDestroyFilterDescriptor(wd);
  cudnnDestroyConvolutionDescriptor(cd);
  cudnnDestroyActivationDescriptor(ad);
  cudnnDestroy(handle);
}

}  // namespace alexnet::selftest
