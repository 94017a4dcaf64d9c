#pragma once
// Importer for quantised ONNX networks: QONNX (Quant / BipolarQuant / Trunc on standard ONNX ops)
// and FINN-ONNX (MultiThreshold and the fpgadataflow hardware nodes MVAU, VVAU, SWU, ...).
// See docs/onnx-import.md for the supported operators and how they map onto the graph IR.
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "mpsim/graph/Graph.hpp"

namespace mpsim::io {

/// Parallelism found on a FINN hardware node (MVAU, VVAU, AddStreams, ...), keyed by graph layer.
struct OnnxMappingHint {
  std::string layer;
  std::optional<int> pe, simd;
  std::optional<std::string> ram_style;
};

struct OnnxImport {
  graph::Graph graph;                   // finalized
  std::vector<OnnxMappingHint> mapping; // FINN folding attributes (empty for QONNX graphs)
  std::vector<std::string> notes;       // assumptions and folded operators, one sentence each
};

/// Reads an .onnx file. Throws mpsim::LoadError ("file: node 'n' (Op): message") for unsupported
/// operators, dynamic shapes, missing initialisers and malformed files.
OnnxImport importOnnx(const std::string& path);
/// Same, from the bytes of a model (`name` is used in messages).
OnnxImport importOnnxBytes(const std::string& bytes, const std::string& name);

/// Parameter files of one layer, relative to the network YAML.
struct LayerParamFiles {
  std::string weights, thresholds;
};

/// Writes every layer's in-memory weights and thresholds (graph::Layer::weight_values,
/// threshold_values) as .npy files into `<stem>.params/` next to `yamlPath`; returns the relative
/// paths per layer for writeNetworkYaml. Throws LoadError when the files cannot be written.
std::map<std::string, LayerParamFiles> writeLayerParams(const graph::Graph& g, const std::string& yamlPath);

/// Writes `g` in the network YAML format (docs/network-format.md); io::loadNetworkYaml reads it
/// back to the same graph (shapes, MACs, per-layer and per-channel widths, and the parameters when
/// `params` names their files).
void writeNetworkYaml(const graph::Graph& g, std::ostream& os,
                      const std::map<std::string, LayerParamFiles>& params = {});

} // namespace mpsim::io
