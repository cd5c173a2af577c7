// The native self-test: a backend checked through the op interface alone (core/backend.h) against
// naive double-precision references written here, with no Node.js. It links with either build's
// backend: the CPU one in the CPU suite (test/native/selftest.test.ts, which checks the checks),
// the CUDA one on a GPU machine (test/gpu/selftest.test.ts). Each check prints a PASS or FAIL
// line; the program exits non-zero when any fails. Built by CMake as build/selftest/
// alexnet_selftest_cpu and alexnet_selftest_cuda (see main.cc for the options).
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "core/backend.h"

namespace alexnet::selftest {

// ---- harness.cc ----------------------------------------------------------------------------------

extern int failures;
extern int checks;

// Prints "PASS name: detail" or "FAIL name: detail" and counts it.
void report(bool ok, const std::string& name, const std::string& detail);

Tensor make(Backend& be, const Shape& s, DType t = DType::f32);
Tensor make_from(Backend& be, const Shape& s, const std::vector<float>& v);
Tensor make_labels(Backend& be, const std::vector<int32_t>& v);
// Step scalars (core/op_params.h) in device memory.
Tensor make_sgd_scalars(Backend& be, float lr, uint64_t step);
Tensor make_dropout_scalars(Backend& be, uint64_t seed, uint64_t offset);
std::vector<float> get(Backend& be, const Tensor& t);

std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
// Small integers: many exact ties (max pooling, top-k).
std::vector<float> tie_vector(size_t n, uint32_t seed, int levels = 4);

// |got - want| <= atol + rtol * |want| everywhere (NaN must match NaN); prints the worst element.
void compare(const std::string& name, const std::vector<float>& got, const std::vector<double>& want, double rtol,
             double atol);
std::vector<double> to_double(const std::vector<float>& v);
// Bit for bit (any NaN matches any NaN).
void exact(const std::string& name, const std::vector<float>& got, const std::vector<float>& want);

template <typename F>
void expect_throw(const std::string& name, F f, const char* must_contain) {
  try {
    f();
    report(false, name, "no exception");
  } catch (const std::exception& e) {
    const bool ok = std::string(e.what()).find(must_contain) != std::string::npos;
    report(ok, name, e.what());
  }
}

double now_ms();

// ---- the checks, one file per concern ------------------------------------------------------------

void test_elementwise(Backend& be);  // elementwise.cc
void test_conv2d(Backend& be);       // conv2d.cc, fp32 and tf32
void test_determinism(Backend& be);  // conv2d.cc
void test_conv2d_plan();             // conv2d_plan.cc: the CUDA build's plan keys, rules, cache file
void test_cuda_config();             // cuda_config.cc: the CUDA build's workspace bound
#ifdef ALEXNET_SELFTEST_CUDA
void test_cuda_errors();  // cuda.cc: CUDA, cuDNN and cuBLAS statuses to exception classes
#endif
void test_lrn(Backend& be);                    // lrn.cc
void test_max_pool2d(Backend& be);             // pool2d.cc
void test_adaptive_avg_pool2d(Backend& be);    // pool2d.cc
void test_linear(Backend& be);                 // linear.cc, fp32 and tf32
void test_activation(Backend& be);             // activation.cc
void test_dropout(Backend& be);                // dropout.cc
void test_loss(Backend& be);                   // loss.cc
void test_topk(Backend& be);                   // loss.cc
void test_sgd(Backend& be);                    // sgd.cc
void test_adam(Backend& be);                   // adam.cc
void test_steady_state(Backend& be);           // training.cc
void test_graph(Backend& be);                  // graph.cc
void test_linear_epilogues(Backend& be);       // linear.cc
void test_transfers(Backend& be, bool quick);  // memory.cc
void test_memory(Backend& be);                 // memory.cc
#ifdef ALEXNET_SELFTEST_CUDA
void test_device_lost(Backend& be);  // cuda.cc; leaves the CUDA context unusable
void test_fused_conv_directly();     // cuda.cc
void test_conv2d_graph();            // conv2d_graph.cc: the graph engine directly, every path forced
#endif

// bench.cc: timings, not checks.
void bench(Backend& be, MathMode mode);
void bench_small_ops(Backend& be);

// ---- conv2d.cc: the convolution's reference, also used by cuda.cc --------------------------------

struct ConvCase {
  const char* name;
  int64_t n, c, h, w, o, kh, kw;
  Conv2dGeometry g;
  bool bias, relu;
};

int64_t conv_out(int64_t in, int pad_a, int pad_b, int64_t k, int s);
void conv_ref(const ConvCase& cc, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
              const std::vector<float>& dy, std::vector<double>* y, std::vector<double>* dx, std::vector<double>* dw,
              std::vector<double>* db);

}  // namespace alexnet::selftest
