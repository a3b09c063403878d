#include "latency_lut/target_spec.h"

#include "common/error.h"
#include "common/config_fields.h"
#include "common/config_reader.h"
#include "supernet/config_store.h"

namespace dnas {

double TargetSpec::peak_gflops_for(const std::string& dtype) const {
  if (auto it = peak_gflops.find(dtype); it != peak_gflops.end()) return it->second;
  if (auto it = peak_gflops.find("fp32"); it != peak_gflops.end()) return it->second;
  throw Error(detail::concat(origin, ": peak_gflops has no entry for ", dtype, " or fp32"));
}

TargetSpec parse_target_text(const std::string& text, const std::string& origin) {
  const Json document = parse_yaml_text(text, origin);
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != kTargetFormat) r.fail("format", "expected \"" + std::string(kTargetFormat) + "\", got \"" + format + "\"");
  TargetSpec t;
  t.origin = origin;
  t.name = r.string("name");
  t.device = r.string("device");
  t.profile_device = r.string("profile_device");
  if (t.profile_device != "cpu" && t.profile_device != "cuda")
    r.fail("profile_device", "expected cpu or cuda, got \"" + t.profile_device + "\"");
  ConfigReader peaks = r.object("peak_gflops");
  for (const char* dtype : {"fp32", "fp16", "bf16"}) {
    peaks.allow(dtype);
    if (!peaks.has(dtype)) continue;
    const double value = peaks.number(dtype);
    if (!(value > 0)) peaks.fail(dtype, detail::concat("expected a positive number, got ", value));
    t.peak_gflops[dtype] = value;
  }
  peaks.finish();
  if (t.peak_gflops.empty()) r.fail("peak_gflops", "expected at least one of fp32, fp16, bf16");
  auto positive = [&r](const char* key) {
    const double value = r.number(key);
    if (!(value > 0)) r.fail(key, detail::concat("expected a positive number, got ", value));
    return value;
  };
  auto fraction = [&r](const char* key) {
    const double value = r.number(key);
    if (!(value > 0 && value <= 1)) r.fail(key, detail::concat("expected a fraction in (0, 1], got ", value));
    return value;
  };
  t.memory_bandwidth_gbs = positive("memory_bandwidth_gbs");
  t.compute_efficiency = fraction("compute_efficiency");
  t.memory_efficiency = fraction("memory_efficiency");
  t.per_op_overhead_us = r.number("per_op_overhead_us");
  if (t.per_op_overhead_us < 0) r.fail("per_op_overhead_us", "expected a number >= 0");
  t.lut = r.string("lut");
  // Each key checked on its own, so that the error names it.
  LutSettings& lut = t.lut_settings;
  lut.batch = r.optional_integer("lut_batch").value_or(lut.batch);
  check_lut_settings({lut.batch, "fp32", "nchw"}, r.where("lut_batch"));
  r.check_at_most("lut_batch", lut.batch, static_cast<int64_t>(kMaxBatch));
  lut.dtype = r.optional_string("lut_dtype").value_or(lut.dtype);
  check_lut_settings({1, lut.dtype, "nchw"}, r.where("lut_dtype"));
  lut.memory_format = r.optional_string("lut_layout").value_or(lut.memory_format);
  check_lut_settings({1, "fp32", lut.memory_format}, r.where("lut_layout"));
  t.notes = r.optional_string("notes").value_or("");
  r.finish();
  return t;
}

TargetSpec load_target(const std::string& name_or_path) {
  const ConfigText config = require_config(ConfigKind::kTarget, name_or_path);
  return parse_target_text(config.text, config.origin);
}

}  // namespace dnas
