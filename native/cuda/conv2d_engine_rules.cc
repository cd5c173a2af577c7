#include "conv2d_engine_rules.h"

#include <sstream>

namespace alexnet::cuda {
namespace {

struct NoteName {
  uint32_t bit;
  const char* name;
};

const NoteName kNoteNames[] = {
    {engine_note::tensor_core, "tensor_core"},
    {engine_note::down_convert_inputs, "down_convert_inputs"},
    {engine_note::reduced_precision_reduction, "reduced_precision_reduction"},
    {engine_note::fft, "fft"},
    {engine_note::nondeterministic, "nondeterministic"},
    {engine_note::winograd, "winograd"},
    {engine_note::winograd_tile_4x4, "winograd_tile_4x4"},
    {engine_note::winograd_tile_6x6, "winograd_tile_6x6"},
    {engine_note::winograd_tile_13x13, "winograd_tile_13x13"},
    {engine_note::strict_nan_prop, "strict_nan_prop"},
    {engine_note::unknown, "unknown"},
    {engine_note::runtime_compilation, "runtime_compilation"},
};

EngineVerdict refuse(const char* reason) { return EngineVerdict{false, reason}; }

}  // namespace

EngineVerdict judge_engine(uint32_t notes, const EngineNeeds& needs) {
  using namespace engine_note;
  if (notes & down_convert_inputs) return refuse("it converts the inputs to a narrower type");
  if (notes & reduced_precision_reduction) return refuse("it sums in reduced precision");
  if (needs.math == MathMode::fp32) {
    if (notes & tensor_core) return refuse("it uses tensor cores (TF32), and the math mode is strict fp32");
    if (notes & fft) return refuse("FFT loses more than strict fp32's 1e-4");
    if ((notes & winograd) && !((notes & winograd_tile_4x4) && !(notes & (winograd_tile_6x6 | winograd_tile_13x13))))
      return refuse("Winograd with tiles larger than 4x4 loses more than strict fp32's 1e-4");
    if (notes & unknown) return refuse("it carries a numerical note this build does not know, in strict fp32");
  }
  if (needs.deterministic && (notes & nondeterministic))
    return refuse("it is not deterministic, and deterministic mode is on");
  if (needs.relu_keeps_nan && !(notes & strict_nan_prop))
    return refuse("its fused ReLU is not noted to pass NaN on, as ours does");
  return EngineVerdict{};
}

std::string notes_text(uint32_t notes) {
  std::string text;
  for (const NoteName& n : kNoteNames) {
    if (!(notes & n.bit)) continue;
    if (!text.empty()) text += ',';
    text += n.name;
  }
  return text.empty() ? "-" : text;
}

bool parse_notes(const std::string& text, uint32_t* notes) {
  if (text == "-") {
    *notes = 0;
    return true;
  }
  uint32_t bits = 0;
  std::istringstream in(text);
  std::string name;
  size_t count = 0;
  while (std::getline(in, name, ',')) {
    ++count;
    bool known = false;
    for (const NoteName& n : kNoteNames)
      if (name == n.name) {
        bits |= n.bit;
        known = true;
      }
    if (!known) return false;
  }
  if (count == 0 || text.back() == ',') return false;
  *notes = bits;
  return true;
}

}  // namespace alexnet::cuda
