#pragma once
// Results out of a sweep database (docs/sweeps.md): export (CSV, JSON), the Pareto set of any
// objectives, and the regression comparison of two databases (`mpsim sweep compare`).
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/sweep/Store.hpp"

namespace mpsim::sweep {

/// One row per point (in point order): id, hash, status, sim_status, the fidelity of its result,
/// the swept values, every metric, the error. `fidelity` "" takes each point's simulation result
/// when it has one, else its map result. No timestamps or host names: the same database gives the
/// same bytes.
nlohmann::ordered_json exportRows(Store& st, const std::string& fidelity = "");
/// The rows as CSV (a header line; strings quoted when needed; empty for null).
void writeCsv(std::ostream& os, const nlohmann::ordered_json& rows);

/// The Pareto set of `objs` at `fidelity` ("" = the best the database has), stored in the pareto
/// table and returned as rows of exportRows with the objective values.
nlohmann::ordered_json pareto(Store& st, const std::vector<Objective>& objs, std::string fidelity = "");

struct Tolerance {
  double rel = 1e-9;
  double abs = 0;
};
/// "fps=rel:0.01,lut=abs:10" (several per argument, comma separated; also "fps=0.01" for rel).
/// Throws std::invalid_argument naming the valid forms and metrics.
void parseTolerances(const std::string& text, std::map<std::string, Tolerance>& out);

struct Comparison {
  size_t matched = 0;                   // points in both (by config hash)
  std::vector<std::string> differences; // one line each: a moved metric, a changed status, a missing point
};
/// Points are matched by their config hash (identity without the mpsim version); each pair is
/// compared at the best fidelity both have, every metric within its tolerance (default: `def`).
Comparison compare(Store& oldDb, Store& newDb, const std::map<std::string, Tolerance>& tols, Tolerance def = {});

} // namespace mpsim::sweep
