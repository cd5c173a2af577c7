// The on-disk cache of convolution plan choices, so that a second process starts without timing
// every candidate engine again. One file per (device name, compute capability, cuDNN version), in
// ALEXNET_CUDA_PLAN_CACHE (a folder; "off" turns the file off) or else
// $XDG_CACHE_HOME/alexnet-cuda, else ~/.cache/alexnet-cuda. The file is text:
//
//   alexnet-cuda conv plans 1
//   device<TAB>NVIDIA H200
//   compute<TAB>9.0
//   cudnn<TAB>91400
//   entries<TAB>2
//   <key><TAB><value><TAB><checksum>
//   ...
//
// where a key is a ConvPlanKey's text (or "choose " and one, for a fusion decision), a value is a
// PlanChoice's or a Decision's text (or "none rules N": no usable engine under engine rules N), and the checksum is
// FNV-1a (64 bits, hex) of "<key><TAB><value>". A file whose header names another device, compute capability or cuDNN,
// another format version, a line that does not parse or whose checksum fails, or fewer or more entries than it says, is
// ignored as a whole, with one warning line; it is then rewritten from this process's choices.
// Nothing read from it is trusted further than cuDNN accepting it: conv2d_graph.cc rebuilds the
// engine it names, applies the engine rules (conv2d_engine_rules.h) to the rebuilt engine's notes
// again, and searches afresh when either fails. Writes are atomic (a temporary file renamed over
// the old one) and merge with what other processes wrote meanwhile.
//
// Pure C++ (no CUDA headers), so that the self-test of the CPU build checks the format.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace alexnet::cuda {

// The engine configuration a plan runs: what rebuilds it without a search.
struct PlanChoice {
  int64_t engine = -1;                             // CUDNN_ATTR_ENGINE_GLOBAL_INDEX
  std::vector<std::pair<int64_t, int64_t>> knobs;  // (cudnnBackendKnobType_t, value), in cuDNN's order
  int64_t workspace = 0;                           // bytes
  double ms = 0;                                   // median measured when chosen
  uint32_t notes = 0;                              // engine_note bits (conv2d_engine_rules.h)

  // "engine 12 knobs 2=3,5=1 workspace 1048576 ms 0.5123 notes tensor_core"; knobs "-" when none.
  std::string text() const;
  static bool parse(const std::string& text, PlanChoice* out);
};

// A choice between ways of computing the same thing, each with its measured median, the winner
// first: "fused 0.4100 separate 0.5200".
struct Decision {
  std::vector<std::pair<std::string, double>> options;  // names: [a-z_]+

  const std::string& winner() const { return options.front().first; }
  std::string text() const;
  static bool parse(const std::string& text, Decision* out);
};

struct PlanCacheIdentity {
  std::string device;   // cudaDeviceProp::name
  std::string compute;  // "9.0"
  std::string cudnn;    // cudnnGetVersion(), e.g. "91400"
};

constexpr int kPlanCacheFormat = 1;

// FNV-1a, 64 bits.
uint64_t fnv1a64(const std::string& text);

// The file's whole text for these entries (keys and values without tabs or line breaks).
std::string serialize_plan_cache(const PlanCacheIdentity& id, const std::map<std::string, std::string>& entries);
// Reads serialize_plan_cache()'s text into *entries; returns "" when the text is trusted, else why
// not (and leaves *entries empty).
std::string parse_plan_cache(const std::string& text, const PlanCacheIdentity& id,
                             std::map<std::string, std::string>* entries);

// "conv-plans-v1-NVIDIA-H200-sm9.0-cudnn91400.tsv" (characters other than letters, digits, '.'
// and '-' become '-').
std::string plan_cache_file_name(const PlanCacheIdentity& id);
// The folder from ALEXNET_CUDA_PLAN_CACHE / XDG_CACHE_HOME / HOME; "" when the file is off.
std::string plan_cache_dir_from_env();

// The cache of one process: what the file held when loaded, plus what this process chose.
class PlanCacheFile {
 public:
  // `dir` "" keeps everything in memory (no file).
  PlanCacheFile(std::string dir, PlanCacheIdentity id);

  // Reads the file, if any (a missing one is no problem; an untrusted one is one warning line).
  void load();
  // The value stored for `key`, or nullptr.
  const std::string* find(const std::string& key) const;
  // Stores an entry and rewrites the file, merged with its current contents. A failed write is one
  // warning line; the file is not written again by this process.
  void put(const std::string& key, const std::string& value);

  const std::string& path() const { return path_; }
  size_t size() const { return entries_.size(); }
  // Why the last load() ignored the file ("" when it did not).
  const std::string& ignored_reason() const { return ignored_; }

 private:
  bool read_file(std::map<std::string, std::string>* entries, std::string* problem) const;

  std::string dir_, path_;
  PlanCacheIdentity id_;
  std::map<std::string, std::string> entries_;
  std::string ignored_;
  bool writable_ = true;
};

}  // namespace alexnet::cuda
