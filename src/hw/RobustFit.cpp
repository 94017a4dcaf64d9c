#include "mpsim/hw/RobustFit.hpp"

#include <algorithm>
#include <cmath>

namespace mpsim::hw {

namespace {

// Weighted least squares on the columns in `active` (normal equations, columns scaled to unit norm,
// Gaussian elimination with partial pivoting; a tiny ridge keeps collinear columns solvable).
std::vector<double> solve(const std::vector<std::vector<double>>& a, const std::vector<double>& b,
                          const std::vector<double>& w, const std::vector<size_t>& active) {
  const size_t p = active.size();
  std::vector<double> scale(p, 0);
  for (size_t j = 0; j < p; ++j) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += w[i] * a[i][active[j]] * a[i][active[j]];
    scale[j] = s > 0 ? 1 / std::sqrt(s) : 0;
  }
  std::vector<std::vector<double>> m(p, std::vector<double>(p + 1, 0));
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < p; ++j) {
      const double aj = a[i][active[j]] * scale[j];
      for (size_t k = 0; k < p; ++k) m[j][k] += w[i] * aj * a[i][active[k]] * scale[k];
      m[j][p] += w[i] * aj * b[i];
    }
  for (size_t j = 0; j < p; ++j) m[j][j] += 1e-10;
  for (size_t c = 0; c < p; ++c) {
    size_t piv = c;
    for (size_t r = c + 1; r < p; ++r)
      if (std::fabs(m[r][c]) > std::fabs(m[piv][c])) piv = r;
    std::swap(m[c], m[piv]);
    if (std::fabs(m[c][c]) < 1e-300) continue;
    for (size_t r = 0; r < p; ++r) {
      if (r == c) continue;
      const double f = m[r][c] / m[c][c];
      if (f == 0) continue;
      for (size_t k = c; k <= p; ++k) m[r][k] -= f * m[c][k];
    }
  }
  std::vector<double> x(p, 0);
  for (size_t j = 0; j < p; ++j) x[j] = std::fabs(m[j][j]) < 1e-300 ? 0 : m[j][p] / m[j][j] * scale[j];
  return x;
}

// Non-negative weighted least squares by elimination.
std::vector<double> nnls(const std::vector<std::vector<double>>& a, const std::vector<double>& b,
                         const std::vector<double>& w, size_t n) {
  std::vector<size_t> active;
  for (size_t k = 0; k < n; ++k) {
    bool any = false;
    for (const auto& row : a) any = any || row[k] != 0;
    if (any) active.push_back(k); // a coefficient without data stays 0
  }
  std::vector<double> x(n, 0);
  while (!active.empty()) {
    const std::vector<double> s = solve(a, b, w, active);
    size_t worst = 0;
    for (size_t j = 1; j < s.size(); ++j)
      if (s[j] < s[worst]) worst = j;
    if (s[worst] >= 0) {
      for (size_t j = 0; j < active.size(); ++j) x[active[j]] = s[j];
      return x;
    }
    active.erase(active.begin() + long(worst));
  }
  return x;
}

} // namespace

double predict(const FitSample& s, const std::vector<double>& x) {
  double v = s.fixed;
  for (size_t k = 0; k < x.size() && k < s.terms.size(); ++k) v += x[k] * s.terms[k];
  return v;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = p * double(v.size() - 1);
  const size_t i = size_t(pos);
  if (i + 1 >= v.size()) return v.back();
  return v[i] + (pos - double(i)) * (v[i + 1] - v[i]);
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

FitResult robustFit(const std::vector<FitSample>& samples, size_t coefficients) {
  FitResult r;
  r.x.assign(coefficients, 0);
  if (samples.empty()) return r;
  // Rows of relative errors: (t_ik / m_i) x = (m_i - fixed_i) / m_i.
  std::vector<std::vector<double>> a;
  std::vector<double> b;
  for (const auto& s : samples) {
    std::vector<double> row(coefficients, 0);
    for (size_t k = 0; k < coefficients && k < s.terms.size(); ++k) row[k] = s.terms[k] / s.measured;
    a.push_back(row);
    b.push_back((s.measured - s.fixed) / s.measured);
  }
  std::vector<double> w(samples.size(), 1.0);
  constexpr double kHuber = 1.345;
  for (int it = 0; it < 50; ++it) {
    r.iterations = it + 1;
    const std::vector<double> x = nnls(a, b, w, coefficients);
    double change = 0;
    for (size_t k = 0; k < coefficients; ++k) change = std::max(change, std::fabs(x[k] - r.x[k]));
    r.x = x;
    std::vector<double> res(samples.size()), absr;
    for (size_t i = 0; i < samples.size(); ++i) {
      double v = -b[i];
      for (size_t k = 0; k < coefficients; ++k) v += a[i][k] * x[k];
      res[i] = v;
    }
    const double med = median(res);
    for (double v : res) absr.push_back(std::fabs(v - med));
    const double scale = std::max(1.4826 * median(absr), 1e-3);
    for (size_t i = 0; i < samples.size(); ++i) {
      const double u = std::fabs(res[i]) / scale;
      w[i] = u <= kHuber ? 1.0 : kHuber / u;
    }
    if (it > 0 && change < 1e-9) break;
  }
  r.weights = w;
  return r;
}

} // namespace mpsim::hw
