// Timing on the stream, for the convolution engines' choices: warm-up runs, then the median of a
// few runs each timed by a pair of CUDA events.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <vector>

#include "check.h"

namespace alexnet::cuda {

constexpr int kTimingWarmupRuns = 1;
constexpr int kTimingRuns = 5;

// Two timing events, destroyed without throwing.
class EventPair {
 public:
  EventPair() {
    CUDA_CHECK(cudaEventCreate(&start_));
    const cudaError_t status = cudaEventCreate(&stop_);
    if (status != cudaSuccess) {
      cudaEventDestroy(start_);
      check_cuda(status, "cudaEventCreate");
    }
  }
  ~EventPair() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;
  cudaEvent_t start() const { return start_; }
  cudaEvent_t stop() const { return stop_; }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// `fn` queues the work on `stream` and returns false when a library call failed. Returns the median
// in milliseconds, or -1 when any run failed.
template <typename Fn>
float median_ms(cudaStream_t stream, Fn fn, int warmup = kTimingWarmupRuns, int runs = kTimingRuns) {
  EventPair events;
  for (int i = 0; i < warmup; ++i)
    if (!fn()) return -1;
  std::vector<float> times;
  for (int i = 0; i < runs; ++i) {
    CUDA_CHECK(cudaEventRecord(events.start(), stream));
    if (!fn()) return -1;
    CUDA_CHECK(cudaEventRecord(events.stop(), stream));
    CUDA_CHECK(cudaEventSynchronize(events.stop()));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, events.start(), events.stop()));
    times.push_back(ms);
  }
  if (times.empty()) return -1;
  std::nth_element(times.begin(), times.begin() + static_cast<long>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

}  // namespace alexnet::cuda
