#pragma once
// Quantisation rules applied on top of a graph (network.quant in a run config): default bit-widths,
// first/last layer overrides, per-layer overrides and per-output-channel weight widths.
// Precedence: defaults < first_layer / last_layer < layers.<name>.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mpsim/graph/Graph.hpp"

namespace mpsim::graph {

/// Per-channel weight widths: an explicit list (one entry per output channel) or a pattern of
/// fractions (channels are assigned in order: the first fraction of channels gets the first width).
struct ChannelSpec {
  std::vector<int> list;
  std::vector<std::pair<int, double>> fractions; // (bits, fraction); fractions sum to 1
  /// Expands to one width per channel. Throws std::invalid_argument when the list length is wrong.
  std::vector<int> expand(int64_t channels) const;
};

struct QuantOverride {
  std::optional<int> weights;
  std::optional<int> activations;
  std::optional<bool> activations_signed;
  std::optional<bool> activations_bipolar; // from `activation_type` (bipolar implies 1 bit, signed)
  std::optional<WeightType> weight_type;
  std::optional<ChannelSpec> channels;
  std::optional<int> acc_bits;
  std::optional<std::string> requant; // conv / fc: none, thresholds, scale_shift, auto (kRequantRuleValues)
  std::string where; // "file:line" of the rule, for errors
};

struct QuantRules {
  QuantOverride defaults; // weights, activations, activations_signed, weight_type
  std::optional<int> input_bits;
  std::optional<bool> input_signed;
  std::optional<QuantOverride> first_layer;
  std::optional<QuantOverride> last_layer;
  std::map<std::string, QuantOverride> layers;
  bool empty() const;
};

/// Applies the rules and re-finalizes the graph. Throws LoadError (unknown layer names, bad
/// channel lists, widths outside 1..32).
void applyQuantRules(Graph& g, const QuantRules& rules);

/// Values of a `requant` rule: a graph::Requant, or `auto` (the scheduler chooses per layer).
inline const std::vector<std::string>& requantRuleValues() {
  static const std::vector<std::string> v = {"none", "thresholds", "scale_shift", "auto"};
  return v;
}

/// True for layers whose output is requantised (and so take the `activations` width).
bool requantises(LayerKind k);

} // namespace mpsim::graph
