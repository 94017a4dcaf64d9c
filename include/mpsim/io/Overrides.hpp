#pragma once
// Command-line overrides: --set a.b.c=value. The value is parsed as YAML (so 4, true, [1,2] and
// {pe: 4} work). Keys containing dots are written in brackets or quotes: mapping.layers[layer1.0.conv1].pe=4.
// Below a `layers` key, everything up to the last component is taken as the layer name, so
// mapping.layers.layer1.0.conv1.pe=4 also works.
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace mpsim::io {

/// Splits "a.b[c.d].e" into {"a", "b", "c.d", "e"}; throws LoadError on malformed input.
std::vector<std::string> splitKeyPath(const std::string& path);

/// Applies one "key.path=value" override to root. Throws LoadError naming the override when malformed.
void applyOverride(YAML::Node root, const std::string& assignment);
void applyOverrides(YAML::Node root, const std::vector<std::string>& assignments);

} // namespace mpsim::io
