#pragma once
// The network YAML format (docs/network-format.md) and the quantisation-rule syntax shared with
// run configs (network.quant).
#include <memory>
#include <optional>
#include <string>

#include "mpsim/graph/Graph.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/io/OnnxImport.hpp"
#include "mpsim/io/YamlReader.hpp"

namespace mpsim::io {

/// Reads `channels`: a list of widths (one per output channel) or a mapping width -> fraction.
std::optional<graph::ChannelSpec> readChannelSpec(Reader& r, const std::string& key);

/// Reads the quantisation keys (weights, activations, activations_signed, weight_type, channels,
/// acc_bits) of one mapping; the caller calls finish() after reading its own keys.
graph::QuantOverride readQuantOverride(Reader& r);

/// Reads network.quant (defaults, input_bits, first_layer, last_layer, layers.<name>).
graph::QuantRules readQuantRules(Reader r);
/// The rules as network.quant YAML that readQuantRules reads back to the same rules.
YAML::Node quantRulesYaml(const graph::QuantRules& rules);

/// Loads and finalizes a network YAML file. Throws LoadError with every problem found.
graph::Graph loadNetworkYaml(const std::string& path);
graph::Graph loadNetworkYamlString(const std::string& text, const std::string& name);

/// A model with what its file said about the mapping (FINN-ONNX hardware nodes carry PE/SIMD).
struct ModelLoad {
  graph::Graph graph;
  std::vector<OnnxMappingHint> mapping;
  std::vector<std::string> notes;
};
/// The paths a network.model file is looked for at, in order (a relative path next to the config
/// file first, then in the current directory); the first that exists is the one loaded.
std::vector<std::string> modelCandidates(const std::string& model, const std::string& baseDir);
/// Resolves network.model: a zoo name, or a .yaml/.yml network file or an .onnx model (relative
/// paths next to the config file first, then the current directory). `where` (file:line of the
/// key) prefixes errors about the model itself. Throws LoadError naming the valid choices.
ModelLoad loadModelFull(const std::string& model, const std::string& baseDir = "", const std::string& where = "");
/// Resolves network.model: a zoo name, or a path to a .yaml network file (a relative path is looked
/// up in baseDir first, then in the current directory). Throws LoadError naming the valid choices;
/// `where` ("run.yaml:2:3: network.model") prefixes the errors about the model name or path
/// (problems inside a network file are located in that file).
graph::Graph loadModel(const std::string& model, const std::string& baseDir = "", const std::string& where = "");

} // namespace mpsim::io
