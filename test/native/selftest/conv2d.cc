// Convolution forward, backward-data and backward-filter (grouped, strided, asymmetric padding,
// fused bias and ReLU) against a direct double-precision loop, in fp32 and tf32; and the
// deterministic mode's repeatability.
#include <limits>

#include "selftest.h"

namespace alexnet::selftest {

int64_t conv_out(int64_t in, int pad_a, int pad_b, int64_t k, int s) { return (in + pad_a + pad_b - k) / s + 1; }

void conv_ref(const ConvCase& cc, const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& b,
              const std::vector<float>& dy, std::vector<double>* y, std::vector<double>* dx, std::vector<double>* dw,
              std::vector<double>* db) {
  const auto& g = cc.g;
  const int64_t oh = conv_out(cc.h, g.pad_top, g.pad_bottom, cc.kh, g.stride_h);
  const int64_t ow = conv_out(cc.w, g.pad_left, g.pad_right, cc.kw, g.stride_w);
  const int64_t cpg = cc.c / g.groups, opg = cc.o / g.groups;
  y->assign(static_cast<size_t>(cc.n * cc.o * oh * ow), 0.0);
  dx->assign(static_cast<size_t>(cc.n * cc.c * cc.h * cc.w), 0.0);
  dw->assign(static_cast<size_t>(cc.o * cpg * cc.kh * cc.kw), 0.0);
  db->assign(static_cast<size_t>(cc.o), 0.0);
  for (int64_t n = 0; n < cc.n; ++n)
    for (int64_t o = 0; o < cc.o; ++o) {
      const int64_t grp = o / opg;
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          const size_t yi = static_cast<size_t>(((n * cc.o + o) * oh + i) * ow + j);
          double acc = cc.bias ? b[static_cast<size_t>(o)] : 0.0;
          const double gy = dy[yi];
          (*db)[static_cast<size_t>(o)] += gy;
          for (int64_t c = 0; c < cpg; ++c)
            for (int64_t p = 0; p < cc.kh; ++p)
              for (int64_t q = 0; q < cc.kw; ++q) {
                const int64_t hh = i * g.stride_h - g.pad_top + p, ww = j * g.stride_w - g.pad_left + q;
                if (hh < 0 || hh >= cc.h || ww < 0 || ww >= cc.w) continue;
                const int64_t ci = grp * cpg + c;
                const size_t xi = static_cast<size_t>(((n * cc.c + ci) * cc.h + hh) * cc.w + ww);
                const size_t wi = static_cast<size_t>(((o * cpg + c) * cc.kh + p) * cc.kw + q);
                acc += double(x[xi]) * w[wi];
                (*dx)[xi] += gy * w[wi];
                (*dw)[wi] += gy * x[xi];
              }
          (*y)[yi] = cc.relu ? (acc <= 0 ? 0.0 : acc) : acc;
        }
    }
}

namespace {

void check_conv(Backend& be, const ConvCase& cc, double rtol, double atol, const char* tag, bool prefill_nan) {
  const auto& g = cc.g;
  const int64_t oh = conv_out(cc.h, g.pad_top, g.pad_bottom, cc.kh, g.stride_h);
  const int64_t ow = conv_out(cc.w, g.pad_left, g.pad_right, cc.kw, g.stride_w);
  const auto xv = random_vector(static_cast<size_t>(cc.n * cc.c * cc.h * cc.w), 1);
  const auto wv = random_vector(static_cast<size_t>(cc.o * (cc.c / g.groups) * cc.kh * cc.kw), 2, -0.3f, 0.3f);
  const auto bv = random_vector(static_cast<size_t>(cc.o), 3);
  const auto dyv = random_vector(static_cast<size_t>(cc.n * cc.o * oh * ow), 4);
  std::vector<double> y, dx, dw, db;
  conv_ref(cc, xv, wv, bv, dyv, &y, &dx, &dw, &db);
  Tensor x = make_from(be, {cc.n, cc.c, cc.h, cc.w}, xv);
  Tensor w = make_from(be, {cc.o, cc.c / g.groups, cc.kh, cc.kw}, wv);
  OptTensor b;
  if (cc.bias) b = make_from(be, {cc.o}, bv);
  Tensor yt = make(be, {cc.n, cc.o, oh, ow});
  if (prefill_nan) be.fill(yt, std::numeric_limits<float>::quiet_NaN());
  be.conv2d_forward(g, x, w, b, yt, cc.relu);
  const std::string base = std::string("conv ") + cc.name + " " + tag;
  compare(base + " forward", get(be, yt), y, rtol, atol);
  // Twice: the second call runs the cached plan.
  be.conv2d_forward(g, x, w, b, yt, cc.relu);
  compare(base + " forward (cached plan)", get(be, yt), y, rtol, atol);

  Tensor dyt = make_from(be, {cc.n, cc.o, oh, ow}, dyv);
  Tensor dxt = make(be, {cc.n, cc.c, cc.h, cc.w});
  be.fill(dxt, std::numeric_limits<float>::quiet_NaN());
  be.conv2d_backward_data(g, dyt, w, dxt);
  compare(base + " backward data", get(be, dxt), dx, rtol, atol);

  Tensor dwt = make(be, w.shape);
  be.fill(dwt, std::numeric_limits<float>::quiet_NaN());
  OptTensor dbt;
  if (cc.bias) dbt = make(be, {cc.o});
  be.conv2d_backward_filter(g, x, dyt, dwt, dbt);
  compare(base + " backward filter", get(be, dwt), dw, rtol, atol);
  if (cc.bias) compare(base + " backward bias", get(be, *dbt), db, 1e-5, 1e-5);
}

}  // namespace

