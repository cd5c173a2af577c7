#include "errors.h"

#include <new>

namespace alexnet {

std::exception_ptr failure_in_op(const std::string& op, std::exception_ptr failure) {
  const std::string prefix = op + ": ";
  auto named = [&](const char* what) {
    const std::string message = what;
    return message.rfind(prefix, 0) == 0 ? message : prefix + message;
  };
  try {
    std::rethrow_exception(failure);
  } catch (const TypeError& e) {
    return std::make_exception_ptr(TypeError(named(e.what())));
  } catch (const RangeError& e) {
    return std::make_exception_ptr(RangeError(named(e.what())));
  } catch (const OutOfMemoryError& e) {
    return std::make_exception_ptr(OutOfMemoryError(named(e.what())));
  } catch (const DeviceLostError& e) {
    return std::make_exception_ptr(DeviceLostError(named(e.what())));
  } catch (const std::bad_alloc&) {
    return std::make_exception_ptr(OutOfMemoryError(named("out of host memory")));
  } catch (const std::exception& e) {
    return std::make_exception_ptr(BackendError(named(e.what())));
  } catch (...) {
    return std::make_exception_ptr(BackendError(named("unknown native failure")));
  }
}

}  // namespace alexnet
