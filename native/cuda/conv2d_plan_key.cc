#include "conv2d_plan_key.h"

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace alexnet::cuda {
namespace {

const char* const kDirections[] = {"forward", "backward_data", "backward_filter"};
const char* const kEpilogues[] = {"none", "bias", "relu", "bias_relu", "relu_backward"};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep)) parts.push_back(part);
  if (!text.empty() && text.back() == sep) parts.emplace_back();
  return parts;
}

// A whole decimal number in [0, 2^40] (larger than any dimension cuDNN takes), nothing else.
bool parse_count(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 14) return false;
  for (char ch : text)
    if (ch < '0' || ch > '9') return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > (int64_t(1) << 40)) return false;
  *out = v;
  return true;
}

// "<prefix><number>"
bool parse_field(const std::string& token, const char* prefix, int64_t* out) {
  const std::string p(prefix);
  return token.compare(0, p.size(), p) == 0 && parse_count(token.substr(p.size()), out);
}

// "<prefix><a><sep><b>..." with exactly `count` numbers
bool parse_list(const std::string& token, const char* prefix, char sep, size_t count, int64_t* out) {
  const std::string p(prefix);
  if (token.compare(0, p.size(), p) != 0) return false;
  const std::vector<std::string> parts = split(token.substr(p.size()), sep);
  if (parts.size() != count) return false;
  for (size_t i = 0; i < count; ++i)
    if (!parse_count(parts[i], &out[i])) return false;
  return true;
}

template <typename Enum, size_t N>
bool parse_name(const std::string& text, const char* const (&names)[N], Enum* out) {
  for (size_t i = 0; i < N; ++i)
    if (text == names[i]) {
      *out = static_cast<Enum>(i);
      return true;
    }
  return false;
}

}  // namespace

const char* direction_name(ConvDirection d) { return kDirections[static_cast<int>(d)]; }
const char* epilogue_name(ConvEpilogue e) { return kEpilogues[static_cast<int>(e)]; }

ConvPlanKey::Packed ConvPlanKey::packed() const {
  return {static_cast<int64_t>(direction),
          static_cast<int64_t>(epilogue),
          n,
          c,
          h,
          w,
          o,
          kh,
          kw,
          groups,
          stride_h,
          stride_w,
          pad_top,
          pad_bottom,
          pad_left,
          pad_right,
          static_cast<int64_t>(dtype) * 16 + static_cast<int64_t>(layout),
          static_cast<int64_t>(math),
          deterministic ? 1 : 0,
          alignment};
}

std::string ConvPlanKey::text() const {
  std::ostringstream s;
  s << direction_name(direction);
  if (epilogue != ConvEpilogue::none) s << '+' << epilogue_name(epilogue);
  s << " n" << n << " c" << c << " h" << h << " w" << w << " o" << o << " k" << kh << 'x' << kw << " g" << groups
    << " s" << stride_h << 'x' << stride_w << " p" << pad_top << ',' << pad_bottom << ',' << pad_left << ','
    << pad_right << " f32 nchw " << (math == MathMode::tf32 ? "tf32" : "fp32") << ' '
    << (deterministic ? "deterministic" : "nondeterministic") << " a" << alignment;
  return s.str();
}

bool ConvPlanKey::valid() const {
  const bool epilogue_fits = epilogue == ConvEpilogue::none ||
                             (direction == ConvDirection::forward && epilogue != ConvEpilogue::relu_backward) ||
                             (direction == ConvDirection::backward_data && epilogue == ConvEpilogue::relu_backward);
  const bool aligned = alignment == 1 || alignment == 2 || alignment == 4 || alignment == 8 || alignment == 16;
  return epilogue_fits && aligned && n > 0 && c > 0 && h > 0 && w > 0 && o > 0 && kh > 0 && kw > 0 && groups > 0 &&
         c % groups == 0 && o % groups == 0 && stride_h > 0 && stride_w > 0 && pad_top >= 0 && pad_bottom >= 0 &&
         pad_left >= 0 && pad_right >= 0 && h + pad_top + pad_bottom >= kh && w + pad_left + pad_right >= kw;
}

bool ConvPlanKey::parse(const std::string& text, ConvPlanKey* out) {
  const std::vector<std::string> t = split(text, ' ');
  if (t.size() != 15) return false;
  ConvPlanKey k;
  const std::vector<std::string> head = split(t[0], '+');
  if (head.size() > 2 || !parse_name(head[0], kDirections, &k.direction)) return false;
  if (head.size() == 2 && (!parse_name(head[1], kEpilogues, &k.epilogue) || k.epilogue == ConvEpilogue::none))
    return false;
  int64_t kernel[2], stride[2], pad[4];
  if (!parse_field(t[1], "n", &k.n) || !parse_field(t[2], "c", &k.c) || !parse_field(t[3], "h", &k.h) ||
      !parse_field(t[4], "w", &k.w) || !parse_field(t[5], "o", &k.o) || !parse_list(t[6], "k", 'x', 2, kernel) ||
      !parse_field(t[7], "g", &k.groups) || !parse_list(t[8], "s", 'x', 2, stride) ||
      !parse_list(t[9], "p", ',', 4, pad) || t[10] != "f32" || t[11] != "nchw")
    return false;
  k.kh = kernel[0];
  k.kw = kernel[1];
  k.stride_h = stride[0];
  k.stride_w = stride[1];
  k.pad_top = pad[0];
  k.pad_bottom = pad[1];
  k.pad_left = pad[2];
  k.pad_right = pad[3];
  if (t[12] == "tf32")
    k.math = MathMode::tf32;
  else if (t[12] != "fp32")
    return false;
  if (t[13] == "deterministic")
    k.deterministic = true;
  else if (t[13] != "nondeterministic")
    return false;
  if (!parse_field(t[14], "a", &k.alignment) || !k.valid()) return false;
  *out = k;
  return true;
}

int64_t pointer_alignment(std::initializer_list<const void*> pointers) {
  int64_t alignment = 16;
  for (const void* p : pointers) {
    if (!p) continue;
    const auto address = reinterpret_cast<uintptr_t>(p);
    while (alignment > 1 && address % static_cast<uintptr_t>(alignment) != 0) alignment /= 2;
  }
  return alignment;
}

}  // namespace alexnet::cuda