void test_conv2d(Backend& be) {
  std::vector<ConvCase> cases;
  ConvCase a{"conv1-like k11 s4 p2 bias+relu", 2, 3, 35, 35, 8, 11, 11, {}, true, true};
  a.g.stride_h = a.g.stride_w = 4;
  a.g.pad_top = a.g.pad_bottom = a.g.pad_left = a.g.pad_right = 2;
  cases.push_back(a);
  ConvCase b{"grouped k5 p2 g2 bias", 2, 8, 9, 9, 12, 5, 5, {}, true, false};
  b.g.pad_top = b.g.pad_bottom = b.g.pad_left = b.g.pad_right = 2;
  b.g.groups = 2;
  cases.push_back(b);
  ConvCase c{"asymmetric pad t0 b1 l1 r0 s2", 2, 3, 8, 7, 4, 3, 3, {}, true, true};
  c.g.stride_h = c.g.stride_w = 2;
  c.g.pad_top = 0;
  c.g.pad_bottom = 1;
  c.g.pad_left = 1;
  c.g.pad_right = 0;
  cases.push_back(c);
  ConvCase d{"no bias, relu, rectangular stride", 3, 4, 10, 12, 6, 3, 2, {}, false, true};
  d.g.stride_h = 1;
  d.g.stride_w = 2;
  d.g.pad_top = d.g.pad_bottom = 1;
  cases.push_back(d);
  ConvCase e{"wide (channels 64->96, k3 p1) bias+relu", 4, 64, 13, 13, 96, 3, 3, {}, true, true};
  e.g.pad_top = e.g.pad_bottom = e.g.pad_left = e.g.pad_right = 1;
  cases.push_back(e);
  ConvCase f{"asymmetric SAME-like t1 b2 l1 r2 grouped", 2, 4, 9, 9, 6, 4, 4, {}, true, false};
  f.g.pad_top = 1;
  f.g.pad_bottom = 2;
  f.g.pad_left = 1;
  f.g.pad_right = 2;
  f.g.groups = 2;
  cases.push_back(f);
  for (const auto& cc : cases) check_conv(be, cc, 1e-4, 1e-4, "fp32", true);
  be.set_math_mode(MathMode::tf32);
  for (const auto& cc : cases) check_conv(be, cc, 1e-2, 1e-2, "tf32", true);
  be.set_math_mode(MathMode::fp32);
}

void test_determinism(Backend& be) {
  be.set_deterministic(true);
  ConvCase cc{"deterministic", 16, 32, 27, 27, 64, 5, 5, {}, true, false};
  cc.g.pad_top = cc.g.pad_bottom = cc.g.pad_left = cc.g.pad_right = 2;
  const int64_t oh = 27, ow = 27;
  Tensor x = make_from(be, {cc.n, cc.c, cc.h, cc.w}, random_vector(static_cast<size_t>(cc.n * cc.c * cc.h * cc.w), 91));
  Tensor dy = make_from(be, {cc.n, cc.o, oh, ow}, random_vector(static_cast<size_t>(cc.n * cc.o * oh * ow), 92));
  Tensor w = make_from(be, {cc.o, cc.c, 5, 5}, random_vector(static_cast<size_t>(cc.o * cc.c * 25), 93));
  Tensor dw = make(be, {cc.o, cc.c, 5, 5}), dx = make(be, x.shape);
  be.conv2d_backward_filter(cc.g, x, dy, dw, std::nullopt);
  be.conv2d_backward_data(cc.g, dy, w, dx);
  const auto first_w = get(be, dw), first_x = get(be, dx);
  bool same = true;
  for (int i = 0; i < 3; ++i) {
    be.conv2d_backward_filter(cc.g, x, dy, dw, std::nullopt);
    be.conv2d_backward_data(cc.g, dy, w, dx);
    same = same && get(be, dw) == first_w && get(be, dx) == first_x;
  }
  report(same, "deterministic mode: conv backward repeats bit for bit", "");
  be.set_deterministic(false);
}

}  // namespace alexnet::selftest
