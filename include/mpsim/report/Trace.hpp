#pragma once
// Timelines of a run (docs/timelines.md): the Chrome / Perfetto trace-event JSON of
// `mpsim run --trace` (DIR/trace.json) and the VCD of `--vcd` (DIR/trace.vcd), both written from a
// sim::Timeline. Same inputs, same bytes (no timestamps, no paths).
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sim/Timeline.hpp"

namespace mpsim::report {

/// Windows of the timeline per frame of the closed-form interval: the default resolution is
/// predicted cycles / this (at least one cycle).
inline constexpr uint64_t kTraceWindowsPerFrame = 200;

/// The frames a timeline shows: from frame `first` entering the pipeline to frame `last` leaving it
/// (-1: to the end of the run).
struct TraceFrames {
  int first = 0, last = -1;
};

/// Parses `--trace-frames`: "A:B" (frames A to B), "A:" (A to the end), "A" (only A), frames
/// numbered from 0 below `frames`. Throws UsageError naming the option and what is valid.
TraceFrames parseTraceFrames(const std::string& text, int frames);

/// The engines `--trace-engines` selects (by mapping index): comma-separated shell patterns (`*`,
/// `?`, `[...]`) on engine names, e.g. "layer1.*,maxpool*". Throws UsageError when the text is
/// empty or a pattern matches no engine (naming some engines).
std::vector<bool> selectEngines(const sched::Mapping& m, const std::string& patterns);

/// The default timeline resolution of a mapping, in cycles.
uint64_t defaultTraceResolution(const sched::Mapping& m);

/// What a timeline writer needs besides the recording.
struct TimelineView {
  const sched::Mapping* mapping = nullptr;
  const sim::Timeline* timeline = nullptr;
  double clock_mhz = 200;
  TraceFrames frames;
};

/// Trace-event JSON (the Chrome "JSON Object Format", which ui.perfetto.dev and chrome://tracing
/// open): one process per layer with a thread per engine (complete events "X": busy, "starved:
/// <fifo>", "blocked: <fifo>", "DRAM wait"), a process of FIFO occupancy counters ("C", one per
/// FIFO, in tokens), one of DRAM bandwidth counters (GB/s per initiator and in total) and one of
/// frame markers (instant events "i": "frame k entered" / "frame k left"). Times in microseconds
/// of simulated time with picosecond digits (displayTimeUnit ns).
std::string traceEventJson(const TimelineView& v);

/// VCD (IEEE 1364) in picoseconds of simulated time: per engine its state (0 idle, 1 busy,
/// 2 starved, 3 blocked, 4 DRAM wait), per FIFO its occupancy, grouped in a scope per layer (FIFOs
/// in scope `fifos`). A `$comment` line maps each identifier to its engine or FIFO name.
std::string vcdText(const TimelineView& v);

} // namespace mpsim::report
