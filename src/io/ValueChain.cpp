#include "ValueChain.hpp"

#include <algorithm>
#include <cmath>

namespace mpsim::io::detail {

ValueChain ValueChain::unknown(std::string why) {
  ValueChain c;
  c.lose(why);
  return c;
}

double ValueChain::eval(int64_t c, double x) const {
  auto param = [&](const ChainStep& s) { return s.p.size() == 1 ? s.p[0] : s.p[size_t(c)]; };
  for (const auto& s : m_steps) {
    switch (s.op) {
    case ChainStep::Op::Mul: x *= param(s); break;
    case ChainStep::Op::Add: x += param(s); break;
    case ChainStep::Op::Div: x /= param(s); break;
    case ChainStep::Op::Relu: x = std::max(x, 0.0); break;
    case ChainStep::Op::Clip: x = std::clamp(x, s.lo, s.hi); break;
    }
  }
  return x;
}

bool ValueChain::perTensorAffine(double& scale, double& offset) const {
  if (!known()) return false;
  scale = 1;
  offset = 0;
  for (const auto& s : m_steps) {
    if (s.p.size() != 1) return false;
    switch (s.op) {
    case ChainStep::Op::Mul: scale *= s.p[0], offset *= s.p[0]; break;
    case ChainStep::Op::Add: offset += s.p[0]; break;
    case ChainStep::Op::Div: scale /= s.p[0], offset /= s.p[0]; break;
    default: return false;
    }
  }
  return true;
}

int64_t ValueChain::channels() const {
  int64_t c = 0;
  for (const auto& s : m_steps)
    if (s.p.size() > 1) c = std::max<int64_t>(c, int64_t(s.p.size()));
  return c;
}

bool ValueChain::consistentWith(int64_t channels) const {
  for (const auto& s : m_steps)
    if (s.p.size() > 1 && int64_t(s.p.size()) != channels) return false;
  return true;
}

void ValueChain::expandForFlatten(int64_t pixels) {
  if (pixels <= 1) return;
  for (auto& s : m_steps) {
    if (s.p.size() <= 1) continue;
    std::vector<double> e;
    e.reserve(s.p.size() * size_t(pixels));
    for (double v : s.p) e.insert(e.end(), size_t(pixels), v);
    s.p = std::move(e);
  }
}

int64_t firstReached(int64_t lo, int64_t hi, const std::function<bool(int64_t)>& reached) {
  if (reached(lo)) return lo;
  if (!reached(hi)) return hi + 1;
  // reached(lo) false, reached(hi) true: bisect.
  while (uint64_t(hi) - uint64_t(lo) > 1) {                        // unsigned: no overflow for any lo < hi
    int64_t mid = lo + int64_t((uint64_t(hi) - uint64_t(lo)) / 2); // no overflow for any lo < hi
    (reached(mid) ? hi : lo) = mid;
  }
  return hi;
}

} // namespace mpsim::io::detail
