#include "onednn.h"

namespace alexnet::cpu {

dnnl::engine& onednn_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// A stream is not thread-safe, and every environment's queue thread runs primitives at once.
dnnl::stream& onednn_stream() {
  thread_local dnnl::stream stream(onednn_engine());
  return stream;
}

void* Scratch::take(size_t bytes) {
  held_.push_back(allocator_.allocate(bytes));
  return held_.back()->data;
}

dnnl::memory to_layout(const dnnl::memory& plain, const dnnl::memory::desc& want, Scratch& scratch) {
  if (plain.get_desc() == want) return plain;
  dnnl::memory source = plain;
  dnnl::memory converted(want, onednn_engine(), scratch.take(want.get_size()));
  dnnl::reorder(source, converted).execute(onednn_stream(), source, converted);
  return converted;
}

dnnl::memory output_in_layout(const dnnl::memory& plain, const dnnl::memory::desc& have, Scratch& scratch) {
  if (plain.get_desc() == have) return plain;
  return dnnl::memory(have, onednn_engine(), scratch.take(have.get_size()));
}

void from_layout(const dnnl::memory& computed, const dnnl::memory& plain) {
  if (computed.get_data_handle() == plain.get_data_handle()) return;
  dnnl::memory source = computed, target = plain;
  dnnl::reorder(source, target).execute(onednn_stream(), source, target);
}

}  // namespace alexnet::cpu
