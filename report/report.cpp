#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"
#include "common/config_reader.h"
#include "supernet/config_store.h"

namespace dnas {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string num(double v, int precision = 3) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", precision, v);
  return buffer;
}

// One trial's table cell, closed: "81.4% / 0.532" (top-1 / cross-entropy on the theta split), the
// loss left out for runs from before trials recorded it, and empty for a candidate not trained.
std::string trial_cell(const json& candidate, const char* accuracy_key, const char* loss_key) {
  if (!candidate.contains(accuracy_key)) return "</td><td>";
  return num(100 * candidate.value(accuracy_key, 0.0), 4) + "%" +
         (candidate.contains(loss_key) ? " / " + num(candidate.value(loss_key, 0.0), 3) : std::string()) + "</td><td>";
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  DNAS_CHECK(in.good(), path, ": missing (is this a search run directory?)");
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    DNAS_CHECK(!j.is_discarded() && j.is_object(), path, ":", number, ": not a JSON object");
    out.push_back(std::move(j));
  }
  return out;
}

struct Series {
  std::string name, colour;
  std::vector<double> values;
};

// A line chart of one or more series over epochs.
std::string line_chart(const std::string& title, const std::vector<Series>& series) {
  const double w = 420, h = 220, left = 48, right = 12, top = 28, bottom = 30;
  double lo = INFINITY, hi = -INFINITY;
  size_t n = 0;
  for (const Series& s : series)
    for (double v : s.values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v), n = std::max(n, s.values.size());
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\" viewBox=\"0 0 " << w
      << " " << h << "\">";
  svg << "<text x=\"" << left << "\" y=\"16\" class=\"title\">" << escape(title) << "</text>";
  if (n == 0) return svg.str() + "<text x=\"60\" y=\"110\">no data</text></svg>";
  if (hi - lo < 1e-12) hi = lo + 1, lo -= 1;
  auto x = [&](size_t i) { return left + (n <= 1 ? 0.0 : (w - left - right) * static_cast<double>(i) / static_cast<double>(n - 1)); };
  auto y = [&](double v) { return top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo)); };
  svg << "<line x1=\"" << left << "\" y1=\"" << h - bottom << "\" x2=\"" << w - right << "\" y2=\"" << h - bottom
      << "\" class=\"axis\"/>";
  svg << "<line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << h - bottom << "\" class=\"axis\"/>";
  svg << "<text x=\"4\" y=\"" << top + 4 << "\" class=\"tick\">" << num(hi) << "</text>";
  svg << "<text x=\"4\" y=\"" << h - bottom << "\" class=\"tick\">" << num(lo) << "</text>";
  svg << "<text x=\"" << left << "\" y=\"" << h - 8 << "\" class=\"tick\">epoch 0</text>";
  svg << "<text x=\"" << w - right - 50 << "\" y=\"" << h - 8 << "\" class=\"tick\">epoch " << n - 1 << "</text>";
  double legend_x = left + 150;
  for (const Series& s : series) {
    std::ostringstream points;
    for (size_t i = 0; i < s.values.size(); ++i)
      if (std::isfinite(s.values[i])) points << num(x(i), 6) << "," << num(y(s.values[i]), 6) << " ";
    svg << "<polyline fill=\"none\" stroke=\"" << s.colour << "\" stroke-width=\"2\" points=\"" << points.str() << "\"/>";
    for (size_t i = 0; i < s.values.size(); ++i)
      if (std::isfinite(s.values[i]))
        svg << "<circle cx=\"" << num(x(i), 6) << "\" cy=\"" << num(y(s.values[i]), 6) << "\" r=\"2.5\" fill=\"" << s.colour
            << "\"><title>" << escape(s.name) << " epoch " << i << ": " << num(s.values[i], 5) << "</title></circle>";
    svg << "<rect x=\"" << legend_x << "\" y=\"8\" width=\"10\" height=\"10\" fill=\"" << s.colour << "\"/>";
    svg << "<text x=\"" << legend_x + 14 << "\" y=\"17\" class=\"tick\">" << escape(s.name) << "</text>";
    legend_x += 14 + 7.0 * static_cast<double>(s.name.size()) + 12;
  }
  svg << "</svg>";
  return svg.str();
}

