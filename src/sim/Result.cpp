#include "mpsim/sim/Result.hpp"

#include <algorithm>
#include <cmath>

namespace mpsim::sim {

FrameInterval frameInterval(const SimResult& r) {
  FrameInterval out;
  const size_t F = r.frame_done.size();
  if (F >= 5) {
    const size_t lo = 1, hi = F - 2, mid = (lo + hi + 1) / 2;
    out.cycles = double(r.frame_done[hi] - r.frame_done[lo]) / double(hi - lo);
    const double a = double(r.frame_done[mid] - r.frame_done[lo]) / double(mid - lo);
    const double b = double(r.frame_done[hi] - r.frame_done[mid]) / double(hi - mid);
    out.steady = std::fabs(a - b) <= 0.01 * std::max(a, b);
  } else if (F >= 2) {
    const size_t hi = F >= 4 ? F - 2 : F - 1;
    out.cycles = double(r.frame_done[hi] - r.frame_done[hi - 1]);
    if (hi >= 2) {
      const double prev = double(r.frame_done[hi - 1] - r.frame_done[hi - 2]);
      out.steady = prev > 0 && std::fabs(out.cycles - prev) <= 0.01 * prev;
    }
  }
  return out;
}

} // namespace mpsim::sim
