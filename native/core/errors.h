// Error types shared by every backend. Native code reports failures by throwing one of these;
// the binding turns each into the matching JavaScript error. Nothing here ever aborts or exits.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace alexnet {

// A caller passed something of the wrong kind (becomes a JS TypeError).
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A caller passed a value of the right kind but outside what the op accepts (becomes a JS RangeError).
struct RangeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A library or driver call failed (CUDA, cuDNN, cuBLAS, oneDNN). The message names the call and status.
struct BackendError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The device or host ran out of memory. The process can go on: free tensors and retry smaller.
struct OutOfMemoryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A graph capture could not be made (an allocation the pool could not serve without the system, a
// call that cannot be recorded); the step runs without a graph instead.
struct CaptureError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The CUDA context is in a state it cannot leave (a sticky error): the process must restart to use the GPU.
struct DeviceLostError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `failure` as the same error class with its message prefixed by the op that failed, e.g.
// "conv2dForward: out of host memory: ...": for failures reported after the call that queued the
// op has returned (see poison.h), where nothing else would say which op it was.
std::exception_ptr failure_in_op(const std::string& op, std::exception_ptr failure);

}  // namespace alexnet
