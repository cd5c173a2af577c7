// Max pooling (ties, NaN, padding; the gradient to each window's first maximum) and adaptive
// average pooling, forward and backward, against direct loops.
#include <algorithm>
#include <cmath>
#include <limits>

#include "selftest.h"

namespace alexnet::selftest {

namespace {

void check_max_pool(Backend& be, const Pool2dGeometry& g, const char* name, bool ties) {
  const int64_t n = 2, c = 3, h = 13, w = 11;
  const int64_t oh = (h + 2 * g.pad_h - g.kernel_h) / g.stride_h + 1,
                ow = (w + 2 * g.pad_w - g.kernel_w) / g.stride_w + 1;
  auto xv =
      ties ? tie_vector(static_cast<size_t>(n * c * h * w), 21) : random_vector(static_cast<size_t>(n * c * h * w), 21);
  if (!ties) xv[5] = std::numeric_limits<float>::quiet_NaN();  // NaN wins its windows
  const auto dyv = random_vector(static_cast<size_t>(n * c * oh * ow), 22);
  std::vector<double> y(dyv.size()), dx(xv.size(), 0.0);
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        float best = -INFINITY;
        int64_t bi = -1;
        for (int64_t a = std::max<int64_t>(0, i * g.stride_h - g.pad_h);
             a < std::min(h, i * g.stride_h - g.pad_h + g.kernel_h); ++a)
          for (int64_t b = std::max<int64_t>(0, j * g.stride_w - g.pad_w);
               b < std::min(w, j * g.stride_w - g.pad_w + g.kernel_w); ++b) {
            const float v = xv[static_cast<size_t>((p * h + a) * w + b)];
            if (bi >= 0 && std::isnan(best)) continue;
            if (bi < 0 || v > best || std::isnan(v)) {
              best = v;
              bi = (p * h + a) * w + b;
            }
          }
        const size_t o = static_cast<size_t>((p * oh + i) * ow + j);
        y[o] = best;
        dx[static_cast<size_t>(bi)] += dyv[o];
      }
  Tensor x = make_from(be, {n, c, h, w}, xv);
  Tensor yt = make(be, {n, c, oh, ow});
  be.max_pool2d_forward(g, x, yt);
  compare(std::string("max pool ") + name + " forward", get(be, yt), y, 0, 0);
  Tensor dyt = make_from(be, yt.shape, dyv);
  Tensor dxt = make(be, x.shape);
  be.fill(dxt, 123.0f);
  be.max_pool2d_backward(g, x, yt, dyt, dxt);
  compare(std::string("max pool ") + name + " backward", get(be, dxt), dx, 1e-6, 1e-6);
}

void check_adaptive(Backend& be, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  const int64_t n = 2, c = 3;
  const auto xv = random_vector(static_cast<size_t>(n * c * h * w), 31);
  const auto dyv = random_vector(static_cast<size_t>(n * c * oh * ow), 32);
  std::vector<double> y(dyv.size()), dx(xv.size(), 0.0);
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t h0 = i * h / oh, h1 = ((i + 1) * h + oh - 1) / oh, w0 = j * w / ow,
                      w1 = ((j + 1) * w + ow - 1) / ow;
        double s = 0;
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) s += xv[static_cast<size_t>((p * h + a) * w + b)];
        const double area = double((h1 - h0) * (w1 - w0));
        const size_t o = static_cast<size_t>((p * oh + i) * ow + j);
        y[o] = s / area;
        for (int64_t a = h0; a < h1; ++a)
          for (int64_t b = w0; b < w1; ++b) dx[static_cast<size_t>((p * h + a) * w + b)] += dyv[o] / area;
      }
  const std::string name = "adaptive avg pool " + std::to_string(h) + "x" + std::to_string(w) + "->" +
                           std::to_string(oh) + "x" + std::to_string(ow);
  Tensor x = make_from(be, {n, c, h, w}, xv);
  Tensor yt = make(be, {n, c, oh, ow});
  be.adaptive_avg_pool2d_forward(x, yt);
  compare(name + " forward", get(be, yt), y, 1e-5, 1e-6);
  Tensor dyt = make_from(be, yt.shape, dyv);
  Tensor dxt = make(be, x.shape);
  be.fill(dxt, 123.0f);
  be.adaptive_avg_pool2d_backward(dyt, dxt);
  compare(name + " backward", get(be, dxt), dx, 1e-5, 1e-6);
}

}  // namespace

void test_max_pool2d(Backend& be) {
  Pool2dGeometry g;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = 2;
  check_max_pool(be, g, "3x3 s2 ties", true);
  check_max_pool(be, g, "3x3 s2 NaN", false);
  g.pad_h = g.pad_w = 1;
  check_max_pool(be, g, "3x3 s2 p1 ties", true);
  g.kernel_h = 2;
  g.kernel_w = 3;
  g.stride_h = 1;
  g.stride_w = 3;
  g.pad_h = 1;
  g.pad_w = 0;
  check_max_pool(be, g, "2x3 s1x3 p1x0 ties", true);
}

void test_adaptive_avg_pool2d(Backend& be) {
  check_adaptive(be, 13, 13, 6, 6);
  check_adaptive(be, 5, 4, 6, 6);
  check_adaptive(be, 6, 6, 6, 6);
  check_adaptive(be, 11, 7, 3, 5);
}

}  // namespace alexnet::selftest
