// Local response normalization forward and backward against the formula in double precision.
#include <algorithm>
#include <cmath>

#include "selftest.h"

namespace alexnet::selftest {

namespace {

void lrn_ref(const LrnParams& p, int64_t n, int64_t c, int64_t hw, const std::vector<float>& x,
             const std::vector<float>& dy, std::vector<double>* y, std::vector<double>* dx) {
  y->assign(x.size(), 0);
  dx->assign(x.size(), 0);
  const int half = p.size / 2;
  std::vector<double> s(static_cast<size_t>(c));
  for (int64_t img = 0; img < n; ++img)
    for (int64_t q = 0; q < hw; ++q) {
      auto at = [&](int64_t ch) { return static_cast<size_t>((img * c + ch) * hw + q); };
      for (int64_t ch = 0; ch < c; ++ch) {
        double sum = 0;
        for (int64_t j = std::max<int64_t>(0, ch - half); j <= std::min<int64_t>(c - 1, ch + half); ++j)
          sum += double(x[at(j)]) * x[at(j)];
        s[static_cast<size_t>(ch)] = p.k + p.alpha / p.size * sum;
        (*y)[at(ch)] = x[at(ch)] * std::pow(s[static_cast<size_t>(ch)], -p.beta);
      }
      for (int64_t j = 0; j < c; ++j) {
        double g = dy[at(j)] * std::pow(s[static_cast<size_t>(j)], -p.beta);
        for (int64_t ch = std::max<int64_t>(0, j - half); ch <= std::min<int64_t>(c - 1, j + half); ++ch)
          g -= 2.0 * p.alpha * p.beta / p.size * x[at(j)] * dy[at(ch)] * x[at(ch)] *
               std::pow(s[static_cast<size_t>(ch)], -p.beta - 1);
        (*dx)[at(j)] = g;
      }
    }
}

void check_lrn(Backend& be, const LrnParams& p, const char* name) {
  const int64_t n = 2, c = 11, h = 5, w = 6;
  const auto xv = random_vector(static_cast<size_t>(n * c * h * w), 11, -2.0f, 2.0f);
  const auto dyv = random_vector(xv.size(), 12);
  std::vector<double> y, dx;
  lrn_ref(p, n, c, h * w, xv, dyv, &y, &dx);
  Tensor x = make_from(be, {n, c, h, w}, xv);
  Tensor yt = make(be, x.shape);
  be.lrn_forward(p, x, yt);
  compare(std::string("lrn ") + name + " forward", get(be, yt), y, 1e-4, 1e-5);
  Tensor dyt = make_from(be, x.shape, dyv);
  Tensor dxt = make(be, x.shape);
  be.lrn_backward(p, x, yt, dyt, dxt);
  compare(std::string("lrn ") + name + " backward", get(be, dxt), dx, 1e-4, 1e-5);
}

}  // namespace

void test_lrn(Backend& be) {
  check_lrn(be, LrnParams{5, 1e-4, 0.75, 2.0}, "paper (n5 a1e-4 b.75 k2)");
  check_lrn(be, LrnParams{5, 1.0, 0.75, 1.0}, "strong (n5 a1 b.75 k1)");
  check_lrn(be, LrnParams{3, 0.5, 0.6, 1.5}, "n3 a.5 b.6 k1.5");
}

}  // namespace alexnet::selftest
