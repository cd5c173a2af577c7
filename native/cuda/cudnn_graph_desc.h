// A small owning wrapper over cuDNN's backend (graph) API descriptors (cudnn_graph.h): created in
// the constructor, destroyed in the destructor (never throwing), every attribute set, attribute read
// and finalization checked, with errors that name the call and the attribute, e.g.
//   cudnnBackendSetAttribute(CUDNN_ATTR_TENSOR_DIMENSIONS) failed: CUDNN_STATUS_BAD_PARAM (...)
// The try_ variants return cuDNN's status instead, for the calls whose failure only means "this
// engine does not support this graph" during a search. Written for this project over cuDNN's C
// API; cudnn-frontend is not used.
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <string>
#include <vector>

namespace alexnet::cuda {

class GraphDescriptor {
 public:
  GraphDescriptor() = default;  // holds nothing
  // cudnnBackendCreateDescriptor; `type_name` names it in errors.
  GraphDescriptor(cudnnBackendDescriptorType_t type, const char* type_name);
  ~GraphDescriptor();
  GraphDescriptor(GraphDescriptor&& other) noexcept;
  GraphDescriptor& operator=(GraphDescriptor&& other) noexcept;
  GraphDescriptor(const GraphDescriptor&) = delete;
  GraphDescriptor& operator=(const GraphDescriptor&) = delete;

  cudnnBackendDescriptor_t get() const { return desc_; }
  explicit operator bool() const { return desc_ != nullptr; }

  // cudnnBackendSetAttribute; `attribute` is the attribute's name, for the error.
  void set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count, const void* values,
           const char* attribute);
  cudnnStatus_t try_set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t count,
                        const void* values);
  // cudnnBackendFinalize; `what` names the descriptor.
  void finalize(const char* what);
  cudnnStatus_t try_finalize();

  // cudnnBackendGetAttribute of up to `capacity` elements into `values`; returns how many there are.
  int64_t get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t capacity, void* values,
              const char* attribute) const;
  cudnnStatus_t try_get(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, int64_t capacity,
                        int64_t* count, void* values) const;
  int64_t get_int64(cudnnBackendAttributeName_t name, const char* attribute) const;

 private:
  cudnnBackendDescriptor_t desc_ = nullptr;
};

// Descriptors of `type` that cuDNN fills through an attribute of descriptor type (the results of
// a heuristics query, a configuration's engine or knob choices): created here, handed to
// cudnnBackendGetAttribute, trimmed to the number it returned.
std::vector<GraphDescriptor> get_descriptors(const GraphDescriptor& from, cudnnBackendAttributeName_t name,
                                             cudnnBackendDescriptorType_t type, const char* type_name, int64_t capacity,
                                             const char* attribute);

// The status's name and cuDNN's last error message, for log lines of failed candidates.
std::string cudnn_status_text(cudnnStatus_t status);

}  // namespace alexnet::cuda

// Names the attribute in errors by its identifier.
#define GRAPH_SET(desc, attr, type, count, values) (desc).set((attr), (type), (count), (values), #attr)
#define GRAPH_GET(desc, attr, type, capacity, values) (desc).get((attr), (type), (capacity), (values), #attr)
#define GRAPH_GET_INT64(desc, attr) (desc).get_int64((attr), #attr)
