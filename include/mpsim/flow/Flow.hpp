#pragma once
// The whole flow as one library API (docs/architecture.md): load -> resolve -> schedule -> build
// mapping -> estimate -> simulate -> report. The CLI, the tests and the sweep engine call these;
// none of them re-implements a step.
//
//   flow::Design d = flow::map(flow::load("run.yaml", {"hardware.clock_mhz=250"}));
//   flow::RunOutcome r = flow::simulate(d, {}, "out-dir");   // r.report is report.json
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/report/Trace.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sched/Plan.hpp"
#include "mpsim/sched/Resources.hpp"
#include "mpsim/sim/Result.hpp"
#include "mpsim/sim/Simulator.hpp"

namespace mpsim::flow {

/// Loads and resolves a run config file with --set style overrides ("key.path=value"); an empty
/// path loads the built-in default example. Relative paths in an in-memory config (loadText)
/// resolve against baseDir. Throws LoadError.
config::Run load(const std::string& configPath, const std::vector<std::string>& overrides = {});
config::Run loadText(const std::string& yaml, const std::string& name, const std::vector<std::string>& overrides = {},
                     const std::string& baseDir = "");

/// The network of `mpsim info`: a run config's network section, or a zoo name / network YAML /
/// ONNX model, with `network.quant...` overrides applied. Throws LoadError.
graph::Graph loadNetwork(const std::string& what, const std::vector<std::string>& overrides = {});

/// An imported ONNX model as network YAML (`mpsim import`), with the FINN hardware nodes' folding
/// as comments. With `yamlPath`, the integer weights and thresholds are written as .npy files next
/// to it (the YAML itself is the caller's to write).
struct Imported {
  std::string yaml;
  size_t layers = 0;
  int64_t macs = 0;
};
Imported importModel(const std::string& onnxPath, const std::string& yamlPath = "");

/// A mapped design: the run as loaded, the scheduler's plan, the engines and streams built from it
/// and their resource estimate.
struct Design {
  config::Run run;
  sched::Plan plan;
  sched::Mapping mapping;
  sched::DesignResources resources;
  /// The config with the plan as its mapping: what effective-config.yaml records.
  config::RunConfig effectiveConfig() const;
};

/// Schedules (mapping mode auto) or takes the manual mapping, builds the engines and estimates the
/// resources. Logs the scheduler's choice. Throws LoadError (illegal folding, nothing fits).
Design map(config::Run run);

/// map() for a user at the command line: when the scheduler finds nothing that fits (mapping mode
/// auto), the error also says which design choices the run did not allow would give a design that
/// fits (flow::fittingChoices). Sweeps call map() (a point that does not fit is a result there).
Design mapForUser(config::Run run);

/// The design choices a run config leaves to defaults that change what fits, each tried alone and
/// then together, as lines "with `--set ...`: fits, N frames/s (bottleneck)": requantisers chosen
/// per layer (network.quant requant: auto, where the layer may switch) and the MAC units' input
/// vector in a memory (hardware.cost_model.mvu_input_buffer: memory, docs/cost-model.md). Empty
/// when none of them fits either. Mapping mode auto only.
std::vector<std::string> fittingChoices(const config::Run& run);

/// map.json of `mpsim map`.
nlohmann::ordered_json mapReport(const Design& d);

/// Timelines and the HTML page of a run (docs/timelines.md).
struct TimelineOutputs {
  bool trace = false; // DIR/trace.json (Chrome / Perfetto trace events)
  bool gzip = false;  // ... as DIR/trace.json.gz instead
  bool vcd = false;   // DIR/trace.vcd
  bool html = false;  // DIR/report.html
  bool explain = false; // report.json "explain" (and report.html's "What if"): flow::explain, closed form
  report::TraceFrames frames;      // report::parseTraceFrames
  std::vector<bool> engines;       // report::selectEngines; empty: all
  uint64_t resolution = 0;         // cycles; 0: report::defaultTraceResolution
  bool any() const { return trace || vcd; }
};

struct RunOptions {
  std::string input_npy; // functional runs: input frames (.npy); empty: seeded random frames
  bool isolated = false; // simulate in a forked child (any number of simulations per process); not
                         // with a trace or VCD, which are recorded in this process
  TimelineOutputs outputs;
  /// Functional runs: values prepared by the caller (a segment's: the whole network's parameters
  /// and the crossing tensors' frames), used instead of generating them from the design's graph and
  /// seed; nothing of it is written to the directory but the outputs. Null: generated.
  const sim::FunctionalData* functional = nullptr;
  bool effective_config = true; // write DIR/effective-config.yaml (a segment's directory: no)
};

struct RunOutcome {
  sim::SimResult result;
  nlohmann::ordered_json report; // report.json
};

/// Simulation options of the design's run config (frames, mode).
sim::SimOptions simOptions(const Design& d);
/// Throws LoadError when the design cannot be simulated within the simulator's time limit.
void checkSimulatable(const Design& d);

/// Simulates the design as its run config says (frames, mode, functional) and builds the report.
/// With `dir` (an existing directory, e.g. OutputDir::dir()), writes effective-config.yaml, the
/// functional run's data (input.npy, weights/, network.json, output.npy), report.json and
/// layers.csv into it, and what opt.outputs asks for (trace.json, trace.vcd, report.html). Throws LoadError, Interrupted (SIGINT / SIGTERM between slices).
RunOutcome simulate(const Design& d, const RunOptions& opt = {}, const std::string& dir = "");

} // namespace mpsim::flow
