// A whole training step, repeated: the loss falls and no step after the warm-up allocates.
#include <cmath>
#include <cstdio>

#include "selftest.h"

namespace alexnet::selftest {

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
  Tensor scalars = make_sgd_scalars(be, 0.01f, 0);
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
    be.sgd_step(sp, {{w, dw, {}}, {b, db, {}}, {fw, dfw, {}}, {fb, dfb, {}}}, scalars);
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

}  // namespace alexnet::selftest
