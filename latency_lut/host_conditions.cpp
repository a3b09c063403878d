#include "latency_lut/host_conditions.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <type_traits>

#ifndef DNAS_BUILD_TYPE
#define DNAS_BUILD_TYPE "unknown"
#endif

namespace dnas {
namespace {

namespace fs = std::filesystem;

// sysfs and procfs files are small; a larger one is not what we are looking for.
constexpr std::size_t kMaxFileBytes = 1 << 20;

// The text of a regular file (not a FIFO or device that could block), or nothing.
std::optional<std::string> read_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || ec) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxFileBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return std::nullopt;
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::string trim(const std::string& text) {
  const char* space = " \t\r\n\v\f";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// Whole-string parses: anything but one number (after trimming) is unreadable.
template <typename Number>
std::optional<Number> parse_number(const std::string& text) {
  const std::string t = trim(text);
  Number value{};
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
  if constexpr (std::is_floating_point_v<Number>) {
    if (!std::isfinite(value)) return std::nullopt;
  }
  return value;
}

// A governor or thermal-zone type: a short word, not garbage.
std::optional<std::string> read_name(const fs::path& path) {
  const auto text = read_file(path);
  if (!text) return std::nullopt;
  const std::string name = trim(*text);
  if (name.empty() || name.size() > 64) return std::nullopt;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return std::nullopt;
  }
  return name;
}

// The entries of `dir` named <prefix><digits>, sorted by number.
std::vector<std::pair<int64_t, std::string>> numbered_entries(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int64_t, std::string>> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    entries.emplace_back(std::stoll(digits), name);
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

void read_cpufreq(const fs::path& cpu_dir, const std::vector<std::pair<int64_t, std::string>>& cpus,
                  HostSnapshot& snapshot) {
  std::vector<std::string> governors;
  double cur_sum = 0, max_sum = 0;
  int64_t cur_count = 0, max_count = 0;
  for (const auto& cpu : cpus) {
    const fs::path freq = cpu_dir / cpu.second / "cpufreq";
    if (const auto governor = read_name(freq / "scaling_governor")) {
      if (std::find(governors.begin(), governors.end(), *governor) == governors.end()) governors.push_back(*governor);
    }
    const auto read_khz = [&](const char* file) -> std::optional<int64_t> {
      const auto text = read_file(freq / file);
      const auto khz = text ? parse_number<int64_t>(*text) : std::nullopt;
      if (!khz || *khz <= 0) return std::nullopt;
      return khz;
    };
    if (const auto khz = read_khz("scaling_cur_freq")) {
      cur_sum += static_cast<double>(*khz) / 1000.0;
      ++cur_count;
    }
    if (const auto khz = read_khz("cpuinfo_max_freq")) {
      max_sum += static_cast<double>(*khz) / 1000.0;
      ++max_count;
    }
  }
  if (governors.size() == 1) snapshot.governor = governors.front();
  if (governors.size() > 1) {
    snapshot.governor = "mixed: " + governors.front();
    for (std::size_t i = 1; i < governors.size(); ++i) snapshot.governor += "," + governors[i];
  }
  if (cur_count > 0) snapshot.cpu_mhz = cur_sum / static_cast<double>(cur_count);
  if (max_count > 0) snapshot.cpu_max_mhz = max_sum / static_cast<double>(max_count);
}

void read_temperatures(const fs::path& thermal_dir, HostSnapshot& snapshot) {
  std::set<std::string> used;
  for (const auto& zone : numbered_entries(thermal_dir, "thermal_zone")) {
    const auto text = read_file(thermal_dir / zone.second / "temp");
    const auto millidegrees = text ? parse_number<int64_t>(*text) : std::nullopt;
    if (!millidegrees) continue;
    const double celsius = static_cast<double>(*millidegrees) / 1000.0;
    if (celsius < -273.15 || celsius > 1000.0) continue;  // a sensor that is not there
    std::string name = read_name(thermal_dir / zone.second / "type").value_or(zone.second);
    if (used.count(name) > 0) name += " (" + zone.second + ")";
    used.insert(name);
    snapshot.temperatures_c.emplace_back(name, celsius);
  }
}

// The aggregate cpu line (all of its fields numbers, at least user..idle) and the count of cpuN lines.
void read_proc_stat(const fs::path& path, HostSnapshot& snapshot) {
  const auto text = read_file(path);
  if (!text) return;
  std::istringstream lines(*text);
  bool seen_aggregate = false;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string label;
    words >> label;
    if (label.size() > 3 && label.compare(0, 3, "cpu") == 0 &&
        std::all_of(label.begin() + 3, label.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      ++snapshot.cores;
    }
    if (label != "cpu" || seen_aggregate) continue;
    seen_aggregate = true;
    CpuJiffies& j = snapshot.jiffies;
    std::array<uint64_t*, 8> fields = {&j.user, &j.nice, &j.system, &j.idle, &j.iowait, &j.irq, &j.softirq, &j.steal};
    std::size_t parsed = 0;
    bool garbage = false;
    for (std::string word; !garbage && parsed < fields.size() && words >> word; ++parsed) {
      const auto value = parse_number<uint64_t>(word);
      garbage = !value;
      if (value) *fields[parsed] = *value;
    }
    if (garbage || parsed < 4) j = CpuJiffies{};
  }
}

std::optional<double> read_load1(const fs::path& path) {
  const auto text = read_file(path);
  if (!text) return std::nullopt;
  std::istringstream words(*text);
  std::string first;
  if (!(words >> first)) return std::nullopt;
  const auto load = parse_number<double>(first);
  if (!load || *load < 0) return std::nullopt;
  return load;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

bool has_jiffies(const HostSnapshot& snapshot) { return !(snapshot.jiffies == CpuJiffies{}); }

bool has_powersave(const std::string& governor) {
  const std::string mixed = "mixed: ";
  if (governor.compare(0, mixed.size(), mixed) != 0) return governor == "powersave";
  return ("," + governor.substr(mixed.size()) + ",").find(",powersave,") != std::string::npos;
}

std::optional<double> hottest(const HostSnapshot& snapshot) {
  std::optional<double> hottest_c;
  for (const auto& zone : snapshot.temperatures_c) hottest_c = std::max(hottest_c.value_or(zone.second), zone.second);
  return hottest_c;
}

std::vector<std::string> spoiling_warnings(const RunConditions& c) {
  std::vector<std::string> warnings;
  if (lower(c.build_type) == "debug") {
    warnings.push_back("dnas is a Debug build: unoptimised code times slower than a Release build; "
                       "build with -DCMAKE_BUILD_TYPE=Release");
  }
  if (has_powersave(c.start.governor) || has_powersave(c.end.governor)) {
    warnings.push_back("the CPU governor is powersave (CPU frequency scaling): the CPUs run slowly and their speed "
                       "varies; set the performance governor (cpupower frequency-set -g performance)");
  }
  if (c.start.cores > 0 && c.start.load1 > static_cast<double>(c.start.cores)) {
    warnings.push_back("the load average was " + format("%.2f", c.start.load1) + " at start, above the " +
                       std::to_string(c.start.cores) + " cores: other work competed for the CPUs");
  }
  if (c.steal_fraction > 0.05) {
    warnings.push_back("steal time was " + format("%.0f", c.steal_fraction * 100) +
                       "% of the CPU time: the hypervisor gave these CPUs to other guests during the run");
  }
  std::vector<std::string> slow;
  for (const auto& [snapshot, when] : {std::pair{&c.start, "at start"}, std::pair{&c.end, "at end"}}) {
    if (snapshot->cpu_mhz > 0 && snapshot->cpu_max_mhz > 0 && snapshot->cpu_mhz < 0.8 * snapshot->cpu_max_mhz) {
      slow.push_back(format("%.0f", snapshot->cpu_mhz) + " of " + format("%.0f", snapshot->cpu_max_mhz) + " MHz " +
                     when);
    }
  }
  if (!slow.empty()) {
    warnings.push_back("the CPU ran at " + slow.front() + (slow.size() > 1 ? " and " + slow.back() : "") +
                       ", below 80% of its maximum: frequency scaling or thermal throttling slowed the timings");
  }
  const std::pair<std::string, double>* warmest = nullptr;
  double start_c = 0, rise_c = 0;
  for (const auto& zone : c.end.temperatures_c) {
    for (const auto& before : c.start.temperatures_c) {
      if (before.first == zone.first && zone.second - before.second > rise_c) {
        warmest = &zone;
        start_c = before.second;
        rise_c = zone.second - before.second;
      }
    }
  }
  if (warmest != nullptr && rise_c > 10.0) {
    warnings.push_back("thermal zone " + warmest->first + " warmed from " + format("%.0f", start_c) + " to " +
                       format("%.0f", warmest->second) +
                       " °C over the run: a hot CPU throttles, so later timings ran slower");
  }
  return warnings;
}

const Json* member(const Json& json, const char* key) {
  if (!json.is_object()) return nullptr;
  const auto it = json.find(key);
  return it == json.end() ? nullptr : &*it;
}

constexpr std::array<std::pair<const char*, uint64_t CpuJiffies::*>, 8> kJiffyFields = {{
    {"user", &CpuJiffies::user},
    {"nice", &CpuJiffies::nice},
    {"system", &CpuJiffies::system},
    {"idle", &CpuJiffies::idle},
    {"iowait", &CpuJiffies::iowait},
    {"irq", &CpuJiffies::irq},
    {"softirq", &CpuJiffies::softirq},
    {"steal", &CpuJiffies::steal},
}};

// JSON readers that leave `out` alone unless the value has the right type.
void read_json(const Json* value, std::string& out) {
  if (value != nullptr && value->is_string()) out = value->get<std::string>();
}
void read_json(const Json* value, double& out) {
  if (value == nullptr || !value->is_number()) return;
  const double number = value->get<double>();
  if (std::isfinite(number)) out = number;
}
void read_json(const Json* value, CpuJiffies& out) {
  if (value == nullptr || !value->is_object()) return;
  for (const auto& [name, field] : kJiffyFields) {
    const Json* count = member(*value, name);
    if (count != nullptr && count->is_number_unsigned()) out.*field = count->get<uint64_t>();
  }
}
void read_json(const Json* value, std::vector<std::pair<std::string, double>>& out) {
  if (value == nullptr || !value->is_object()) return;
  out.clear();
  for (const auto& item : value->items()) {
    double celsius = NAN;
    read_json(&item.value(), celsius);
    if (std::isfinite(celsius)) out.emplace_back(item.key(), celsius);
  }
}


// A {"start": a, "end": b} pair into the two snapshots' fields; a bare value is the start's.
template <typename Field>
void read_start_end(const Json& json, const char* key, Field HostSnapshot::*field, RunConditions& c) {
  const Json* value = member(json, key);
  if (value == nullptr) return;
  if (value->is_object() && (value->contains("start") || value->contains("end"))) {
    read_json(member(*value, "start"), c.start.*field);
    read_json(member(*value, "end"), c.end.*field);
  } else {
    read_json(value, c.start.*field);
  }
}

Json jiffies_json(const HostSnapshot& snapshot) {
  Json counts = Json::object();
  for (const auto& [name, field] : kJiffyFields) counts[name] = snapshot.jiffies.*field;
  return counts;
}

Json temperatures_json(const HostSnapshot& snapshot) {
  Json zones = Json::object();
  for (const auto& zone : snapshot.temperatures_c) zones[zone.first] = zone.second;
  return zones;
}

}  // namespace

bool CpuJiffies::operator==(const CpuJiffies& o) const {
  return user == o.user && nice == o.nice && system == o.system && idle == o.idle && iowait == o.iowait &&
         irq == o.irq && softirq == o.softirq && steal == o.steal;
}

HostSnapshot read_host_snapshot(const std::string& root) {
  HostSnapshot snapshot;
  try {
    const fs::path base(root);
    const fs::path cpu_dir = base / "sys/devices/system/cpu";
    const auto cpus = numbered_entries(cpu_dir, "cpu");
    read_cpufreq(cpu_dir, cpus, snapshot);
    read_temperatures(base / "sys/class/thermal", snapshot);
    read_proc_stat(base / "proc/stat", snapshot);
    if (snapshot.cores == 0) snapshot.cores = static_cast<int64_t>(cpus.size());
    snapshot.load1 = read_load1(base / "proc/loadavg").value_or(0.0);
  } catch (const std::exception&) {
    // Only allocation or a path the platform cannot represent gets here: conditions are a
    // courtesy, so a run keeps what was read so far rather than failing.
  }
  return snapshot;
}

std::string dnas_build_type() { return DNAS_BUILD_TYPE; }

RunConditions compare_snapshots(const HostSnapshot& start, const HostSnapshot& end, const std::string& build_type) {
  RunConditions c;
  c.start = start;
  c.end = end;
  c.build_type = build_type;
  if (has_jiffies(start) && has_jiffies(end)) {
    const auto fields = [](const CpuJiffies& j) {
      return std::array<uint64_t, 8>{j.user, j.nice, j.system, j.idle, j.iowait, j.irq, j.softirq, j.steal};
    };
    const auto before = fields(start.jiffies), after = fields(end.jiffies);
    double elapsed = 0;
    bool monotonic = true;
    for (std::size_t i = 0; i < before.size(); ++i) {
      monotonic = monotonic && after[i] >= before[i];
      if (monotonic) elapsed += static_cast<double>(after[i] - before[i]);
    }
    if (monotonic && elapsed > 0) {
      c.steal_fraction = static_cast<double>(end.jiffies.steal - start.jiffies.steal) / elapsed;
      c.iowait_fraction = static_cast<double>(end.jiffies.iowait - start.jiffies.iowait) / elapsed;
    }
  }
  c.warnings = spoiling_warnings(c);
  return c;
}

Json conditions_to_json(const RunConditions& c) {
  const auto start_end = [](const Json& start, const Json& end) { return Json{{"start", start}, {"end", end}}; };
  Json warnings = Json::array();
  for (const auto& warning : c.warnings) warnings.push_back(warning);
  return Json{
      {"governor", start_end(c.start.governor, c.end.governor)},
      {"cpu_mhz", start_end(c.start.cpu_mhz, c.end.cpu_mhz)},
      {"cpu_max_mhz", start_end(c.start.cpu_max_mhz, c.end.cpu_max_mhz)},
      {"temperatures_c", start_end(temperatures_json(c.start), temperatures_json(c.end))},
      {"load1", start_end(c.start.load1, c.end.load1)},
      {"jiffies", start_end(jiffies_json(c.start), jiffies_json(c.end))},
      {"steal_fraction", c.steal_fraction},
      {"iowait_fraction", c.iowait_fraction},
      {"cores", c.start.cores},
      {"build_type", c.build_type},
      {"warnings", warnings},
  };
}

RunConditions conditions_from_json(const Json& json) {
  RunConditions c;
  read_start_end(json, "governor", &HostSnapshot::governor, c);
  read_start_end(json, "cpu_mhz", &HostSnapshot::cpu_mhz, c);
  read_start_end(json, "cpu_max_mhz", &HostSnapshot::cpu_max_mhz, c);
  read_start_end(json, "temperatures_c", &HostSnapshot::temperatures_c, c);
  read_start_end(json, "load1", &HostSnapshot::load1, c);
  read_start_end(json, "jiffies", &HostSnapshot::jiffies, c);
  read_json(member(json, "steal_fraction"), c.steal_fraction);
  read_json(member(json, "iowait_fraction"), c.iowait_fraction);
  read_json(member(json, "build_type"), c.build_type);
  if (const Json* cores = member(json, "cores"); cores != nullptr && cores->is_number_integer()) {
    c.start.cores = c.end.cores = std::max<int64_t>(0, cores->get<int64_t>());
  }
  if (const Json* warnings = member(json, "warnings"); warnings != nullptr && warnings->is_array()) {
    for (const auto& warning : *warnings) {
      if (warning.is_string()) c.warnings.push_back(warning.get<std::string>());
    }
  }
  return c;
}

std::string conditions_summary(const RunConditions& c) {
  std::vector<std::string> parts;
  std::string speed;
  if (c.start.cpu_mhz > 0) {
    speed = c.start.cpu_mhz >= 1000 ? format("%.1f GHz", c.start.cpu_mhz / 1000) : format("%.0f MHz", c.start.cpu_mhz);
  }
  if (!c.start.governor.empty()) speed += (speed.empty() ? "" : " ") + c.start.governor;
  if (!speed.empty()) parts.push_back(speed);
  const auto hot_start = hottest(c.start), hot_end = hottest(c.end);
  if (hot_start && hot_end) parts.push_back(format("%.0f", *hot_start) + "->" + format("%.0f°C", *hot_end));
  if (hot_start.has_value() != hot_end.has_value()) parts.push_back(format("%.0f°C", hot_start.value_or(hot_end.value_or(0))));
  if (has_jiffies(c.start) && has_jiffies(c.end)) parts.push_back(format("steal %.0f%%", c.steal_fraction * 100));
  if (c.start.cores > 0) parts.push_back(format("load %.1f", c.start.load1) + "/" + std::to_string(c.start.cores));
  if (lower(c.build_type) == "debug") parts.push_back("Debug build");
  if (!c.warnings.empty()) {
    parts.push_back(std::to_string(c.warnings.size()) + (c.warnings.size() == 1 ? " warning" : " warnings"));
  }
  std::string summary;
  for (const auto& part : parts) summary += (summary.empty() ? "" : ", ") + part;
  return summary;
}

}  // namespace dnas
