#include "log.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace alexnet::cuda {

int log_level() {
  static const int level = [] {
    const char* v = std::getenv("ALEXNET_CUDA_LOG");
    return v ? std::atoi(v) : 0;
  }();
  return level;
}

void log_line(int level, const char* format, ...) {
  if (level > log_level()) return;
  if (level == 0 && log_level() == 0) {  // asking for the log overrides ALEXNET_QUIET
    const char* quiet = std::getenv("ALEXNET_QUIET");
    if (quiet && std::strcmp(quiet, "1") == 0) return;
  }
  // One write per line, so that lines from other writers (the JavaScript side's) do not split it.
  char text[2048];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  static const char* file = std::getenv("ALEXNET_CUDA_LOG_FILE");
  if (file && *file) {
    if (std::FILE* f = std::fopen(file, "a")) {
      std::fprintf(f, "alexnet cuda: %s\n", text);
      std::fclose(f);
      return;
    }
  }
  std::fprintf(stderr, "alexnet cuda: %s\n", text);
}

}  // namespace alexnet::cuda
