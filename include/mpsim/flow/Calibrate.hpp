#pragma once
// `mpsim calibrate` as a library call (docs/cost-model.md, "Calibration"): the measured resources of
// a built design (io/UtilizationReport) matched to the engines of its mapped design by FINN's node
// names, the cost model's linear coefficients fitted per engine family (hw/RobustFit), leave-one-out
// errors and bands, and the calibrated cost-model YAML that hardware.cost_model includes.
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/flow/Flow.hpp"
#include "mpsim/hw/CostBands.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/io/UtilizationReport.hpp"

namespace mpsim::flow {

/// A report instance matched to an engine of the design.
struct CalibrationNode {
  std::string report, instance, node, family, engine;
  hw::Resources measured;
  hw::Resources estimate;                    // with the design's cost model (before the fit)
  std::optional<double> fit_lut, fit_ff;     // with the calibrated coefficients
  std::optional<double> loo_lut, loo_ff;     // fitted without this node
};

/// A report instance named like a FINN node that has no engine to match, and why.
struct UnmatchedInstance {
  std::string report, instance, node, reason;
};

/// The fit of one engine family and resource.
struct FamilyFit {
  std::string family, resource;
  std::string model; // "scale" (one factor on the family's coefficients), "full" (each coefficient), "none"
  int nodes = 0;     // nodes with a measured count > 0
  std::vector<std::pair<std::string, double>> coefficients; // the fitted values (hardware.cost_model keys)
  double median_before = 0, median_fit = 0;                 // |est - meas| / meas
  std::optional<double> median_loo, max_loo;                // leave-one-out
  std::optional<hw::BandOverride> band;                     // from the leave-one-out residuals
  std::string note;
};

struct Calibration {
  std::vector<CalibrationNode> nodes;
  std::vector<UnmatchedInstance> unmatched;
  std::vector<FamilyFit> fits;
  std::vector<std::pair<std::string, size_t>> other; // per report: instances that are not FINN nodes
  hw::CostCoefficients coefficients;                  // the design's, with the fitted ones
  std::vector<hw::BandOverride> bands;
  std::string yaml; // the cost-model file
};

/// Matches every report against the design and fits. Throws LoadError naming the report when an
/// instance names a FINN node the design has no engine for (the report of another design), or when
/// no instance matched at all. `command` is recorded in the YAML's header.
Calibration calibrate(const Design& d, const std::vector<io::UtilReport>& reports, const std::string& command);

nlohmann::ordered_json calibrationJson(const Calibration& c);
void printCalibration(std::ostream& os, const Calibration& c);

} // namespace mpsim::flow
