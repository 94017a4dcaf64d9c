#pragma once
// Run configuration (docs/run-config.md): network, hardware, mapping, simulation. Parsed strictly
// from YAML (unknown keys are errors, every error located), with --set overrides applied first.
// The effective tree (file + overrides + defaults) is kept for writing next to every output.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "mpsim/graph/Graph.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/hw/Device.hpp"

namespace mpsim::config {

/// Ranges of run-config values that other components check too (docs/run-config.md lists every
/// key's range). Each is the range the model handles: outside it a result would overflow or mean
/// nothing.
inline constexpr int kMinFrames = 1, kMaxFrames = 100000; // 1 frame: a latency run (steady_state false)
inline constexpr int64_t kMaxSeed = int64_t(1) << 62;
inline constexpr double kMinClockMhz = 0.001, kMaxClockMhz = 2000;
inline constexpr double kMinDramGbps = 1e-6, kMaxDramGbps = 1e5;  // per channel
inline constexpr double kMaxDramLatencyNs = 1e6;                  // 1 ms
inline constexpr int kMaxFifoDepth = 1 << 24;                     // tokens

struct NetworkConfig {
  std::string model; // zoo name or path
  graph::QuantRules quant;
};

struct DramConfig {
  int channels = 1;
  double bandwidth_gbps = 19.2; // per channel
  double latency_ns = 100;
  int burst_bytes = 4096;
};

struct IoConfig {
  int in_bits_per_cycle = 64;
  int out_bits_per_cycle = 64;
};

struct HardwareConfig {
  hw::Device device;
  hw::CostCoefficients cost;   // hardware.cost_model overrides applied
  hw::Budget budget;           // hardware.budget (utilisation caps)
  double clock_mhz = 200;
  DramConfig dram;
  IoConfig io;
};

enum class WeightPlacement { OnChip, Dram };

struct LayerMapping {
  std::optional<int> pe, simd;
  std::optional<std::string> pe_kind;   // lut | dsp | bitserial
  std::optional<std::string> ram_style; // auto | lutram | bram | uram (on-chip weights)
  std::optional<WeightPlacement> weights;
  std::optional<int> weight_reuse; // output pixels served per weight pass when weights stream from DRAM
  std::string where;
};

struct FifoConfig {
  int default_depth = 2;                 // tokens (one pixel, all channels), as FINN before FIFO sizing
  std::optional<int> shortcut_depth;     // nullopt: sized automatically (see docs/simulation.md)
  std::map<std::string, int> depths;     // per-FIFO overrides by FIFO name
};

struct MappingConfig {
  std::string mode = "manual";          // manual | auto
  std::string goal = "max_fps";         // auto: max_fps | target_fps
  double target_fps = 0;                // auto with goal target_fps
  std::vector<std::string> pe_kinds = {"lut", "dsp", "bitserial"}; // kinds the scheduler may use
  std::map<std::string, LayerMapping> layers;
  FifoConfig fifos;
  std::vector<std::string> finn_folding_notes; // what mapping.finn_folding applied (for the log)
};

enum class SimMode { Timestamped, Reference };

struct SimulationConfig {
  int frames = 4;
  SimMode mode = SimMode::Timestamped;
  bool functional = false;
  int64_t seed = 1; // functional mode: seed of generated weights, thresholds and inputs
};

struct RunConfig {
  std::string file; // where the config came from
  NetworkConfig network;
  HardwareConfig hardware;
  MappingConfig mapping;
  SimulationConfig simulation;
  YAML::Node effective; // the config tree with overrides and defaults filled in
};

/// A loaded run: the config and the quantised graph it names.
struct Run {
  RunConfig config;
  graph::Graph graph;
};

/// Loads a run config file, applies overrides, loads the network and validates the mapping against
/// it. Throws LoadError listing every problem with file:line:col and key path.
Run loadRun(const std::string& path, const std::vector<std::string>& overrides = {});
Run loadRunString(const std::string& text, const std::string& name, const std::vector<std::string>& overrides = {},
                  const std::string& baseDir = "");

/// The built-in default example: ResNet-18 (4-bit weights and activations, 8-bit first and last
/// layer) on a ZCU102 at 200 MHz.
const char* defaultRunYaml();

/// Writes the effective config as YAML.
void writeEffectiveConfig(const RunConfig& cfg, const std::string& path);

} // namespace mpsim::config
