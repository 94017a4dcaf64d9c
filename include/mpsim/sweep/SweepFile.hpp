#pragma once
// The sweep file (docs/sweeps.md): a base run config (a path relative to the sweep file, or inline)
// and a list of entries, each a `grid` (Cartesian product), a `zip` (lists advanced together) or a
// `sample` (n seeded random points from typed ranges) over key paths of the run config; plus
// `constraints` (expressions over config values and map results) and `objectives`. Loading is
// strict: unknown keys, empty axes and mistyped values are errors naming file:line:col and the key
// path, collected before one LoadError.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/sweep/Expr.hpp"

namespace mpsim::sweep {

/// Upper bound of the points one sweep file expands to.
inline constexpr int64_t kMaxPoints = 1000000;

/// One swept key of one point: `--set key=value`.
struct Assignment {
  std::string key;     // the key path as written (may quote dotted names)
  std::string column;  // the key path normalised ("mapping.layers.layer1.0.conv1.pe"): column name
  std::string value;   // the value as YAML (flow style)
  nlohmann::json json; // the value as JSON (numbers, strings, booleans; lists and mappings as JSON)
  std::string where;   // file:line:col of the value (grid, zip) or of the key (sample, set)
  std::string label;   // the key path in the sweep file ("sweep[0].grid.hardware.clock_mhz")
};

struct Point {
  size_t entry = 0; // index in `sweep:`
  std::vector<Assignment> set;
  /// The `--set` strings of this point.
  std::vector<std::string> overrides() const;
  /// {column: value} of the swept keys.
  nlohmann::ordered_json values() const;
};

/// The points of a sweep in expansion order, each made when asked for: the list holds the axes of
/// its entries, not its points (a sweep of 10^6 points needs no more memory than one of ten).
class PointList {
public:
  size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  /// Point i (0 <= i < size()).
  Point operator[](size_t i) const;

  /// One entry of `sweep:`: `count` points; row(j) is the swept assignments of its point j (after
  /// the entry's fixed ones).
  struct Entry {
    size_t index = 0; // in `sweep:`
    size_t count = 0;
    std::vector<Assignment> fixed;
    std::function<std::vector<Assignment>(size_t)> row;
  };
  void add(Entry e);
  void clear() {
    m_entries.clear();
    m_size = 0;
  }

private:
  std::vector<Entry> m_entries;
  std::vector<size_t> m_begin; // index of each entry's first point
  size_t m_size = 0;
};

struct Constraint {
  Expr expr;
  std::string where;
};

struct Sweep {
  std::string file;                 // the sweep file as given ("<text>" for loadSweepText)
  std::string dir;                  // its folder: relative paths resolve from here
  std::string name;                 // `name:` or the file's stem; the default database is <dir>/<name>.db
  std::string basePath;             // the base run config (resolved), or empty when inline
  std::string baseText;             // the inline base run config as YAML: the sweep file's text with every line
                                    // outside the `base:` block blanked, so messages give the sweep file's lines
  std::string baseName;             // the name the base is loaded under (basePath, or the sweep file)
  std::vector<std::string> columns; // the swept keys (normalised), in order of first appearance
  PointList points;                 // in expansion order (entries in order; grids row-major)
  std::vector<Constraint> constraints;
  std::vector<Objective> objectives;
  std::string text; // the sweep file's text (stored in the database)
};

/// Loads and expands a sweep file. Throws LoadError listing every problem.
Sweep loadSweep(const std::string& path);
Sweep loadSweepText(const std::string& text, const std::string& name, const std::string& dir);

/// Loads the run config of one point: the base with the point's overrides. Throws LoadError.
config::Run loadPoint(const Sweep& s, const std::vector<std::string>& overrides);
/// The base run config's folder: relative model paths of the base resolve from here.
std::string baseDir(const Sweep& s);

/// A YAML value as JSON, scalars typed as the config loader reads them (integers, numbers,
/// booleans, strings).
nlohmann::json yamlToJson(const YAML::Node& n);

/// A point's load error as errors of the sweep file: the messages about values the point sets (the
/// loader locates them "(from --set)"; they are located at the value in the sweep file) and about
/// the base config; none when the problem is elsewhere (e.g. inside a model file: then the point
/// fails alone).
std::vector<std::string> sweepErrors(const Sweep& s, const Point& p, const LoadError& e);

} // namespace mpsim::sweep
