#pragma once
// Elaborates the engines and streams of a mapping as SystemC modules (sim::Accelerator), runs them
// for a number of frames and collects what they measured. SystemC 2.3 elaborates one design per
// process: call simulate() once per process, or simulateIsolated() to run it in a child process.
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sim/Accelerator.hpp"
#include "mpsim/sim/Result.hpp"

namespace mpsim::sim {

struct FunctionalData;

struct SimOptions {
  int frames = 4;
  bool reference = false; // wait() per token instead of timestamped streams
  /// Functional mode (docs/functional.md): tokens carry values computed with the func kernels.
  /// Null: timing only. The output DMA's pixels are written to output_npy (N frames) when set; with
  /// several output layers, each to outputNpyPath().
  const FunctionalData* functional = nullptr;
  std::string output_npy;
  /// Records timelines (docs/timelines.md) into this; finished (Timeline::finish) when simulate()
  /// returns. Null: off. In-process only: simulateIsolated() refuses it.
  Timeline* timeline = nullptr;
  /// The input DMA's pace in cycles per frame (AcceleratorParams::input_interval); 0: as fast as it can.
  double input_interval = 0;
  /// Simulate the system around the accelerator that the config describes (docs/system.md): frame
  /// arrivals (`input:`) and the shell (`host:`). False (FIFO sizing, what-if): the accelerator alone.
  bool system = false;
  /// Background masters (cfg.background) on the shared DRAM; they stop at background_horizon
  /// (cycles) if the accelerator has not finished by then.
  bool background = false;
  uint64_t background_horizon = 0;
  /// Advance whole frames once the pipeline is periodic (AcceleratorParams::fast_forward).
  bool fast_forward = true;
};

SimOptions simOptions(const config::RunConfig& cfg);

/// The Accelerator's parameters of a run: frames, mode and functional data from `opt`; clock, DRAM
/// timing and burst size from `cfg` (units converted: cycles, bytes per cycle).
AcceleratorParams acceleratorParams(const config::RunConfig& cfg, const SimOptions& opt);

struct ShellTiming;
/// The shell's timing of a run with a host section (cfg.host must be set): port bytes per
/// accelerator cycle from its width and clock, setup in cycles.
ShellTiming shellTiming(const config::RunConfig& cfg);

/// The longest simulation this model can run (cycles at clockMhz): SystemC's time (64-bit
/// picoseconds) and the engines' 64-bit cycle counters must not overflow. 2^50 cycles, less at
/// very slow clocks.
uint64_t maxSimulatedCycles(double clockMhz);

/// Refuses (LoadError) a design whose expected simulated time, frames x the closed-form cycles per
/// frame plus pipeline fill and DRAM latency, exceeds maxSimulatedCycles, naming the numbers.
void checkSimulatable(const sched::Mapping& m, const config::RunConfig& cfg, const SimOptions& opt);

/// Runs the simulation in this process (once per process): an Accelerator of the mapping with the
/// internal DRAM model, sc_start in slices of simulated time; throws Interrupted between slices when
/// SIGINT / SIGTERM arrived (common/FileIo.hpp), and LoadError when the simulated time passes
/// The file of output layer `outputLayer`'s values in a functional run with `outputs` output layers:
/// outputNpy itself with one, `<outputLayer>.npy` in outputNpy's directory with several.
std::string outputNpyPath(const std::string& outputNpy, const std::string& outputLayer, std::size_t outputs);

/// maxSimulatedCycles. Writes opt.output_npy in functional mode.
SimResult simulate(const sched::Mapping& m, const config::RunConfig& cfg, const SimOptions& opt);

/// Runs simulate() in a forked child and returns its result (any number of times per process).
/// Throws std::runtime_error if the child fails.
SimResult simulateIsolated(const sched::Mapping& m, const config::RunConfig& cfg, const SimOptions& opt);

} // namespace mpsim::sim
