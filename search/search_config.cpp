#include "search/search_config.h"

#include <cmath>

#include "common/device.h"
#include "common/error.h"
#include "ops/op_def.h"
#include "common/config_reader.h"

namespace dnas {

int64_t SearchConfig::resolved_warmup() const {
  if (warmup_epochs >= 0) return warmup_epochs;
  return epochs <= 1 ? 0 : std::max<int64_t>(1, std::llround(static_cast<double>(epochs) / 9.0));
}

void SearchConfig::validate() const {
  DNAS_CHECK(epochs >= 1, "--epochs: expected >= 1, got ", epochs);
  DNAS_CHECK(batch_size >= 2, "--batch-size: expected >= 2 (BatchNorm), got ", batch_size);
  DNAS_CHECK(resolved_warmup() < epochs, "--warmup-epochs: ", resolved_warmup(), " leaves no epoch to train theta in ",
             epochs, " epochs");
  DNAS_CHECK(mode == "soft" || mode == "hard", "--mode: expected soft or hard, got '", mode, "'");
  DNAS_CHECK(noise == "batch" || noise == "sample", "--noise: expected batch or sample, got '", noise, "'");
  DNAS_CHECK(!(noise == "sample" && mode == "hard"), "--noise sample: per-sample noise needs --mode soft");
  DNAS_CHECK(schedule == "exp" || schedule == "linear", "--schedule: expected exp or linear, got '", schedule, "'");
  DNAS_CHECK(tau0 > 0 && tau_decay > 0 && tau_min > 0, "temperatures must be positive");
  DNAS_CHECK(alpha > 0 && beta > 0, "--alpha and --beta must be positive");
  DNAS_CHECK(latency_target_ms >= 0, "--latency-target-ms: expected >= 0, got ", latency_target_ms);
  DNAS_CHECK(w_fraction > 0 && w_fraction < 1, "--w-fraction: expected a fraction in (0, 1), got ", w_fraction);
  DNAS_CHECK(lr_w > 0 && lr_theta > 0, "learning rates must be positive");
  DNAS_CHECK(momentum >= 0 && momentum < 1, "--momentum: expected a value in [0, 1), got ", momentum);
  DNAS_CHECK(weight_decay >= 0 && theta_weight_decay >= 0, "--weight-decay and --theta-weight-decay: expected >= 0, got ",
             weight_decay, " and ", theta_weight_decay);
  DNAS_CHECK(threads >= 0 && max_samples >= 0 && checkpoint_every >= 0, "counts must be >= 0");
  DNAS_CHECK(precision == "fp32" || precision == "bf16", "--precision: expected fp32 or bf16, got '", precision, "'");
  DNAS_CHECK(precision == "fp32" || device == "cuda", "--precision ", precision,
             ": mixed precision is for --device cuda (CPU searches run fp32)");
  channels_last_format(memory_format);  // throws on anything but nhwc / nchw
}

nlohmann::json config_to_json(const SearchConfig& c) {
  return {{"format", "dnas-search/1"}, {"space", c.space}, {"target", c.target}, {"db", c.db}, {"data", c.data},
          {"device", c.device}, {"out", c.out}, {"epochs", c.epochs}, {"batch_size", c.batch_size},
          {"warmup_epochs", c.warmup_epochs}, {"mode", c.mode}, {"noise", c.noise}, {"schedule", c.schedule},
          {"tau0", c.tau0}, {"tau_decay", c.tau_decay}, {"tau_min", c.tau_min}, {"lr_w", c.lr_w},
          {"momentum", c.momentum}, {"weight_decay", c.weight_decay}, {"lr_theta", c.lr_theta},
          {"theta_weight_decay", c.theta_weight_decay}, {"alpha", c.alpha}, {"beta", c.beta},
          {"latency_target_ms", c.latency_target_ms}, {"latency_penalty", c.latency_penalty},
          {"w_fraction", c.w_fraction}, {"seed", c.seed}, {"threads", c.threads}, {"precision", c.precision}, {"memory_format", c.memory_format}, {"image_size", c.image_size},
          {"max_samples", c.max_samples}, {"estimate_missing", c.estimate_missing},
          {"checkpoint_every", c.checkpoint_every}};
}

SearchConfig config_from_json(const nlohmann::json& document, const std::string& origin) {
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != "dnas-search/1") r.fail("format", "expected \"dnas-search/1\", got \"" + format + "\"");
  SearchConfig c;
  r.read_optional("space", c.space);
  r.read_optional("target", c.target);
  r.read_optional("db", c.db);
  r.read_optional("data", c.data);
  r.read_optional("device", c.device);
  r.read_optional("out", c.out);
  r.read_optional("epochs", c.epochs);
  r.read_optional("batch_size", c.batch_size);
  r.read_optional("warmup_epochs", c.warmup_epochs);
  r.read_optional("mode", c.mode);
  r.read_optional("noise", c.noise);
  r.read_optional("schedule", c.schedule);
  r.read_optional("tau0", c.tau0);
  r.read_optional("tau_decay", c.tau_decay);
  r.read_optional("tau_min", c.tau_min);
  r.read_optional("lr_w", c.lr_w);
  r.read_optional("momentum", c.momentum);
  r.read_optional("weight_decay", c.weight_decay);
  r.read_optional("lr_theta", c.lr_theta);
  r.read_optional("theta_weight_decay", c.theta_weight_decay);
  r.read_optional("alpha", c.alpha);
  r.read_optional("beta", c.beta);
  r.read_optional("latency_target_ms", c.latency_target_ms);
  r.read_optional("latency_penalty", c.latency_penalty);
  r.read_optional("w_fraction", c.w_fraction);
  r.read_optional("seed", c.seed);
  r.read_optional("threads", c.threads);
  r.read_optional("precision", c.precision);
  r.read_optional("memory_format", c.memory_format);
  r.read_optional("image_size", c.image_size);
  r.read_optional("max_samples", c.max_samples);
  r.read_optional("estimate_missing", c.estimate_missing);
  r.read_optional("checkpoint_every", c.checkpoint_every);
  r.finish();
  return c;
}

std::vector<std::string> config_differences(const SearchConfig& a, const SearchConfig& b) {
  const nlohmann::json ja = config_to_json(a), jb = config_to_json(b);
  std::vector<std::string> out;
  for (const auto& item : ja.items())
    if (item.key() != "out" && item.value() != jb[item.key()])
      out.push_back(item.key() + " " + item.value().dump() + " -> " + jb[item.key()].dump());
  return out;
}

}  // namespace dnas
