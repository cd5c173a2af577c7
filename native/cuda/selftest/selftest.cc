// A standalone check of a backend through the op interface alone (core/backend.h), against naive
// double-precision references written here. It links with either build's backend, so it runs here
// on the CPU build (which checks the checks) and on a GPU machine with the CUDA build:
//   bash native/cuda/selftest/run.sh        (see there)
// Prints one line per check and exits non-zero when any fails. No Node.js needed.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/errors.h"
#include "core/philox.h"

#ifdef ALEXNET_SELFTEST_CUDA
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <cuda_runtime_api.h>
#include <cudnn.h>
void launch_illegal_address_kernel();  // fault.cu
#endif

using namespace alexnet;

namespace {

int failures = 0;
int checks = 0;

void report(bool ok, const std::string& name, const std::string& detail) {
  ++checks;
  if (!ok) ++failures;
  std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  std::fflush(stdout);
}

Tensor make(Backend& be, const Shape& s, DType t = DType::f32) {
  Tensor x;
  x.shape = s;
  x.dtype = t;
  x.storage = be.allocate(x.bytes());
  return x;
}

Tensor make_from(Backend& be, const Shape& s, const std::vector<float>& v) {
  Tensor t = make(be, s);
  if (static_cast<int64_t>(v.size()) != t.numel()) throw std::runtime_error("make_from: size mismatch");
  be.upload(t, v.data());
  return t;
}

Tensor make_labels(Backend& be, const std::vector<int32_t>& v) {
  Tensor t = make(be, {static_cast<int64_t>(v.size())}, DType::i32);
  be.upload(t, v.data());
  return t;
}

std::vector<float> get(Backend& be, const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  be.download(t, v.data())->wait();
  return v;
}

std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// Small integers: many exact ties (max pooling, top-k).
std::vector<float> tie_vector(size_t n, uint32_t seed, int levels = 4) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(0, levels - 1);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(dist(gen));
  return v;
}

// |got - want| <= atol + rtol * |want| everywhere (NaN must match NaN); prints the worst element.
void compare(const std::string& name, const std::vector<float>& got, const std::vector<double>& want, double rtol,
             double atol) {
  if (got.size() != want.size()) {
    report(false, name, "size " + std::to_string(got.size()) + " vs " + std::to_string(want.size()));
    return;
  }
  double worst = 0, worst_excess = -1;
  size_t at = 0;
  bool ok = true;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g)) {
        ok = false;
        if (worst_excess < 1e30) {
          worst_excess = 1e30;
          at = i;
        }
      }
      continue;
    }
    const double err = std::fabs(g - w), allowed = atol + rtol * std::fabs(w);
    if (err > allowed) ok = false;
    if (err - allowed > worst_excess) {
      worst_excess = err - allowed;
      worst = err;
      at = i;
    }
  }
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%zu elements, worst at %zu: got %.9g want %.9g (err %.3g)", got.size(), at,
                got.empty() ? 0.0 : double(got[at]), want.empty() ? 0.0 : want[at], worst);
  report(ok, name, buf);
}

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

void exact(const std::string& name, const std::vector<float>& got, const std::vector<float>& want) {
  bool ok = got.size() == want.size();
  size_t bad = 0, first = 0;
  for (size_t i = 0; ok && i < got.size(); ++i) {
    const bool same = std::memcmp(&got[i], &want[i], sizeof(float)) == 0 || (std::isnan(got[i]) && std::isnan(want[i]));
    if (!same) {
      if (bad++ == 0) first = i;
    }
  }
  if (bad) ok = false;
  char buf[200];
  if (bad)
    std::snprintf(buf, sizeof(buf), "%zu of %zu differ, first at %zu: got %.9g want %.9g", bad, got.size(), first,
                  double(got[first]), double(want[first]));
  else
    std::snprintf(buf, sizeof(buf), "%zu elements bit-identical", got.size());
  report(ok, name, buf);
}

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

// ---- references ---------------------------------------------------------------------------

struct ConvCase {
  const char* name;
  int64_t n, c, h, w, o, kh, kw;
  Conv2dGeometry g;
  bool bias, relu;
};

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

