// The bound on cuDNN's and cuBLASLt's shared workspace. Plain C++ (no CUDA), so the CPU self-test
// checks it too (test/native/selftest/cuda_config.cc).
#pragma once

#include <cstddef>

namespace alexnet::cuda {

// The most workspace a convolution algorithm may use, by default: 1 GiB, or a sixteenth of the
// device's memory if that is less; the environment variable ALEXNET_CUDA_WORKSPACE_MB overrides it.
// The bound matters: on an H200 at batch 128 the paper's grouped conv2 takes 7.7 ms (forward and
// backward, fp32) with 256 MiB, where the faster algorithms are out of reach, and 1.4 ms with more.
// The one shared workspace grows to what the searches asked for and stays reserved.
constexpr size_t kMaxWorkspaceBytes = size_t(1) << 30;

// 1 GiB or 1/16 of the device's memory, whichever is less; `env_mb` (the value of
// ALEXNET_CUDA_WORKSPACE_MB, or null when unset) overrides it with a whole number of MiB from 0 to
// 1048576. Anything else throws a BackendError naming the variable and the value.
size_t workspace_limit(size_t total_device_bytes, const char* env_mb);

}  // namespace alexnet::cuda
