// The CUDA build's configuration that needs no GPU, checked in both builds' self-tests: the
// workspace bound and ALEXNET_CUDA_WORKSPACE_MB (native/cuda/workspace_limit.cc, which CMake
// compiles into the CPU self-test too).
#include <string>

#include "core/errors.h"
#include "cuda/workspace_limit.h"
#include "selftest.h"

namespace alexnet::selftest {

void test_cuda_config() {
  using alexnet::cuda::kMaxWorkspaceBytes;
  using alexnet::cuda::workspace_limit;
  const size_t gib = size_t(1) << 30;
  report(workspace_limit(141 * gib, nullptr) == kMaxWorkspaceBytes, "workspace limit: 1 GiB on a large device", "");
  report(workspace_limit(8 * gib, nullptr) == gib / 2, "workspace limit: 1/16 of a small device's memory", "");
  report(workspace_limit(141 * gib, "256") == (size_t(256) << 20),
         "workspace limit: ALEXNET_CUDA_WORKSPACE_MB=256 is 256 MiB", "");
  report(workspace_limit(141 * gib, "0") == 0, "workspace limit: ALEXNET_CUDA_WORKSPACE_MB=0 allows none", "");
  report(workspace_limit(141 * gib, "1048576") == (size_t(1) << 40),
         "workspace limit: ALEXNET_CUDA_WORKSPACE_MB up to 1048576", "");
  for (const char* bad : {"", "abc", "12MB", " 12", "+12", "-1", "1.5", "1048577", "99999999999999999999"}) {
    expect_throw(
        std::string("workspace limit: ALEXNET_CUDA_WORKSPACE_MB='") + bad + "' is refused, naming the variable",
        [&] { workspace_limit(141 * gib, bad); }, "ALEXNET_CUDA_WORKSPACE_MB must be a whole number of MiB");
  }
}

}  // namespace alexnet::selftest
