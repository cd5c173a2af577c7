// The CUDA build's convolution plan bookkeeping, which needs no GPU and so is checked in both
// builds' self-tests: the plan key and its text, the engine rules (which numerical notes strict
// fp32, TF32, deterministic mode and a fused ReLU allow), the stored choices' text, and the plan
// cache file (round trip, corruption, a foreign or newer file, merging, failed writes). The sources
// are native/cuda/conv2d_plan_key.cc, conv2d_engine_rules.cc, conv2d_plan_cache.cc and log.cc,
// which CMake compiles into the CPU self-test too.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "cuda/conv2d_engine_rules.h"
#include "cuda/conv2d_plan_cache.h"
#include "cuda/conv2d_plan_key.h"
#include "selftest.h"

namespace alexnet::selftest {
namespace {

using namespace alexnet::cuda;

ConvPlanKey sample_key() {
  ConvPlanKey k;
  k.direction = ConvDirection::forward;
  k.epilogue = ConvEpilogue::bias_relu;
  k.n = 128;
  k.c = 3;
  k.h = 224;
  k.w = 224;
  k.o = 64;
  k.kh = 11;
  k.kw = 11;
  k.stride_h = k.stride_w = 4;
  k.pad_top = k.pad_bottom = k.pad_left = k.pad_right = 2;
  k.math = MathMode::tf32;
  return k;
}

void check_keys() {
  const ConvPlanKey base = sample_key();
  report(base.text() ==
             "forward+bias_relu n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 "
             "nondeterministic a16",
         "conv plan key: text", base.text());
  report(base.out_h() == 55 && base.out_w() == 55, "conv plan key: output size", std::to_string(base.out_h()));

  // Every field, changed alone, gives another text and another packed key; each text parses back.
  std::vector<ConvPlanKey> variants;
  auto vary = [&](auto change) {
    ConvPlanKey k = base;
    change(k);
    variants.push_back(k);
  };
  vary([](ConvPlanKey& k) { k.direction = ConvDirection::backward_data, k.epilogue = ConvEpilogue::none; });
  vary([](ConvPlanKey& k) { k.direction = ConvDirection::backward_data, k.epilogue = ConvEpilogue::relu_backward; });
  vary([](ConvPlanKey& k) { k.direction = ConvDirection::backward_filter, k.epilogue = ConvEpilogue::none; });
  vary([](ConvPlanKey& k) { k.epilogue = ConvEpilogue::none; });
  vary([](ConvPlanKey& k) { k.epilogue = ConvEpilogue::bias; });
  vary([](ConvPlanKey& k) { k.epilogue = ConvEpilogue::relu; });
  vary([](ConvPlanKey& k) { k.n = 1; });
  vary([](ConvPlanKey& k) { k.c = 6, k.groups = 2, k.o = 64; });
  vary([](ConvPlanKey& k) { k.h = 227; });
  vary([](ConvPlanKey& k) { k.w = 225; });
  vary([](ConvPlanKey& k) { k.o = 96; });
  vary([](ConvPlanKey& k) { k.kh = 5; });
  vary([](ConvPlanKey& k) { k.kw = 5; });
  vary([](ConvPlanKey& k) { k.stride_h = 1; });
  vary([](ConvPlanKey& k) { k.stride_w = 2; });
  vary([](ConvPlanKey& k) { k.pad_top = 3; });
  vary([](ConvPlanKey& k) { k.pad_bottom = 3; });
  vary([](ConvPlanKey& k) { k.pad_left = 3; });
  vary([](ConvPlanKey& k) { k.pad_right = 3; });
  vary([](ConvPlanKey& k) { k.math = MathMode::fp32; });
  vary([](ConvPlanKey& k) { k.deterministic = true; });
  vary([](ConvPlanKey& k) { k.alignment = 4; });
  bool distinct = true, round_trip = true;
  std::string detail;
  std::vector<ConvPlanKey> all = variants;
  all.push_back(base);
  for (size_t i = 0; i < all.size(); ++i) {
    ConvPlanKey back;
    if (!all[i].valid() || !ConvPlanKey::parse(all[i].text(), &back) || back != all[i]) {
      round_trip = false;
      detail = all[i].text();
    }
    for (size_t j = 0; j < i; ++j)
      if (all[i].text() == all[j].text() || all[i].packed() == all[j].packed()) {
        distinct = false;
        detail = all[i].text();
      }
  }
  report(round_trip, "conv plan key: every variant's text parses back to it", detail);
  report(distinct, "conv plan key: a change in any field changes the text and the packed key", detail);

  const std::string good = base.text();
  const std::vector<std::string> bad = {
      "",
      good + " ",
      good + " extra",
      "sideways" + good.substr(good.find(' ')),
      "forward+none" + good.substr(good.find(' ')),
      "forward+relu_backward" + good.substr(good.find(' ')),
      "backward_filter+bias" + good.substr(good.find(' ')),
      "forward n0 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n-1 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11x11 g2 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n128 c3 h4 w4 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11x11 g1 s0x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 bf16 nchw tf32 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nhwc tf32 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw fp16 nondeterministic a16",
      "forward n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 maybe a16",
      "forward n128 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a3",
      "forward n12x8 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
      "forward n99999999999999999999 c3 h224 w224 o64 k11x11 g1 s4x4 p2,2,2,2 f32 nchw tf32 nondeterministic a16",
  };
  bool refused = true;
  for (const std::string& text : bad) {
    ConvPlanKey k = base;
    k.n = 7;
    if (ConvPlanKey::parse(text, &k) || k.n != 7) {
      refused = false;
      detail = "accepted: '" + text + "'";
    }
  }
  report(refused, "conv plan key: parse refuses malformed and impossible keys (and leaves the output alone)",
         refused ? std::to_string(bad.size()) + " texts" : detail);

  alignas(16) static char buffer[64];
  const bool aligned = pointer_alignment({buffer}) == 16 && pointer_alignment({buffer + 8}) == 8 &&
                       pointer_alignment({buffer + 4, buffer}) == 4 && pointer_alignment({buffer + 2}) == 2 &&
                       pointer_alignment({buffer + 1, buffer + 16}) == 1 && pointer_alignment({nullptr, buffer}) == 16;
  report(aligned, "conv plan key: pointer alignment is the largest power of two up to 16 dividing every pointer", "");
}

void check_engine_rules() {
  using namespace engine_note;
  struct Case {
    uint32_t notes;
    MathMode math;
    bool deterministic, relu;
    bool usable;
    const char* what;
  };
  const MathMode fp32 = MathMode::fp32, tf32 = MathMode::tf32;
  const Case cases[] = {
      {0, fp32, false, false, true, "no notes, fp32"},
      {0, tf32, true, false, true, "no notes, tf32, deterministic"},
      {runtime_compilation, fp32, false, false, true, "runtime compilation alone, fp32"},
      {tensor_core, fp32, false, false, false, "tensor cores in fp32"},
      {tensor_core, tf32, false, false, true, "tensor cores in tf32"},
      {down_convert_inputs, tf32, false, false, false, "down-converting inputs in tf32"},
      {down_convert_inputs | tensor_core, fp32, false, false, false, "down-converting inputs in fp32"},
      {reduced_precision_reduction, tf32, false, false, false, "reduced-precision sums in tf32"},
      {fft, fp32, false, false, false, "FFT in fp32"},
      {fft, tf32, false, false, true, "FFT in tf32"},
      {winograd, fp32, false, false, false, "Winograd without a tile note in fp32"},
      {winograd | winograd_tile_4x4, fp32, false, false, true, "Winograd 4x4 in fp32"},
      {winograd | winograd_tile_6x6, fp32, false, false, false, "Winograd 6x6 in fp32"},
      {winograd | winograd_tile_13x13, fp32, false, false, false, "Winograd 13x13 in fp32"},
      {winograd | winograd_tile_4x4 | winograd_tile_6x6, fp32, false, false, false, "Winograd 4x4 and 6x6 in fp32"},
      {winograd | winograd_tile_6x6, tf32, false, false, true, "Winograd 6x6 in tf32"},
      {unknown, fp32, false, false, false, "an unknown note in fp32"},
      {unknown, tf32, false, false, true, "an unknown note in tf32"},
      {nondeterministic, fp32, false, false, true, "non-deterministic, not asked for determinism"},
      {nondeterministic, fp32, true, false, false, "non-deterministic in deterministic mode"},
      {0, fp32, false, true, false, "a fused ReLU without strict NaN propagation"},
      {strict_nan_prop, fp32, false, true, true, "a fused ReLU with strict NaN propagation"},
      {strict_nan_prop | tensor_core, tf32, true, true, true, "strict NaN, tensor cores, tf32, deterministic"},
  };
  for (const Case& c : cases) {
    EngineNeeds needs;
    needs.math = c.math;
    needs.deterministic = c.deterministic;
    needs.relu_keeps_nan = c.relu;
    const EngineVerdict v = judge_engine(c.notes, needs);
    const bool ok = v.usable == c.usable && (v.usable ? v.reason.empty() : !v.reason.empty());
    report(ok, std::string("conv engine rules: ") + c.what + (c.usable ? " is allowed" : " is refused"), v.reason);
  }

  bool round_trip = true;
  std::string detail;
  const uint32_t all = (1u << 11) - 1;
  for (uint32_t bits = 0; bits <= all; ++bits) {
    const uint32_t notes = bits | (bits & 1 ? runtime_compilation : 0);
    uint32_t back = ~0u;
    if (!parse_notes(notes_text(notes), &back) || back != notes) {
      round_trip = false;
      detail = notes_text(notes);
    }
  }
  report(round_trip, "conv engine notes: every combination's text parses back", detail);
  uint32_t ignored = 5;
  const bool refused = !parse_notes("", &ignored) && !parse_notes("tensor_core,", &ignored) &&
                       !parse_notes("tensor_core,,fft", &ignored) && !parse_notes("tensorcore", &ignored) &&
                       !parse_notes(",", &ignored) && ignored == 5;
  report(refused, "conv engine notes: malformed note lists are refused", "");
}

void check_choices() {
  PlanChoice c;
  c.engine = 12;
  c.knobs = {{2, 3}, {5, -1}, {40, 128}};
  c.workspace = 1048576;
  c.ms = 0.51234;
  c.notes = engine_note::tensor_core | engine_note::runtime_compilation;
  PlanChoice back;
  const bool ok = PlanChoice::parse(c.text(), &back) && back.engine == 12 && back.knobs == c.knobs &&
                  back.workspace == c.workspace && back.ms == 0.5123 && back.notes == c.notes;
  report(ok, "conv plan choice: text round trip (time to 4 decimals)", c.text());
  PlanChoice none;
  none.engine = 0;
  report(PlanChoice::parse(none.text(), &back) && back.knobs.empty() && back.engine == 0,
         "conv plan choice: no knobs round trip", none.text());
  const std::vector<std::string> bad = {
      "",
      "engine 12",
      "engine -1 knobs - workspace 0 ms 0.1000 notes -",
      "engine 12 knobs 2= workspace 0 ms 0.1000 notes -",
      "engine 12 knobs 2=3, workspace 0 ms 0.1000 notes -",
      "engine 12 knobs -1=3 workspace 0 ms 0.1000 notes -",
      "engine 12 knobs - workspace -5 ms 0.1000 notes -",
      "engine 12 knobs - workspace 0 ms nan notes -",
      "engine 12 knobs - workspace 0 ms 1e5 notes -",
      "engine 12 knobs - workspace 0 ms -1.0 notes -",
      "engine 12 knobs - workspace 0 ms 0.1000 notes tensor_cores",
      "engine 12 knobs - workspace 0 ms 0.1000 notes - extra",
      "engine 1x knobs - workspace 0 ms 0.1000 notes -",
  };
  bool refused = true;
  std::string detail;
  for (const std::string& text : bad)
    if (PlanChoice::parse(text, &back)) {
      refused = false;
      detail = text;
    }
  report(refused, "conv plan choice: malformed texts are refused", detail);

  Decision d;
  d.options = {{"fused", 0.41}, {"separate", 0.52}};
  Decision db;
  report(Decision::parse(d.text(), &db) && db.winner() == "fused" && db.options.size() == 2 &&
             db.options[1].first == "separate" && db.options[1].second == 0.52,
         "conv decision: text round trip, winner first", d.text());
  report(!Decision::parse("", &db) && !Decision::parse("fused", &db) && !Decision::parse("fused 0.1 fused 0.2", &db) &&
             !Decision::parse("Fused 0.1", &db) && !Decision::parse("fused x", &db) &&
             !Decision::parse("fused 0.1 separate", &db),
         "conv decision: malformed texts are refused", "");
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

void check_cache_format() {
  const PlanCacheIdentity id{"NVIDIA H200", "9.0", "91400"};
  std::map<std::string, std::string> entries = {
      {sample_key().text(), "engine 3 knobs 2=1 workspace 0 ms 0.2000 notes tensor_core"},
      {"choose " + sample_key().text(), "fused 0.1000 separate 0.2000"},
  };
  const std::string text = serialize_plan_cache(id, entries);
  std::map<std::string, std::string> back;
  std::string problem = parse_plan_cache(text, id, &back);
  report(problem.empty() && back == entries, "conv plan cache: text round trip", problem);
  problem = parse_plan_cache(serialize_plan_cache(id, {}), id, &back);
  report(problem.empty() && back.empty(), "conv plan cache: an empty cache round trip", problem);

  auto expect_untrusted = [&](const std::string& name, const std::string& changed, const PlanCacheIdentity& as,
                              const char* must_say) {
    std::map<std::string, std::string> out = {{"stale", "entry"}};
    const std::string why = parse_plan_cache(changed, as, &out);
    report(!why.empty() && out.empty() && why.find(must_say) != std::string::npos,
           "conv plan cache: " + name + " is not trusted", why);
  };
  expect_untrusted("a file of another device", text, PlanCacheIdentity{"NVIDIA H100 80GB HBM3", "9.0", "91400"},
                   "device 'NVIDIA H200'");
  expect_untrusted("a file of another compute capability", text, PlanCacheIdentity{"NVIDIA H200", "8.0", "91400"},
                   "compute");
  expect_untrusted("a file of another cuDNN", text, PlanCacheIdentity{"NVIDIA H200", "9.0", "91900"}, "cudnn '91400'");
  std::string newer = text;
  newer.replace(0, newer.find('\n'), "alexnet-cuda conv plans 2");
  expect_untrusted("a file of a newer format version", newer, id, "format '2'");
  expect_untrusted("another kind of file", "{\"json\": true}\n", id, "not a plan cache");
  expect_untrusted("an empty file", "", id, "line break");
  expect_untrusted("a file cut mid-line", text.substr(0, text.size() - 7), id, "line break");
  const size_t last_line = text.rfind('\n', text.size() - 2);
  expect_untrusted("a file missing its last entry", text.substr(0, last_line + 1), id, "says 2 entries");
  std::string flipped = text;
  flipped[text.find("ms 0.2000") + 3] = '9';
  expect_untrusted("an entry whose value changed", flipped, id, "checksum");
  std::string tabbed = text;
  tabbed.insert(text.find("fused 0.1000"), "x\t");
  expect_untrusted("an entry with an extra field", tabbed, id, "malformed");
  const std::string header_only = text.substr(0, text.find('\n', text.find("entries")) + 1);
  const std::string one_entry =
      text.substr(header_only.size(), text.find('\n', header_only.size()) + 1 - header_only.size());
  std::string repeated = header_only + one_entry + one_entry;
  expect_untrusted("a file repeating a key", repeated, id, "repeats");
  expect_untrusted("a file with only its first line", "alexnet-cuda conv plans 1\n", id, "incomplete");

  report(plan_cache_file_name(id) == "conv-plans-v1-NVIDIA-H200-sm9.0-cudnn91400.tsv",
         "conv plan cache: file name from the identity", plan_cache_file_name(id));
  report(plan_cache_file_name(PlanCacheIdentity{"../../etc/x y", "9.0", "9"}).find('/') == std::string::npos,
         "conv plan cache: the device name cannot reach outside the folder",
         plan_cache_file_name(PlanCacheIdentity{"../../etc/x y", "9.0", "9"}));
}

void check_cache_file() {
  char dir_template[] = "/tmp/alexnet-plan-cache-XXXXXX";
  const char* made = mkdtemp(dir_template);
  if (!made) {
    report(false, "conv plan cache file: a temporary folder", "mkdtemp failed");
    return;
  }
  const std::string dir = std::string(made) + "/nested/cache";
  const PlanCacheIdentity id{"NVIDIA H200", "9.0", "91400"};
  const std::string key = sample_key().text(), value = "engine 3 knobs - workspace 0 ms 0.2000 notes -";
  {
    PlanCacheFile first(dir, id);
    first.load();
    report(first.size() == 0 && first.ignored_reason().empty(),
           "conv plan cache file: a missing file is an empty cache", first.ignored_reason());
    first.put(key, value);
    first.put("bad\tkey", value);  // never stored: it could not be read back
  }
  PlanCacheFile second(dir, id);
  second.load();
  const std::string* found = second.find(key);
  report(found && *found == value && second.size() == 1, "conv plan cache file: a second process finds the entry",
         second.path());

  // Two processes writing in turn: each write merges what the other wrote.
  PlanCacheFile third(dir, id);
  third.load();
  second.put("k2", "fused 0.1000 separate 0.2000");
  third.put("k3", "inline 0.1000 beside 0.2000");
  PlanCacheFile merged(dir, id);
  merged.load();
  report(merged.size() == 3 && merged.find("k2") && merged.find("k3") && merged.find(key),
         "conv plan cache file: writes merge with the file's current entries", std::to_string(merged.size()));

  // Corruption: the whole file is ignored (one warning), then rewritten whole by the next write.
  std::string text = read_text(merged.path());
  text[text.find("ms 0.2000") + 4] = '7';
  write_text(merged.path(), text);
  PlanCacheFile corrupt(dir, id);
  corrupt.load();
  report(corrupt.size() == 0 && corrupt.ignored_reason().find("checksum") != std::string::npos,
         "conv plan cache file: a corrupt file is ignored as a whole", corrupt.ignored_reason());
  corrupt.put("k4", "inline 0.1000 beside 0.2000");
  PlanCacheFile rewritten(dir, id);
  rewritten.load();
  report(rewritten.ignored_reason().empty() && rewritten.size() == 1 && rewritten.find("k4"),
         "conv plan cache file: the next write replaces a corrupt file", rewritten.ignored_reason());

  // A file of another cuDNN placed under this identity's name is not used.
  write_text(rewritten.path(), serialize_plan_cache(PlanCacheIdentity{"NVIDIA H200", "9.0", "91900"}, {{key, value}}));
  PlanCacheFile foreign(dir, id);
  foreign.load();
  report(foreign.size() == 0 && foreign.ignored_reason().find("cudnn") != std::string::npos,
         "conv plan cache file: a foreign file is ignored", foreign.ignored_reason());

  // No folder: everything stays in memory.
  PlanCacheFile memory("", id);
  memory.load();
  memory.put(key, value);
  report(memory.path().empty() && memory.find(key), "conv plan cache file: no folder keeps entries in memory", "");

  // A folder that cannot be made (a file stands in its way): one warning, entries kept in memory.
  const std::string blocker = std::string(made) + "/blocker";
  write_text(blocker, "not a folder");
  PlanCacheFile unwritable(blocker + "/cache", id);
  unwritable.load();
  unwritable.put(key, value);
  struct stat st {};
  report(unwritable.find(key) && stat(unwritable.path().c_str(), &st) != 0,
         "conv plan cache file: a failed write keeps the entry in memory", unwritable.path());

  // Where the folder comes from.
  const char* saved = std::getenv("ALEXNET_CUDA_PLAN_CACHE");
  const std::string saved_value = saved ? saved : "";
  setenv("ALEXNET_CUDA_PLAN_CACHE", "off", 1);
  const bool off = plan_cache_dir_from_env().empty();
  setenv("ALEXNET_CUDA_PLAN_CACHE", "/some/folder", 1);
  const bool named = plan_cache_dir_from_env() == "/some/folder";
  unsetenv("ALEXNET_CUDA_PLAN_CACHE");
  const bool fallback = !plan_cache_dir_from_env().empty() || !std::getenv("HOME");
  if (saved) setenv("ALEXNET_CUDA_PLAN_CACHE", saved_value.c_str(), 1);
  report(off && named && fallback, "conv plan cache file: ALEXNET_CUDA_PLAN_CACHE names the folder, off turns it off",
         "");

  const std::string cleanup = "rm -rf '" + std::string(made) + "'";
  if (std::system(cleanup.c_str()) != 0) std::printf("note: could not remove %s\n", made);
}

}  // namespace

void test_conv2d_plan() {
  check_keys();
  check_engine_rules();
  check_choices();
  check_cache_format();
  check_cache_file();
}

}  // namespace alexnet::selftest
