// Reporting, tensors to and from a backend, test data and comparisons (selftest.h).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>

#include "selftest.h"

namespace alexnet::selftest {

int failures = 0;
int checks = 0;

void report(bool ok, const std::string& name, const std::string& detail) {
  ++checks;
  if (!ok) ++failures;
  std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  std::fflush(stdout);
}

Tensor make(Backend& be, const Shape& s, DType t) {
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

Tensor make_sgd_scalars(Backend& be, float lr, uint64_t step) {
  Tensor t = make(be, {kScalarWords}, DType::i32);
  const SgdScalars s{lr, 0, step};
  be.upload(t, &s);
  return t;
}

Tensor make_dropout_scalars(Backend& be, uint64_t seed, uint64_t offset) {
  Tensor t = make(be, {kScalarWords}, DType::i32);
  const DropoutScalars s{seed, offset};
  be.upload(t, &s);
  return t;
}

std::vector<float> get(Backend& be, const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  be.download(t, v.data())->wait();
  return v;
}

std::vector<float> random_vector(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

std::vector<float> tie_vector(size_t n, uint32_t seed, int levels) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(0, levels - 1);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(dist(gen));
  return v;
}

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

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace alexnet::selftest
