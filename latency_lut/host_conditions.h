// The machine's timing conditions for a latency-profiling run's provenance and `lut list`: CPU
// governor and frequency (cpufreq), thermal-zone temperatures, steal and iowait time (/proc/stat),
// load average and build type, read before and after the run, with warnings when they spoil the
// timings (a Debug build, a powersave governor, an overloaded or throttled CPU), as
// google/benchmark warns. Torch-free. Missing or unreadable files (containers, non-Linux hosts) are
// never errors: the field stays empty or 0 and no warning is given about it; a file that does not
// hold what it should (garbage, a non-number, an absurd value) counts as unreadable. Nothing here
// throws for what it reads.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/json.h"

namespace dnas {

// The aggregate "cpu" line of /proc/stat, in jiffies summed over all CPUs; all 0 when unreadable.
// Fields a kernel does not report (older kernels end before steal) stay 0.
struct CpuJiffies {
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  bool operator==(const CpuJiffies& other) const;
};

// What the machine was doing at one moment. Paths, under a root that is "/" except in tests:
//   sys/devices/system/cpu/cpuN/cpufreq/{scaling_governor,scaling_cur_freq,cpuinfo_max_freq}
//   sys/class/thermal/thermal_zoneN/{type,temp}, proc/stat, proc/loadavg
// CPUs and zones are taken in numeric order of N.
struct HostSnapshot {
  // The CPUs' scaling_governor: "performance" when all that report one agree, "mixed: a,b" (in
  // CPU order of first appearance) when they differ, "" when none is readable.
  std::string governor;
  // Means over the CPUs that report them of scaling_cur_freq and cpuinfo_max_freq (kHz in sysfs);
  // 0 when none is readable.
  double cpu_mhz = 0, cpu_max_mhz = 0;
  // Per thermal zone with a readable temp (millidegrees in sysfs), in zone order: its type (or
  // "thermal_zoneN" when the type is unreadable; "<type> (thermal_zoneN)" when an earlier zone
  // has that type already, so the names are unique) and degrees Celsius.
  std::vector<std::pair<std::string, double>> temperatures_c;
  CpuJiffies jiffies;
  double load1 = 0;   // first field of /proc/loadavg; 0 when unreadable
  int64_t cores = 0;  // online CPUs: the cpuN lines of /proc/stat, else the cpuN directories in sysfs
};

HostSnapshot read_host_snapshot(const std::string& root = "/");

// The build type dnas was compiled as (CMAKE_BUILD_TYPE: "Release", "Debug", ...; "none" when
// CMake had none).
std::string dnas_build_type();

// The conditions over a run. Take the start snapshot after warm-up, while the CPU is busy: an idle
// CPU under a dynamic governor reads a low frequency and would warn.
struct RunConditions {
  HostSnapshot start, end;
  // Steal and iowait jiffies over all the jiffies that elapsed between the snapshots; 0 when
  // either snapshot lacks /proc/stat or a counter went backwards.
  double steal_fraction = 0, iowait_fraction = 0;
  std::string build_type;
  // One sentence each, saying what spoils the timings and why: a Debug build; a powersave
  // governor; load1 at start above the core count; steal above 5%; a frequency below 80% of the
  // maximum at start or at end; a thermal zone warming by more than 10 °C over the run.
  std::vector<std::string> warnings;
};

RunConditions compare_snapshots(const HostSnapshot& start, const HostSnapshot& end,
                                const std::string& build_type = dnas_build_type());

// What the provenance keeps, with stable keys, every key always written (unknown: "" or 0):
//   governor, cpu_mhz, cpu_max_mhz, load1: {"start": ..., "end": ...}
//   temperatures_c: {"start": {type: celsius}, "end": {...}}
//   jiffies: {"start": {user, nice, system, idle, iowait, irq, softirq, steal}, "end": {...}}
//   steal_fraction, iowait_fraction, cores (the start's), build_type, warnings: [sentences]
// conditions_from_json is its inverse, tolerant of older runs: a missing key or a value of the
// wrong type reads as unknown, a bare value where {start, end} is expected as the start's.
// Temperatures come back in name order (JSON objects keep no order), cores into both snapshots.
Json conditions_to_json(const RunConditions& conditions);
RunConditions conditions_from_json(const Json& json);

// One short line for a table column, e.g. "2.1 GHz performance, 47->52°C, steal 3%, load 1.2/2,
// 1 warning": each part only when known (frequency and load at start, hottest zone at start and
// end, a Debug build named); "" when nothing is known.
std::string conditions_summary(const RunConditions& conditions);

}  // namespace dnas
