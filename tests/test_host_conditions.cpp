// dnas::latency_lut host conditions: exact readings from a fake sysfs/procfs tree, steal and
// iowait fractions, each spoiling warning at its threshold, garbage files, the JSON round trip,
// the summary line, and the real machine.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "latency_lut/host_conditions.h"
#include "tests/test_support.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using Zones = std::vector<std::pair<std::string, double>>;

// A root with just the files a test writes.
class FakeHost {
 public:
  void put(const std::string& relative, const std::string& text) const {
    const fs::path path = fs::path(root()) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  void cpu(int index, const std::string& governor, const std::string& cur_khz, const std::string& max_khz) const {
    const std::string dir = "sys/devices/system/cpu/cpu" + std::to_string(index) + "/cpufreq/";
    put(dir + "scaling_governor", governor);
    put(dir + "scaling_cur_freq", cur_khz);
    put(dir + "cpuinfo_max_freq", max_khz);
  }
  void zone(int index, const std::string& type, const std::string& millidegrees) const {
    const std::string dir = "sys/class/thermal/thermal_zone" + std::to_string(index) + "/";
    put(dir + "type", type);
    put(dir + "temp", millidegrees);
  }
  void stat(const std::string& aggregate, int cores) const {
    std::string text = "cpu  " + aggregate + "\n";
    for (int i = 0; i < cores; ++i) text += "cpu" + std::to_string(i) + " 1 2 3 4 5 6 7 8 0 0\n";
    put("proc/stat", text + "intr 12345 0 0 7\nctxt 999\nbtime 1700000000\n");
  }
  std::string root() const { return dir_.file(""); }

 private:
  TempDir dir_;
};

TEST(HostSnapshot, ReadsFakeTreeExactly) {
  FakeHost host;
  host.cpu(0, "performance\n", "1800000\n", "3000000\n");
  host.cpu(1, "performance\n", "2000000\n", "3000000\n");
  host.cpu(2, "performance\n", "2200000\n", "3000000\n");
  host.cpu(10, "performance\n", "2400000\n", "3000000\n");
  host.put("sys/devices/system/cpu/cpufreq/policy0/scaling_governor", "powersave\n");  // not a cpuN
  host.put("sys/devices/system/cpu/online", "0-3\n");
  host.zone(10, "acpitz\n", "30000\n");
  host.zone(2, "acpitz\n", "45500\n");
  host.zone(0, "x86_pkg_temp\n", "47000\n");
  host.zone(1, "\x01\x02junk\n", "39000\n");
  host.zone(3, "cpu-thermal\n", "abc\n");
  host.put("sys/class/thermal/cooling_device0/type", "Processor\n");
  host.stat("100 20 30 400 50 6 7 8 0 0", 4);
  host.put("proc/loadavg", "1.25 0.80 0.50 2/345 6789\n");

  const HostSnapshot s = read_host_snapshot(host.root());
  EXPECT_EQ(s.governor, "performance");
  EXPECT_EQ(s.cpu_mhz, 2100.0);
  EXPECT_EQ(s.cpu_max_mhz, 3000.0);
  EXPECT_EQ(s.temperatures_c,
            (Zones{{"x86_pkg_temp", 47.0}, {"thermal_zone1", 39.0}, {"acpitz", 45.5}, {"acpitz (thermal_zone10)", 30.0}}));
  EXPECT_EQ(s.jiffies, (CpuJiffies{100, 20, 30, 400, 50, 6, 7, 8}));
  EXPECT_EQ(s.load1, 1.25);
  EXPECT_EQ(s.cores, 4);
}

TEST(HostSnapshot, GovernorsAndFrequenciesAcrossCpus) {
  FakeHost mixed;
  mixed.cpu(0, "schedutil", "1000000", "2000000");
  mixed.cpu(1, "performance", "", "");
  mixed.cpu(2, "schedutil", "1500000", "");
  const HostSnapshot m = read_host_snapshot(mixed.root());
  EXPECT_EQ(m.governor, "mixed: schedutil,performance");
  EXPECT_EQ(m.cpu_mhz, 1250.0);  // the CPUs that report a current frequency
  EXPECT_EQ(m.cpu_max_mhz, 2000.0);
  EXPECT_EQ(m.cores, 3);  // no /proc/stat: the cpuN directories

  FakeHost partial;
  partial.cpu(0, "", "", "");
  partial.cpu(1, "powersave", "800000", "800000");
  EXPECT_EQ(read_host_snapshot(partial.root()).governor, "powersave");
}

TEST(HostSnapshot, ProcStatVariants) {
  FakeHost old_kernel;
  old_kernel.stat("1 2 3 4", 2);
  EXPECT_EQ(read_host_snapshot(old_kernel.root()).jiffies, (CpuJiffies{1, 2, 3, 4, 0, 0, 0, 0}));

  FakeHost garbage_field;
  garbage_field.stat("1 2 x 4 5 6 7 8", 2);
  const HostSnapshot g = read_host_snapshot(garbage_field.root());
  EXPECT_EQ(g.jiffies, CpuJiffies{});
  EXPECT_EQ(g.cores, 2);

  FakeHost trailing_garbage;
  trailing_garbage.stat("1 2 3 4 x", 1);
  EXPECT_EQ(read_host_snapshot(trailing_garbage.root()).jiffies, CpuJiffies{});

  FakeHost too_short;
  too_short.stat("1 2 3", 1);
  EXPECT_EQ(read_host_snapshot(too_short.root()).jiffies, CpuJiffies{});
}

TEST(HostSnapshot, MissingAndGarbageFilesReadAsUnknown) {
  const HostSnapshot nothing = read_host_snapshot("/nonexistent/dnas/root");
  EXPECT_EQ(nothing.governor, "");
  EXPECT_EQ(nothing.cpu_mhz, 0.0);
  EXPECT_TRUE(nothing.temperatures_c.empty());
  EXPECT_EQ(nothing.cores, 0);

  FakeHost host;
  host.cpu(0, std::string("perf\0ormance", 12), "-5", "1e3");
  host.cpu(1, std::string(100, 'a'), "99999999999999999999999", "abc");
  host.cpu(2, "power save", "0x10", " ");
  host.put("sys/devices/system/cpu/cpu3/cpufreq/scaling_cur_freq/oops", "a directory where a file should be");
  host.zone(0, "cpu", "NaN");
  host.zone(1, "gpu", "-300000");  // below absolute zero: no sensor
  host.zone(2, "soc", "2000000");  // 2000 °C
  host.zone(3, "bat", "1.5");
  const char stat[] = "\xff\xfe garbage\0\n\ncpu\ncpuX 1 2\ncpu1a 3\n";
  host.put("proc/stat", std::string(stat, sizeof stat - 1));
  ASSERT_EQ(::mkfifo((fs::path(host.root()) / "proc/loadavg").c_str(), 0600), 0);  // must not block

  HostSnapshot s;
  ASSERT_NO_THROW(s = read_host_snapshot(host.root()));
  EXPECT_EQ(s.governor, "");
  EXPECT_EQ(s.cpu_mhz, 0.0);
  EXPECT_EQ(s.cpu_max_mhz, 0.0);
  EXPECT_TRUE(s.temperatures_c.empty());
  EXPECT_EQ(s.jiffies, CpuJiffies{});
  EXPECT_EQ(s.load1, 0.0);
  EXPECT_EQ(s.cores, 4);  // no cpuN lines in /proc/stat: the cpuN directories

  for (const std::string load : {"inf 1 1", "-1 0 0", "", "\x80\x81", "nan", "1.5x 1 1"}) {
    FakeHost bad_load;
    bad_load.put("proc/loadavg", load);
    EXPECT_EQ(read_host_snapshot(bad_load.root()).load1, 0.0) << load;
  }
  const RunConditions c = compare_snapshots(s, nothing, "Release");
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(conditions_summary(c), "load 0.0/4");
}

TEST(RunConditions, StealAndIowaitFractionsFromProcStat) {
  FakeHost before, after;
  before.stat("100 0 50 800 10 0 0 40", 2);
  after.stat("400 0 150 1300 70 0 0 80", 2);  // 1000 jiffies elapsed: 40 stolen, 60 waiting on I/O
  const RunConditions c = compare_snapshots(read_host_snapshot(before.root()), read_host_snapshot(after.root()), "Release");
  EXPECT_EQ(c.steal_fraction, 0.04);
  EXPECT_EQ(c.iowait_fraction, 0.06);
  EXPECT_EQ(c.build_type, "Release");

  HostSnapshot start, end;
  start.jiffies = {100, 0, 50, 800, 10, 0, 0, 40};
  end.jiffies = {400, 0, 150, 1300, 70, 0, 0, 30};  // steal went backwards: not measured
  EXPECT_EQ(compare_snapshots(start, end, "Release").steal_fraction, 0.0);
  EXPECT_EQ(compare_snapshots(start, HostSnapshot{}, "Release").iowait_fraction, 0.0);
  EXPECT_EQ(compare_snapshots(start, start, "Release").steal_fraction, 0.0);  // nothing elapsed
}

// A run under good conditions, each test spoiling one of them.
struct Clean {
  HostSnapshot start, end;
  Clean() {
    for (HostSnapshot* s : {&start, &end}) {
      s->governor = "performance";
      s->cpu_max_mhz = 3000;
      s->cores = 4;
    }
    start.cpu_mhz = 2900;
    end.cpu_mhz = 2400;  // exactly 80%: not below
    start.load1 = 4.0;   // exactly the core count: not above
    end.load1 = 9.0;     // only the start's load counts
    start.temperatures_c = {{"cpu-thermal", 40.0}, {"gpu-thermal", 70.0}};
    end.temperatures_c = {{"cpu-thermal", 50.0}, {"gpu-thermal", 30.0}, {"new", 99.0}};  // +10 °C: not more
    start.jiffies = {1000, 0, 0, 1000, 0, 0, 0, 0};
    end.jiffies = {1600, 0, 0, 1350, 0, 0, 0, 50};  // steal exactly 5%: not above
  }
  std::vector<std::string> warnings(const std::string& build_type = "Release") const {
    return compare_snapshots(start, end, build_type).warnings;
  }
};

TEST(RunConditions, NoWarningAtTheThresholds) {
  const Clean clean;
  EXPECT_EQ(compare_snapshots(clean.start, clean.end, "Release").steal_fraction, 0.05);
  EXPECT_EQ(clean.warnings(), std::vector<std::string>{});
  EXPECT_EQ(clean.warnings("RelWithDebInfo"), std::vector<std::string>{});
  EXPECT_EQ(clean.warnings("none"), std::vector<std::string>{});
  EXPECT_EQ(compare_snapshots(HostSnapshot{}, HostSnapshot{}, "Release").warnings, std::vector<std::string>{});
}

TEST(RunConditions, EachWarningWhenItsConditionHolds) {
  const auto only = [](const std::vector<std::string>& warnings, const std::string& expected) {
    ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
    EXPECT_NE(warnings[0].find(expected), std::string::npos) << warnings[0];
  };
  only(Clean().warnings("Debug"), "Debug build");
  only(Clean().warnings("debug"), "Debug build");
  {
    Clean c;
    c.end.governor = "powersave";
    only(c.warnings(), "governor is powersave");
    c.end.governor = "mixed: schedutil,powersave";
    only(c.warnings(), "governor is powersave");
    c.end.governor = "mixed: powersave2,schedutil";
    EXPECT_TRUE(c.warnings().empty());
  }
  {
    Clean c;
    c.start.load1 = 4.01;
    only(c.warnings(), "load average was 4.01 at start, above the 4 cores");
  }
  {
    Clean c;
    c.end.jiffies.steal = 51;  // 51 of 1001
    only(c.warnings(), "steal time was 5% of the CPU time");
    c.end.jiffies.steal = 110;  // 110 of 1060
    only(c.warnings(), "steal time was 10%");
  }
  {
    Clean c;
    c.start.cpu_mhz = 2399;
    only(c.warnings(), "ran at 2399 of 3000 MHz at start, below 80%");
    c.end.cpu_mhz = 1200;
    only(c.warnings(), "ran at 2399 of 3000 MHz at start and 1200 of 3000 MHz at end, below 80%");
    c.start.cpu_mhz = 2900;
    only(c.warnings(), "ran at 1200 of 3000 MHz at end, below 80%");
  }
  {
    Clean c;
    c.end.temperatures_c[0].second = 51;
    only(c.warnings(), "thermal zone cpu-thermal warmed from 40 to 51 °C");
  }
  Clean all;
  all.start.governor = "powersave";
  all.start.load1 = 8;
  all.end.jiffies.steal = 500;
  all.end.cpu_mhz = 1000;
  all.end.temperatures_c[1].second = 90;
  EXPECT_EQ(all.warnings("Debug").size(), 6u);
}

RunConditions sample_conditions() {
  HostSnapshot start, end;
  start.governor = "performance";
  end.governor = "mixed: performance,schedutil";
  start.cpu_mhz = 2100;
  end.cpu_mhz = 1650.5;
  start.cpu_max_mhz = end.cpu_max_mhz = 3000;
  start.temperatures_c = {{"cpu-thermal", 47.0}, {"gpu-thermal", 41.25}};  // name order
  end.temperatures_c = {{"cpu-thermal", 52.0}, {"gpu-thermal", 40.0}};
  start.jiffies = {1000, 10, 200, 5000, 40, 1, 2, 30};
  end.jiffies = {1550, 10, 250, 5330, 50, 1, 2, 60};  // 970 elapsed: steal 30, iowait 10
  start.load1 = 1.2;
  end.load1 = 1.9;
  start.cores = end.cores = 2;
  return compare_snapshots(start, end, "Release");
}

TEST(RunConditions, JsonRoundTrip) {
  const RunConditions c = sample_conditions();
  ASSERT_EQ(c.warnings.size(), 1u);  // the end's frequency
  const Json json = conditions_to_json(c);
  for (const char* key : {"governor", "cpu_mhz", "cpu_max_mhz", "temperatures_c", "load1", "jiffies", "steal_fraction",
                          "iowait_fraction", "cores", "build_type", "warnings"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  EXPECT_EQ(json.size(), 11u);
  EXPECT_EQ(json["governor"]["end"], "mixed: performance,schedutil");
  EXPECT_EQ(json["temperatures_c"]["start"]["gpu-thermal"], 41.25);
  EXPECT_EQ(json["jiffies"]["end"]["steal"], 60);

  const RunConditions back = conditions_from_json(Json::parse(json.dump()));
  for (const auto& [a, b] : {std::pair{&c.start, &back.start}, std::pair{&c.end, &back.end}}) {
    EXPECT_EQ(a->governor, b->governor);
    EXPECT_EQ(a->cpu_mhz, b->cpu_mhz);
    EXPECT_EQ(a->cpu_max_mhz, b->cpu_max_mhz);
    EXPECT_EQ(a->temperatures_c, b->temperatures_c);
    EXPECT_EQ(a->jiffies, b->jiffies);
    EXPECT_EQ(a->load1, b->load1);
    EXPECT_EQ(a->cores, b->cores);
  }
  EXPECT_EQ(back.steal_fraction, c.steal_fraction);
  EXPECT_EQ(back.iowait_fraction, c.iowait_fraction);
  EXPECT_EQ(back.build_type, "Release");
  EXPECT_EQ(back.warnings, c.warnings);
  EXPECT_EQ(conditions_to_json(back), json);
  EXPECT_EQ(conditions_summary(back), conditions_summary(c));
}

TEST(RunConditions, JsonFromOlderOrDamagedRuns) {
  for (const Json& json : {Json(), Json::array({1, 2}), Json("text"), Json::object()}) {
    const RunConditions c = conditions_from_json(json);
    EXPECT_EQ(conditions_to_json(c), conditions_to_json(RunConditions{}));
    EXPECT_EQ(conditions_summary(c), "");
  }
  const RunConditions c = conditions_from_json(Json::parse(R"({
      "governor": "performance", "cpu_mhz": {"start": "fast", "end": 1500}, "load1": 0.5,
      "temperatures_c": {"start": {"cpu": 40, "gpu": "hot"}, "end": []},
      "jiffies": {"start": {"user": -1, "idle": 7}}, "steal_fraction": null, "cores": 1.5,
      "build_type": 3, "warnings": [1, "too hot", {}], "unknown": true})"));
  EXPECT_EQ(c.start.governor, "performance");
  EXPECT_EQ(c.end.governor, "");
  EXPECT_EQ(c.start.cpu_mhz, 0.0);
  EXPECT_EQ(c.end.cpu_mhz, 1500.0);
  EXPECT_EQ(c.start.load1, 0.5);
  EXPECT_EQ(c.start.temperatures_c, (Zones{{"cpu", 40.0}}));
  EXPECT_TRUE(c.end.temperatures_c.empty());
  EXPECT_EQ(c.start.jiffies, (CpuJiffies{0, 0, 0, 7, 0, 0, 0, 0}));
  EXPECT_EQ(c.steal_fraction, 0.0);
  EXPECT_EQ(c.start.cores, 0);
  EXPECT_EQ(c.build_type, "");
  EXPECT_EQ(c.warnings, std::vector<std::string>{"too hot"});
}

TEST(RunConditions, SummaryLine) {
  EXPECT_EQ(conditions_summary(RunConditions{}), "");
  RunConditions c = sample_conditions();
  EXPECT_EQ(conditions_summary(c), "2.1 GHz performance, 47->52°C, steal 3%, load 1.2/2, 1 warning");

  c.start.cpu_mhz = 800;
  c.end.temperatures_c.clear();
  c.start.jiffies = {};
  c.build_type = "Debug";
  c.warnings = {"a", "b"};
  EXPECT_EQ(conditions_summary(c), "800 MHz performance, 47°C, load 1.2/2, Debug build, 2 warnings");

  RunConditions governor_only;
  governor_only.end.governor = "powersave";  // the start's conditions are summarised
  governor_only.start.governor = "schedutil";
  EXPECT_EQ(conditions_summary(governor_only), "schedutil");
}

TEST(HostSnapshot, RealMachineReadsWithoutThrowing) {
  HostSnapshot start, end;
  ASSERT_NO_THROW(start = read_host_snapshot());
  ASSERT_NO_THROW(end = read_host_snapshot("/"));
  const RunConditions c = compare_snapshots(start, end);
  EXPECT_EQ(c.build_type, dnas_build_type());
  EXPECT_FALSE(c.build_type.empty());
  EXPECT_GE(c.steal_fraction, 0.0);
  EXPECT_LE(c.steal_fraction, 1.0);
  if (fs::exists("/proc/stat")) {
    EXPECT_GT(start.cores, 0);
  }
  EXPECT_EQ(conditions_from_json(conditions_to_json(c)).warnings, c.warnings);
  std::cout << "this machine: " << conditions_summary(c) << "\n";
}

}  // namespace
}  // namespace dnas
