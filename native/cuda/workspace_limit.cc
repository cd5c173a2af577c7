#include "workspace_limit.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

#include "core/errors.h"

namespace alexnet::cuda {
namespace {

constexpr unsigned long long kMaxMiB = 1ull << 20;

}  // namespace

size_t workspace_limit(size_t total_device_bytes, const char* env_mb) {
  if (env_mb == nullptr) return std::min(kMaxWorkspaceBytes, total_device_bytes / 16);
  const std::string text(env_mb);
  // strtoull alone would take " 12", "+12" and "-1" (as a huge number): accept digits only.
  const bool digits =
      !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  const unsigned long long value = digits && text.size() <= 8 ? std::strtoull(text.c_str(), nullptr, 10) : kMaxMiB + 1;
  if (value > kMaxMiB)
    throw BackendError("ALEXNET_CUDA_WORKSPACE_MB must be a whole number of MiB from 0 to 1048576, got '" + text + "'");
  return static_cast<size_t>(value) << 20;
}

}  // namespace alexnet::cuda
