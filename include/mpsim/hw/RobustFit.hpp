#pragma once
// Robust, non-negative least squares of relative errors, as `mpsim calibrate` fits the cost model's
// linear coefficients (docs/cost-model.md, "Calibration"):
//
//   min_x  sum_i huber( (fixed_i + sum_k x_k t_ik - m_i) / m_i )     subject to x >= 0
//
// solved by iteratively reweighted least squares (Huber weights, k = 1.345 times the residuals'
// scale 1.4826 * MAD, at least 1e-3) with an active-set elimination for non-negativity (solve, drop the
// most negative coefficient, repeat). Deterministic.
#include <cstddef>
#include <vector>

namespace mpsim::hw {

struct FitSample {
  double measured = 0;          // m_i > 0
  double fixed = 0;             // the part of the estimate no coefficient multiplies
  std::vector<double> terms;    // t_ik, one per coefficient
};

struct FitResult {
  std::vector<double> x;        // coefficients (>= 0)
  std::vector<double> weights;  // final Huber weights per sample (1: inlier)
  int iterations = 0;
};

/// The fit over `samples` (every sample with measured > 0 and as many terms as coefficients).
/// Returns all-zero coefficients when there are no samples.
FitResult robustFit(const std::vector<FitSample>& samples, size_t coefficients);

/// Estimate of a sample with coefficients x.
double predict(const FitSample& s, const std::vector<double>& x);

/// p-quantile (0..1) by linear interpolation between closest ranks (numpy's default).
double percentile(std::vector<double> v, double p);
double median(std::vector<double> v);

} // namespace mpsim::hw