// Probability of each candidate (rows) over epochs (columns) for one layer.
std::string heatmap(size_t layer, const std::vector<std::string>& candidates,
                    const std::vector<std::vector<double>>& probabilities_by_epoch) {
  const double cell_w = std::max(6.0, 240.0 / std::max<size_t>(1, probabilities_by_epoch.size())), cell_h = 12, label = 96;
  const double w = label + cell_w * static_cast<double>(probabilities_by_epoch.size()) + 8;
  const double h = 20 + cell_h * static_cast<double>(candidates.size()) + 4;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(w, 6) << "\" height=\"" << num(h, 6) << "\">";
  svg << "<text x=\"0\" y=\"12\" class=\"title\">layer " << layer << "</text>";
  for (size_t c = 0; c < candidates.size(); ++c) {
    const double yy = 20 + cell_h * static_cast<double>(c);
    svg << "<text x=\"0\" y=\"" << num(yy + 10, 6) << "\" class=\"tick\">" << escape(candidates[c]) << "</text>";
    for (size_t e = 0; e < probabilities_by_epoch.size(); ++e) {
      const double p = c < probabilities_by_epoch[e].size() ? probabilities_by_epoch[e][c] : 0;
      const int shade = static_cast<int>(std::lround(255 * (1 - std::clamp(p, 0.0, 1.0))));
      svg << "<rect x=\"" << num(label + cell_w * static_cast<double>(e), 6) << "\" y=\"" << num(yy, 6) << "\" width=\""
          << num(cell_w, 6) << "\" height=\"" << cell_h << "\" fill=\"rgb(" << shade << "," << shade << ",255)\"><title>"
          << escape(candidates[c]) << " epoch " << e << ": p=" << num(p) << "</title></rect>";
    }
  }
  svg << "</svg>";
  return svg.str();
}

std::vector<double> column(const std::vector<json>& rows, const char* key, bool only_trained = false) {
  std::vector<double> out;
  for (const json& r : rows)
    out.push_back(only_trained && !r.value("theta_trained", true) ? NAN : r.value(key, NAN));
  return out;
}

