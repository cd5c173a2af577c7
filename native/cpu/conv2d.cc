// Convolution on the CPU with oneDNN: forward, backward-data and backward-weights, groups, bias,
// asymmetric padding (oneDNN takes left/right padding separately) and the ReLU that may follow.
// Primitives prefer blocked layouts; our tensors stay NCHW / OIHW and are reordered on the way in
// and out, as PyTorch's oneDNN path does. Primitives are built once per shape and kept.
#include <map>
#include <sstream>
#include <string>

#include "kernels.h"
#include "onednn.h"

namespace alexnet::cpu {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = memory::format_tag;
using dt = memory::data_type;

struct ConvShape {
  memory::dims src, weights, bias, dst, strides, padding_l, padding_r;
  int groups;
};

ConvShape conv_shape(const Conv2dGeometry& g, const Shape& x, const Shape& w, const Shape& y) {
  ConvShape s;
  s.src = {x[0], x[1], x[2], x[3]};
  s.dst = {y[0], y[1], y[2], y[3]};
  s.groups = g.groups;
  if (g.groups > 1)
    s.weights = {g.groups, w[0] / g.groups, w[1], w[2], w[3]};
  else
    s.weights = {w[0], w[1], w[2], w[3]};
  s.bias = {w[0]};
  s.strides = {g.stride_h, g.stride_w};
  s.padding_l = {g.pad_top, g.pad_left};
  s.padding_r = {g.pad_bottom, g.pad_right};
  return s;
}

memory::desc any(const memory::dims& d) { return memory::desc(d, dt::f32, tag::any); }
memory::desc plain_activation(const memory::dims& d) { return memory::desc(d, dt::f32, tag::nchw); }
memory::desc plain_weights(const ConvShape& s) {
  return memory::desc(s.weights, dt::f32, s.groups > 1 ? tag::goihw : tag::oihw);
}
memory::desc plain_bias(const ConvShape& s) { return memory::desc(s.bias, dt::f32, tag::x); }

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// Everything oneDNN needs for one convolution shape, built on first use.
struct ConvPrimitives {
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  bool has_backward_data = false, has_backward_weights = false;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_backward_weights backward_weights;
};

std::string key_of(const ConvShape& s, bool bias) {
  std::ostringstream k;
  auto put = [&](const memory::dims& d) {
    for (auto v : d) k << v << ',';
    k << '|';
  };
  put(s.src);
  put(s.weights);
  put(s.dst);
  put(s.strides);
  put(s.padding_l);
  put(s.padding_r);
  k << bias;
  return k.str();
}

// One cache per queue thread: each JavaScript environment (the main thread, every worker thread
// that loads the addon) has its own backend and queue, and they run at the same time.
ConvPrimitives& primitives(const ConvShape& s, bool bias) {
  thread_local std::map<std::string, ConvPrimitives> cache;
  std::string key = key_of(s, bias);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto desc = dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any(s.src),
                                              any(s.weights), bias ? plain_bias(s) : memory::desc(), any(s.dst),
                                              s.strides, s.padding_l, s.padding_r);
  auto pd = dnnl::convolution_forward::primitive_desc(desc, user_scratchpad(), onednn_engine());
  ConvPrimitives& p = cache[key];
  p.forward_pd = pd;
  p.forward = dnnl::convolution_forward(pd);
  return p;
}

memory wrap(const memory::desc& d, const Tensor& t) { return memory(d, onednn_engine(), t.data()); }

}  // namespace

void conv2d_forward(CachingAllocator& allocator, const Conv2dGeometry& g, const Tensor& x, const Tensor& w,
                    const OptTensor& b, const Tensor& y, bool fuse_relu) {
  onednn_call("convolution forward", [&] {
    ConvShape s = conv_shape(g, x.shape, w.shape, y.shape);
    ConvPrimitives& p = primitives(s, b.has_value());
    Scratch scratch(allocator);
    memory src = to_layout(wrap(plain_activation(s.src), x), p.forward_pd.src_desc(), scratch);
    memory weights = to_layout(wrap(plain_weights(s), w), p.forward_pd.weights_desc(), scratch);
    memory dst_plain = wrap(plain_activation(s.dst), y);
    memory dst = output_in_layout(dst_plain, p.forward_pd.dst_desc(), scratch);
    memory pad(p.forward_pd.scratchpad_desc(), onednn_engine(),
               scratch.take(p.forward_pd.scratchpad_desc().get_size()));
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, pad}};
    if (b) args.emplace(DNNL_ARG_BIAS, wrap(plain_bias(s), *b));
    p.forward.execute(onednn_stream(), args);
    from_layout(dst, dst_plain);
    onednn_stream().wait();
  });
  // ReLU as its own pass rather than oneDNN's post-op: the post-op's vector max turns NaN into 0,
  // where PyTorch (and our ReLU, and cuDNN with NaN propagation) keep it, so a diverging run would
  // hide its NaN behind a fused layer on the CPU only.
  if (fuse_relu) relu_forward(y, y);
}

