#pragma once
// Integer helpers shared by the closed forms, the cost model and the simulator (one home for each).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace mpsim {

/// ceil(a / b) for a >= 0, b > 0, in the common type of two integers of the same signedness.
template <class A, class B> constexpr std::common_type_t<A, B> ceilDiv(A a, B b) {
  static_assert(std::is_integral_v<A> && std::is_integral_v<B>, "ceilDiv is for integers");
  static_assert(std::is_signed_v<A> == std::is_signed_v<B>, "ceilDiv: mixing signed and unsigned operands");
  using T = std::common_type_t<A, B>;
  return (T(a) + T(b) - 1) / T(b);
}

/// The smallest b with 2^b >= v (0 for v <= 1).
constexpr int log2Ceil(int64_t v) {
  int b = 0;
  while ((int64_t(1) << b) < v) ++b;
  return b;
}

/// Frames per second of `cycles` clock cycles per frame at `clockMhz` (0 for no cycles).
constexpr double framesPerSecond(double clockMhz, double cycles) { return cycles > 0 ? clockMhz * 1e6 / cycles : 0.0; }

/// v rounded to 6 decimal places (the reports' numbers).
inline double round6(double v) { return std::round(v * 1e6) / 1e6; }

/// v limited to [lo, hi].
constexpr int64_t clampTo(int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(hi, v)); }

} // namespace mpsim
