#pragma once
// Run configuration (docs/run-config.md): network, hardware, mapping, simulation. Parsed strictly
// from YAML (unknown keys are errors, every error located), with --set overrides applied first,
// into typed values (enums with one name table each, defaults declared once, units converted once).
// The effective config written next to every output is produced from the typed values.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "mpsim/common/EnumNames.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/hw/CostBands.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/hw/Device.hpp"
#include "mpsim/config/System.hpp"

namespace mpsim::config {

/// Ranges of run-config values that other components check too (docs/run-config.md lists every
/// key's range). Each is the range the model handles: outside it a result would overflow or mean
/// nothing.
inline constexpr int kMinFrames = 1, kMaxFrames = 100000; // 1 frame: a latency run (steady_state false)
inline constexpr int64_t kMaxSeed = int64_t(1) << 62;
inline constexpr double kMinClockMhz = 0.001, kMaxClockMhz = 2000;
inline constexpr double kMinDramGbps = 1e-6, kMaxDramGbps = 1e5; // per channel
inline constexpr double kMaxDramLatencyNs = 1e6;                 // 1 ms
inline constexpr int kMaxFifoDepth = 1 << 24;                    // tokens

/// Defaults of the run config, declared once (docs/run-config.md lists them). Device-dependent
/// defaults (clock, DRAM channels and bandwidth, I/O port width) come from the device database.
inline constexpr double kDefaultClockMhz = 200;  // when the device names none
inline constexpr double kDefaultDramGbps = 19.2; // per channel, when the device names none
inline constexpr double kDefaultDramLatencyNs = 100;
// Share of the DRAM's peak bandwidth a design plans to use (hardware.dram.max_utilization): the
// simulated DRAM delivers up to ~97 % of its peak, but engines waiting for weight passes stall
// the pipeline well before that (docs/cost-model.md, "DRAM bandwidth").
inline constexpr double kDefaultDramMaxUtilization = 0.9;
inline constexpr int kDefaultBurstBytes = 4096;
inline constexpr int kDefaultFifoDepth = 2; // tokens (one pixel, all channels), as FINN before FIFO sizing
inline constexpr int kDefaultFrames = 4;
inline constexpr int64_t kDefaultSeed = 1;

enum class MappingMode { Manual, Auto };
inline constexpr EnumName<MappingMode> kMappingModeNames[] = {{MappingMode::Manual, "manual"},
                                                              {MappingMode::Auto, "auto"}};
/// Goal of the scheduler in mapping mode auto.
enum class Goal { MaxFps, TargetFps };
inline constexpr EnumName<Goal> kGoalNames[] = {{Goal::MaxFps, "max_fps"}, {Goal::TargetFps, "target_fps"}};
/// Memory of on-chip weights (mapping.layers.<name>.ram_style); FINN's spellings are mapped on import.
enum class RamStyle { Auto, Lutram, Bram, Uram };
inline constexpr EnumName<RamStyle> kRamStyleNames[] = {
    {RamStyle::Auto, "auto"}, {RamStyle::Lutram, "lutram"}, {RamStyle::Bram, "bram"}, {RamStyle::Uram, "uram"}};
/// FINN's ram_style spellings (block, distributed, ultra, auto).
inline constexpr EnumName<RamStyle> kFinnRamStyleNames[] = {
    {RamStyle::Bram, "block"}, {RamStyle::Lutram, "distributed"}, {RamStyle::Uram, "ultra"}, {RamStyle::Auto, "auto"}};
enum class WeightPlacement { OnChip, Dram };
inline constexpr EnumName<WeightPlacement> kWeightPlacementNames[] = {{WeightPlacement::OnChip, "onchip"},
                                                                      {WeightPlacement::Dram, "dram"}};
/// How FIFO depths are chosen (mapping.fifos.sizing; `mapping.fifos: auto` is short for `sizing: auto`).
enum class FifoSizing { Fixed, Auto };
inline constexpr EnumName<FifoSizing> kFifoSizingNames[] = {{FifoSizing::Fixed, "fixed"}, {FifoSizing::Auto, "auto"}};
enum class SimMode { Timestamped, Reference };
inline constexpr EnumName<SimMode> kSimModeNames[] = {{SimMode::Timestamped, "timestamped"},
                                                      {SimMode::Reference, "reference"}};

inline const char* toString(MappingMode v) { return enumName(kMappingModeNames, v); }
inline const char* toString(Goal v) { return enumName(kGoalNames, v); }
inline const char* toString(RamStyle v) { return enumName(kRamStyleNames, v); }
inline const char* toString(WeightPlacement v) { return enumName(kWeightPlacementNames, v); }
inline const char* toString(SimMode v) { return enumName(kSimModeNames, v); }
inline const char* toString(FifoSizing v) { return enumName(kFifoSizingNames, v); }
/// mapping.segments (docs/segments.md): off: one design or an error; auto: one design when the
/// network fits, else segments the scheduler cuts; manual: the cuts given.
enum class SegmentMode { Off, Auto, Manual };
inline constexpr EnumName<SegmentMode> kSegmentModeNames[] = {
    {SegmentMode::Off, "off"}, {SegmentMode::Auto, "auto"}, {SegmentMode::Manual, "manual"}};
inline const char* toString(SegmentMode v) { return enumName(kSegmentModeNames, v); }
/// How the device switches between segments: auto keeps the fabric between consecutive segments of
/// identical hardware (only their weights are reloaded) and reconfigures elsewhere; reconfigure
/// reconfigures between every two.
enum class SegmentExecution { Auto, Reconfigure };
inline constexpr EnumName<SegmentExecution> kSegmentExecutionNames[] = {{SegmentExecution::Auto, "auto"},
                                                                         {SegmentExecution::Reconfigure, "reconfigure"}};
inline const char* toString(SegmentExecution v) { return enumName(kSegmentExecutionNames, v); }

struct NetworkConfig {
  std::string model; // zoo name or path, as given
  graph::QuantRules quant;
};

struct DramConfig {
  int channels = 1;
  double bandwidth_gbps = kDefaultDramGbps; // per channel
  double latency_ns = kDefaultDramLatencyNs;
  int burst_bytes = kDefaultBurstBytes;
  double max_utilization = kDefaultDramMaxUtilization;
};

struct IoConfig {
  int in_bits_per_cycle = 64;
  int out_bits_per_cycle = 64;
};

/// The hardware section's values in the units the model computes in, converted once when the run
/// is resolved (resolveUnits) so that the scheduler, the mapping and the simulator agree.
struct HardwareUnits {
  double clock_period_ns = 1000.0 / kDefaultClockMhz;
  double dram_bytes_per_cycle = 0;       // per channel
  double dram_total_bytes_per_cycle = 0; // all channels
  double dram_plan_bytes_per_cycle = 0;  // all channels, times dram.max_utilization: what designs plan with
  uint64_t dram_latency_cycles = 0;      // rounded to the nearest cycle
  hw::Resources budget;                  // absolute: device totals times the utilisation caps, floored
};

struct HardwareConfig {
  hw::Device device;
  std::string device_key;    // hardware.device as given (a database name or board); empty for an inline block
  hw::CostCoefficients cost; // hardware.cost_model overrides applied
  /// hardware.cost_model.intervals (a calibrated model's leave-one-out bands, `mpsim calibrate`):
  /// they replace the built-in error bands of their family and resource (hw::addInterval).
  std::vector<hw::BandOverride> cost_bands;
  /// The cost-model file hardware.cost_model included (a path, or `include:`), as resolved; empty if none.
  std::string cost_model_file;
  hw::Budget budget;         // hardware.budget (utilisation caps; defaults in hw::Budget)
  double clock_mhz = kDefaultClockMhz;
  DramConfig dram;
  IoConfig io;
  HardwareUnits units; // derived from the above by resolveUnits
};

struct LayerMapping {
  std::optional<int> pe, simd;
  std::optional<hw::PeKind> pe_kind;
  std::optional<RamStyle> ram_style; // on-chip weights
  std::optional<WeightPlacement> weights;
  std::optional<int> weight_reuse; // output pixels served per weight pass when weights stream from DRAM
  std::optional<graph::Requant> requant; // conv / fc: thresholds or scale_shift (the scheduler's choice where auto)
  /// SIMD of the layer's sliding-window unit when it differs from the MAC unit's (FINN's
  /// ConvolutionInputGenerator SIMD; FINN puts a data-width converter between the two).
  std::optional<int> swu_simd;
  std::string where;               // location for messages (file:line or the model's node)
};

struct FifoConfig {
  /// fixed: default_depth, the shortcut policy and depths; auto: every FIFO not in `depths` sized
  /// by simulation (flow/FifoSizing.hpp, docs/simulation.md "FIFO sizing").
  FifoSizing sizing = FifoSizing::Fixed;
  int default_depth = kDefaultFifoDepth;
  std::optional<int> shortcut_depth; // nullopt: sized automatically (see docs/simulation.md)
  std::map<std::string, int> depths; // per-FIFO overrides by FIFO name
};

/// Segments through DRAM (docs/segments.md): the network runs as segments one after another on the
/// same device, each a dataflow design of its own, reconfigured between them; the run's frames are
/// the batch each segment processes before the next.
struct SegmentsConfig {
  SegmentMode mode = SegmentMode::Off;
  std::vector<std::string> cuts;         // manual: a segment starts at each of these layers
  SegmentExecution execution = SegmentExecution::Auto;
  std::optional<double> reconfiguration_ms; // per reconfiguration; default: the device's (hw::Device)
  int max_segments = 64;                 // auto: the most segments the scheduler may cut
  std::string where;                     // "file:line" of mapping.segments, for errors
};

struct MappingConfig {
  MappingMode mode = MappingMode::Manual;
  Goal goal = Goal::MaxFps; // mode auto
  double target_fps = 0;    // mode auto with goal target_fps
  std::vector<hw::PeKind> pe_kinds = {hw::PeKind::Lut, hw::PeKind::Dsp,
                                      hw::PeKind::BitSerial}; // kinds the scheduler may use
  std::map<std::string, LayerMapping> layers;                 // as given (FINN folding and model hints merged in)
  FifoConfig fifos;
  SegmentsConfig segments;
  std::vector<std::string> finn_folding_notes; // what mapping.finn_folding applied (for the log)
};

struct SimulationConfig {
  int frames = kDefaultFrames;
  SimMode mode = SimMode::Timestamped;
  bool functional = false;
  int64_t seed = kDefaultSeed; // functional mode: seed of generated weights, thresholds and inputs
  /// Advance whole frames once the pipeline repeats itself (docs/simulation.md, same results).
  bool fast_forward = true;
};

/// A resolved run configuration: typed values only, defaults applied, units converted.
struct RunConfig {
  std::string file; // where the config came from
  NetworkConfig network;
  HardwareConfig hardware;
  MappingConfig mapping;
  SimulationConfig simulation;
  /// input: frame arrivals and the input buffer (docs/system.md); nullopt: frames back to back.
  std::optional<InputConfig> input;
  /// host: batch, driver, copies and the shell's port (docs/system.md); nullopt: no host model.
  std::optional<HostConfig> host;
  /// background: other masters on the shared DRAM (docs/system.md); empty: none.
  std::vector<MasterConfig> background;
};

/// Converts the hardware section into HardwareUnits (called by the loader; call it again after
/// changing clock, DRAM, device or budget programmatically).
void resolveUnits(HardwareConfig& hw);

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

/// The effective config: every key of the run config with its value, defaults included, as YAML
/// that loads back to the same run (the one home of this conversion).
YAML::Node effectiveConfig(const RunConfig& cfg);
/// Writes effectiveConfig(cfg) atomically, with a header line naming the source.
void writeEffectiveConfig(const RunConfig& cfg, const std::string& path);

} // namespace mpsim::config
