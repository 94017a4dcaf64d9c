#pragma once
// FINN folding configs (folding_config.json of a FINN build) applied to a graph's MAC layers.
// FINN names its nodes by type and index (MVAU_hls_0, VVAU_rtl_3, StreamingFCLayer_Batch_1, ...):
// the n-th matrix-vector node folds the n-th non-depthwise MAC layer in topological order, the n-th
// vector-vector node the n-th depthwise layer, the n-th Thresholding node the n-th quantizer layer
// and the n-th LabelSelect node the n-th labelselect layer (when the graph has them: networks whose
// thresholds are fused into the MAC layers have no quantizer layers). PE -> pe, SIMD -> simd,
// resType -> pe_kind, ram_style (block, distributed, ultra, auto) -> ram_style. Other nodes
// (sliding-window generators, FIFOs, pooling) have no counterpart in mpsim's mapping and are
// skipped; their count is reported.
#include <map>
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/Graph.hpp"

namespace mpsim::config {

struct FinnFoldingResult {
  std::map<std::string, LayerMapping> layers; // by mpsim layer name
  int skipped = 0;                            // entries without a counterpart
  std::vector<std::string> notes;
};

/// Reads the JSON file and maps its entries onto g. Throws LoadError when the file cannot be read,
/// is not a JSON object, has malformed entries, or has more MAC nodes than the graph has layers.
FinnFoldingResult readFinnFolding(const std::string& path, const graph::Graph& g);

} // namespace mpsim::config
