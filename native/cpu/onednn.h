// Shared oneDNN plumbing for the CPU build: one engine and a stream per queue thread (each
// JavaScript environment that loads the addon has its own queue), wrapping our buffers as oneDNN
// memory, converting to and from the layouts a primitive prefers, and taking temporaries from the
// caching allocator so a steady-state step allocates nothing.
#pragma once

#include <dnnl.hpp>
#include <memory>
#include <vector>

#include "core/caching_allocator.h"

namespace alexnet::cpu {

dnnl::engine& onednn_engine();
dnnl::stream& onednn_stream();

// Temporaries that live as long as this object (one op's execution).
class Scratch {
 public:
  explicit Scratch(CachingAllocator& allocator) : allocator_(allocator) {}
  void* take(size_t bytes);

 private:
  CachingAllocator& allocator_;
  std::vector<std::shared_ptr<Storage>> held_;
};

// `plain` in the layout `want`: the same memory when they agree, else a reordered temporary.
dnnl::memory to_layout(const dnnl::memory& plain, const dnnl::memory::desc& want, Scratch& scratch);
// Memory in layout `have` that will be copied into `plain` by from_layout (same memory when they agree).
dnnl::memory output_in_layout(const dnnl::memory& plain, const dnnl::memory::desc& have, Scratch& scratch);
void from_layout(const dnnl::memory& computed, const dnnl::memory& plain);

// Runs a oneDNN call, turning dnnl::error into BackendError naming `what`.
template <typename F>
void onednn_call(const char* what, F&& f);

}  // namespace alexnet::cpu

#include "core/errors.h"

namespace alexnet::cpu {
template <typename F>
void onednn_call(const char* what, F&& f) {
  try {
    f();
  } catch (const dnnl::error& e) {
    throw BackendError(std::string("oneDNN ") + what + " failed: " + e.what() + " (status " +
                       std::to_string(static_cast<int>(e.status)) + ")");
  }
}
}  // namespace alexnet::cpu
