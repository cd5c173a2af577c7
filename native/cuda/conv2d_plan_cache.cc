#include "conv2d_plan_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "conv2d_engine_rules.h"
#include "log.h"

namespace alexnet::cuda {
namespace {

const char kMagic[] = "alexnet-cuda conv plans";

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool parse_int(const std::string& text, int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

// A finite, non-negative decimal (no exponent, no sign): what std::to_string-like "%.4f" writes.
bool parse_ms(const std::string& text, double* out) {
  if (text.empty() || text.size() > 24) return false;
  int dots = 0;
  for (char ch : text) {
    if (ch == '.')
      ++dots;
    else if (ch < '0' || ch > '9')
      return false;
  }
  if (dots > 1 || text.front() == '.' || text.back() == '.') return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4f", ms >= 0 && std::isfinite(ms) ? ms : 0.0);
  return buf;
}

bool is_name(const std::string& s) {
  if (s.empty()) return false;
  for (char ch : s)
    if (!((ch >= 'a' && ch <= 'z') || ch == '_')) return false;
  return true;
}

bool clean(const std::string& s) { return s.find('\t') == std::string::npos && s.find('\n') == std::string::npos; }

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// mkdir -p; false when the folder is not there afterwards.
bool make_dirs(const std::string& dir) {
  if (dir.empty()) return false;
  std::string partial;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      partial = dir.substr(0, i);
      if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) return false;
    }
  }
  struct stat st {};
  return stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::string PlanChoice::text() const {
  std::ostringstream s;
  s << "engine " << engine << " knobs ";
  if (knobs.empty()) s << '-';
  for (size_t i = 0; i < knobs.size(); ++i) s << (i ? "," : "") << knobs[i].first << '=' << knobs[i].second;
  s << " workspace " << workspace << " ms " << ms_text(ms) << " notes " << notes_text(notes);
  return s.str();
}

bool PlanChoice::parse(const std::string& text, PlanChoice* out) {
  const std::vector<std::string> t = split(text, ' ');
  if (t.size() != 10 || t[0] != "engine" || t[2] != "knobs" || t[4] != "workspace" || t[6] != "ms" || t[8] != "notes")
    return false;
  PlanChoice c;
  if (!parse_int(t[1], &c.engine) || c.engine < 0) return false;
  if (t[3] != "-") {
    for (const std::string& knob : split(t[3], ',')) {
      const std::vector<std::string> kv = split(knob, '=');
      int64_t type = 0, value = 0;
      if (kv.size() != 2 || !parse_int(kv[0], &type) || !parse_int(kv[1], &value) || type < 0) return false;
      c.knobs.emplace_back(type, value);
    }
  }
  if (!parse_int(t[5], &c.workspace) || c.workspace < 0 || !parse_ms(t[7], &c.ms) || !parse_notes(t[9], &c.notes))
    return false;
  *out = c;
  return true;
}

std::string Decision::text() const {
  std::string s;
  for (const auto& [name, ms] : options) s += (s.empty() ? "" : " ") + name + " " + ms_text(ms);
  return s;
}

bool Decision::parse(const std::string& text, Decision* out) {
  const std::vector<std::string> t = split(text, ' ');
  if (t.size() < 2 || t.size() % 2 != 0) return false;
  Decision d;
  for (size_t i = 0; i < t.size(); i += 2) {
    double ms = 0;
    if (!is_name(t[i]) || !parse_ms(t[i + 1], &ms)) return false;
    for (const auto& option : d.options)
      if (option.first == t[i]) return false;
    d.options.emplace_back(t[i], ms);
  }
  *out = d;
  return true;
}

uint64_t fnv1a64(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string serialize_plan_cache(const PlanCacheIdentity& id, const std::map<std::string, std::string>& entries) {
  std::ostringstream s;
  s << kMagic << ' ' << kPlanCacheFormat << '\n'
    << "device\t" << id.device << '\n'
    << "compute\t" << id.compute << '\n'
    << "cudnn\t" << id.cudnn << '\n'
    << "entries\t" << entries.size() << '\n';
  for (const auto& [key, value] : entries) {
    const std::string line = key + '\t' + value;
    s << line << '\t' << hex64(fnv1a64(line)) << '\n';
  }
  return s.str();
}

std::string parse_plan_cache(const std::string& text, const PlanCacheIdentity& id,
                             std::map<std::string, std::string>* entries) {
  entries->clear();
  if (text.empty() || text.back() != '\n') return "it does not end with a line break (a write was cut short?)";
  std::vector<std::string> lines = split(text.substr(0, text.size() - 1), '\n');
  const std::string magic = std::string(kMagic) + ' ';
  if (lines[0].compare(0, magic.size(), magic) != 0) return "it is not a plan cache file (its first line is wrong)";
  if (lines[0] != magic + std::to_string(kPlanCacheFormat))
    return "it has format '" + lines[0].substr(magic.size()) + "', this build reads " +
           std::to_string(kPlanCacheFormat);
  if (lines.size() < 5) return "its header is incomplete";
  const std::pair<const char*, const std::string*> header[] = {
      {"device", &id.device}, {"compute", &id.compute}, {"cudnn", &id.cudnn}};
  for (size_t i = 0; i < 3; ++i) {
    const std::string want = std::string(header[i].first) + '\t' + *header[i].second;
    if (lines[i + 1] != want) {
      const std::vector<std::string> got = split(lines[i + 1], '\t');
      if (got.size() == 2 && got[0] == header[i].first)
        return std::string("it was written for ") + header[i].first + " '" + got[1] + "', this is '" +
               *header[i].second + "'";
      return "header line " + std::to_string(i + 2) + " is malformed";
    }
  }
  const std::vector<std::string> count_line = split(lines[4], '\t');
  int64_t count = -1;
  if (count_line.size() != 2 || count_line[0] != "entries" || !parse_int(count_line[1], &count) || count < 0)
    return "header line 5 is malformed";
  if (static_cast<int64_t>(lines.size()) - 5 != count)
    return "it says " + std::to_string(count) + " entries and holds " + std::to_string(lines.size() - 5);
  std::map<std::string, std::string> read;
  for (size_t i = 5; i < lines.size(); ++i) {
    const std::vector<std::string> f = split(lines[i], '\t');
    const std::string where = "line " + std::to_string(i + 1);
    if (f.size() != 3 || f[0].empty() || f[1].empty()) return where + " is malformed";
    if (f[2] != hex64(fnv1a64(f[0] + '\t' + f[1]))) return where + " fails its checksum";
    if (!read.emplace(f[0], f[1]).second) return where + " repeats a key";
  }
  *entries = std::move(read);
  return "";
}

std::string plan_cache_file_name(const PlanCacheIdentity& id) {
  auto safe = [](const std::string& s) {
    std::string out;
    for (char ch : s)
      out += ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.') ? ch : '-';
    return out;
  };
  return "conv-plans-v" + std::to_string(kPlanCacheFormat) + "-" + safe(id.device) + "-sm" + safe(id.compute) +
         "-cudnn" + safe(id.cudnn) + ".tsv";
}

std::string plan_cache_dir_from_env() {
  if (const char* v = std::getenv("ALEXNET_CUDA_PLAN_CACHE")) {
    const std::string dir(v);
    if (dir.empty() || dir == "off" || dir == "0") return "";
    return dir;
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/alexnet-cuda";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/alexnet-cuda";
  return "";
}

PlanCacheFile::PlanCacheFile(std::string dir, PlanCacheIdentity id) : dir_(std::move(dir)), id_(std::move(id)) {
  if (!dir_.empty()) path_ = dir_ + "/" + plan_cache_file_name(id_);
}

bool PlanCacheFile::read_file(std::map<std::string, std::string>* entries, std::string* problem) const {
  entries->clear();
  problem->clear();
  if (path_.empty()) return false;
  std::FILE* f = std::fopen(path_.c_str(), "rb");
  if (!f) {
    if (errno != ENOENT) *problem = std::string("it cannot be read: ") + std::strerror(errno);
    return false;
  }
  std::string text;
  char buf[65536];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    *problem = "reading it failed";
    return false;
  }
  *problem = parse_plan_cache(text, id_, entries);
  return problem->empty();
}

void PlanCacheFile::load() {
  ignored_.clear();
  std::map<std::string, std::string> read;
  std::string problem;
  if (read_file(&read, &problem)) {
    for (auto& [key, value] : read) entries_.emplace(key, value);  // this process's own choices win
    log_line(1, "conv plan cache %s: %zu entries", path_.c_str(), read.size());
  } else if (!problem.empty()) {
    ignored_ = problem;
    log_line(0, "ignoring the convolution plan cache %s: %s; it will be rewritten", path_.c_str(), problem.c_str());
  }
}

const std::string* PlanCacheFile::find(const std::string& key) const {
  const auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

void PlanCacheFile::put(const std::string& key, const std::string& value) {
  if (key.empty() || value.empty() || !clean(key) || !clean(value)) return;  // never written, never read
  entries_[key] = value;
  if (path_.empty() || !writable_) return;
  // Merge with what other processes wrote since we loaded (an untrusted file is replaced).
  std::map<std::string, std::string> merged;
  std::string problem;
  read_file(&merged, &problem);
  for (const auto& [k, v] : entries_) merged[k] = v;
  const std::string text = serialize_plan_cache(id_, merged);
  const std::string temp = path_ + ".tmp" + std::to_string(static_cast<long>(getpid()));
  const char* failed = nullptr;
  int error = 0;
  if (!make_dirs(dir_)) {
    failed = "its folder cannot be created";
    error = errno;
  } else {
    std::FILE* f = std::fopen(temp.c_str(), "wb");
    if (!f) {
      failed = "it cannot be created";
      error = errno;
    } else {
      const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
      const bool closed = std::fclose(f) == 0;
      if (!wrote || !closed) {
        failed = "writing it failed";
        error = errno;
      } else if (std::rename(temp.c_str(), path_.c_str()) != 0) {
        failed = "renaming it into place failed";
        error = errno;
      }
    }
    if (failed) std::remove(temp.c_str());
  }
  if (failed) {
    writable_ = false;
    log_line(0, "cannot write the convolution plan cache %s (%s: %s); plans stay in this process", path_.c_str(),
             failed, std::strerror(error));
  }
}

}  // namespace alexnet::cuda
