#include "search/search_config.h"

#include <cmath>

#include "ops/error.h"
#include "supernet/config_reader.h"

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
  DNAS_CHECK(threads >= 0 && max_samples >= 0 && checkpoint_every >= 0, "counts must be >= 0");
}

nlohmann::json config_to_json(const SearchConfig& c) {
  return {{"format", "dnas-search/1"}, {"space", c.space}, {"target", c.target}, {"db", c.db}, {"data", c.data},
          {"device", c.device}, {"out", c.out}, {"epochs", c.epochs}, {"batch_size", c.batch_size},
          {"warmup_epochs", c.warmup_epochs}, {"mode", c.mode}, {"noise", c.noise}, {"schedule", c.schedule},
          {"tau0", c.tau0}, {"tau_decay", c.tau_decay}, {"tau_min", c.tau_min}, {"lr_w", c.lr_w},
          {"momentum", c.momentum}, {"weight_decay", c.weight_decay}, {"lr_theta", c.lr_theta},
          {"theta_weight_decay", c.theta_weight_decay}, {"alpha", c.alpha}, {"beta", c.beta},
          {"latency_target_ms", c.latency_target_ms}, {"latency_penalty", c.latency_penalty},
          {"w_fraction", c.w_fraction}, {"seed", c.seed}, {"threads", c.threads}, {"image_size", c.image_size},
          {"max_samples", c.max_samples}, {"estimate_missing", c.estimate_missing},
          {"checkpoint_every", c.checkpoint_every}};
}

SearchConfig config_from_json(const nlohmann::json& document, const std::string& origin) {
  ConfigReader r(document, origin);
  const std::string format = r.string("format");
  if (format != "dnas-search/1") r.fail("format", "expected \"dnas-search/1\", got \"" + format + "\"");
  SearchConfig c;
  auto text = [&r](const char* key, std::string& field) {
    if (r.has(key)) field = r.string(key);
    else r.allow(key);
  };
  auto integer = [&r](const char* key, int64_t& field) {
    if (r.has(key)) field = r.integer(key);
    else r.allow(key);
  };
  auto number = [&r](const char* key, double& field) {
    if (r.has(key)) field = r.number(key);
    else r.allow(key);
  };
  text("space", c.space);
  text("target", c.target);
  text("db", c.db);
  text("data", c.data);
  text("device", c.device);
  text("out", c.out);
  integer("epochs", c.epochs);
  integer("batch_size", c.batch_size);
  integer("warmup_epochs", c.warmup_epochs);
  text("mode", c.mode);
  text("noise", c.noise);
  text("schedule", c.schedule);
  number("tau0", c.tau0);
  number("tau_decay", c.tau_decay);
  number("tau_min", c.tau_min);
  number("lr_w", c.lr_w);
  number("momentum", c.momentum);
  number("weight_decay", c.weight_decay);
  number("lr_theta", c.lr_theta);
  number("theta_weight_decay", c.theta_weight_decay);
  number("alpha", c.alpha);
  number("beta", c.beta);
  number("latency_target_ms", c.latency_target_ms);
  number("latency_penalty", c.latency_penalty);
  number("w_fraction", c.w_fraction);
  integer("seed", c.seed);
  integer("threads", c.threads);
  integer("image_size", c.image_size);
  integer("max_samples", c.max_samples);
  if (r.has("estimate_missing")) c.estimate_missing = r.boolean("estimate_missing");
  else r.allow("estimate_missing");
  integer("checkpoint_every", c.checkpoint_every);
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
