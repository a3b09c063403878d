// Import of latency tables other NAS projects published, so a search can use a peer's device data
// without profiling the device again. Two formats:
//   proxyless     ProxylessNAS / Once-for-All latency_tools YAML (mobile_trim.yaml and the like): a
//                 mapping from layer key to {mean: ms, std: ms, count: n} (std and count optional)
//                 or to a bare number of ms;
//   hw-nas-bench  one HW-NAS-Bench FBNet-space lookup table (one metric of one device, e.g.
//                 raspi4_latency) as a flat JSON object {"<key>": ms, ...}, or as CSV: the header
//                 line `key,ms`, then one `<key>,<ms>` line per key, no quoting. A file whose first
//                 non-blank character is '{' is read as JSON, anything else as CSV.
//
// Each peer key becomes the canonical key (lut_key.h) of the dnas block that computes exactly what
// the peer's block computes, step for step; both sides are checked against dnas's own plan of the
// block (ops/block_plan.h): its output shape and whether it adds the residual. A key with no such
// block is listed as unmappable with the reason, never approximated.
//
// ProxylessNAS (MBInvertedConvLayer: conv-BN-ReLU6, no 1x1 expansion conv when expand is 1, the
// residual only when idskip is 1; shapes are height x width x channels):
//   expanded_conv-input:HxWxC-output:H'xW'xC'-expand:E-kernel:K-stride:S-idskip:I
//     -> ir_kK_eE{act=relu6}|in=1xCxHxW|out=C'|s=S            E 3 or 6, K 3 or 5
//     -> ir_kK_e1{act=relu6,pw=0}|in=1xCxHxW|out=C'|s=S       E 1
//   unmappable: K 7 or another E (dnas has ir_k{3,5}_e{1,3,6}); idskip:0 at stride 1 with C = C'
//   (dnas's ir adds the residual there) and idskip:1 elsewhere; an output H'xW'xC' the block does
//   not compute; extra fields such as OFA MobileNetV3's -se:-hs:; Conv and Conv_1 (plain convs
//   whose keys do not give the kernel); Logits (pooling and classifier timed together).
// HW-NAS-Bench (hw_nas_bench_api/fbnet_models: conv-BN-ReLU, the 1x1 expansion conv kept at e=1,
// a channel shuffle after it when grouped, the residual at stride 1 with Cin = Cout; H and W are
// the block's input size):
//   ConvBlock_H{H}_W{W}_Cin{C}_Cout{C'}_exp{E}_kernel{K}_stride{S}_group1 -> ir_kK_eE|in=1xCxHxW|out=C'|s=S
//   ConvBlock_H{H}_W{W}_Cin{C}_Cout{C'}_exp1_kernel{K}_stride{S}_group2   -> ir_kK_e1_g2|in=1xCxHxW|out=C'|s=S
//   Skip_H{H}_W{W}_Cin{C}_Cout{C'}_stride{S}  -> skip|in=1xCxHxW|out=C'|s=S  (the identity, or a 1x1
//                                                conv-BN-ReLU at a stride or width change, as dnas's skip)
//   AvgP_H{H}_W{H}_Cin{C}_Cout{C}_kernel{H}_stride1 -> avgpool|in=1xCxHxH|out=C|s=1  (global pooling)
//   FC_Cin{C}_Cout{C'}                        -> fc|in=1xCx1x1|out=C'|s=1
//   unmappable: K other than 3 and 5, E other than 1, 3 and 6; group 2 at E 3 or 6, other groups;
//   AvgP that is not a global pool; ConvNorm_* (the stem and head convs: the API builds the layer
//   behind those keys as a ConvBlock (its AUX_OPS), its networks as conv-BN-ReLU, so which one was
//   timed is unknown).
//
// Values: milliseconds become microseconds (x 1000). A peer publishes one mean per key, so
// median = p10 = p90 = mean; std is the peer's std (0 when it gives none); repeats is the peer's
// count, or 1 (one published value) when it gives none. Batch, dtype and memory format come from
// the caller's LutSettings (batch 1, fp32, nchw by default) and label what the peer measured: both
// publish batch-1 fp32 timings (ProxylessNAS's mobile table comes from TF-Lite, which is NHWC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "latency_lut/lut_io.h"
#include "latency_lut/lut_key.h"
#include "latency_lut/lut_store.h"

namespace dnas {

enum class PeerFormat { kProxyless, kHwNasBench };

// "proxyless" or "hw-nas-bench"; anything else throws dnas::Error naming `where` and both names.
PeerFormat parse_peer_format(const std::string& name, const std::string& where);
const char* peer_format_name(PeerFormat format);

struct PeerRow {
  std::string peer_key;
  LutKey key;
  double mean_us = 0;
  double std_us = 0;
  int64_t repeats = 1;
};

struct UnmappableKey {
  std::string peer_key;
  std::string reason;
};

// Rows in file order for CSV, by peer key for JSON and YAML (whose mappings keep no order).
struct PeerTable {
  std::vector<PeerRow> rows;
  std::vector<UnmappableKey> unmappable;
};

// Parses and maps; writes nothing. Malformed text (syntax, a document of the wrong shape, a value
// that is not a positive finite latency of at most an hour, a key given twice) throws dnas::Error
// "<origin>[:<line>]: ..." naming the key; keys dnas has no block for are listed, not thrown.
PeerTable read_peer_table(const std::string& text, PeerFormat format, const std::string& origin,
                          const LutSettings& settings = {});

// The peer's spelling of a canonical key (for round trips and dry runs), or nullopt when the format
// has no key for that block. Batch, dtype and memory format are not part of a peer's spelling.
std::optional<std::string> peer_key_for(const LutKey& key, PeerFormat format);

// All-or-nothing: when any key is unmappable, throws dnas::Error listing them (the first 20 and how
// many more) and writes nothing. Otherwise, in one transaction, makes sure `target` exists, adds one
// run (source "import:proxyless" or "import:hw-nas-bench", host = `origin`, started and finished
// now, device unknown) and one measurement per row, replacing rows with the same target and key.
ImportSummary import_peer_table(LutStore& store, const PeerTable& table, PeerFormat format,
                                const std::string& target, const std::string& origin);

}  // namespace dnas
