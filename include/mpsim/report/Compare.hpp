#pragma once
// Comparison of two reports (JSON) for golden regression: numbers within tolerances, everything
// else exactly; the first difference is reported with its path (e.g. layers[3].busy).
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace mpsim::report {

struct Tolerance {
  double rel = 1e-9; // |a - b| <= rel * max(|a|, |b|) ...
  double abs = 0;    // ... or <= abs
};

struct CompareOptions {
  Tolerance defaults;
  /// Per-metric tolerances by path prefix; the longest matching prefix wins. Array indices are
  /// ignored when matching, so "layers.busy" applies to every layers[i].busy.
  std::map<std::string, Tolerance> metrics;
};

struct Difference {
  std::string path;
  std::string expected, actual;
  std::string what; // "value", "missing key", "extra key", "type", "length"
};

/// Reads a JSON file for comparison: a regular file of at most kMaxJsonBytes, nested at most
/// kMaxJsonDepth deep, holding an mpsim document (an object whose "schema" is mpsim.report/N,
/// mpsim.map/N or mpsim.info/N). Throws LoadError naming the file and what is wrong.
nlohmann::json loadComparable(const std::string& path);

/// Both documents must carry the same schema; throws LoadError otherwise.
void checkSameSchema(const nlohmann::json& expected, const std::string& expectedPath, const nlohmann::json& actual,
                     const std::string& actualPath);

/// The first difference between expected and actual, or nullopt when they agree.
std::optional<Difference> compareJson(const nlohmann::json& expected, const nlohmann::json& actual,
                                      const CompareOptions& opt);

/// The first differing element of two .npy tensors: exact for integer types, within the default
/// tolerance when either is floating point. A shape mismatch is a difference ("shape"); `path` is
/// the element's index, e.g. "[0, 3, 1, 1]".
std::optional<Difference> compareNpy(const std::string& expectedPath, const std::string& actualPath,
                                     const Tolerance& tol);

} // namespace mpsim::report
