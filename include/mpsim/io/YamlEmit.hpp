#pragma once
// Writing a YAML tree as text, fast: the sweep's point identity hashes every point's effective
// config as text (sweep/Runner.cpp), where yaml-cpp's emitter, which tests every scalar with its
// regular expressions, was a tenth of a mapped point's time.
#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

namespace mpsim::io {

/// The text `YAML::Emitter << node` writes, byte for byte (test/unit/io/TestYamlEmit.cpp compares
/// the two on the effective configs of the examples and on random trees). Written directly for
/// the shapes mpsim's own trees have: block and flow mappings and sequences of scalars made of
/// letters, digits and `_ . / + -` (numbers, names, key paths, file paths), empty strings and
/// nulls; anything else (quoting, tags, long keys, nested block sequences) goes through yaml-cpp's
/// emitter. `node` must be a tree: a node that appears twice would be an alias for yaml-cpp.
std::string emitYaml(const YAML::Node& node);

/// emitYaml's own writer: the text, or nullopt where the tree has something it leaves to yaml-cpp.
std::optional<std::string> emitYamlDirect(const YAML::Node& node);

} // namespace mpsim::io
