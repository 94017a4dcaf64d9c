#pragma once
// Periodic steady state (docs/simulation.md, "Fast-forward"): detects that the pipeline repeats
// itself frame after frame, so that the remaining frames can be advanced whole instead of token by
// token, with the same results.
//
// The engines' timing rules are time invariant (every rule is a max or a sum of earlier event
// times and constants; the DRAM model is time invariant too under the condition that
// Accelerator checks when this fires). The state they carry from one frame to the next is a set
// of recent event times: every FIFO's write and read-end cycles, every buffered token's release
// cycle, every DRAM request's request and completion cycle. Each such sequence is a channel here,
// with a fixed number of events per frame. When, for every channel, frames F - H .. F are each
// frame f - s shifted by the same P cycles (s, the stride, is 1 unless the DRAM channels a DMA's
// bursts land on rotate from frame to frame), where H frames cover the longest memory of any rule
// (a FIFO deeper than a frame holds tokens of older frames), then every later frame is the one s
// before it shifted by P: the frames after F need not be simulated.
//
// A channel keeps, per frame, its first event's cycle and two 64-bit hashes of the differences
// between consecutive events (the first one against the previous frame's last event): frame f
// repeats frame f - s shifted by P when the hashes are equal and the first events are P apart (the
// differences being equal, every event is then P apart). Cost while running: record() per event,
// a subtraction, two multiply-adds, in one cache line per channel.
#include <cstdint>
#include <functional>
#include <vector>

namespace mpsim::sim {

class SteadyState {
public:
  /// horizon: H above (>= 1); stride: s above (>= 1).
  SteadyState(int horizon, int stride);

  /// A new channel of `eventsPerFrame` (>= 1) events per frame; returns its id for record().
  /// keepTimes: also keep the event cycles of the last stride frames (latest()).
  int addChannel(uint64_t eventsPerFrame, bool keepTimes = false);
  /// The next event of channel `id` (events of a channel are recorded in their order: frame after
  /// frame, index after index) happened at cycle t.
  void record(int id, uint64_t t) {
    if (!m_active) return;
    Channel& c = m_channels[size_t(id)];
    const uint64_t d = t - c.prev;
    c.prev = t;
    if (c.k == 0) c.first = t;
    c.h1 = (c.h1 ^ d) * kMul1;
    c.h2 = (c.h2 + d) * kMul2 + 1;
    if (!c.times.empty()) c.times[size_t(c.base + c.k)] = t;
    if (++c.k == c.per_frame) frameComplete(c);
  }

  /// Asked when every channel repeats with period P (cycles over `stride` frames) over the horizon:
  /// how many more frames the rest of the model (the DRAM) needs repeating before it is periodic
  /// too (0: none; the answer for a P is asked once). Negative: never (detection stops).
  void setExtraFrames(std::function<int(uint64_t P)> fn) { m_extra = std::move(fn); }
  /// Frames of the run: found only when frames are left to skip (frame() + 1 < frames).
  void setFrames(uint64_t frames) { m_frames = frames; }
  /// Called once when the steady state is found (e.g. sc_pause()).
  void setOnFound(std::function<void()> fn) { m_onFound = std::move(fn); }

  bool active() const { return m_active; }
  bool found() const { return m_found; }
  /// The last frame verified (F), the period (P cycles over stride() frames) and the first frame
  /// of the verified window (frames windowStart() .. F are each frame f - stride() shifted by P);
  /// valid when found().
  uint64_t frame() const { return m_frame; }
  uint64_t period() const { return m_period; }
  int stride() const { return int(m_stride); }
  uint64_t windowStart() const { return m_windowStart; }
  /// Channels added with keepTimes: the latest time of each event over the last stride() frames,
  /// event k of frame f at (f % stride()) * events per frame + k (the frame being recorded where it
  /// has been recorded so far, stride() frames earlier elsewhere).
  const std::vector<uint64_t>& latest(int id) const { return m_channels[size_t(id)].times; }
  std::size_t channels() const { return m_channels.size(); }

private:
  static constexpr uint64_t kRing = 64; // frames of history per channel
  static constexpr uint64_t kMul1 = 0x9E3779B97F4A7C15ull, kMul2 = 0xC2B2AE3D27D4EB4Full;
  struct Verdict {
    uint64_t frame = UINT64_MAX;
    uint64_t first = 0, h1 = 0, h2 = 0;
  };
  struct Channel {
    uint64_t per_frame = 1;
    uint64_t k = 0, frame = 0;     // position of the next event
    uint64_t prev = 0, first = 0;  // the last event's cycle; the frame's first
    uint64_t h1 = 0, h2 = 0;       // of the frame's differences so far
    uint64_t base = 0;             // keepTimes: (frame % stride) * per_frame
    std::vector<uint64_t> times;   // keepTimes: stride frames of event times
    std::vector<Verdict> verdicts; // ring over frames: frame f at f % kRing
  };
  void frameComplete(Channel& c);
  void check(uint64_t f);
  /// Every channel's frames [from, to] repeat with shift P.
  bool repeats(uint64_t from, uint64_t to, int64_t P) const;

  int m_horizon;
  uint64_t m_stride;
  bool m_active = true, m_found = false;
  uint64_t m_frame = 0, m_period = 0, m_windowStart = 0, m_frames = UINT64_MAX;
  int64_t m_extraFor = -1; // the P of m_extraFrames
  int m_extraFrames = 0;
  std::vector<Channel> m_channels;
  std::vector<uint64_t> m_completeFrame, m_completeCount; // ring: channels that completed frame f
  std::function<int(uint64_t)> m_extra;
  std::function<void()> m_onFound;
};

} // namespace mpsim::sim