void conv2d_backward_data(CachingAllocator& allocator, const Conv2dGeometry& g, const Tensor& dy, const Tensor& w,
                          const Tensor& dx) {
  onednn_call("convolution backward data", [&] {
    ConvShape s = conv_shape(g, dx.shape, w.shape, dy.shape);
    ConvPrimitives& p = primitives(s, false);
    if (!p.has_backward_data) {
      auto desc = dnnl::convolution_backward_data::desc(algorithm::convolution_direct, any(s.src), any(s.weights),
                                                        any(s.dst), s.strides, s.padding_l, s.padding_r);
      p.backward_data_pd =
          dnnl::convolution_backward_data::primitive_desc(desc, user_scratchpad(), onednn_engine(), p.forward_pd);
      p.backward_data = dnnl::convolution_backward_data(p.backward_data_pd);
      p.has_backward_data = true;
    }
    const auto& pd = p.backward_data_pd;
    Scratch scratch(allocator);
    memory diff_dst = to_layout(wrap(plain_activation(s.dst), dy), pd.diff_dst_desc(), scratch);
    memory weights = to_layout(wrap(plain_weights(s), w), pd.weights_desc(), scratch);
    memory diff_src_plain = wrap(plain_activation(s.src), dx);
    memory diff_src = output_in_layout(diff_src_plain, pd.diff_src_desc(), scratch);
    memory pad(pd.scratchpad_desc(), onednn_engine(), scratch.take(pd.scratchpad_desc().get_size()));
    p.backward_data.execute(onednn_stream(), {{DNNL_ARG_DIFF_DST, diff_dst},
                                              {DNNL_ARG_WEIGHTS, weights},
                                              {DNNL_ARG_DIFF_SRC, diff_src},
                                              {DNNL_ARG_SCRATCHPAD, pad}});
    from_layout(diff_src, diff_src_plain);
    onednn_stream().wait();
  });
}

void conv2d_backward_filter(CachingAllocator& allocator, const Conv2dGeometry& g, const Tensor& x, const Tensor& dy,
                            const Tensor& dw, const OptTensor& db) {
  onednn_call("convolution backward weights", [&] {
    ConvShape s = conv_shape(g, x.shape, dw.shape, dy.shape);
    // The forward hint must agree on bias; the backward primitive is cached with it.
    ConvPrimitives& p = primitives(s, db.has_value());
    if (!p.has_backward_weights) {
      auto desc = dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, any(s.src), any(s.weights),
                                                           db ? plain_bias(s) : memory::desc(), any(s.dst), s.strides,
                                                           s.padding_l, s.padding_r);
      p.backward_weights_pd =
          dnnl::convolution_backward_weights::primitive_desc(desc, user_scratchpad(), onednn_engine(), p.forward_pd);
      p.backward_weights = dnnl::convolution_backward_weights(p.backward_weights_pd);
      p.has_backward_weights = true;
    }
    const auto& pd = p.backward_weights_pd;
    Scratch scratch(allocator);
    memory src = to_layout(wrap(plain_activation(s.src), x), pd.src_desc(), scratch);
    memory diff_dst = to_layout(wrap(plain_activation(s.dst), dy), pd.diff_dst_desc(), scratch);
    memory diff_weights_plain = wrap(plain_weights(s), dw);
    memory diff_weights = output_in_layout(diff_weights_plain, pd.diff_weights_desc(), scratch);
    memory pad(pd.scratchpad_desc(), onednn_engine(), scratch.take(pd.scratchpad_desc().get_size()));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src},
                                         {DNNL_ARG_DIFF_DST, diff_dst},
                                         {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                         {DNNL_ARG_SCRATCHPAD, pad}};
    if (db) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(plain_bias(s), *db));
    p.backward_weights.execute(onednn_stream(), args);
    from_layout(diff_weights, diff_weights_plain);
    onednn_stream().wait();
  });
}

}  // namespace alexnet::cpu
