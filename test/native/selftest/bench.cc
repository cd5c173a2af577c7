// Timings (not checks): torchvision AlexNet's and the paper's convolution and linear layers, and
// the library-free ops, at batch 128. Run with --bench, or as part of a full run (no --quick).
#include <cstdio>
#include <functional>

#include "selftest.h"

namespace alexnet::selftest {

namespace {

// Milliseconds per call of `f`, after one call that is not timed (it runs the algorithm searches).
double ms_per_call(Backend& be, int calls, const std::function<void()>& f) {
  f();
  be.synchronize();
  const double t0 = now_ms();
  for (int i = 0; i < calls; ++i) f();
  be.synchronize();
  return (now_ms() - t0) / calls;
}

const char* mode_name(MathMode mode) { return mode == MathMode::tf32 ? "tf32" : "fp32"; }

// A convolution layer's forward and backward at batch 128: c channels of h x h in, o out, k x k
// kernel, stride s, padding p, groups.
struct ConvLayer {
  int64_t c, h, o, k;
  int s, p, groups;
};

double conv_step_ms(Backend& be, const ConvLayer& l) {
  const int64_t n = 128;
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
  return ms_per_call(be, 5, [&] {
    be.conv2d_forward(g, x, w, b, y, true);
    be.conv2d_backward_data(g, y, w, dx);
    be.conv2d_backward_filter(g, x, y, dw, db);
  });
}

}  // namespace

// Timings of torchvision AlexNet's convolution and linear layers at batch 128, forward and backward,
// then of the paper's grouped convolutions (227 input).
void bench(Backend& be, MathMode mode) {
  be.set_math_mode(mode);
  const ConvLayer layers[] = {{3, 224, 64, 11, 4, 2, 1},
                              {64, 27, 192, 5, 1, 2, 1},
                              {192, 13, 384, 3, 1, 1, 1},
                              {384, 13, 256, 3, 1, 1, 1},
                              {256, 13, 256, 3, 1, 1, 1}};
  const int64_t n = 128;
  double total = 0;
  for (const ConvLayer& l : layers) {
    const double ms = conv_step_ms(be, l);
    total += ms;
    std::printf("BENCH %s conv c=%lld h=%lld o=%lld k=%lld: fwd+bwd %.3f ms\n", mode_name(mode), (long long)l.c,
                (long long)l.h, (long long)l.o, (long long)l.k, ms);
  }
  const int64_t fcs[][2] = {{9216, 4096}, {4096, 4096}, {4096, 1000}};
  for (const auto& f : fcs) {
    Tensor x = make(be, {n, f[0]}), w = make(be, {f[1], f[0]}), b = make(be, {f[1]}), y = make(be, {n, f[1]});
    Tensor dx = make(be, x.shape), dw = make(be, w.shape), db = make(be, b.shape);
    be.fill_uniform(x, -1, 1, 1);
    be.fill_uniform(w, -0.01f, 0.01f, 2);
    be.fill(b, 0.1f);
    const double ms = ms_per_call(be, 5, [&] {
      be.linear_forward(x, w, b, y, true);
      be.linear_backward_data(y, w, dx);
      be.linear_backward_weight(x, y, dw, db);
    });
    total += ms;
    std::printf("BENCH %s linear %lld->%lld: fwd+bwd %.3f ms\n", mode_name(mode), (long long)f[0], (long long)f[1], ms);
  }
  std::printf("BENCH %s conv+linear layers of torchvision AlexNet, batch 128: %.2f ms per step (%.0f img/s ceiling)\n",
              mode_name(mode), total, 128.0 / (total / 1000.0));

  const ConvLayer paper[] = {{3, 227, 96, 11, 4, 0, 1},
                             {96, 27, 256, 5, 1, 2, 2},
                             {256, 13, 384, 3, 1, 1, 1},
                             {384, 13, 384, 3, 1, 1, 2},
                             {384, 13, 256, 3, 1, 1, 2}};
  double paper_total = 0;
  for (const ConvLayer& l : paper) {
    const double ms = conv_step_ms(be, l);
    paper_total += ms;
    std::printf("BENCH %s paper conv c=%lld h=%lld o=%lld k=%lld groups=%d: fwd+bwd %.3f ms\n", mode_name(mode),
                (long long)l.c, (long long)l.h, (long long)l.o, (long long)l.k, l.groups, ms);
  }
  std::printf("BENCH %s paper conv layers, batch 128: %.2f ms\n", mode_name(mode), paper_total);
  be.set_math_mode(MathMode::fp32);
}

// The library-free ops at AlexNet's sizes, batch 128.
void bench_small_ops(Backend& be) {
  auto time = [&](const char* name, const std::function<void()>& f) {
    const double ms = ms_per_call(be, 10, f);
    std::printf("BENCH op %s: %.3f ms\n", name, ms);
    return ms;
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
  Tensor dropout_scalars = make_dropout_scalars(be, 1, 0);
  time("dropout forward + multiply [128,4096]", [&] {
    be.dropout_forward(0.5f, dropout_scalars, h, hy, hm);
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
  const Shape shapes[] = {{64, 3, 11, 11},  {64},   {192, 64, 5, 5},  {192}, {384, 192, 3, 3}, {384},
                          {256, 384, 3, 3}, {256},  {256, 256, 3, 3}, {256}, {4096, 9216},     {4096},
                          {4096, 4096},     {4096}, {1000, 4096},     {1000}};
  std::vector<SgdTensors> params;
  for (const Shape& sh : shapes) params.push_back({make(be, sh), make(be, sh), make(be, sh)});
  SgdParams sp;
  sp.momentum = 0.9f;
  sp.weight_decay = 5e-4f;
  Tensor scalars = make_sgd_scalars(be, 0.01f, 1);
  time("sgd momentum+wd over 61.1M parameters, 16 tensors", [&] { be.sgd_step(sp, params, scalars); });
  // The same parameters as one flat buffer each (lib/nn/flatParameters.ts): one pass over memory.
  int64_t total = 0;
  for (const Shape& sh : shapes) total += (numel_of(sh) + 63) / 64 * 64;
  const std::vector<SgdTensors> flat{{make(be, {total}), make(be, {total}), make(be, {total})}};
  for (const SgdTensors& t : flat) {
    be.fill(t.param, 0.5f);
    be.fill(t.grad, 0.25f);
    be.fill(t.momentum_buffer, 0.125f);
  }
  const double moved = double(total) * 20;  // read param, grad, buffer; write param, buffer
  const double ms = time("sgd momentum+wd over 61.1M parameters, flat", [&] { be.sgd_step(sp, flat, scalars); });
  std::printf("  flat SGD: %.1f MB moved, %.0f GB/s\n", moved / 1e6, moved / (ms * 1e6));
}

}  // namespace alexnet::selftest
