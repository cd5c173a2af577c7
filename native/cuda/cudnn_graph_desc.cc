#include "cudnn_graph_desc.h"

#include <utility>

#include "check.h"

namespace alexnet::cuda {

GraphDescriptor::GraphDescriptor(cudnnBackendDescriptorType_t type, const char* type_name) {
  check_cudnn(cudnnBackendCreateDescriptor(type, &desc_),
              (std::string("cudnnBackendCreateDescriptor(") + type_name + ")").c_str());
}

GraphDescriptor::~GraphDescriptor() {
  if (desc_) cudnnBackendDestroyDescriptor(desc_);
}

GraphDescriptor::GraphDescriptor(GraphDescriptor&& other) noexcept : desc_(std::exchange(other.desc_, nullptr)) {}

GraphDescriptor& GraphDescriptor::operator=(GraphDescriptor&& other) noexcept {
  if (this != &other) {
    if (desc_) cudnnBackendDestroyDescriptor(desc_);
    desc_ = std::exchange(other.desc_, nullptr);
  }
  return *this;
}

void GraphDescriptor::set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
                          const void* values, const char* attribute) {
  check_cudnn(try_set(name, type, count, values), (std::string("cudnnBackendSetAttribute(") + attribute + ")").c_str());
}

cudnnStatus_t GraphDescriptor::try_set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                                       int64_t count, const void* values) {
  return cudnnBackendSetAttribute(desc_, name, type, count, values);
}

void GraphDescriptor::finalize(const char* what) {
  check_cudnn(try_finalize(), (std::string("cudnnBackendFinalize(") + what + ")").c_str());
}

cudnnStatus_t GraphDescriptor::try_finalize() { return cudnnBackendFinalize(desc_); }

int64_t GraphDescriptor::get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t capacity,
                             void* values, const char* attribute) const {
  int64_t count = 0;
  check_cudnn(try_get(name, type, capacity, &count, values),
              (std::string("cudnnBackendGetAttribute(") + attribute + ")").c_str());
  return count;
}

cudnnStatus_t GraphDescriptor::try_get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                                       int64_t capacity, int64_t* count, void* values) const {
  return cudnnBackendGetAttribute(desc_, name, type, capacity, count, values);
}

int64_t GraphDescriptor::get_int64(cudnnBackendAttributeName_t name, const char* attribute) const {
  int64_t value = 0;
  get(name, CUDNN_TYPE_INT64, 1, &value, attribute);
  return value;
}

std::vector<GraphDescriptor> get_descriptors(const GraphDescriptor& from, cudnnBackendAttributeName_t name,
                                             cudnnBackendDescriptorType_t type, const char* type_name, int64_t capacity,
                                             const char* attribute) {
  std::vector<GraphDescriptor> out;
  std::vector<cudnnBackendDescriptor_t> raw;
  out.reserve(static_cast<size_t>(capacity));
  for (int64_t i = 0; i < capacity; ++i) {
    out.emplace_back(type, type_name);
    raw.push_back(out.back().get());
  }
  const int64_t count = from.get(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, capacity, raw.data(), attribute);
  if (count < static_cast<int64_t>(out.size())) out.resize(static_cast<size_t>(count < 0 ? 0 : count));
  return out;
}

std::string cudnn_status_text(cudnnStatus_t status) {
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));
  std::string text = cudnnGetErrorString(status);
  if (detail[0]) text += std::string(" (") + detail + ")";
  return text;
}

}  // namespace alexnet::cuda
