#include "mpsim/graph/QuantRules.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mpsim/common/Error.hpp"

namespace mpsim::graph {

std::vector<int> ChannelSpec::expand(int64_t channels) const {
  if (!list.empty()) {
    if (int64_t(list.size()) != channels)
      throw std::invalid_argument("the channels list has " + std::to_string(list.size()) +
                                  " entries but the layer has " + std::to_string(channels) + " output channels");
    return list;
  }
  std::vector<int> out;
  out.reserve(size_t(channels));
  int64_t assigned = 0;
  for (size_t i = 0; i < fractions.size(); ++i) {
    int64_t n = (i + 1 == fractions.size()) ? channels - assigned
                                            : int64_t(std::llround(fractions[i].second * double(channels)));
    n = std::min(n, channels - assigned);
    for (int64_t c = 0; c < n; ++c) out.push_back(fractions[i].first);
    assigned += n;
  }
  return out;
}

bool QuantRules::empty() const {
  return !defaults.weights && !defaults.activations && !defaults.activations_signed && !defaults.weight_type &&
         !defaults.requant && !input_bits && !input_signed && !first_layer && !last_layer && layers.empty();
}

bool requantises(LayerKind k) {
  switch (k) {
  case LayerKind::Conv:
  case LayerKind::FullyConnected:
  case LayerKind::Add:
  case LayerKind::AvgPool:
  case LayerKind::GlobalAvgPool:
  case LayerKind::Quantizer: return true;
  default: return false;
  }
}

namespace {
/// `explicitRule`: a layers.<name> rule (a default or first/last rule does not name the layer).
void applyOverride(Layer& l, const QuantOverride& o, std::vector<std::string>& errors, bool explicitRule = false) {
  if (l.isWeighted()) {
    if (o.weights) {
      l.weight_bits = *o.weights;
      l.channel_bits.clear();
      if (!o.weight_type) l.weight_type = (*o.weights == 1) ? WeightType::Bipolar : WeightType::Signed;
    }
    if (o.weight_type) l.weight_type = *o.weight_type;
    if (o.channels) {
      try {
        l.channel_bits = o.channels->expand(l.out_channels);
        int mx = 0;
        for (int b : l.channel_bits) mx = std::max(mx, b);
        l.weight_bits = mx;
        // Per-channel widths wider than 1 bit cannot be bipolar: a bipolar type set earlier (e.g.
        // by 1-bit defaults) becomes signed unless this rule asks for bipolar itself.
        if (!o.weight_type && l.weight_type == WeightType::Bipolar && mx > 1) l.weight_type = WeightType::Signed;
      } catch (const std::invalid_argument& e) {
        errors.push_back(o.where + ": layer '" + l.name + "': " + e.what());
      }
    }
    if (o.acc_bits) l.acc_bits_given = *o.acc_bits;
    if (o.requant) {
      // auto leaves a layer without a requantiser (its accumulator is its output) as it is.
      l.requant_auto = *o.requant == "auto" && l.requant != Requant::None;
      if (*o.requant != "auto") l.requant = *parseRequant(*o.requant);
    }
  } else if (o.channels || o.acc_bits || (o.requant && explicitRule)) {
    errors.push_back(o.where + ": layer '" + l.name + "' (" + toString(l.kind) +
                     ") has no weights; 'channels', 'acc_bits' and 'requant' apply to conv and fc layers only");
  }
  if (requantises(l.kind)) {
    if (o.activations) l.out.bits = *o.activations;
    if (o.activations_signed) l.out.is_signed = *o.activations_signed;
    if (o.activations_bipolar)
      l.out.bipolar = *o.activations_bipolar;
    else if (o.activations || o.activations_signed)
      l.out.bipolar = false;
  }
}
} // namespace

void applyQuantRules(Graph& g, const QuantRules& rules) {
  if (!g.finalized()) g.finalize();
  std::vector<std::string> errors;
  auto weighted = g.weightedLayers();
  std::string first = weighted.empty() ? "" : weighted.front()->name;
  std::string last = weighted.empty() ? "" : weighted.back()->name;
  for (const auto& [name, o] : rules.layers)
    if (!g.find(name))
      errors.push_back(o.where + ": network.quant.layers." + name + ": no layer named '" + name + "' in " + g.name() +
                       " (run `mpsim info " + g.name() + "` to list the layer names)");
  if (!errors.empty()) throw LoadError(errors);

  for (auto& l : g.layers()) {
    if (l.kind == LayerKind::Input) {
      if (rules.input_bits) l.out.bits = *rules.input_bits;
      if (rules.input_signed) l.out.is_signed = *rules.input_signed;
      continue;
    }
    applyOverride(l, rules.defaults, errors);
    if (rules.first_layer && l.name == first) applyOverride(l, *rules.first_layer, errors);
    if (rules.last_layer && l.name == last) applyOverride(l, *rules.last_layer, errors);
    auto it = rules.layers.find(l.name);
    if (it != rules.layers.end()) applyOverride(l, it->second, errors, true);
  }
  if (!errors.empty()) throw LoadError(errors);
  // `auto` has no choice where the output is bipolar (one threshold per channel) or where the
  // thresholds come with the model (its parameters would no longer apply).
  for (auto& l : g.layers())
    if (l.requant_auto && (l.out.bipolar || l.threshold_values || !l.thresholds_file.empty())) {
      l.requant_auto = false;
      l.requant = Requant::Thresholds;
    }
  g.finalize();
}

} // namespace mpsim::graph
