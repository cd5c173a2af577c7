// Max pooling and adaptive average pooling, with PyTorch's semantics exactly as the CPU build
// (native/cpu/pool2d.cc) implements them:
//  - max pooling: floor mode, symmetric padding that never wins, the FIRST maximum of a window gets
//    the gradient (and a NaN wins the window). cuDNN's pooling does not promise which of equal
//    maxima gets the gradient, so this is done here. The backward finds each window's first
//    maximum again from x (into a temporary index per output), then every input element gathers
//    the gradients of the windows whose maximum it is, in window order: no atomics, deterministic.
//  - adaptive average pooling: window i of `out` over `in` is [floor(i*in/out), ceil((i+1)*in/out)).
//    The backward is a gather too: each input element sums dy/area over the windows containing it,
//    in the CPU build's order.
#include "check.h"
#include "context.h"
#include "device_utils.cuh"
#include "kernels.h"

namespace alexnet::cuda {
namespace {

// Index arithmetic inside a plane is 32-bit (the launchers check that a plane fits), which keeps
// the per-element cost low; only the plane number is 64-bit.
struct PoolShape {
  int64_t planes;
  int h, w, oh, ow;
  int kh, kw, sh, sw, ph, pw;
};

// Index within the plane of the first maximum of window (oh, ow), -1 for an empty window (which
// the shape checks rule out); *max_out gets its value. Same loop as the CPU build's.
__device__ int window_argmax(const float* plane, const PoolShape& s, int oh, int ow, float* max_out) {
  const int h0 = oh * s.sh - s.ph, w0 = ow * s.sw - s.pw;
  const int h1 = min(h0 + s.kh, s.h), w1 = min(w0 + s.kw, s.w);
  float best = -INFINITY;
  int best_index = -1;
  for (int h = max(h0, 0); h < h1; ++h)
    for (int w = max(w0, 0); w < w1; ++w) {
      const float v = plane[h * s.w + w];
      if (v > best || isnan(v) || best_index < 0) {
        best = v;
        best_index = h * s.w + w;
        if (isnan(v)) {
          *max_out = v;
          return best_index;
        }
      }
    }
  *max_out = best;
  return best_index;
}

__global__ void max_pool_forward_kernel(PoolShape s, const float* x, float* y) {
  const int64_t plane_out = static_cast<int64_t>(s.oh) * s.ow, plane_in = static_cast<int64_t>(s.h) * s.w;
  const int64_t total = s.planes * plane_out;
  for (int64_t o = global_thread(); o < total; o += grid_stride()) {
    const int64_t p = o / plane_out;
    const int r = static_cast<int>(o - p * plane_out), oh = r / s.ow, ow = r - oh * s.ow;
    float m;
    window_argmax(x + p * plane_in, s, oh, ow, &m);
    y[o] = m;
  }
}

__global__ void max_pool_argmax_kernel(PoolShape s, const float* x, int32_t* argmax) {
  const int64_t plane_out = static_cast<int64_t>(s.oh) * s.ow, plane_in = static_cast<int64_t>(s.h) * s.w;
  const int64_t total = s.planes * plane_out;
  for (int64_t o = global_thread(); o < total; o += grid_stride()) {
    const int64_t p = o / plane_out;
    const int r = static_cast<int>(o - p * plane_out), oh = r / s.ow, ow = r - oh * s.ow;
    float m;
    argmax[o] = window_argmax(x + p * plane_in, s, oh, ow, &m);
  }
}

// The outputs whose windows (start = o*stride - pad, length kernel) contain input index i:
// o from ceil((i + pad - kernel + 1) / stride) to floor((i + pad) / stride), clipped to [0, out).
__device__ void covering_windows(int i, int kernel, int stride, int pad, int out, int* lo, int* hi) {
  const int first = i + pad - kernel + 1;
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  *hi = min((i + pad) / stride, out - 1);
}

__global__ void max_pool_backward_kernel(PoolShape s, const int32_t* argmax, const float* dy, float* dx) {
  const int64_t plane_out = static_cast<int64_t>(s.oh) * s.ow, plane_in = static_cast<int64_t>(s.h) * s.w;
  const int64_t total = s.planes * plane_in;
  for (int64_t e = global_thread(); e < total; e += grid_stride()) {
    const int64_t p = e / plane_in;
    const int here = static_cast<int>(e - p * plane_in), ih = here / s.w, iw = here - ih * s.w;
    int oh_lo, oh_hi, ow_lo, ow_hi;
    covering_windows(ih, s.kh, s.sh, s.ph, s.oh, &oh_lo, &oh_hi);
    covering_windows(iw, s.kw, s.sw, s.pw, s.ow, &ow_lo, &ow_hi);
    const int32_t* am = argmax + p * plane_out;
    const float* g = dy + p * plane_out;
    float sum = 0.0f;
    for (int oh = oh_lo; oh <= oh_hi; ++oh)
      for (int ow = ow_lo; ow <= ow_hi; ++ow) {
        const int o = oh * s.ow + ow;
        if (am[o] == here) sum = __fadd_rn(sum, g[o]);
      }
    dx[e] = sum;
  }
}

__device__ __forceinline__ int64_t adaptive_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
__device__ __forceinline__ int64_t adaptive_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

__global__ void adaptive_avg_forward_kernel(const float* x, float* y, int64_t planes, int64_t h, int64_t w, int64_t oh,
                                            int64_t ow) {
  const int64_t total = planes * oh * ow;
  for (int64_t o = global_thread(); o < total; o += grid_stride()) {
    const int64_t j = o % ow, i = (o / ow) % oh, p = o / (ow * oh);
    const int64_t h0 = adaptive_start(i, h, oh), h1 = adaptive_end(i, h, oh);
    const int64_t w0 = adaptive_start(j, w, ow), w1 = adaptive_end(j, w, ow);
    const float* plane = x + p * h * w;
    float sum = 0.0f;
    for (int64_t a = h0; a < h1; ++a)
      for (int64_t b = w0; b < w1; ++b) sum = __fadd_rn(sum, plane[a * w + b]);
    y[o] = __fdiv_rn(sum, static_cast<float>((h1 - h0) * (w1 - w0)));
  }
}

// The windows of `out` over `in` that contain index a lie in [floor(a*out/in), ceil((a+1)*out/in) - 1];
// one more on each side is scanned and membership tested exactly, so rounding cannot drop one.
__device__ void adaptive_covering(int64_t a, int64_t in, int64_t out, int64_t* lo, int64_t* hi) {
  const int64_t l = (a * out) / in - 1, h = ((a + 1) * out + in - 1) / in;
  *lo = l > 0 ? l : 0;
  *hi = h < out - 1 ? h : out - 1;
}

__global__ void adaptive_avg_backward_kernel(const float* dy, float* dx, int64_t planes, int64_t h, int64_t w,
                                             int64_t oh, int64_t ow) {
  const int64_t total = planes * h * w;
  for (int64_t e = global_thread(); e < total; e += grid_stride()) {
    const int64_t b = e % w, a = (e / w) % h, p = e / (w * h);
    int64_t i_lo, i_hi, j_lo, j_hi;
    adaptive_covering(a, h, oh, &i_lo, &i_hi);
    adaptive_covering(b, w, ow, &j_lo, &j_hi);
    const float* grad = dy + p * oh * ow;
    float sum = 0.0f;
    for (int64_t i = i_lo; i <= i_hi; ++i) {
      const int64_t h0 = adaptive_start(i, h, oh), h1 = adaptive_end(i, h, oh);
      if (a < h0 || a >= h1) continue;
      for (int64_t j = j_lo; j <= j_hi; ++j) {
        const int64_t w0 = adaptive_start(j, w, ow), w1 = adaptive_end(j, w, ow);
        if (b < w0 || b >= w1) continue;
        sum = __fadd_rn(sum, __fdiv_rn(grad[i * ow + j], static_cast<float>((h1 - h0) * (w1 - w0))));
      }
    }
    dx[e] = sum;
  }
}

PoolShape pool_shape(const Pool2dGeometry& g, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  // Padded extents must fit in int too, as the window arithmetic adds the padding and kernel.
  const int64_t limit = INT32_MAX / 2;
  if (h * w > limit || oh * ow > limit || h + 2 * int64_t(g.pad_h) + g.kernel_h > limit ||
      w + 2 * int64_t(g.pad_w) + g.kernel_w > limit)
    throw_cuda_error(cudaErrorInvalidValue, "max pooling (a plane of more than 2^30 elements)");
  return PoolShape{planes,     static_cast<int>(h), static_cast<int>(w), static_cast<int>(oh), static_cast<int>(ow),
                   g.kernel_h, g.kernel_w,          g.stride_h,          g.stride_w,           g.pad_h,
                   g.pad_w};
}

}  // namespace

void launch_max_pool2d_forward(cudaStream_t stream, const Pool2dGeometry& g, const Tensor& x, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
  const int64_t total = planes * oh * ow;
  if (total <= 0) return;
  max_pool_forward_kernel<<<grid_for(total), kThreads, 0, stream>>>(pool_shape(g, planes, h, w, oh, ow), x.f32(),
                                                                    y.f32());
  check_launch("max_pool_forward_kernel");
}

void launch_max_pool2d_backward(CudaContext& ctx, const Pool2dGeometry& g, const Tensor& x, const Tensor& dy,
                                const Tensor& dx) {
  if (dx.numel() == 0) return;
  // Each window's first maximum, as an index into its plane: planes * oh * ow int32.
  Tensor argmax = ctx.temporary({dy.numel() > 0 ? dy.numel() : 1}, DType::i32);
  cudaStream_t stream = ctx.stream();
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = dy.dim(2), ow = dy.dim(3);
  const int64_t outputs = planes * oh * ow, inputs = planes * h * w;
  if (inputs <= 0) return;
  const PoolShape s = pool_shape(g, planes, h, w, oh, ow);
  if (outputs > 0) {
    max_pool_argmax_kernel<<<grid_for(outputs), kThreads, 0, stream>>>(s, x.f32(), argmax.i32());
    check_launch("max_pool_argmax_kernel");
  }
  max_pool_backward_kernel<<<grid_for(inputs), kThreads, 0, stream>>>(s, argmax.i32(), dy.f32(), dx.f32());
  check_launch("max_pool_backward_kernel");
}

void launch_adaptive_avg_pool2d_forward(cudaStream_t stream, const Tensor& x, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
  const int64_t total = planes * oh * ow;
  if (total <= 0 || h <= 0 || w <= 0) return;
  adaptive_avg_forward_kernel<<<grid_for(total), kThreads, 0, stream>>>(x.f32(), y.f32(), planes, h, w, oh, ow);
  check_launch("adaptive_avg_forward_kernel");
}

void launch_adaptive_avg_pool2d_backward(cudaStream_t stream, const Tensor& dy, const Tensor& dx) {
  const int64_t planes = dx.dim(0) * dx.dim(1), h = dx.dim(2), w = dx.dim(3), oh = dy.dim(2), ow = dy.dim(3);
  const int64_t total = planes * h * w;
  if (total <= 0 || oh <= 0 || ow <= 0) return;
  adaptive_avg_backward_kernel<<<grid_for(total), kThreads, 0, stream>>>(dy.f32(), dx.f32(), planes, h, w, oh, ow);
  check_launch("adaptive_avg_backward_kernel");
}

}  // namespace alexnet::cuda
