#pragma once
// What a simulation measured. Plain data (serialisable to JSON), so a simulation can run in a
// child process (SystemC elaborates one design per process) and hand its result back.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mpsim::sim {

/// Cycle accounting of one engine over one frame interval (from the previous frame's last output
/// to this frame's last output): busy + starved + blocked = the interval.
struct FrameStats {
  uint64_t busy = 0, starved = 0, blocked = 0, dram_wait = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FrameStats, busy, starved, blocked, dram_wait)

/// Fast-forward (docs/simulation.md): `count` steady-state frames inserted after frame `after`, each
/// a copy of the frame `stride` before it (zero count: none).
struct InsertedFrames {
  uint64_t after = 0, count = 0, stride = 1;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InsertedFrames, after, count, stride)

/// An engine's accounting: the last complete frame interval, and every frame interval in order (the
/// report averages them over the frames of its measured interval).
struct EngineStats {
  std::string name;
  uint64_t busy = 0;         // producing at its own rate (compute, or own read rate)
  uint64_t starved = 0;      // waiting for input tokens
  uint64_t blocked = 0;      // output FIFO full (backpressure)
  uint64_t dram_wait = 0;    // part of starved spent waiting for DRAM (DMAs, weight streams)
  uint64_t first_output = 0; // cycle of the first output token (all frames)
  uint64_t last_output = 0;  // cycle of the last output token (all frames)
  uint64_t tokens_out = 0;
  std::string state;              // at the end: done, or what it waits for
  /// The simulated frames' intervals (complete frames only); with fast-forward the inserted frames
  /// are not stored: use frameCount() and frame(f).
  std::vector<FrameStats> frames;
  InsertedFrames inserted;
  std::size_t frameCount() const { return frames.size() + std::size_t(inserted.count); }
  /// Frame f's interval (f < frameCount()).
  const FrameStats& frame(std::size_t f) const {
    const std::size_t F = std::size_t(inserted.after), S = std::size_t(inserted.count), s = std::size_t(inserted.stride);
    if (S == 0 || f <= F) return frames.at(f);
    if (f <= F + S) return frames.at(F + 1 - s + (f - F - 1) % s);
    return frames.at(f - S);
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EngineStats, name, busy, starved, blocked, dram_wait, first_output, last_output,
                                   tokens_out, state, frames, inserted)

struct StreamStats {
  std::string name;
  int64_t depth = 0;
  int64_t max_occupancy = 0;
  uint64_t tokens = 0;
  int64_t occupancy_at_end = 0;
  bool reader_waiting = false;
  bool writer_waiting = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StreamStats, name, depth, max_occupancy, tokens, occupancy_at_end, reader_waiting,
                                   writer_waiting)

struct DramInitiatorStats {
  std::string name;
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t requests = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(DramInitiatorStats, name, read_bytes, write_bytes, requests)

struct Deadlock {
  bool detected = false;
  uint64_t cycle = 0;                  // latest local time reached by any engine
  std::vector<std::string> cycle_path; // engine -> fifo -> engine ... of the wait-for cycle
  std::vector<std::string> full_fifos;
  std::vector<std::string> empty_fifos;
  std::vector<std::string> messages; // one line per blocked engine
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Deadlock, detected, cycle, cycle_path, full_fifos, empty_fifos, messages)

/// Frame arrivals (docs/system.md): what the input buffer did. Per processed frame (in order) its
/// arrival, the cycle it entered the buffer (later than the arrival under the block policy when
/// the buffer was full) and the cycle the input DMA requested its first burst.
struct ArrivalRecord {
  bool enabled = false;
  int offered = 0; // arrivals simulated
  std::vector<uint64_t> arrival, admitted, start;
  std::vector<uint64_t> dropped_at; // arrival cycles of the dropped frames
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ArrivalRecord, enabled, offered, arrival, admitted, start, dropped_at)

/// A background master on the shared DRAM (docs/system.md): what it moved and when.
struct BackgroundStats {
  std::string name;
  uint64_t read_bytes = 0, write_bytes = 0, requests = 0;
  uint64_t first_cycle = 0; // its first request
  uint64_t last_cycle = 0;  // completion of its last request
  bool stopped_at_horizon = false; // stopped at the time limit before the accelerator finished
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BackgroundStats, name, read_bytes, write_bytes, requests, first_cycle, last_cycle,
                                   stopped_at_horizon)

/// Fast-forward (docs/simulation.md): the pipeline was periodic at `frame` (every frame the one
/// `period_frames` before it shifted by `period` cycles); the engines ran `simulated` frames and
/// the others, steady-state frames after `frame`, were inserted.
struct FastForward {
  bool applied = false;
  uint64_t frame = 0;
  uint64_t period = 0; // cycles
  uint64_t period_frames = 1;
  uint64_t simulated = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FastForward, applied, frame, period, period_frames, simulated)

struct SimResult {
  int frames = 0;
  int frames_done = 0;
  std::vector<uint64_t> frame_done; // cycle each frame's output was complete (written to DRAM)
  uint64_t first_input = 0;         // cycle the first input burst was requested
  std::vector<EngineStats> engines; // per engine, stats of the last complete frame interval
  std::vector<StreamStats> streams;
  std::vector<DramInitiatorStats> dram;
  Deadlock deadlock;
  double wall_seconds = 0;
  std::string mode;
  ArrivalRecord arrivals; // enabled only with input.arrivals
  std::vector<BackgroundStats> background; // background masters, in config order
  FastForward fast_forward;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(SimResult, frames, frames_done, frame_done, first_input, engines, streams, dram,
                                   deadlock, wall_seconds, mode, arrivals, background, fast_forward)

/// The steady-state interval between frames (summary.cycles_per_frame and fps of the report). With
/// five or more frames: the mean interval from frame 1 to frame F-2 (the first frame fills the
/// pipeline, the last drains it without competing for DRAM), steady when both halves of that range
/// agree within 1 %. With fewer: the last interval before the final frame, compared with the one
/// before it. 0 cycles with fewer than two frames done.
struct FrameInterval {
  double cycles = 0;
  bool steady = false;
};
FrameInterval frameInterval(const SimResult& r);

} // namespace mpsim::sim