// The candidates of the derivation as points (latency, accuracy on the theta split): the target's
// tolerance band shaded, the chosen one ringed.
std::string candidates_chart(const json& candidates, double target_ms, double tolerance) {
  const double w = 460, h = 260, left = 52, right = 16, top = 26, bottom = 34;
  double x_lo = 1e300, x_hi = 0, y_lo = 1, y_hi = 0;
  for (const json& c : candidates["candidates"]) {
    x_lo = std::min(x_lo, c.value("predicted_latency_ms", 0.0));
    x_hi = std::max(x_hi, c.value("predicted_latency_ms", 0.0));
    y_lo = std::min(y_lo, c.value("accuracy_theta_split", 0.0));
    y_hi = std::max(y_hi, c.value("accuracy_theta_split", 0.0));
  }
  if (target_ms > 0) x_lo = std::min(x_lo, target_ms * (1 - tolerance)), x_hi = std::max(x_hi, target_ms * (1 + tolerance));
  const double x_pad = std::max(1e-6, (x_hi - x_lo) * 0.1), y_pad = std::max(0.01, (y_hi - y_lo) * 0.1);
  x_lo = std::max(0.0, x_lo - x_pad), x_hi += x_pad, y_lo = std::max(0.0, y_lo - y_pad), y_hi = std::min(1.0, y_hi + y_pad);
  auto x = [&](double v) { return left + (v - x_lo) / (x_hi - x_lo) * (w - left - right); };
  auto y = [&](double v) { return h - bottom - (v - y_lo) / (y_hi - y_lo) * (h - top - bottom); };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h << "\">";
  svg << "<text x=\"" << left << "\" y=\"16\" class=\"title\">candidates: accuracy on the theta split against table latency</text>";
  if (target_ms > 0) {
    svg << "<rect x=\"" << num(x(target_ms * (1 - tolerance)), 6) << "\" y=\"" << top << "\" width=\""
        << num(x(target_ms * (1 + tolerance)) - x(target_ms * (1 - tolerance)), 6) << "\" height=\"" << h - top - bottom
        << "\" fill=\"#2ca02c\" fill-opacity=\"0.15\"/>";
    svg << "<line x1=\"" << num(x(target_ms), 6) << "\" y1=\"" << top << "\" x2=\"" << num(x(target_ms), 6) << "\" y2=\""
        << h - bottom << "\" stroke=\"#2ca02c\" stroke-dasharray=\"4 3\"/>";
  }
  svg << "<line x1=\"" << left << "\" y1=\"" << h - bottom << "\" x2=\"" << w - right << "\" y2=\"" << h - bottom
      << "\" class=\"axis\"/><line x1=\"" << left << "\" y1=\"" << top << "\" x2=\"" << left << "\" y2=\"" << h - bottom
      << "\" class=\"axis\"/>";
  svg << "<text x=\"" << left << "\" y=\"" << h - 18 << "\" class=\"tick\">" << num(x_lo) << " ms</text><text x=\""
      << w - right - 60 << "\" y=\"" << h - 18 << "\" class=\"tick\">" << num(x_hi) << " ms</text>";
  svg << "<text x=\"4\" y=\"" << top + 4 << "\" class=\"tick\">" << num(100 * y_hi) << "%</text><text x=\"4\" y=\""
      << h - bottom << "\" class=\"tick\">" << num(100 * y_lo) << "%</text>";
  for (const json& c : candidates["candidates"]) {
    const double cx = x(c.value("predicted_latency_ms", 0.0)), cy = y(c.value("accuracy_theta_split", 0.0));
    svg << "<circle cx=\"" << num(cx, 6) << "\" cy=\"" << num(cy, 6) << "\" r=\"4\" fill=\""
        << (c.value("within_target", true) ? "#1f77b4" : "#999") << "\"><title>" << escape(c.value("name", "")) << "</title></circle>";
    if (c.value("selected", false))
      svg << "<circle cx=\"" << num(cx, 6) << "\" cy=\"" << num(cy, 6) << "\" r=\"8\" fill=\"none\" stroke=\"#d62728\" "
          << "stroke-width=\"2\"/><text x=\"" << num(cx + 10, 6) << "\" y=\"" << num(cy + 4, 6) << "\" class=\"tick\">"
          << escape(c.value("name", "")) << "</text>";
  }
  svg << "</svg>";
  return svg.str();
}

}  // namespace

