#include "mpsim/sim/SteadyState.hpp"

#include <algorithm>
#include <stdexcept>

namespace mpsim::sim {

SteadyState::SteadyState(int horizon, int stride)
    : m_horizon(std::max(1, horizon)), m_stride(uint64_t(std::max(1, stride))), m_completeFrame(kRing, UINT64_MAX),
      m_completeCount(kRing, 0) {
  if (uint64_t(m_horizon) + m_stride + 2 >= kRing) m_active = false; // memory longer than the history kept
}

int SteadyState::addChannel(uint64_t eventsPerFrame, bool keepTimes) {
  if (eventsPerFrame == 0) throw std::logic_error("SteadyState: a channel needs at least one event per frame");
  Channel c;
  c.per_frame = eventsPerFrame;
  if (keepTimes) c.times.assign(size_t(eventsPerFrame * m_stride), 0);
  c.verdicts.assign(kRing, Verdict{});
  m_channels.push_back(std::move(c));
  return int(m_channels.size() - 1);
}

void SteadyState::frameComplete(Channel& c) {
  const uint64_t f = c.frame;
  c.verdicts[size_t(f % kRing)] = Verdict{f, c.first, c.h1, c.h2};
  c.k = 0;
  c.h1 = c.h2 = 0;
  ++c.frame;
  c.base = (c.frame % m_stride) * c.per_frame;
  const size_t slot = size_t(f % kRing);
  if (m_completeFrame[slot] != f) {
    m_completeFrame[slot] = f;
    m_completeCount[slot] = 0;
  }
  if (++m_completeCount[slot] == m_channels.size()) check(f);
}

bool SteadyState::repeats(uint64_t from, uint64_t to, int64_t P) const {
  // Frame g against frame g - s; frame 0 has no previous frame for its first difference.
  if (P <= 0 || from < m_stride + 1) return false;
  for (const Channel& c : m_channels)
    for (uint64_t g = from; g <= to; ++g) {
      const Verdict &v = c.verdicts[size_t(g % kRing)], &u = c.verdicts[size_t((g - m_stride) % kRing)];
      if (v.frame != g || u.frame != g - m_stride || v.h1 != u.h1 || v.h2 != u.h2 || int64_t(v.first - u.first) != P)
        return false;
    }
  return true;
}

void SteadyState::check(uint64_t f) {
  const uint64_t H = uint64_t(m_horizon);
  if (f < H + m_stride + 1) return; // frames f - H .. f must each have one a stride earlier
  const Channel& c0 = m_channels.front();
  const int64_t P = int64_t(c0.verdicts[size_t(f % kRing)].first - c0.verdicts[size_t((f - m_stride) % kRing)].first);
  if (!repeats(f - H, f, P)) return;
  if (m_extraFor != P) {
    m_extraFor = P;
    m_extraFrames = m_extra ? m_extra(uint64_t(P)) : 0;
  }
  if (m_extraFrames < 0 || H + m_stride + uint64_t(m_extraFrames) + 2 >= kRing) { // never periodic as a whole
    m_active = false;
    return;
  }
  const uint64_t W = H + uint64_t(m_extraFrames);
  if (f < W + m_stride + 1 || !repeats(f - W, f - H, P)) return;
  m_active = false;
  if (f + 1 >= m_frames) return; // nothing left to skip
  m_frame = f;
  m_period = uint64_t(P);
  m_windowStart = f - W;
  m_found = true;
  if (m_onFound) m_onFound();
}
} // namespace mpsim::sim
