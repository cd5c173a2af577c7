#include "backend.h"

#include "errors.h"

namespace alexnet {

void Backend::fail_next_op_for_testing(const std::string&, InjectedFailure) {
  throw BackendError(std::string("testFailNextOp: the ") + backend_name() + " build has no failure injection");
}

}  // namespace alexnet
