#pragma once
// Error bands of the default cost model: how far a measured count lies from mpsim's estimate, per
// engine family, from the per-layer validation residuals (docs/cost-model.md, "Error bars").
#include <string>
#include <vector>

#include "mpsim/hw/CostModel.hpp"

namespace mpsim::hw {

/// The 10th and 90th percentile of the signed relative error (estimate - measured) / measured of one
/// engine family (validation-bench op: mvau, swu, pool, thresholding, dwc, fifo, dma, or "all": the
/// per-layer nodes, DMAs left out) and
/// resource (lut, ff, bram18) over `nodes` synthesised nodes.
struct CostBand {
  const char* family;
  const char* resource;
  double p10, p90;
  int nodes;
};
/// The built-in bands (bench/validate_cost_model.py --bands writes them; --check compares).
const std::vector<CostBand>& costBands();

/// A band from a calibrated cost model (`mpsim calibrate`: the leave-one-out residuals of the fit),
/// read from hardware.cost_model.intervals; it replaces the built-in band of its family and resource.
struct BandOverride {
  std::string family;   // mvau, swu, pool, thresholding, labelselect, fifo, dwc
  std::string resource; // lut, ff, bram18
  double p10 = 0, p90 = 0;
  int nodes = 0;
};

/// Adds to `low` / `high` the interval of the measured resources for an estimate `est` of an engine
/// of `family`: low = est / (1 + p90), high = est / (1 + p10) per resource, with the family's band,
/// or the band of all nodes when the family has none (too few validated nodes, or none). DSP and
/// URAM have no validation data (all six builds measured 0 DSPs; one URAM): their interval is the
/// estimate itself.
/// A band of `overrides` (calibrated) for the family and resource takes precedence over the built-in one.
void addInterval(const Resources& est, const std::string& family, Resources& low, Resources& high,
                 const std::vector<BandOverride>& overrides = {});

} // namespace mpsim::hw
