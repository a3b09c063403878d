// Targets (configs/targets/*.yaml, "format": "dnas-target/1"): the device a latency table is for,
// the facts the analytic fallback needs, and where its measured table lives by default.
//
//   format: dnas-target/1
//   name: tx1
//   device: NVIDIA Jetson TX1 (Maxwell GM20B, 256 CUDA cores @ ~1.0 GHz; 4x Cortex-A57)
//   profile_device: cuda          # what `profile-latency` times on: cpu | cuda
//   peak_gflops: {fp32: 500, fp16: 1000}
//   memory_bandwidth_gbs: 25.6
//   compute_efficiency: 0.35      # fraction of peak real kernels reach (an assumption)
//   memory_efficiency: 0.6
//   per_op_overhead_us: 30        # launch / dispatch cost per block
//   lut: luts/tx1.db              # default --db
//   lut_batch: 1                  # optional: the table rows `dnas search` uses (lut_key.h), unless
//   lut_dtype: fp32               #   --lut-batch / --lut-dtype / --lut-layout say otherwise;
//   lut_layout: nchw              #   1, fp32 and nchw when absent
#pragma once

#include <map>
#include <string>

#include "latency_lut/lut_key.h"

namespace dnas {

inline constexpr const char* kTargetFormat = "dnas-target/1";

struct TargetSpec {
  std::string name;
  std::string device;
  std::string profile_device = "cpu";
  std::map<std::string, double> peak_gflops;  // by dtype
  double memory_bandwidth_gbs = 0;
  double compute_efficiency = 0.5;
  double memory_efficiency = 0.6;
  double per_op_overhead_us = 0;
  std::string lut;
  LutSettings lut_settings;  // lut_batch, lut_dtype, lut_layout
  std::string notes;
  std::string origin;

  // Peak for `dtype`, falling back to fp32 (then throwing, naming the target) when not given.
  double peak_gflops_for(const std::string& dtype) const;
};

TargetSpec parse_target_text(const std::string& text, const std::string& origin);
// By name (configs/targets, $DNAS_CONFIG_DIR/targets) or path.
TargetSpec load_target(const std::string& name_or_path);

}  // namespace dnas
