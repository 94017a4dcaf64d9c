#pragma once
// What `mpsim run --trace / --vcd` shows (docs/timelines.md): per engine the intervals it spent busy,
// starved (on an input FIFO), blocked (on a full output FIFO) or waiting for DRAM; per FIFO its
// occupancy over time; per DRAM initiator the bytes it moved over time; when each frame entered and
// left. The engines record in their own local cycles (a timestamped simulation has no kernel-time
// events); everything is merged while it is recorded, so its size grows with the simulated time
// divided by the resolution, not with the tokens:
//  - engine intervals of one kind and FIFO that touch are one slice; an interval shorter than the
//    resolution joins the slice before it, which then holds a mix and is closed once it spans the
//    resolution (its activity is the one with the most cycles; its cycles per activity are kept);
//  - a counter (FIFO occupancy, DRAM bytes) keeps one point per resolution window: the maximum
//    occupancy in the window (so the trace's maxima are the report's), the bytes moved in it.
// Recording costs one pointer test per token when it is off (no Timeline attached).
#include <algorithm>
#include <array>
#include <memory>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mpsim::sim {

enum class Activity : uint8_t { Busy = 0, Starved = 1, Blocked = 2, DramWait = 3 };
inline constexpr int kActivities = 4;
/// "busy", "starved", "blocked", "DRAM wait".
const char* activityName(Activity a);

/// A merged interval [begin, end) of one engine, in cycles.
struct Slice {
  uint64_t begin = 0, end = 0;
  Activity what = Activity::Busy; // the activity with the most cycles
  int fifo = -1;                  // the stream (mapping index) it waits on, -1 for none
  std::array<uint64_t, kActivities> cycles{}; // cycles per activity inside the slice
  bool mixed = false;                         // holds intervals of more than one activity or FIFO
};

class EngineTrack {
public:
  explicit EngineTrack(uint64_t resolution) : m_res(resolution) {}
  /// Appends [from, to) (ignored when empty). Times per engine never go back. Inline: the empty
  /// intervals (most of an engine's four per token) and the continuation of the open slice.
  void add(Activity a, int fifo, uint64_t from, uint64_t to) {
    if (m_open && from < m_cur.end) from = m_cur.end;
    if (to <= from) return;
    if (m_open && from == m_cur.end && !m_cur.mixed && keyOf(a, fifo) == m_keys.front().first) {
      const uint64_t len = to - from;
      m_cur.end = to;
      m_cur.cycles[size_t(a)] += len;
      m_keys.front().second += len;
      return;
    }
    addSlow(a, fifo, from, to);
  }
  void finish();
  const std::vector<Slice>& slices() const { return m_slices; }

private:
  static int keyOf(Activity a, int fifo) { return int(a) * 65536 + fifo + 1; }
  void addSlow(Activity a, int fifo, uint64_t from, uint64_t to);
  void close();
  uint64_t m_res;
  bool m_open = false;
  Slice m_cur;
  std::vector<std::pair<int, uint64_t>> m_keys; // (activity * 65536 + fifo + 1, cycles) of the open slice
  std::vector<Slice> m_slices;
};

/// A step function of time sampled at the resolution: the maximum of each window.
class CounterTrack {
public:
  explicit CounterTrack(uint64_t resolution) : m_res(resolution) {}
  /// The value becomes v at cycle t (t never decreases).
  void set(uint64_t t, int64_t v) {
    if (t >= m_bucketEnd) return nextWindow(t, v);
    m_max = std::max(m_max, v); // the common case: the same window
    m_last = v;
  }
  void finish();
  /// (cycle, value): the value from that cycle on (the first point is at cycle 0).
  const std::vector<std::pair<uint64_t, int64_t>>& points() const { return m_points; }

private:
  void nextWindow(uint64_t t, int64_t v); // set() at or after the current window's end
  void emit(uint64_t t, int64_t v);
  uint64_t m_res;
  uint64_t m_bucket = 0, m_bucketEnd = 0; // the current window and its end (0: not started)
  int64_t m_max = 0, m_last = 0;
  bool m_finished = false;
  std::vector<std::pair<uint64_t, int64_t>> m_points{{0, 0}};
};

/// Bytes moved per resolution window (by the completion cycle of each request).
class BytesTrack {
public:
  explicit BytesTrack(uint64_t resolution) : m_res(resolution) {}
  void add(uint64_t t, uint64_t bytes);
  /// (window index, bytes) for the windows with traffic, in order.
  const std::vector<std::pair<uint64_t, uint64_t>>& windows() const { return m_windows; }

private:
  uint64_t m_res;
  std::vector<std::pair<uint64_t, uint64_t>> m_windows;
};

/// Which engines are recorded and at what resolution.
struct TimelineOptions {
  uint64_t resolution = 1;   // cycles (>= 1)
  std::vector<bool> engines; // by mapping index; empty: all
};

/// The recorder of one simulation. Attach it through AcceleratorParams::timeline; it must outlive
/// the simulation. Engines not selected get no track; a FIFO gets one when its producer or consumer
/// is selected; a DRAM initiator when it is selected.
class Timeline {
public:
  Timeline(const TimelineOptions& opt, std::size_t engines, std::size_t streams);
  uint64_t resolution() const { return m_opt.resolution; }
  bool recordsEngine(std::size_t i) const { return m_opt.engines.empty() || m_opt.engines.at(i); }

  /// Null when the engine / stream is not recorded.
  EngineTrack* engine(std::size_t i) { return m_engines.at(i).get(); }
  CounterTrack* stream(std::size_t i) { return m_streams.at(i).get(); }
  BytesTrack* dram(std::size_t engine) { return m_dram.at(engine).get(); }
  const EngineTrack* engine(std::size_t i) const { return m_engines.at(i).get(); }
  const CounterTrack* stream(std::size_t i) const { return m_streams.at(i).get(); }
  const BytesTrack* dram(std::size_t engine) const { return m_dram.at(engine).get(); }
  /// Creates the tracks of stream i (recorded when its producer or consumer is).
  void enableStream(std::size_t i);
  void enableDram(std::size_t engine);

  /// Frame f's first token left the input DMA at cycle t / its last byte was written at t.
  void frameEntered(std::size_t f, uint64_t t);
  void frameLeft(std::size_t f, uint64_t t);
  const std::vector<uint64_t>& entered() const { return m_entered; }
  const std::vector<uint64_t>& left() const { return m_left; }

  /// Closes the open slices and counter windows (after the simulation).
  void finish();

private:
  TimelineOptions m_opt;
  std::vector<std::unique_ptr<EngineTrack>> m_engines;
  std::vector<std::unique_ptr<CounterTrack>> m_streams;
  std::vector<std::unique_ptr<BytesTrack>> m_dram;
  std::vector<uint64_t> m_entered, m_left;
};

} // namespace mpsim::sim
