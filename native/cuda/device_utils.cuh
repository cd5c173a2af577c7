// Helpers shared by the .cu files: launch geometry, ReLU and deterministic block reductions.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace alexnet::cuda {

constexpr int kThreads = 256;  // threads per block of the elementwise kernels

// Blocks for a grid-stride loop over n elements: enough to fill any current GPU, never more than
// the work (n > 0 is the caller's business: launchers return early on empty tensors).
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  const int64_t cap = 8192;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

// Grid-stride loop index helpers, 64-bit so that large tensors cannot overflow.
__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// ReLU as PyTorch computes it: x <= 0 ? 0 : x lets NaN through (activation.cu, and the
// convolution's bias epilogue in conv2d.cu).
__device__ __forceinline__ float relu(float v) { return v <= 0.0f ? 0.0f : v; }

// Sum of one value per thread over a block of exactly kBlock threads (a power of two), by a fixed
// tree: the same inputs always give the same bits. Every thread gets the result. `shared` holds
// kBlock elements. Must be reached by all threads of the block.
template <typename T, int kBlock>
__device__ T block_sum(T value, T* shared) {
  static_assert((kBlock & (kBlock - 1)) == 0, "block size must be a power of two");
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kBlock / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] = shared[threadIdx.x] + shared[threadIdx.x + stride];
    __syncthreads();
  }
  const T total = shared[0];
  __syncthreads();  // shared may be reused right after
  return total;
}

// Maximum over the block, ignoring NaN as fmaxf does (the CPU build's softmax does the same).
template <int kBlock>
__device__ float block_max(float value, float* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kBlock / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + stride]);
    __syncthreads();
  }
  const float total = shared[0];
  __syncthreads();
  return total;
}

}  // namespace alexnet::cuda
