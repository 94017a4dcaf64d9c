#pragma once
// Networks larger than the device (docs/segments.md): the network runs as segments one after
// another, each a dataflow design of its own that fits the budget, with the feature maps that cross
// a cut (a shortcut's saved tensor included) written to DRAM by one segment and read back by a later
// one, and the device reconfigured between segments. The run's frames are the batch: each segment
// processes all of them before the next is configured.
//
//   flow::SegmentedDesign s = flow::mapSegments(flow::load("run.yaml", {"mapping.segments=auto"}));
//   flow::SegmentedOutcome o = flow::simulateSegments(s, {}, "out-dir");
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/flow/Flow.hpp"
#include "mpsim/graph/Segment.hpp"
#include "mpsim/hw/Reconfiguration.hpp"

namespace mpsim::flow {

struct Segment {
  std::string name;                         // "segment0", ...
  std::size_t first = 0, end = 0;           // range of graph::cuttableLayers(whole network)
  std::vector<graph::CrossingTensor> inputs;  // tensors read from DRAM (the network's inputs too)
  std::vector<graph::CrossingTensor> outputs; // tensors written to DRAM for a later segment
  Design design;                            // the segment as a network of its own, mapped
  /// Everything that decides its hardware (engines, foldings, streams; not names or weight
  /// values): consecutive segments with the same signature can share the fabric.
  std::string hardware;
  int64_t onchip_weight_bytes = 0;          // what a shared fabric reloads to switch to it
  /// Closed form of the batch: cycles from the segment's start until its last frame is written
  /// (the max-plus fill of the first frames, then the design's cycles per frame).
  uint64_t predicted_batch_cycles = 0;
  uint64_t predicted_latency_cycles = 0; // until its first frame is written
};

/// How the device switches into a segment from the one before it (segment 0 from the last: batches
/// repeat).
struct SegmentSwitch {
  bool reconfigure = false; // false: the fabric is kept and the segment's on-chip weights reloaded
  double seconds = 0;
};

/// One cut plan the scheduler evaluated (mode auto).
struct CutCandidate {
  std::string how;                 // "fewest segments", "balanced by MACs", ...
  std::vector<std::string> cuts;   // layers the later segments start at
  bool fits = false;
  double predicted_fps = 0;        // at the batch, reconfiguration included
  std::string why_not;             // when it does not fit
};

struct SegmentedDesign {
  config::Run run; // the whole network's run
  std::vector<Segment> segments;
  int batch = 1;   // the run's frames
  hw::Reconfiguration reconfiguration; // the device's
  double reconfiguration_s = 0;        // per reconfiguration (mapping.segments.reconfiguration_ms or the device's)
  /// The DRAM's peak rate in bytes per second, at which a shared fabric reloads weights.
  double reload_bytes_per_s = 0;
  std::vector<CutCandidate> candidates; // mode auto: what was compared
  std::vector<std::string> reasons;     // why these cuts
  /// Switching into segment i (none with a single segment).
  SegmentSwitch switchInto(std::size_t i) const;
  /// The whole batch in seconds by the closed form: every segment's batch and every switch.
  double predictedBatchSeconds() const;
  double predictedFps() const;
  /// The config with every segment's mapping and the cuts as manual segments.
  config::RunConfig effectiveConfig() const;
};

/// True when the run asks for segments (mapping.segments mode auto or manual).
bool segmentsRequested(const config::Run& run);

/// Cuts the network (mode manual: at the given layers; auto: one segment when the whole network
/// fits, else the cuts the scheduler chooses) and maps every segment. Throws LoadError (a cut that
/// names no layer, a segment or a single layer that does not fit).
SegmentedDesign mapSegments(config::Run run);

/// map.json of a segmented design.
nlohmann::ordered_json segmentsMapJson(const SegmentedDesign& s);
/// The text `mpsim map` prints for it.
std::string segmentsMapText(const SegmentedDesign& s);

struct SegmentedOutcome {
  std::vector<sim::SimResult> results; // per segment
  nlohmann::ordered_json report;       // report.json
};

/// Simulates every segment for the batch (each in a child process, with the same SystemC modules
/// and DRAM model as a single design; functional runs chain the crossing tensors' values through
/// the segments). With `dir`, writes effective-config.yaml and report.json there and each segment's
/// report.json and layers.csv (functional: its crossing tensors as <tensor>.npy) in
/// DIR/segments/<name>/. Throws LoadError.
SegmentedOutcome simulateSegments(const SegmentedDesign& s, const RunOptions& opt = {}, const std::string& dir = "");
/// The text `mpsim run` prints for it.
std::string segmentsRunText(const nlohmann::ordered_json& report);

} // namespace mpsim::flow
