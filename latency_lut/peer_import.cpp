#include "latency_lut/peer_import.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "common/config_reader.h"
#include "common/error.h"
#include "common/json.h"
#include "ops/block_plan.h"
#include "ops/registry.h"

namespace dnas {
namespace {

using detail::concat;

// As lut_io: an hour per block; anything above is a unit mistake, not a latency.
constexpr double kMaxLatencyUs = 3.6e9;
constexpr size_t kUnmappableListed = 20;

struct Mapping {
  LutKey key;
  std::string unmappable;  // why there is no dnas block; "" when `key` holds it
};

Mapping unmappable(std::string reason) {
  Mapping m;
  m.unmappable = std::move(reason);
  return m;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Decimal digits only, no sign and no leading zero: one spelling per value, so distinct peer keys
// never meet in one canonical key.
std::optional<int64_t> parse_count(std::string_view text) {
  if (text.empty() || text.size() > 7 || (text.size() > 1 && text.front() == '0')) return std::nullopt;
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

// parts[first...] as the fields `names` in this order, each spelled <name><separator><value>.
std::optional<std::vector<std::string_view>> field_values(const std::vector<std::string_view>& parts, size_t first,
                                                          const std::vector<std::string_view>& names,
                                                          std::string_view separator) {
  if (parts.size() != first + names.size()) return std::nullopt;
  std::vector<std::string_view> values;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string_view part = parts[first + i], name = names[i];
    const size_t prefix = name.size() + separator.size();
    if (part.size() <= prefix || part.substr(0, name.size()) != name ||
        part.substr(name.size(), separator.size()) != separator)
      return std::nullopt;
    values.push_back(part.substr(prefix));
  }
  return values;
}

std::optional<std::vector<int64_t>> count_fields(const std::vector<std::string_view>& parts,
                                                 const std::vector<std::string_view>& names) {
  const auto values = field_values(parts, 1, names, "");
  if (!values) return std::nullopt;
  std::vector<int64_t> counts;
  for (const std::string_view value : *values) {
    const auto count = parse_count(value);
    if (!count) return std::nullopt;
    counts.push_back(*count);
  }
  return counts;
}

// ProxylessNAS writes shapes height x width x channels.
std::optional<FeatureShape> parse_hwc(std::string_view text) {
  const auto parts = split(text, 'x');
  if (parts.size() != 3) return std::nullopt;
  const auto height = parse_count(parts[0]), width = parse_count(parts[1]), channels = parse_count(parts[2]);
  if (!height || !width || !channels) return std::nullopt;
  return FeatureShape{*channels, *height, *width};
}

std::string hwc(const FeatureShape& shape) { return concat(shape.height, "x", shape.width, "x", shape.channels); }

bool adds_residual(const BlockPlan& plan) {
  return std::any_of(plan.steps.begin(), plan.steps.end(), [](const Step& s) { return s.kind == StepKind::kAdd; });
}

BlockArgs block_args(const LutKey& key) {
  BlockArgs args;
  args.input = {key.in_channels, key.in_height, key.in_width};
  args.out_channels = key.out_channels;
  args.stride = key.stride;
  return args;
}

// The canonical key of `op_key` at `args`, when dnas's plan of that block agrees with what the
// peer's key says about it: its output shape and whether it adds the residual.
Mapping map_block(const std::string& op_key, const BlockArgs& args, const LutSettings& settings,
                  const std::optional<FeatureShape>& peer_output = std::nullopt,
                  std::optional<bool> peer_residual = std::nullopt) {
  const OpDef* op = OpRegistry::builtin().find(op_key);
  DNAS_ASSERT(op != nullptr, "a peer key mapped to the unknown op '", op_key, "'");
  try {
    const BlockPlan plan = plan_block(*op, args);
    if (peer_output && plan.output() != *peer_output)
      return unmappable(concat("its output ", hwc(*peer_output), " is not what the block computes (", op_key, " gives ",
                               hwc(plan.output()), ")"));
    if (peer_residual && adds_residual(plan) != *peer_residual)
      return unmappable(*peer_residual
                            ? concat("it adds a residual, which needs stride 1 and as many output channels as input")
                            : concat("it has no residual, but dnas's ", op_key,
                                     " adds one at stride 1 with as many output channels as input"));
    Mapping m;
    m.key = make_lut_key(*op, args, settings);
    return m;
  } catch (const Error& e) {  // the block cannot be built with these arguments
    return unmappable(e.what());
  }
}

std::optional<std::string> no_inverted_residual(int64_t kernel, int64_t expansion, const char* expansion_field) {
  if ((kernel == 3 || kernel == 5) && (expansion == 1 || expansion == 3 || expansion == 6)) return std::nullopt;
  return concat("kernel ", kernel, ", ", expansion_field, " ", expansion,
                ": dnas's inverted residuals are ir_k{3,5}_e{1,3,6}");
}

Mapping map_proxyless(const std::string& peer_key, const LutSettings& settings) {
  const auto parts = split(peer_key, '-');
  const std::string_view type = parts.front();
  if (type == "Conv" || type == "Conv_1")
    return unmappable("a plain conv (stem or feature mix) whose key does not give its kernel");
  if (type == "Logits")
    return unmappable("global pooling and the classifier timed as one layer; dnas times them apart");
  if (type != "expanded_conv")
    return unmappable(concat("unknown layer type '", type, "' (dnas maps expanded_conv blocks only)"));
  const char* expected = "expected expanded_conv-input:HxWxC-output:HxWxC-expand:E-kernel:K-stride:S-idskip:0|1";
  const auto values = field_values(parts, 1, {"input", "output", "expand", "kernel", "stride", "idskip"}, ":");
  if (!values) return unmappable(expected);
  const auto input = parse_hwc((*values)[0]), output = parse_hwc((*values)[1]);
  const auto expand = parse_count((*values)[2]), kernel = parse_count((*values)[3]);
  const auto stride = parse_count((*values)[4]), idskip = parse_count((*values)[5]);
  if (!input || !output || !expand || !kernel || !stride || !idskip || *idskip > 1) return unmappable(expected);
  if (auto reason = no_inverted_residual(*kernel, *expand, "expand")) return unmappable(*reason);
  BlockArgs args;
  args.input = *input;
  args.out_channels = output->channels;
  args.stride = *stride;
  args.options.act = Activation::kRelu6;
  args.options.ir_e1_pointwise = false;
  return map_block(concat("ir_k", *kernel, "_e", *expand), args, settings, *output, *idskip == 1);
}

Mapping map_hw_nas_bench(const std::string& peer_key, const LutSettings& settings) {
  const auto parts = split(peer_key, '_');
  const std::string_view type = parts.front();
  BlockArgs args;
  if (type == "ConvBlock") {
    const auto f = count_fields(parts, {"H", "W", "Cin", "Cout", "exp", "kernel", "stride", "group"});
    if (!f) return unmappable("expected ConvBlock_H{}_W{}_Cin{}_Cout{}_exp{}_kernel{}_stride{}_group{}");
    const int64_t expansion = (*f)[4], kernel = (*f)[5], groups = (*f)[7];
    if (auto reason = no_inverted_residual(kernel, expansion, "exp")) return unmappable(*reason);
    if (groups != 1 && !(groups == 2 && expansion == 1))
      return unmappable(concat("group ", groups, " at exp ", expansion, ": dnas groups only the e=1 blocks, in 2"));
    args.input = {(*f)[2], (*f)[0], (*f)[1]};
    args.out_channels = (*f)[3];
    args.stride = (*f)[6];
    return map_block(concat("ir_k", kernel, "_e", expansion, groups == 2 ? "_g2" : ""), args, settings);
  }
  if (type == "Skip") {
    const auto f = count_fields(parts, {"H", "W", "Cin", "Cout", "stride"});
    if (!f) return unmappable("expected Skip_H{}_W{}_Cin{}_Cout{}_stride{}");
    args.input = {(*f)[2], (*f)[0], (*f)[1]};
    args.out_channels = (*f)[3];
    args.stride = (*f)[4];
    return map_block("skip", args, settings);
  }
  if (type == "AvgP") {
    const auto f = count_fields(parts, {"H", "W", "Cin", "Cout", "kernel", "stride"});
    if (!f) return unmappable("expected AvgP_H{}_W{}_Cin{}_Cout{}_kernel{}_stride{}");
    const int64_t height = (*f)[0], width = (*f)[1], channels = (*f)[2];
    if ((*f)[3] != channels || (*f)[4] != height || (*f)[4] != width || (*f)[5] != 1)
      return unmappable("not a global pool (kernel = H = W, stride 1, Cin = Cout), the only pool dnas's avgpool is");
    args.input = {channels, height, width};
    return map_block("avgpool", args, settings);
  }
  if (type == "FC") {
    const auto f = count_fields(parts, {"Cin", "Cout"});
    if (!f) return unmappable("expected FC_Cin{}_Cout{}");
    args.input = {(*f)[0], 1, 1};
    args.out_channels = (*f)[1];
    return map_block("fc", args, settings);
  }
  if (type == "ConvNorm")
    return unmappable("HW-NAS-Bench builds this key's layer as a ConvBlock but its networks' stem and head as "
                      "conv-BN-ReLU, so which one was timed is unknown");
  return unmappable(concat("unknown layer type '", type, "' (expected ConvBlock, Skip, AvgP or FC)"));
}

Mapping map_peer_key(const std::string& peer_key, PeerFormat format, const LutSettings& settings) {
  return format == PeerFormat::kProxyless ? map_proxyless(peer_key, settings) : map_hw_nas_bench(peer_key, settings);
}

std::optional<std::string> spell_proxyless(const LutKey& key) {
  const OpDef* op = OpRegistry::builtin().find(key.op);
  if (op == nullptr || op->family != "ir" || op->groups != 1 || op->squeeze_excite) return std::nullopt;
  BlockArgs args = block_args(key);
  args.options.act = Activation::kRelu6;
  args.options.ir_e1_pointwise = false;
  try {
    const BlockPlan plan = plan_block(*op, args);
    return concat("expanded_conv-input:", hwc(args.input), "-output:", hwc(plan.output()), "-expand:", op->expansion,
                  "-kernel:", op->kernel, "-stride:", key.stride, "-idskip:", adds_residual(plan) ? 1 : 0);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<std::string> spell_hw_nas_bench(const LutKey& key) {
  const OpDef* op = OpRegistry::builtin().find(key.op);
  if (op == nullptr) return std::nullopt;
  const std::string size = concat("_H", key.in_height, "_W", key.in_width);
  const std::string channels = concat("_Cin", key.in_channels, "_Cout", key.out_channels);
  if (op->family == "ir" && !op->squeeze_excite)
    return concat("ConvBlock", size, channels, "_exp", op->expansion, "_kernel", op->kernel, "_stride", key.stride,
                  "_group", op->groups);
  if (op->family == "skip") return concat("Skip", size, channels, "_stride", key.stride);
  if (op->family == "avgpool") return concat("AvgP", size, channels, "_kernel", key.in_height, "_stride", key.stride);
  if (op->family == "fc") return concat("FC", channels);
  return std::nullopt;
}

double ms_to_us(double ms, const std::string& where) {
  DNAS_CHECK(std::isfinite(ms) && ms > 0 && ms * 1000.0 <= kMaxLatencyUs, where,
             ": expected a latency in milliseconds (a positive number, at most an hour: 3.6e6), got ", ms);
  return ms * 1000.0;
}

void add_entry(PeerTable& table, const std::string& peer_key, double mean_us, double std_us, int64_t repeats,
               PeerFormat format, const LutSettings& settings) {
  Mapping m = map_peer_key(peer_key, format, settings);
  if (!m.unmappable.empty())
    table.unmappable.push_back({peer_key, std::move(m.unmappable)});
  else
    table.rows.push_back({peer_key, std::move(m.key), mean_us, std_us, repeats});
}

PeerTable read_proxyless(const std::string& text, const std::string& origin, const LutSettings& settings) {
  const Json document = parse_yaml_text(text, origin);
  PeerTable table;
  for (const auto& entry : document.items()) {
    const std::string& peer_key = entry.key();
    const Json& value = entry.value();
    double mean_us = 0, std_us = 0;
    int64_t repeats = 1;
    if (value.is_number()) {
      mean_us = ms_to_us(value.get<double>(), concat(origin, ": ", peer_key));
    } else if (value.is_object()) {
      ConfigReader r(value, origin, peer_key);
      mean_us = ms_to_us(r.number("mean"), r.where("mean"));
      if (r.has("std")) {
        const double std_ms = r.number("std");
        DNAS_CHECK(std::isfinite(std_ms) && std_ms >= 0, r.where("std"),
                   ": expected a finite number of milliseconds >= 0, got ", std_ms);
        std_us = std_ms * 1000.0;
      } else {
        r.allow("std");
      }
      if (const auto count = r.optional_integer("count")) {
        DNAS_CHECK(*count >= 1, r.where("count"), ": expected a number of timed runs >= 1, got ", *count);
        repeats = *count;
      }
      r.finish();
    } else {
      throw Error(concat(origin, ": ", peer_key, ": expected a latency in milliseconds or {mean: ms, std: ms}, got ",
                         describe_value(value)));
    }
    add_entry(table, peer_key, mean_us, std_us, repeats, PeerFormat::kProxyless, settings);
  }
  return table;
}

// nlohmann keeps the last value of a key given twice; a second latency for one block is a mistake.
void check_unique_json_keys(const std::string& text, const std::string& origin) {
  std::set<std::string> seen;
  [[maybe_unused]] const Json reparsed = Json::parse(text, [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::key && depth == 1) {
      const std::string key = parsed.get<std::string>();
      DNAS_CHECK(seen.insert(key).second, origin, ": ", key, ": appears twice");
    }
    return true;
  });
}

PeerTable read_hw_nas_bench_json(const std::string& text, const std::string& origin, const LutSettings& settings) {
  const Json document = parse_json_text(text, origin);
  DNAS_CHECK(document.is_object(), origin, ": expected a JSON object {\"<key>\": ms, ...}, got ",
             describe_value(document));
  check_unique_json_keys(text, origin);
  PeerTable table;
  for (const auto& entry : document.items()) {
    const std::string& peer_key = entry.key();
    const std::string where = concat(origin, ": ", peer_key);
    const Json& value = entry.value();
    DNAS_CHECK(!value.is_object(), where, ": expected a latency in milliseconds, got an object (export one table "
               "of one device, e.g. raspi4_latency, as a flat {\"<key>\": ms} object)");
    DNAS_CHECK(value.is_number(), where, ": expected a latency in milliseconds, got ", describe_value(value));
    add_entry(table, peer_key, ms_to_us(value.get<double>(), where), 0.0, 1, PeerFormat::kHwNasBench, settings);
  }
  return table;
}

PeerTable read_hw_nas_bench_csv(const std::string& text, const std::string& origin, const LutSettings& settings) {
  std::vector<std::string_view> lines = split(text, '\n');
  for (std::string_view& line : lines)
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  DNAS_CHECK(lines.front() == "key,ms", origin, ":1: expected the header line 'key,ms' (or a JSON object), got '",
             lines.front().substr(0, 60), "'");
  PeerTable table;
  std::map<std::string, size_t> first_line;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const size_t line = i + 1;
    const auto fields = split(lines[i], ',');
    DNAS_CHECK(fields.size() == 2, origin, ":", line, ": expected two fields '<key>,<ms>', got ", fields.size());
    const std::string peer_key(fields[0]);
    const std::string where = concat(origin, ":", line, ": ", peer_key);
    DNAS_CHECK(!peer_key.empty(), origin, ":", line, ": expected a key, got ''");
    const auto [previous, inserted] = first_line.emplace(peer_key, line);
    DNAS_CHECK(inserted, where, ": appears twice (first on line ", previous->second, ")");
    double ms = 0;
    const std::string_view number = fields[1];
    const auto parsed = std::from_chars(number.data(), number.data() + number.size(), ms);
    DNAS_CHECK(parsed.ec == std::errc() && parsed.ptr == number.data() + number.size(), where,
               ": expected a latency in milliseconds, got '", number, "'");
    add_entry(table, peer_key, ms_to_us(ms, where), 0.0, 1, PeerFormat::kHwNasBench, settings);
  }
  return table;
}

std::string unmappable_message(const PeerTable& table, const std::string& origin) {
  const size_t count = table.unmappable.size();
  std::string listed;
  for (size_t i = 0; i < std::min(count, kUnmappableListed); ++i)
    listed += concat(i ? "; " : "", "'", table.unmappable[i].peer_key, "' (", table.unmappable[i].reason, ")");
  if (count > kUnmappableListed) listed += concat("; and ", count - kUnmappableListed, " more");
  return concat(origin, ": ", count, " of ", count + table.rows.size(),
                " keys have no dnas block, so nothing was imported: ", listed,
                ". Remove those entries from the file to import the rest.");
}

}  // namespace

PeerFormat parse_peer_format(const std::string& name, const std::string& where) {
  if (name == "proxyless") return PeerFormat::kProxyless;
  if (name == "hw-nas-bench") return PeerFormat::kHwNasBench;
  throw Error(concat(where, ": unknown peer table format '", name, "' (expected proxyless or hw-nas-bench)"));
}

const char* peer_format_name(PeerFormat format) {
  return format == PeerFormat::kProxyless ? "proxyless" : "hw-nas-bench";
}

PeerTable read_peer_table(const std::string& text, PeerFormat format, const std::string& origin,
                          const LutSettings& settings) {
  check_lut_settings(settings, origin);
  check_utf8_text(text, origin);
  if (format == PeerFormat::kProxyless) return read_proxyless(text, origin, settings);
  const size_t first = text.find_first_not_of(" \t\r\n");
  DNAS_CHECK(first != std::string::npos, origin,
             ": file is empty (expected a JSON object {\"<key>\": ms, ...} or CSV with the header 'key,ms')");
  return text[first] == '{' ? read_hw_nas_bench_json(text, origin, settings)
                            : read_hw_nas_bench_csv(text, origin, settings);
}

std::optional<std::string> peer_key_for(const LutKey& key, PeerFormat format) {
  const std::optional<std::string> spelled =
      format == PeerFormat::kProxyless ? spell_proxyless(key) : spell_hw_nas_bench(key);
  if (!spelled) return std::nullopt;
  // Only a spelling that maps back to this very key: the variant and shape must agree too.
  const Mapping back = map_peer_key(*spelled, format, {key.batch, key.dtype, key.memory_format});
  if (!back.unmappable.empty() || back.key.str() != key.str()) return std::nullopt;
  return spelled;
}

ImportSummary import_peer_table(LutStore& store, const PeerTable& table, PeerFormat format,
                                const std::string& target, const std::string& origin) {
  if (!table.unmappable.empty()) throw Error(unmappable_message(table, origin));
  DNAS_CHECK(!table.rows.empty(), origin, ": no latencies to import");
  DNAS_CHECK(!target.empty(), origin, ": expected a target to import into, got ''");
  const LutKey& first = table.rows.front().key;
  std::set<std::string> seen;
  for (const PeerRow& row : table.rows) {
    const std::string where = concat(origin, ": ", row.peer_key);
    DNAS_CHECK(std::isfinite(row.mean_us) && row.mean_us > 0 && row.mean_us <= kMaxLatencyUs, where,
               ": expected a latency of at most an hour in microseconds, got ", row.mean_us);
    DNAS_CHECK(std::isfinite(row.std_us) && row.std_us >= 0, where, ": expected a std >= 0, got ", row.std_us);
    DNAS_CHECK(row.repeats >= 1, where, ": expected repeats >= 1, got ", row.repeats);
    DNAS_CHECK(row.key.batch == first.batch && row.key.dtype == first.dtype &&
                   row.key.memory_format == first.memory_format,
               where, ": ", row.key.str(), " has other settings than ", first.str());
    DNAS_CHECK(seen.insert(row.key.str()).second, where, ": a second latency for ", row.key.str());
  }

  RunRecord run;
  run.target = target;
  run.source = std::string("import:") + peer_format_name(format);
  run.host = origin;
  run.started_at = run.finished_at = utc_now();
  run.libtorch_version = run.cuda_version = run.device = run.device_name = "unknown";
  run.settings = {first.batch, first.dtype, first.memory_format};
  run.warmup = 0;
  run.repeats = 1;
  std::vector<MeasurementRow> rows;
  for (const PeerRow& row : table.rows) {
    MeasurementRow m;
    m.target = target;
    m.key = row.key;
    m.stats.median_us = m.stats.p10_us = m.stats.p90_us = m.stats.mean_us = row.mean_us;
    m.stats.std_us = row.std_us;
    m.stats.repeats = row.repeats;
    m.measured_at = run.finished_at;
    rows.push_back(m);
  }
  return store_imported_run(store, run, concat("unknown (a ", peer_format_name(format), " table)"), std::move(rows));
}

}  // namespace dnas
