#pragma once
// Built-in model zoo. Layer names are stable (torchvision names for ResNet and VGG, Keras names for
// MobileNet-v1, FINN/Brevitas names for cnv and tfc) because configs refer to them. Every model is
// built with 8-bit weights and activations; network.quant rules change that.
#include <optional>
#include <string>
#include <vector>

#include "mpsim/graph/Graph.hpp"

namespace mpsim::zoo {

/// Names of the built-in models, in a fixed order.
const std::vector<std::string>& modelNames();
bool isModel(const std::string& name);
/// Builds and finalizes the model. Throws std::invalid_argument for an unknown name.
graph::Graph build(const std::string& name);

} // namespace mpsim::zoo