std::string write_report(const std::string& run_dir) {
  const fs::path dir(run_dir);
  const std::string config_path = (dir / "config.json").string();
  std::error_code ec;
  DNAS_CHECK(fs::is_directory(dir, ec), run_dir, ": no such run directory");
  const json config = parse_json_text(read_text_file(config_path), config_path);
  const std::vector<json> log = read_jsonl((dir / "log.jsonl").string());
  const std::vector<json> theta = read_jsonl((dir / "theta.jsonl").string());
  json arch, candidates;
  if (fs::exists(dir / "arch.json", ec)) arch = parse_json_text(read_text_file((dir / "arch.json").string()), "arch.json");
  if (fs::exists(dir / "candidates.json", ec))
    candidates = parse_json_text(read_text_file((dir / "candidates.json").string()), "candidates.json");
  // A target given as a fraction of the reachable range is resolved in candidates.json.
  const double target_ms = candidates.is_object() && candidates.value("latency_target_ms", json()).is_number()
                               ? candidates["latency_target_ms"].get<double>()
                               : config.value("latency_target_ms", 0.0);

  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\"><head><meta charset=\"utf-8\"/>"
       << "<title>dnas search report: " << escape(config.value("space", "?")) << " on "
       << escape(config.value("target", "?")) << "</title><style>"
       << "body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
       << "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:right}"
       << "th{background:#f3f3f3}td.op{text-align:left;font-family:monospace}.title{font-size:13px;font-weight:bold}"
       << ".tick{font-size:10px;fill:#555}.axis{stroke:#999}.charts svg,.heat svg{margin:6px 12px 6px 0}"
       << ".est{color:#b00;font-weight:bold}</style></head><body>";
  html << "<h1>dnas search: space " << escape(config.value("space", "?")) << ", target "
       << escape(config.value("target", "?")) << "</h1>";
  html << "<p>data <code>" << escape(config.value("data", "?")) << "</code>, " << config.value("epochs", 0)
       << " epochs, mode " << escape(config.value("mode", "?")) << ", batch " << config.value("batch_size", 0)
       << ", seed " << config.value("seed", 0) << ", " << log.size() << " epochs logged.</p>";
  const bool estimated = !log.empty() && log.back().value("latency_estimated", false);
  if (estimated)
    html << "<p class=\"est\">Latencies are roofline ESTIMATES: the target had no measured latency table.</p>";

  html << "<h2>Training curves</h2><div class=\"charts\">";
  html << line_chart("loss", {{"w", "#1f77b4", column(log, "w_loss")}, {"theta", "#d62728", column(log, "theta_loss", true)}});
  html << line_chart("accuracy", {{"w split", "#1f77b4", column(log, "w_accuracy")},
                                   {"theta split", "#d62728", column(log, "theta_accuracy")}});
  std::vector<Series> latency{{"E[LAT]", "#2ca02c", column(log, "expected_latency_ms")}};
  if (target_ms > 0) {
    latency.push_back({"argmax", "#1f77b4", column(log, "argmax_latency_ms")});
    latency.push_back({"target", "#d62728", std::vector<double>(log.size(), target_ms)});
  }
  html << line_chart(std::string("latency (ms)") + (estimated ? ", estimated" : ""), latency);
  html << line_chart("temperature and theta entropy", {{"tau", "#9467bd", column(log, "temperature")},
                                                        {"entropy", "#ff7f0e", column(log, "theta_entropy")}});
  html << "</div>";

  html << "<h2>Theta per layer over the epochs</h2><p>Each cell is softmax(theta) of a candidate (row) after an "
          "epoch (column); darker is more likely.</p><div class=\"heat\">";
  if (!theta.empty()) {
    const json& candidates = theta.back()["candidates"];
    for (size_t l = 0; l < candidates.size(); ++l) {
      std::vector<std::vector<double>> by_epoch;
      for (const json& t : theta) by_epoch.push_back(t["probabilities"][l].get<std::vector<double>>());
      html << heatmap(l, candidates[l].get<std::vector<std::string>>(), by_epoch);
    }
  }
  html << "</div>";

  html << "<h2>Derived architecture</h2>";
  if (arch.is_object() && arch.contains("origin")) {
    const json& origin = arch["origin"];
    const bool arch_estimated = origin.value("latency_estimated", false);
    const double predicted = origin.value("predicted_latency_ms", 0.0);
    const double accuracy =
        origin.value("accuracy_theta_split", origin.value("argmax_accuracy_theta_split", 0.0));  // 2nd: older runs
    html << "<p>" << escape(origin.value("selected", std::string("argmax of theta"))) << "; predicted latency <b>"
         << num(predicted, 4) << " ms</b>"
         << (arch_estimated ? " <span class=\"est\">(estimated)</span>" : " (from the measured table)")
         << "; accuracy of this architecture through the supernet on the theta split <b>" << num(100 * accuracy, 4)
         << "%</b>";
    if (origin.contains("sampled_accuracy_theta_split"))
      html << " (sampled archs in the last epoch: " << num(100 * origin["sampled_accuracy_theta_split"].get<double>(), 4)
           << "%)";
    if (origin.contains("latency_target_ms")) {
      const double target = origin["latency_target_ms"].get<double>();
      const double error = predicted / target - 1;
      html << ".</p><p><b>Latency target " << num(target, 4) << " ms: achieved " << num(predicted, 4) << " ms ("
           << (error >= 0 ? "+" : "") << num(100 * error, 3) << "%), "
           << (origin.value("latency_target_met", predicted <= target) ? "met" : "NOT met") << "</b>";
    }
    html << ".</p><table><tr><th>#</th><th>section</th><th>op</th><th>out</th><th>stride</th><th>latency (us)</th></tr>";
    const std::vector<double> layer_us = origin.value("layer_latency_us", std::vector<double>{});
    size_t row = 0;
    for (const char* section : {"stem", "layers", "head"}) {
      for (const json& layer : arch.value(section, json::array())) {
        html << "<tr><td>" << row << "</td><td>" << section << "</td><td class=\"op\">"
             << escape(layer.value("op", "?")) << "</td><td>"
             << escape(layer.contains("out") ? layer["out"].dump() : "") << "</td><td>" << layer.value("stride", 1)
             << "</td><td>" << (row < layer_us.size() ? num(layer_us[row], 5) : "") << (arch_estimated ? "*" : "")
             << "</td></tr>";
        ++row;
      }
    }
    html << "</table>";
    if (arch_estimated) html << "<p>* estimated</p>";
  } else {
    html << "<p>The search has not finished: no arch.json yet.</p>";
  }
  if (candidates.is_object() && candidates.contains("candidates")) {
    const bool trials = config.value("select", std::string()) == "trained";
    const int64_t finalists = trials ? config.value("trial_finalists", int64_t{0}) : 0;
    const int64_t trial_epochs = config.value("trial_epochs", int64_t{0});
    const json final_epochs_json = candidates.value("final_trial_epochs", json());  // null: no final round
    const int64_t final_epochs = final_epochs_json.is_number() ? final_epochs_json.get<int64_t>() : 0;
    const json final_seeds_json = candidates.value("final_trial_seeds", json());  // absent before e411375
    const int64_t final_seeds = final_seeds_json.is_number() ? final_seeds_json.get<int64_t>()
                                                              : config.value("trial_final_seeds", int64_t{1});
    html << "<h2>Candidates</h2><p>The argmax of theta and the archs drawn from softmax(theta), each scored through "
            "the supernet"
         << (config.value("recalibration_batches", 0) > 0 ? " after its BatchNorm statistics were re-estimated" : "")
         << "; the chosen one (by " << escape(config.value("select", std::string("accuracy")))
         << " within the target) is ringed" << (target_ms > 0 ? ", the target's tolerance band shaded" : "")
         << ". log p: the candidate's log-likelihood under softmax(theta)."
         << (trials ? " trained: its theta-split accuracy and cross-entropy after " + std::to_string(trial_epochs) +
                          " epoch(s) of training from scratch (--select trained; the trials are ranked by " +
                          escape(config.value("trial_metric", std::string("accuracy"))) + ")."
                    : "")
         << (finalists >= 2 ? " final: the best " + std::to_string(finalists) + " trained again for " +
                                  std::to_string(final_epochs) + " epochs" +
                                  (final_seeds > 1 ? ", once with each of " + std::to_string(final_seeds) + " seeds" +
                                                         ", scored by the mean"
                                                   : std::string()) +
                                  "; the best of them wins."
                            : "")
         << "</p>";
    html << "<div class=\"charts\">" << candidates_chart(candidates, target_ms, config.value("latency_tolerance", 0.05))
         << "</div><table><tr><th>candidate</th><th>latency (ms)</th><th>accuracy</th>"
         << (trials ? "<th>trained</th>" : "") << (finalists >= 2 ? "<th>final</th>" : "") << "<th>log p</th><th>within target</th><th>blocks</th></tr>";
    for (const json& c : candidates["candidates"]) {
      std::string blocks;
      for (const json& op : c.value("choices", json::array())) blocks += (blocks.empty() ? "" : " ") + op.get<std::string>();
      html << "<tr><td class=\"op\">" << (c.value("selected", false) ? "* " : "") << escape(c.value("name", ""))
           << "</td><td>" << num(c.value("predicted_latency_ms", 0.0), 4) << "</td><td>"
           << num(100 * c.value("accuracy_theta_split", 0.0), 4) << "%</td><td>"
           << (trials ? trial_cell(c, "trial_accuracy_theta_split", "trial_loss_theta_split") : std::string())
           << (finalists >= 2 ? trial_cell(c, "final_trial_accuracy_theta_split", "final_trial_loss_theta_split")
                              : std::string())
           << (c.contains("log_likelihood") ? num(c.value("log_likelihood", 0.0), 4) : std::string("-")) << "</td><td>"
           << (c.value("within_target", true) ? "yes" : "no") << "</td><td class=\"op\">" << escape(blocks)
           << "</td></tr>";
    }
    html << "</table>";
  }
  html << "</body></html>\n";
  const std::string path = (dir / "report.html").string();
  write_text_file_atomic(path, html.str());
  return path;
}

}  // namespace dnas
