// `dnas report`: one self-contained HTML file (inline SVG, no scripts, no network) for a search
// run directory: loss / accuracy / expected latency / temperature curves per epoch, the theta
// distribution of every layer over the epochs as heatmaps, and the derived architecture with each
// layer's table latency (labelled when estimated). The markup is well-formed XML (XHTML syntax).
#pragma once

#include <string>

namespace dnas {

// Reads <run_dir>/{config.json, log.jsonl, theta.jsonl, arch.json (optional)} and writes
// <run_dir>/report.html atomically; returns its path. Throws dnas::Error naming a missing or
// malformed file.
std::string write_report(const std::string& run_dir);

}  // namespace dnas