void test_conv(Backend& be, const ConvCase& cc, double rtol, double atol, const char* tag, bool prefill_nan) {
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

void test_lrn(Backend& be, const LrnParams& p, const char* name) {
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

void test_max_pool(Backend& be, const Pool2dGeometry& g, const char* name, bool ties) {
  const int64_t n = 2, c = 3, h = 13, w = 11;
  const int64_t oh = (h + 2 * g.pad_h - g.kernel_h) / g.stride_h + 1, ow = (w + 2 * g.pad_w - g.kernel_w) / g.stride_w + 1;
  auto xv = ties ? tie_vector(static_cast<size_t>(n * c * h * w), 21) : random_vector(static_cast<size_t>(n * c * h * w), 21);
  if (!ties) xv[5] = std::numeric_limits<float>::quiet_NaN();  // NaN wins its windows
  const auto dyv = random_vector(static_cast<size_t>(n * c * oh * ow), 22);
  std::vector<double> y(dyv.size()), dx(xv.size(), 0.0);
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        float best = -INFINITY;
        int64_t bi = -1;
        for (int64_t a = std::max<int64_t>(0, i * g.stride_h - g.pad_h); a < std::min(h, i * g.stride_h - g.pad_h + g.kernel_h); ++a)
          for (int64_t b = std::max<int64_t>(0, j * g.stride_w - g.pad_w); b < std::min(w, j * g.stride_w - g.pad_w + g.kernel_w); ++b) {
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

void test_adaptive(Backend& be, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  const int64_t n = 2, c = 3;
  const auto xv = random_vector(static_cast<size_t>(n * c * h * w), 31);
  const auto dyv = random_vector(static_cast<size_t>(n * c * oh * ow), 32);
  std::vector<double> y(dyv.size()), dx(xv.size(), 0.0);
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t h0 = i * h / oh, h1 = ((i + 1) * h + oh - 1) / oh, w0 = j * w / ow, w1 = ((j + 1) * w + ow - 1) / ow;
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

void test_linear(Backend& be, int64_t n, int64_t in, int64_t out, bool bias, bool relu, double rtol, double atol,
                 const char* tag) {
  const auto xv = random_vector(static_cast<size_t>(n * in), 41);
  const auto wv = random_vector(static_cast<size_t>(out * in), 42, -0.2f, 0.2f);
  const auto bv = random_vector(static_cast<size_t>(out), 43);
  const auto dyv = random_vector(static_cast<size_t>(n * out), 44);
  std::vector<double> y(static_cast<size_t>(n * out)), dx(static_cast<size_t>(n * in), 0.0), dw(static_cast<size_t>(out * in), 0.0), db(static_cast<size_t>(out), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias ? bv[static_cast<size_t>(o)] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += double(xv[static_cast<size_t>(r * in + i)]) * wv[static_cast<size_t>(o * in + i)];
      y[static_cast<size_t>(r * out + o)] = relu ? (acc <= 0 ? 0 : acc) : acc;
      const double g = dyv[static_cast<size_t>(r * out + o)];
      db[static_cast<size_t>(o)] += g;
      for (int64_t i = 0; i < in; ++i) {
        dx[static_cast<size_t>(r * in + i)] += g * wv[static_cast<size_t>(o * in + i)];
        dw[static_cast<size_t>(o * in + i)] += g * xv[static_cast<size_t>(r * in + i)];
      }
    }
  char name[160];
  std::snprintf(name, sizeof(name), "linear %s n=%lld in=%lld out=%lld%s%s", tag, (long long)n, (long long)in,
                (long long)out, bias ? " bias" : "", relu ? " relu" : "");
  Tensor x = make_from(be, {n, in}, xv);
  Tensor w = make_from(be, {out, in}, wv);
  OptTensor b;
  if (bias) b = make_from(be, {out}, bv);
  Tensor yt = make(be, {n, out});
  be.linear_forward(x, w, b, yt, relu);
  compare(std::string(name) + " forward", get(be, yt), y, rtol, atol);
  Tensor dyt = make_from(be, {n, out}, dyv);
  Tensor dxt = make(be, {n, in});
  be.linear_backward_data(dyt, w, dxt);
  compare(std::string(name) + " backward data", get(be, dxt), dx, rtol, atol);
  Tensor dwt = make(be, {out, in});
  OptTensor dbt;
  if (bias) dbt = make(be, {out});
  be.linear_backward_weight(x, dyt, dwt, dbt);
  compare(std::string(name) + " backward weight", get(be, dwt), dw, rtol, atol);
  if (bias) compare(std::string(name) + " backward bias", get(be, *dbt), db, 1e-5, 1e-5);
}

void test_loss(Backend& be) {
  const int64_t rows = 7, cols = 13;
  auto lv = random_vector(static_cast<size_t>(rows * cols), 51, -3.0f, 3.0f);
  std::vector<int32_t> labels{0, 12, 5, 3, 3, 7, 1};
  std::vector<double> sm(lv.size()), grad(lv.size());
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < cols; ++c) m = std::max<double>(m, lv[static_cast<size_t>(r * cols + c)]);
    for (int64_t c = 0; c < cols; ++c) s += std::exp(lv[static_cast<size_t>(r * cols + c)] - m);
    for (int64_t c = 0; c < cols; ++c) {
      sm[static_cast<size_t>(r * cols + c)] = std::exp(lv[static_cast<size_t>(r * cols + c)] - m) / s;
      grad[static_cast<size_t>(r * cols + c)] = (sm[static_cast<size_t>(r * cols + c)] - (c == labels[static_cast<size_t>(r)] ? 1 : 0)) / rows;
    }
    total += std::log(s) + m - lv[static_cast<size_t>(r * cols + labels[static_cast<size_t>(r)])];
  }
  Tensor logits = make_from(be, {rows, cols}, lv);
  Tensor lab = make_labels(be, labels);
  Tensor y = make(be, {rows, cols});
  be.softmax_forward(logits, y);
  compare("softmax forward", get(be, y), sm, 1e-5, 1e-7);
  Tensor loss = make(be, {1});
  OptTensor dl = make(be, {rows, cols});
  be.softmax_cross_entropy(logits, lab, loss, dl);
  compare("softmax cross-entropy loss", get(be, loss), {total / rows}, 1e-5, 1e-6);
  compare("softmax cross-entropy gradient", get(be, *dl), grad, 1e-5, 1e-7);
  be.softmax_cross_entropy(logits, lab, loss, std::nullopt);
  compare("softmax cross-entropy loss without gradient", get(be, loss), {total / rows}, 1e-5, 1e-6);

  // An out-of-range label: NaN loss, no crash; its gradient row is softmax / N.
  std::vector<int32_t> bad = labels;
  bad[2] = 13;
  bad[4] = -1;
  Tensor badt = make_labels(be, bad);
  be.softmax_cross_entropy(logits, badt, loss, dl);
  const auto lossv = get(be, loss);
  report(std::isnan(lossv[0]), "softmax cross-entropy out-of-range label gives NaN", std::to_string(lossv[0]));
  auto g2 = grad;
  for (int64_t c = 0; c < cols; ++c) {
    g2[static_cast<size_t>(2 * cols + c)] = sm[static_cast<size_t>(2 * cols + c)] / rows;
    g2[static_cast<size_t>(4 * cols + c)] = sm[static_cast<size_t>(4 * cols + c)] / rows;
  }
  compare("softmax cross-entropy out-of-range label gradient", get(be, *dl), g2, 1e-5, 1e-7);

  // Large batch for the single-block reduction.
  const int64_t big_rows = 1000, big_cols = 1000;
  auto bl = random_vector(static_cast<size_t>(big_rows * big_cols), 52, -5.0f, 5.0f);
  std::vector<int32_t> big_labels(static_cast<size_t>(big_rows));
  for (int64_t r = 0; r < big_rows; ++r) big_labels[static_cast<size_t>(r)] = int32_t((r * 37) % big_cols);
  double big_total = 0;
  for (int64_t r = 0; r < big_rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < big_cols; ++c) m = std::max<double>(m, bl[static_cast<size_t>(r * big_cols + c)]);
    for (int64_t c = 0; c < big_cols; ++c) s += std::exp(bl[static_cast<size_t>(r * big_cols + c)] - m);
    big_total += std::log(s) + m - bl[static_cast<size_t>(r * big_cols + big_labels[static_cast<size_t>(r)])];
  }
  Tensor bigt = make_from(be, {big_rows, big_cols}, bl);
  Tensor biglab = make_labels(be, big_labels);
  be.softmax_cross_entropy(bigt, biglab, loss, std::nullopt);
  const auto first = get(be, loss);
  compare("softmax cross-entropy 1000x1000", first, {big_total / big_rows}, 1e-5, 1e-6);
  be.softmax_cross_entropy(bigt, biglab, loss, std::nullopt);
  exact("softmax cross-entropy deterministic", get(be, loss), first);
}

void test_topk(Backend& be) {
  const int64_t rows = 200, cols = 10;
  const auto lv = tie_vector(static_cast<size_t>(rows * cols), 61, 5);
  std::vector<int32_t> labels(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) labels[static_cast<size_t>(r)] = int32_t((r * 7) % cols);
  labels[3] = -1;
  labels[4] = int32_t(cols);
  Tensor logits = make_from(be, {rows, cols}, lv);
  Tensor lab = make_labels(be, labels);
  for (int k : {1, 3, 10}) {
    int64_t correct = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t l = labels[static_cast<size_t>(r)];
      if (l < 0 || l >= cols) continue;
      const float v = lv[static_cast<size_t>(r * cols + l)];
      int64_t ahead = 0;
      for (int64_t c = 0; c < cols; ++c) ahead += lv[static_cast<size_t>(r * cols + c)] > v || (lv[static_cast<size_t>(r * cols + c)] == v && c < l);
      correct += ahead < k;
    }
    Tensor counter = make_from(be, {1}, {5.0f});
    be.count_topk_correct(logits, lab, k, counter);
    compare("top-" + std::to_string(k) + " count", get(be, counter), {5.0 + correct}, 0, 0);
  }
}

void test_sgd(Backend& be) {
  const std::vector<int64_t> sizes{1, 3, 65536, 65537, 1000, 25 * 1000 * 1000, 7, 4096};
  for (int variant = 0; variant < 4; ++variant) {
    SgdParams p;
    p.lr = 0.05f;
    p.momentum = variant == 0 ? 0.0f : 0.9f;
    p.dampening = variant == 3 ? 0.25f : 0.0f;
    p.weight_decay = variant >= 1 ? 5e-4f : 0.0f;
    p.nesterov = variant == 2;
    std::vector<SgdTensors> tensors;
    std::vector<std::vector<float>> params, grads, bufs;
    // 40 tensors (more than one launch's table) cycling through the sizes.
    for (int i = 0; i < 40; ++i) {
      const int64_t n = sizes[static_cast<size_t>(i) % sizes.size()] / (i >= 8 && sizes[static_cast<size_t>(i) % sizes.size()] > 100000 ? 100 : 1);
      params.push_back(random_vector(static_cast<size_t>(n), 100 + i));
      grads.push_back(random_vector(static_cast<size_t>(n), 200 + i));
      bufs.push_back(random_vector(static_cast<size_t>(n), 300 + i));
      SgdTensors t;
      t.param = make_from(be, {n}, params.back());
      t.grad = make_from(be, {n}, grads.back());
      if (p.momentum != 0) t.momentum_buffer = make_from(be, {n}, bufs.back());
      tensors.push_back(t);
    }
    for (int step = 0; step < 2; ++step) {
      p.first_step = step == 0;
      be.sgd_step(p, tensors);
      for (size_t i = 0; i < params.size(); ++i)
        for (size_t e = 0; e < params[i].size(); ++e) {
          float g = grads[i][e];
          if (p.weight_decay != 0.0f) g += p.weight_decay * params[i][e];
          if (p.momentum != 0.0f) {
            const float b = p.first_step ? g : p.momentum * bufs[i][e] + (1.0f - p.dampening) * g;
            bufs[i][e] = b;
            g = p.nesterov ? g + p.momentum * b : b;
          }
          params[i][e] -= p.lr * g;
        }
    }
    bool ok = true;
    std::string detail = "40 tensors, 2 steps, bit-identical to the CPU formula";
    for (size_t i = 0; i < params.size() && ok; ++i) {
      const auto got = get(be, tensors[i].param);
      if (std::memcmp(got.data(), params[i].data(), got.size() * sizeof(float)) != 0) {
        ok = false;
        detail = "tensor " + std::to_string(i) + " (" + std::to_string(got.size()) + " elements) differs";
      }
      if (ok && p.momentum != 0) {
        const auto gb = get(be, tensors[i].momentum_buffer);
        if (std::memcmp(gb.data(), bufs[i].data(), gb.size() * sizeof(float)) != 0) {
          ok = false;
          detail = "momentum buffer " + std::to_string(i) + " differs";
        }
      }
    }
    report(ok, "sgd variant " + std::to_string(variant), detail);
  }
}

void test_elementwise(Backend& be) {
  const int64_t n = 100003;
  // Upload / download / copy round trips, float and int.
  const auto v = random_vector(static_cast<size_t>(n), 71);
  Tensor a = make_from(be, {n}, v);
  exact("upload/download float32", get(be, a), v);
  Tensor c = make(be, {n});
  be.copy(c, a);
  exact("copy", get(be, c), v);
  std::vector<int32_t> iv(1000);
  for (size_t i = 0; i < iv.size(); ++i) iv[i] = int32_t(i * 7919 - 500000);
  Tensor it = make_labels(be, iv);
  std::vector<int32_t> iback(iv.size());
  be.download(it, iback.data())->wait();
  report(iback == iv, "upload/download int32", "");
  be.fill(it, 42.0f);
  be.download(it, iback.data())->wait();
  report(std::all_of(iback.begin(), iback.end(), [](int32_t x) { return x == 42; }), "fill int32", "");
  be.fill(c, 2.5f);
  exact("fill float32", get(be, c), std::vector<float>(static_cast<size_t>(n), 2.5f));

  // Random fills: the CPU formulas.
  std::vector<float> uni(static_cast<size_t>(n)), nor(static_cast<size_t>(n));
  const uint64_t seed = 0x123456789abcdefULL;
  for (int64_t i = 0; i < n; ++i) {
    const float range = 0.75f - (-0.25f);
    uni[static_cast<size_t>(i)] = -0.25f + range * bits_to_unit_float(philox_bits(seed, 0, uint64_t(i)));
    const Philox4 w = philox4x32_10(uint64_t(i), seed);
    const float u1 = float((w.v[0] >> 8) + 1) * (1.0f / 16777216.0f);
    const float u2 = float(w.v[1] >> 8) * (1.0f / 16777216.0f);
    nor[static_cast<size_t>(i)] = 0.5f + 2.0f * (std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853071795864f * u2));
  }
  be.fill_uniform(c, -0.25f, 0.75f, seed);
  exact("fill_uniform matches the CPU formula", get(be, c), uni);
  be.fill_normal(c, 0.5f, 2.0f, 0.0f, seed);
  compare("fill_normal matches the CPU formula", get(be, c), to_double(nor), 2e-6, 2e-6);

  // Dropout: the same mask as the CPU formula, bit for bit.
  const float p = 0.3f;
  const uint64_t offset = 12345;
  std::vector<float> mask(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  const float scale = 1.0f / (1.0f - p);
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = bits_to_unit_float(philox_bits(seed, offset, uint64_t(i))) >= p;
    mask[static_cast<size_t>(i)] = keep ? scale : 0.0f;
    y[static_cast<size_t>(i)] = v[static_cast<size_t>(i)] * mask[static_cast<size_t>(i)];
  }
  Tensor yt = make(be, {n}), mt = make(be, {n});
  be.dropout_forward(p, seed, offset, a, yt, mt);
  exact("dropout mask", get(be, mt), mask);
  exact("dropout output", get(be, yt), y);

  // add_scaled, multiply, relu.
  const auto w = random_vector(static_cast<size_t>(n), 72);
  Tensor b = make_from(be, {n}, w);
  std::vector<float> want(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = v[static_cast<size_t>(i)] + 0.37f * w[static_cast<size_t>(i)];
  be.copy(c, a);
  be.add_scaled(c, b, 0.37f);
  exact("add_scaled", get(be, c), want);
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = v[static_cast<size_t>(i)] * w[static_cast<size_t>(i)];
  be.multiply(a, b, c);
  exact("multiply", get(be, c), want);
  auto rv = v;
  rv[0] = std::numeric_limits<float>::quiet_NaN();
  rv[1] = -0.0f;
  Tensor r = make_from(be, {n}, rv);
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = rv[static_cast<size_t>(i)] <= 0 ? 0.0f : rv[static_cast<size_t>(i)];
  be.relu_forward(r, c);
  exact("relu forward (NaN passes)", get(be, c), want);
  for (int64_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = rv[static_cast<size_t>(i)] <= 0 ? 0.0f : w[static_cast<size_t>(i)];
  be.relu_backward(r, b, c);
  exact("relu backward", get(be, c), want);
}

// A conv -> relu -> pool -> linear -> loss -> backward -> sgd step, repeated: after the first two
// steps no new system allocation may happen.
void test_steady_state(Backend& be) {
  const int64_t n = 8;
  Conv2dGeometry g;
  g.stride_h = g.stride_w = 2;
  g.pad_top = g.pad_bottom = g.pad_left = g.pad_right = 1;
  Tensor x = make_from(be, {n, 3, 32, 32}, random_vector(static_cast<size_t>(n * 3 * 32 * 32), 81));
  Tensor w = make_from(be, {16, 3, 3, 3}, random_vector(16 * 27, 82, -0.2f, 0.2f));
  Tensor b = make_from(be, {16}, random_vector(16, 83));
  Tensor fw = make_from(be, {10, 16 * 8 * 8}, random_vector(10 * 1024, 84, -0.05f, 0.05f));
  Tensor fb = make_from(be, {10}, random_vector(10, 85));
  Tensor labels = make_labels(be, {1, 2, 3, 4, 5, 6, 7, 8});
  Pool2dGeometry pg;
  pg.kernel_h = pg.kernel_w = 2;
  pg.stride_h = pg.stride_w = 2;
  std::vector<uint64_t> allocations;
  std::vector<float> losses;
  for (int step = 0; step < 5; ++step) {
    Tensor y = make(be, {n, 16, 16, 16});
    be.conv2d_forward(g, x, w, b, y, true);
    Tensor pooled = make(be, {n, 16, 8, 8});
    be.max_pool2d_forward(pg, y, pooled);
    Tensor flat = pooled;
    flat.shape = {n, 1024};
    Tensor logits = make(be, {n, 10});
    be.linear_forward(flat, fw, fb, logits, false);
    Tensor loss = make(be, {1});
    Tensor dlogits = make(be, {n, 10});
    be.softmax_cross_entropy(logits, labels, loss, dlogits);
    Tensor dflat = make(be, {n, 1024}), dfw = make(be, fw.shape), dfb = make(be, fb.shape);
    be.linear_backward_data(dlogits, fw, dflat);
    be.linear_backward_weight(flat, dlogits, dfw, dfb);
    Tensor dpooled = dflat;
    dpooled.shape = pooled.shape;
    Tensor dy = make(be, y.shape);
    be.max_pool2d_backward(pg, y, pooled, dpooled, dy);
    Tensor dyr = make(be, y.shape);
    be.relu_backward(y, dy, dyr);
    Tensor dw = make(be, w.shape), db = make(be, b.shape);
    be.conv2d_backward_filter(g, x, dyr, dw, db);
    SgdParams sp;
    sp.lr = 0.01f;
    be.sgd_step(sp, {{w, dw, {}}, {b, db, {}}, {fw, dfw, {}}, {fb, dfb, {}}});
    losses.push_back(get(be, loss)[0]);
    allocations.push_back(be.allocator_stats().system_allocations);
  }
  const bool ok = allocations[4] == allocations[2] && std::isfinite(losses[4]) && losses[4] < losses[0];
  char buf[200];
  std::snprintf(buf, sizeof(buf), "system allocations per step %llu %llu %llu %llu %llu; loss %.4f -> %.4f",
                (unsigned long long)allocations[0], (unsigned long long)allocations[1],
                (unsigned long long)allocations[2], (unsigned long long)allocations[3],
                (unsigned long long)allocations[4], double(losses[0]), double(losses[4]));
  report(ok, "steady-state training step (no new allocations, loss falls)", buf);
}

// Many large uploads queued without waiting (more than the 1 GiB of pinned staging the CUDA build
// keeps), and several downloads outstanding at once, collected out of order.
void test_transfers(Backend& be, bool quick) {
  const int64_t n = quick ? (1 << 20) : 20 * 1000 * 1000;  // 80 MB per upload on the GPU
  std::vector<Tensor> tensors;
  std::vector<std::vector<float>> data;
  for (int i = 0; i < 16; ++i) {
    data.push_back(std::vector<float>(static_cast<size_t>(n), float(i)));
    data.back()[static_cast<size_t>(i)] = -1.0f;
    tensors.push_back(make(be, {n}));
    be.upload(tensors.back(), data.back().data());
    std::fill(data.back().begin(), data.back().end(), 99.0f);  // the caller may reuse its memory at once
  }
  std::vector<std::vector<float>> back(16, std::vector<float>(static_cast<size_t>(n)));
  std::vector<std::shared_ptr<Completion>> pending;
  for (int i = 0; i < 16; ++i) pending.push_back(be.download(tensors[static_cast<size_t>(i)], back[static_cast<size_t>(i)].data()));
  bool ok = true;
  for (int i = 15; i >= 0; --i) {
    pending[static_cast<size_t>(i)]->wait();
    const auto& v = back[static_cast<size_t>(i)];
    for (int64_t e = 0; e < n && ok; ++e) {
      const float want = e == i ? -1.0f : float(i);
      if (v[static_cast<size_t>(e)] != want) ok = false;
    }
  }
  report(ok, "16 large uploads in flight, 16 downloads collected out of order", std::to_string(n) + " floats each");
}

void test_memory(Backend& be) {
  expect_throw(
      "out-of-memory becomes OutOfMemoryError",
      [&] {
        try {
          be.allocate(static_cast<size_t>(1) << 50);
        } catch (const OutOfMemoryError& e) {
          throw std::runtime_error(std::string("OutOfMemoryError: ") + e.what());
        }
      },
      "OutOfMemoryError");
  // The process goes on.
  Tensor t = make_from(be, {4}, {1, 2, 3, 4});
  exact("work continues after out-of-memory", get(be, t), {1, 2, 3, 4});
  be.synchronize();
  be.empty_cache();
  const auto s = be.allocator_stats();
  report(s.bytes_cached == 0, "empty_cache returns cached blocks",
         "in use " + std::to_string(s.bytes_in_use) + ", cached " + std::to_string(s.bytes_cached));
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

#ifdef ALEXNET_SELFTEST_CUDA

// A kernel that writes to an invalid address poisons the CUDA context: the backend must report
// DeviceLostError saying so (not crash, not hang), and its destructor must not throw.
void test_device_lost(Backend& be) {
  launch_illegal_address_kernel();
  cudaDeviceSynchronize();  // let the fault happen (it runs on another stream than the backend's)
  try {
    be.synchronize();
    report(false, "sticky error becomes DeviceLostError", "synchronize did not throw");
  } catch (const DeviceLostError& e) {
    report(std::string(e.what()).find("restart") != std::string::npos, "sticky error becomes DeviceLostError", e.what());
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
  report(st == CUDNN_STATUS_SUCCESS && ce == cudaSuccess, "cudnnConvolutionBiasActivationForward runs (FMA, IMPLICIT_PRECOMP_GEMM)",
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
#endif

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Timings of torchvision AlexNet's convolution and linear layers at batch 128, forward and backward.
void bench(Backend& be, MathMode mode) {
  be.set_math_mode(mode);
  struct L {
    int64_t c, h, o, k;
    int s, p;
  };
  const L layers[] = {{3, 224, 64, 11, 4, 2}, {64, 27, 192, 5, 1, 2}, {192, 13, 384, 3, 1, 1},
                      {384, 13, 256, 3, 1, 1}, {256, 13, 256, 3, 1, 1}};
  const int64_t n = 128;
  double total = 0;
  for (const L& l : layers) {
    Conv2dGeometry g;
    g.stride_h = g.stride_w = l.s;
    g.pad_top = g.pad_bottom = g.pad_left = g.pad_right = l.p;
    const int64_t oh = (l.h + 2 * l.p - l.k) / l.s + 1;
    Tensor x = make(be, {n, l.c, l.h, l.h}), w = make(be, {l.o, l.c, l.k, l.k}), b = make(be, {l.o});
    Tensor y = make(be, {n, l.o, oh, oh}), dx = make(be, x.shape), dw = make(be, w.shape), db = make(be, b.shape);
    be.fill_uniform(x, -1, 1, 1);
    be.fill_uniform(w, -0.1f, 0.1f, 2);
    be.fill(b, 0.1f);
    auto step = [&] {
      be.conv2d_forward(g, x, w, b, y, true);
      be.conv2d_backward_data(g, y, w, dx);
      be.conv2d_backward_filter(g, x, y, dw, db);
    };
    step();  // searches
    be.synchronize();
    const double t0 = now_ms();
    for (int i = 0; i < 5; ++i) step();
    be.synchronize();
    const double ms = (now_ms() - t0) / 5;
    total += ms;
    std::printf("BENCH %s conv c=%lld h=%lld o=%lld k=%lld: fwd+bwd %.3f ms\n", mode == MathMode::tf32 ? "tf32" : "fp32",
                (long long)l.c, (long long)l.h, (long long)l.o, (long long)l.k, ms);
  }
  const int64_t fcs[][2] = {{9216, 4096}, {4096, 4096}, {4096, 1000}};
  for (const auto& f : fcs) {
    Tensor x = make(be, {n, f[0]}), w = make(be, {f[1], f[0]}), b = make(be, {f[1]}), y = make(be, {n, f[1]});
    Tensor dx = make(be, x.shape), dw = make(be, w.shape), db = make(be, b.shape);
    be.fill_uniform(x, -1, 1, 1);
    be.fill_uniform(w, -0.01f, 0.01f, 2);
    be.fill(b, 0.1f);
    auto step = [&] {
      be.linear_forward(x, w, b, y, true);
      be.linear_backward_data(y, w, dx);
      be.linear_backward_weight(x, y, dw, db);
    };
    step();
    be.synchronize();
    const double t0 = now_ms();
    for (int i = 0; i < 5; ++i) step();
    be.synchronize();
    const double ms = (now_ms() - t0) / 5;
    total += ms;
    std::printf("BENCH %s linear %lld->%lld: fwd+bwd %.3f ms\n", mode == MathMode::tf32 ? "tf32" : "fp32",
                (long long)f[0], (long long)f[1], ms);
  }
  std::printf("BENCH %s conv+linear layers of torchvision AlexNet, batch 128: %.2f ms per step (%.0f img/s ceiling)\n",
              mode == MathMode::tf32 ? "tf32" : "fp32", total, 128.0 / (total / 1000.0));

  // The paper's grouped convolutions (227 input).
  struct G {
    int64_t c, h, o, k;
    int s, p, groups;
  };
  const G paper[] = {{3, 227, 96, 11, 4, 0, 1}, {96, 27, 256, 5, 1, 2, 2}, {256, 13, 384, 3, 1, 1, 1},
                     {384, 13, 384, 3, 1, 1, 2}, {384, 13, 256, 3, 1, 1, 2}};
  double paper_total = 0;
  for (const G& l : paper) {
    Conv2dGeometry g;
    g.stride_h = g.stride_w = l.s;
    g.pad_top = g.pad_bottom = g.pad_left = g.pad_right = l.p;
    g.groups = l.groups;
    const int64_t oh = (l.h + 2 * l.p - l.k) / l.s + 1;
    Tensor x = make(be, {n, l.c, l.h, l.h}), w = make(be, {l.o, l.c / l.groups, l.k, l.k}), b = make(be, {l.o});
    Tensor y = make(be, {n, l.o, oh, oh}), dx = make(be, x.shape), dw = make(be, w.shape), db = make(be, b.shape);
    be.fill_uniform(x, -1, 1, 1);
    be.fill_uniform(w, -0.1f, 0.1f, 2);
    be.fill(b, 0.1f);
    auto step = [&] {
      be.conv2d_forward(g, x, w, b, y, true);
      be.conv2d_backward_data(g, y, w, dx);
      be.conv2d_backward_filter(g, x, y, dw, db);
    };
    step();
    be.synchronize();
    const double t0 = now_ms();
    for (int i = 0; i < 5; ++i) step();
    be.synchronize();
    const double ms = (now_ms() - t0) / 5;
    paper_total += ms;
    std::printf("BENCH %s paper conv c=%lld h=%lld o=%lld k=%lld groups=%d: fwd+bwd %.3f ms\n",
                mode == MathMode::tf32 ? "tf32" : "fp32", (long long)l.c, (long long)l.h, (long long)l.o,
                (long long)l.k, l.groups, ms);
  }
  std::printf("BENCH %s paper conv layers, batch 128: %.2f ms\n", mode == MathMode::tf32 ? "tf32" : "fp32",
              paper_total);
  be.set_math_mode(MathMode::fp32);
}

// The library-free ops at AlexNet's sizes, batch 128.
void bench_small_ops(Backend& be) {
  auto time = [&](const char* name, const std::function<void()>& f) {
    f();
    be.synchronize();
    const double t0 = now_ms();
    for (int i = 0; i < 10; ++i) f();
    be.synchronize();
    std::printf("BENCH op %s: %.3f ms\n", name, (now_ms() - t0) / 10);
  };
  const int64_t n = 128;
  Tensor a = make(be, {n, 96, 55, 55}), b = make(be, a.shape), c = make(be, a.shape), d = make(be, a.shape);
  be.fill_uniform(a, -1, 1, 1);
  be.fill_uniform(b, -1, 1, 2);
  LrnParams lp;
  time("lrn forward+backward [128,96,55,55]", [&] {
    be.lrn_forward(lp, a, c);
    be.lrn_backward(lp, a, c, b, d);
  });
  Pool2dGeometry pg;
  pg.kernel_h = pg.kernel_w = 3;
  pg.stride_h = pg.stride_w = 2;
  Tensor pooled = make(be, {n, 96, 27, 27}), dpooled = make(be, pooled.shape);
  be.fill_uniform(dpooled, -1, 1, 3);
  time("max pool 3x3 s2 forward+backward [128,96,55,55]", [&] {
    be.max_pool2d_forward(pg, a, pooled);
    be.max_pool2d_backward(pg, a, pooled, dpooled, d);
  });
  time("relu forward+backward [128,96,55,55]", [&] {
    be.relu_forward(a, c);
    be.relu_backward(c, b, d);
  });
  Tensor f = make(be, {n, 256, 6, 6}), g = make(be, {n, 256, 6, 6});
  time("adaptive avg pool 6x6->6x6 forward+backward [128,256,6,6]", [&] {
    be.adaptive_avg_pool2d_forward(f, g);
    be.adaptive_avg_pool2d_backward(g, f);
  });
  Tensor h = make(be, {n, 4096}), hy = make(be, h.shape), hm = make(be, h.shape);
  time("dropout forward + multiply [128,4096]", [&] {
    be.dropout_forward(0.5f, 1, 0, h, hy, hm);
    be.multiply(hy, hm, h);
  });
  Tensor logits = make(be, {n, 1000}), dl = make(be, logits.shape), loss = make(be, {1}), counter = make(be, {1});
  be.fill_uniform(logits, -1, 1, 4);
  std::vector<int32_t> lab(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) lab[static_cast<size_t>(i)] = int32_t(i * 7 % 1000);
  Tensor labels = make_labels(be, lab);
  time("softmax cross-entropy + top-5 [128,1000]", [&] {
    be.softmax_cross_entropy(logits, labels, loss, dl);
    be.count_topk_correct(logits, labels, 5, counter);
  });
  // torchvision AlexNet's parameter tensors
  const Shape shapes[] = {{64, 3, 11, 11}, {64}, {192, 64, 5, 5}, {192}, {384, 192, 3, 3}, {384}, {256, 384, 3, 3},
                          {256}, {256, 256, 3, 3}, {256}, {4096, 9216}, {4096}, {4096, 4096}, {4096}, {1000, 4096},
                          {1000}};
  std::vector<SgdTensors> params;
  for (const Shape& sh : shapes) params.push_back({make(be, sh), make(be, sh), make(be, sh)});
  SgdParams sp;
  sp.momentum = 0.9f;
  sp.weight_decay = 5e-4f;
  time("sgd momentum+wd over 61.1M parameters", [&] { be.sgd_step(sp, params); });
}

}  // namespace

int main(int argc, char** argv) {
  // --quick: no benchmarks (the CPU build); --bench: benchmarks only; --fault: the sticky-error check,
  // which leaves the CUDA context unusable (run it last, in its own process).
  const std::string mode = argc > 1 ? argv[1] : "";
  const bool quick = mode == "--quick";
  std::unique_ptr<Backend> be;
  try {
    be = create_backend();
  } catch (const std::exception& e) {
    std::printf("create_backend failed: %s\n", e.what());
    return 2;
  }
  std::printf("backend %s\n", backend_name());
  for (const auto& [k, v] : be->info()) {
    if (auto s = std::get_if<std::string>(&v)) std::printf("  %s: %s\n", k.c_str(), s->c_str());
    if (auto d = std::get_if<double>(&v)) std::printf("  %s: %.0f\n", k.c_str(), *d);
    if (auto b = std::get_if<bool>(&v)) std::printf("  %s: %s\n", k.c_str(), *b ? "true" : "false");
  }
  auto run = [&](const char* name, const std::function<void()>& f) {
    try {
      f();
    } catch (const std::exception& e) {
      report(false, name, std::string("threw: ") + e.what());
    }
  };
  if (mode == "--bench") {
    run("bench fp32", [&] { bench(*be, MathMode::fp32); });
    run("bench tf32", [&] { bench(*be, MathMode::tf32); });
    run("bench small ops", [&] { bench_small_ops(*be); });
    be.reset();
    std::printf("%d of %d checks failed\n", failures, checks);
    return failures ? 1 : 0;
  }
#ifdef ALEXNET_SELFTEST_CUDA
  if (mode == "--fault") {
    run("device lost", [&] { test_device_lost(*be); });
    be.reset();  // must neither throw nor hang
    std::printf("backend destroyed after the sticky error\n%d of %d checks failed\n", failures, checks);
    return failures ? 1 : 0;
  }
#endif
  run("elementwise", [&] { test_elementwise(*be); });
  run("conv", [&] {
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
    for (const auto& cc : cases) test_conv(*be, cc, 1e-4, 1e-4, "fp32", true);
    be->set_math_mode(MathMode::tf32);
    for (const auto& cc : cases) test_conv(*be, cc, 1e-2, 1e-2, "tf32", true);
    be->set_math_mode(MathMode::fp32);
  });
#ifdef ALEXNET_SELFTEST_CUDA
  run("fused conv directly", [&] { test_fused_conv_directly(); });
#endif
  run("lrn", [&] {
    test_lrn(*be, LrnParams{5, 1e-4, 0.75, 2.0}, "paper (n5 a1e-4 b.75 k2)");
    test_lrn(*be, LrnParams{5, 1.0, 0.75, 1.0}, "strong (n5 a1 b.75 k1)");
    test_lrn(*be, LrnParams{3, 0.5, 0.6, 1.5}, "n3 a.5 b.6 k1.5");
  });
  run("max pool", [&] {
    Pool2dGeometry g;
    g.kernel_h = g.kernel_w = 3;
    g.stride_h = g.stride_w = 2;
    test_max_pool(*be, g, "3x3 s2 ties", true);
    test_max_pool(*be, g, "3x3 s2 NaN", false);
    g.pad_h = g.pad_w = 1;
    test_max_pool(*be, g, "3x3 s2 p1 ties", true);
    g.kernel_h = 2;
    g.kernel_w = 3;
    g.stride_h = 1;
    g.stride_w = 3;
    g.pad_h = 1;
    g.pad_w = 0;
    test_max_pool(*be, g, "2x3 s1x3 p1x0 ties", true);
  });
  run("adaptive avg pool", [&] {
    test_adaptive(*be, 13, 13, 6, 6);
    test_adaptive(*be, 5, 4, 6, 6);
    test_adaptive(*be, 6, 6, 6, 6);
    test_adaptive(*be, 11, 7, 3, 5);
  });
  run("linear", [&] {
    test_linear(*be, 5, 37, 11, true, false, 1e-5, 1e-5, "fp32");
    test_linear(*be, 5, 37, 11, true, true, 1e-5, 1e-5, "fp32");
    test_linear(*be, 5, 37, 11, false, true, 1e-5, 1e-5, "fp32");
    test_linear(*be, 3, 8, 4, false, false, 1e-5, 1e-5, "fp32");
    test_linear(*be, 64, 1024, 300, true, true, 1e-4, 1e-4, "fp32");
    be->set_math_mode(MathMode::tf32);
    test_linear(*be, 64, 1024, 300, true, true, 1e-2, 1e-2, "tf32");
    be->set_math_mode(MathMode::fp32);
  });
  run("loss", [&] { test_loss(*be); });
  run("topk", [&] { test_topk(*be); });
  run("sgd", [&] { test_sgd(*be); });
  run("steady state", [&] { test_steady_state(*be); });
  run("determinism", [&] { test_determinism(*be); });
  run("transfers", [&] { test_transfers(*be, quick); });
  run("memory", [&] { test_memory(*be); });
  if (!quick) {
    run("bench fp32", [&] { bench(*be, MathMode::fp32); });
    run("bench tf32", [&] { bench(*be, MathMode::tf32); });
    run("bench small ops", [&] { bench_small_ops(*be); });
  }
  try {
    be->synchronize();
  } catch (const std::exception& e) {
    report(false, "final synchronize", e.what());
  }
  be.reset();  // the destructor must not throw or hang
  std::printf("%d of %d checks failed\n", failures, checks);
  return failures ? 1 : 0;
}
