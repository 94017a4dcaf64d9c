#pragma once
// JSON files read by mpsim (compare inputs, FINN folding configs): size-limited before reading and
// depth-limited while parsing, so a huge or deeply nested file is a LoadError, not a crash.
#include <string>

#include <nlohmann/json.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"

namespace mpsim::io {

/// Parses a JSON file of at most maxBytes nested at most kMaxJsonDepth deep; `what` names it in
/// messages. Json is nlohmann::json or nlohmann::ordered_json.
template <class Json> Json readJsonFile(const std::string& path, uint64_t maxBytes, const std::string& what) {
  const std::string text = readFileLimited(path, maxBytes, what);
  try {
    // The callback sees every value with its depth before it is built into the tree.
    return Json::parse(text, [&](int depth, typename Json::parse_event_t, Json&) {
      if (depth > kMaxJsonDepth)
        throw LoadError(path + ": " + what + " nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw LoadError(path + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

} // namespace mpsim::io
