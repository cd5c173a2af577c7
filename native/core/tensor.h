// The backend-neutral tensor: a shape, an element type and a reference-counted block of memory owned
// by a backend's allocator, with the tensor's first element `offset` bytes into it. Copies share the
// block; the block returns to its allocator when the last copy goes (which may be on the backend's
// worker thread, after queued work that used it has run). Views into a shared block (the flat
// parameter and gradient buffers, one view per layer's tensor) keep the whole block alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "poison.h"

namespace alexnet {

// u8 holds image bytes on their way to the preprocessing op; every other op takes f32 or i32.
enum class DType { f32, i32, u8 };

inline size_t dtype_size(DType t) { return t == DType::u8 ? 1 : 4; }
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32:
      return "float32";
    case DType::i32:
      return "int32";
    default:
      return "uint8";
  }
}

// One allocation. `release` hands the memory back to whichever allocator produced it. `poison` is
// shared with every view of the memory (a view made for queued work passes the owner's along).
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  std::function<void(void*, size_t)> release;
  std::shared_ptr<Poison> poison;
  Storage(void* d, size_t n, std::function<void(void*, size_t)> r,
          std::shared_ptr<Poison> p = std::make_shared<Poison>())
      : data(d), bytes(n), release(std::move(r)), poison(std::move(p)) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() {
    if (release) release(data, bytes);
  }
};

using Shape = std::vector<int64_t>;

inline int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_string(const Shape& s);

struct Tensor {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::f32;
  size_t offset = 0;  // bytes from the start of the storage to the first element

  int64_t numel() const { return numel_of(shape); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  int rank() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape[static_cast<size_t>(i)]; }
  void* data() const { return static_cast<char*>(storage->data) + offset; }
  float* f32() const { return static_cast<float*>(data()); }
  int32_t* i32() const { return static_cast<int32_t*>(data()); }
  uint8_t* u8() const { return static_cast<uint8_t*>(data()); }
};

}  // namespace alexnet
