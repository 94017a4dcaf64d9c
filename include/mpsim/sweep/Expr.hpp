#pragma once
// Constraint expressions and metrics of a sweep (docs/sweeps.md). An expression is evaluated over
// one point's document: its effective config (network, hardware, mapping, simulation) and its map
// or simulation result (summary, resources, params, layers, fifos, dram), e.g.
// `resources.fits and resources.utilization.dsp <= 0.6 or hardware.clock_mhz < 150`.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mpsim::sweep {

/// The value found at a dotted path of a JSON document; components are matched greedily so layer
/// names with dots work (`mapping.layers.layer1.0.conv1.pe`). nullptr when there is none.
const nlohmann::json* findPath(const nlohmann::json& doc, const std::string& path);
const nlohmann::ordered_json* findPath(const nlohmann::ordered_json& doc, const std::string& path);

/// A dotted path made ready for findPath once (for paths looked up in many documents): the keys
/// its components joined from each one on can name.
class PathKeys {
public:
  explicit PathKeys(const std::string& path);
  size_t size() const { return m_runs.size(); }
  /// Components i..i, i..i+1, ... joined by dots.
  const std::vector<std::string>& runs(size_t i) const { return m_runs[i]; }

private:
  std::vector<std::vector<std::string>> m_runs;
};
const nlohmann::json* findPath(const nlohmann::json& doc, const PathKeys& path);
const nlohmann::ordered_json* findPath(const nlohmann::ordered_json& doc, const PathKeys& path);

/// A parsed expression: literals (numbers, 'strings', true, false), paths, arithmetic (+ - * /),
/// comparisons (< <= > >= == !=), and / or / not (also && || !), parentheses.
class Expr {
public:
  /// Parses `text`; throws std::invalid_argument with what is wrong and where (column).
  static Expr parse(const std::string& text);
  /// Evaluates to true or false; throws std::runtime_error when a path has no value or the types
  /// do not fit (a comparison of a string with a number).
  bool test(const nlohmann::json& doc) const;
  /// Every path the expression reads.
  std::vector<std::string> paths() const;
  const std::string& text() const { return m_text; }

  struct Node;

private:
  std::string m_text;
  std::shared_ptr<const Node> m_root;
};

/// A metric of a sweep result: a column of the results table, the path of the report it comes from
/// and its unit (docs/sweeps.md, "Results database"). One table: the database, export, pareto and
/// compare all use it.
struct Metric {
  const char* column; // results table column
  const char* path;   // path in report.json / map.json
  const char* type;   // SQLite type: REAL, INTEGER, TEXT
  const char* unit;
};
const std::vector<Metric>& metrics();
/// The metric named by a column name ("fps", "lut") or a report path ("summary.fps",
/// "resources.total.lut"); nullptr when none.
const Metric* findMetric(const std::string& name);

/// An objective: max:metric or min:metric.
struct Objective {
  bool maximize = true;
  std::string metric; // a Metric column
  std::string text;   // as written
};
/// Parses "max:summary.fps" / "min:lut"; throws std::invalid_argument naming the valid forms.
Objective parseObjective(const std::string& text);

/// Indices of the non-dominated rows: values[i][k] is row i's value of objective k (rows with a
/// missing value are skipped by the caller). Deterministic: ties keep every tied row.
std::vector<size_t> paretoFront(const std::vector<std::vector<double>>& values, const std::vector<Objective>& objs);

/// The same front over rows given one at a time: holds the front, not the rows (a sweep's memory
/// does not grow with its points). A row is dominated when another is at least as good in every
/// objective and better in one; the non-dominated set does not depend on the order of the rows.
class ParetoSet {
public:
  explicit ParetoSet(std::vector<Objective> objs) : m_objs(std::move(objs)) {}
  void add(int64_t row, const std::vector<double>& values);
  /// The rows of the front, in increasing order.
  std::vector<int64_t> rows() const;

private:
  bool dominates(const std::vector<double>& a, const std::vector<double>& b) const;
  std::vector<Objective> m_objs;
  std::vector<std::pair<int64_t, std::vector<double>>> m_front;
};

/// The best k rows by one objective, given one at a time in order (ties: the earlier row first, as
/// a stable sort of all of them would rank them).
class TopK {
public:
  TopK(Objective obj, size_t k) : m_obj(std::move(obj)), m_k(k) {}
  void add(int64_t row, double value);
  std::vector<int64_t> rows() const;

private:
  Objective m_obj;
  size_t m_k;
  std::vector<std::pair<int64_t, double>> m_best; // best first
};

} // namespace mpsim::sweep
