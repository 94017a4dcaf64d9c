#include "mpsim/config/RunConfig.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/config/FinnFolding.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/Overrides.hpp"
#include "mpsim/io/YamlReader.hpp"

namespace mpsim::config {
using io::inRangeInt;
using io::oneOf;
using io::between;
using io::Reader;

const char* defaultRunYaml() {
  return R"(# Built-in default example: ResNet-18 on a ZCU102 at 200 MHz.
network:
  model: resnet18
  quant:
    weights: 4
    activations: 4
    input_bits: 8
    first_layer: {weights: 8}
    last_layer: {weights: 8}
hardware:
  device: zcu102
  clock_mhz: 200
mapping:
  mode: auto
  goal: max_fps
simulation:
  frames: 6
)";
}

namespace {


hw::Device readDevice(Reader& hwr, std::string& key) {
  hw::Device dev;
  if (!hwr.has("device")) {
    hwr.errorHere("missing required key 'hardware.device' (a device name: " + hw::deviceChoices() +
                  ", or an inline block {name, lut, ff, dsp, bram18, uram, dsp_kind})");
    hwr.accept("device");
    return dev;
  }
  YAML::Node n = hwr.raw("device");
  if (n.IsScalar()) {
    auto name = hwr.req<std::string>("device");
    key = name;
    if (auto d = hw::findDevice(name)) return *d;
    hwr.error("device", "unknown device '" + name + "'; valid: " + hw::deviceChoices() +
                            ", or an inline block {name, lut, ff, dsp, bram18, uram, dsp_kind}");
    return dev;
  }
  Reader d = hwr.child("device");
  dev.name = d.req<std::string>("name");
  dev.lut = d.req<int64_t>("lut", io::inRange(1, int64_t(1) << 40));
  dev.ff = d.req<int64_t>("ff", io::inRange(1, int64_t(1) << 40));
  dev.dsp = d.get<int64_t>("dsp", 0, io::inRange(0, int64_t(1) << 32));
  auto b18 = d.opt<int64_t>("bram18", io::inRange(0, int64_t(1) << 32));
  auto b36 = d.opt<int64_t>("bram36", io::inRange(0, int64_t(1) << 32));
  if (b18 && b36) d.error("bram36", "give either bram18 or bram36, not both");
  dev.bram18 = b18 ? *b18 : (b36 ? 2 * *b36 : 0);
  dev.uram = d.get<int64_t>("uram", 0, io::inRange(0, int64_t(1) << 32));
  dev.dsp_kind = d.getEnum("dsp_kind", hw::DspKind::DSP48E2, hw::kDspKindNames);
  dev.dram_channels = d.get<int>("dram_channels", 1, inRangeInt(1, 64));
  dev.dram_gbps_per_channel =
      d.get<double>("dram_gbps_per_channel", kDefaultDramGbps, between(kMinDramGbps, kMaxDramGbps, "GB/s"));
  dev.clock_mhz = d.get<double>("clock_mhz", kDefaultClockMhz, between(kMinClockMhz, kMaxClockMhz, "MHz"));
  dev.io_port_bits = d.get<int>("io_port_bits", 128, inRangeInt(1, 1 << 16));
  dev.source = "inline device block";
  d.finish();
  return dev;
}

// hardware.cost_model: any coefficient of hw::CostCoefficients by name (the key table is shared
// by the reader and effectiveConfig).
template <class C> struct CostFields {
  std::vector<std::pair<const char*, std::conditional_t<std::is_const_v<C>, const double*, double*>>> doubles;
  std::vector<std::pair<const char*, std::conditional_t<std::is_const_v<C>, const int64_t*, int64_t*>>> ints;
};
template <class C> CostFields<C> costFields(C& c) {
  CostFields<C> f;
  // The linear coefficients (hw::linearCoefficients, fitted by the validation bench), then the rest.
  // The DMA ones are listed with the other engines' (their place in the effective config).
  for (const auto& k : hw::linearCoefficients())
    if (std::string(k.family) != "dma") f.doubles.emplace_back(k.name, &(c.*k.field));
  f.doubles.insert(f.doubles.end(), {{"mvu_lut_scale", &c.mvu_lut_scale},
                                     {"mvu_ff_scale", &c.mvu_ff_scale},
                                     {"lutram_bits_per_lut", &c.lutram_bits_per_lut},
                                     {"bitserial_lut_per_bit", &c.bitserial_lut_per_bit},
                                     {"engine_lut_base", &c.engine_lut_base},
                                     {"engine_lut_per_bit", &c.engine_lut_per_bit},
                                     {"dma_lut", &c.dma_lut},
                                     {"dma_lut_per_bit", &c.dma_lut_per_bit},
                                     {"dma_ff", &c.dma_ff},
                                     {"dma_ff_per_bit", &c.dma_ff_per_bit},
                                     {"dma_bram18", &c.dma_bram18},
                                     {"scale_shift_dsp_per_pe", &c.scale_shift_dsp_per_pe}});
  f.ints = {{"lutram_max_depth", &c.lutram_max_depth},
            {"srl_max_depth", &c.srl_max_depth},
            {"weight_lutram_max_bits", &c.weight_lutram_max_bits},
            {"linebuffer_lutram_max_bits", &c.linebuffer_lutram_max_bits},
            {"threshold_bram_min_depth", &c.threshold_bram_min_depth},
            {"threshold_bram_min_width", &c.threshold_bram_min_width}};
  return f;
}

const std::vector<std::string>& intervalFamilies() {
  static const std::vector<std::string> f = {"mvau", "swu", "pool", "thresholding", "labelselect", "fifo", "dwc"};
  return f;
}

// intervals: {<family>: {<resource>: {p10, p90, nodes}}} (a calibrated model's bands, docs/cost-model.md).
void readIntervals(Reader r, std::vector<hw::BandOverride>& bands) {
  const auto& fams = intervalFamilies();
  for (const auto& fam : r.keys()) {
    if (std::find(fams.begin(), fams.end(), fam) == fams.end()) {
      std::string valid;
      for (const auto& f : fams) valid += (valid.empty() ? "" : ", ") + f;
      r.error(fam, "unknown engine family '" + fam + "'; valid: " + valid);
      r.accept(fam);
      continue;
    }
    Reader f = r.child(fam);
    for (const char* res : {"lut", "ff", "bram18"}) {
      if (!f.has(res)) {
        f.accept(res);
        continue;
      }
      Reader b = f.child(res);
      const double p10 = b.req<double>("p10", between(-0.99, 100, "(relative error)"));
      const double p90 = b.req<double>("p90", between(-0.99, 100, "(relative error)"));
      const int nodes = b.get<int>("nodes", 0, inRangeInt(0, 1 << 30));
      if (p10 > p90) b.error("p10", "p10 (" + io::formatNumber(p10) + ") exceeds p90 (" + io::formatNumber(p90) + ")");
      b.finish();
      hw::BandOverride o{fam, res, p10, p90, nodes};
      bool replaced = false;
      for (auto& x : bands)
        if (x.family == fam && x.resource == res) {
          x = o;
          replaced = true;
        }
      if (!replaced) bands.push_back(o);
    }
    f.finish();
  }
  r.finish();
}

// The coefficients and intervals of one cost_model mapping (inline, or an included file's root).
void readCostFields(Reader& r, hw::CostCoefficients& c, std::vector<hw::BandOverride>& bands) {
  const auto f = costFields(c);
  // The keys given (usually none): the others take their defaults without a search each.
  const std::vector<std::string> keys = r.keys();
  const std::set<std::string> given(keys.begin(), keys.end());
  for (const auto& [key, v] : f.doubles)
    *v = given.count(key) ? r.get<double>(key, *v,
                                          v == &c.lutram_bits_per_lut ? between(1, 1e6, "bits per LUT") : between(0, 1e9, ""))
                          : r.absent<double>(key, *v);
  for (const auto& [key, v] : f.ints)
    *v = given.count(key) ? r.get<int64_t>(key, *v, io::inRange(0, int64_t(1) << 40)) : r.absent<int64_t>(key, *v);
  c.mvu_input_buffer = r.getEnum("mvu_input_buffer", c.mvu_input_buffer, hw::kInputBufferNames);
  if (r.has("intervals"))
    readIntervals(r.child("intervals"), bands);
  else
    r.accept("intervals");
  r.finish();
}

// A cost-model file (hardware.cost_model: path, or cost_model.include: path): read with the same
// keys as the inline mapping; unknown keys are errors located in that file.
void includeCostModel(Reader& at, const std::string& key, const std::string& given, const std::string& baseDir,
                      HardwareConfig& h) {
  namespace fs = std::filesystem;
  std::vector<fs::path> tried;
  fs::path p(given);
  if (p.is_relative() && !baseDir.empty()) tried.push_back(fs::path(baseDir) / p);
  tried.push_back(p);
  fs::path found;
  for (const auto& t : tried) {
    std::error_code ec;
    if (fs::exists(t, ec)) {
      found = t;
      break;
    }
  }
  if (given.empty() || found.empty()) {
    std::string looked;
    for (const auto& t : tried) looked += (looked.empty() ? "" : ", ") + t.string();
    at.error(key, "cost-model file '" + given + "' not found (looked for " + looked +
                      "); give a file written by `mpsim calibrate --out`, or a mapping of coefficients");
    return;
  }
  auto doc = io::YamlDoc::loadFile(found.string());
  if (!doc->root.IsMap() && !doc->root.IsNull())
    throw LoadError(found.string() + ": a cost-model file must be a mapping of coefficients (and intervals), as "
                                     "`mpsim calibrate --out` writes it");
  if (doc->root.IsNull()) doc->root = YAML::Node(YAML::NodeType::Map);
  Reader r(doc);
  readCostFields(r, h.cost, h.cost_bands);
  doc->diag.throwIfAny();
  h.cost_model_file = found.string();
}

// hardware.cost_model: a mapping of coefficients (optionally `include: file` first, its own keys on
// top), or the path of a cost-model file.
void readCostModel(Reader& hwr, HardwareConfig& h, const std::string& baseDir) {
  if (hwr.has("cost_model") && hwr.raw("cost_model").IsScalar()) {
    hwr.accept("cost_model");
    includeCostModel(hwr, "cost_model", hwr.raw("cost_model").Scalar(), baseDir, h);
    return;
  }
  Reader r = hwr.child("cost_model");
  if (r.has("include")) {
    if (auto inc = r.opt<std::string>("include")) includeCostModel(r, "include", *inc, baseDir, h);
  } else {
    r.accept("include");
  }
  readCostFields(r, h.cost, h.cost_bands);
}


} // namespace

void resolveUnits(HardwareConfig& h) {
  HardwareUnits& u = h.units;
  u.clock_period_ns = 1000.0 / h.clock_mhz;
  u.dram_bytes_per_cycle = h.dram.bandwidth_gbps * 1e3 / h.clock_mhz;
  u.dram_total_bytes_per_cycle = double(h.dram.channels) * h.dram.bandwidth_gbps * 1e3 / h.clock_mhz;
  u.dram_plan_bytes_per_cycle = u.dram_total_bytes_per_cycle * h.dram.max_utilization;
  u.dram_latency_cycles = uint64_t(std::llround(h.dram.latency_ns * h.clock_mhz / 1e3));
  const hw::Device& d = h.device;
  const hw::Budget& b = h.budget;
  u.budget = hw::Resources{std::floor(d.lut * b.lut), std::floor(d.ff * b.ff), std::floor(d.dsp * b.dsp),
                           std::floor(d.bram18 * b.bram), std::floor(d.uram * b.uram)};
}

YAML::Node effectiveConfig(const RunConfig& cfg) {
  YAML::Node root;
  YAML::Node net = root["network"];
  net["model"] = cfg.network.model;
  net["quant"] = io::quantRulesYaml(cfg.network.quant);

  const HardwareConfig& h = cfg.hardware;
  YAML::Node hwn = root["hardware"];
  if (!h.device_key.empty()) {
    hwn["device"] = h.device_key;
  } else {
    const hw::Device& d = h.device;
    YAML::Node dn = hwn["device"];
    dn["name"] = d.name;
    dn["lut"] = d.lut;
    dn["ff"] = d.ff;
    dn["dsp"] = d.dsp;
    dn["bram18"] = d.bram18;
    dn["uram"] = d.uram;
    dn["dsp_kind"] = toString(d.dsp_kind);
    dn["dram_channels"] = d.dram_channels;
    dn["dram_gbps_per_channel"] = io::numberNode(d.dram_gbps_per_channel);
    dn["clock_mhz"] = io::numberNode(d.clock_mhz);
    dn["io_port_bits"] = d.io_port_bits;
  }
  hwn["clock_mhz"] = io::numberNode(h.clock_mhz);
  YAML::Node dram = hwn["dram"];
  dram["channels"] = h.dram.channels;
  dram["bandwidth_gbps"] = io::numberNode(h.dram.bandwidth_gbps);
  dram["latency_ns"] = io::numberNode(h.dram.latency_ns);
  dram["burst_bytes"] = h.dram.burst_bytes;
  dram["max_utilization"] = io::numberNode(h.dram.max_utilization);
  YAML::Node io = hwn["io"];
  io["in_bits_per_cycle"] = h.io.in_bits_per_cycle;
  io["out_bits_per_cycle"] = h.io.out_bits_per_cycle;
  YAML::Node cost = hwn["cost_model"];
  const auto f = costFields(h.cost);
  for (const auto& [key, v] : f.doubles) cost[key] = io::numberNode(*v);
  for (const auto& [key, v] : f.ints) cost[key] = *v;
  cost["mvu_input_buffer"] = hw::toString(h.cost.mvu_input_buffer);
  if (!h.cost_bands.empty()) {
    YAML::Node iv = cost["intervals"];
    for (const auto& b : h.cost_bands) {
      YAML::Node n = iv[b.family][b.resource];
      n["p10"] = io::numberNode(b.p10);
      n["p90"] = io::numberNode(b.p90);
      n["nodes"] = b.nodes;
      n.SetStyle(YAML::EmitterStyle::Flow);
    }
  }
  YAML::Node bud = hwn["budget"];
  bud["lut"] = io::numberNode(h.budget.lut);
  bud["ff"] = io::numberNode(h.budget.ff);
  bud["dsp"] = io::numberNode(h.budget.dsp);
  bud["bram"] = io::numberNode(h.budget.bram);
  bud["uram"] = io::numberNode(h.budget.uram);

  const MappingConfig& m = cfg.mapping;
  YAML::Node map = root["mapping"];
  map["mode"] = toString(m.mode);
  map["goal"] = toString(m.goal);
  if (m.target_fps > 0) map["target_fps"] = io::numberNode(m.target_fps);
  YAML::Node kinds(YAML::NodeType::Sequence);
  for (hw::PeKind k : m.pe_kinds) kinds.push_back(toString(k));
  kinds.SetStyle(YAML::EmitterStyle::Flow);
  map["pe_kinds"] = kinds;
  YAML::Node layers(YAML::NodeType::Map);
  for (const auto& [name, lm] : m.layers) {
    YAML::Node n(YAML::NodeType::Map);
    if (lm.pe) n["pe"] = *lm.pe;
    if (lm.simd) n["simd"] = *lm.simd;
    if (lm.pe_kind) n["pe_kind"] = toString(*lm.pe_kind);
    if (lm.ram_style) n["ram_style"] = toString(*lm.ram_style);
    if (lm.weights) n["weights"] = toString(*lm.weights);
    if (lm.weight_reuse) n["weight_reuse"] = *lm.weight_reuse;
    if (lm.requant) n["requant"] = graph::toString(*lm.requant);
    if (lm.swu_simd) n["swu_simd"] = *lm.swu_simd;
    n.SetStyle(YAML::EmitterStyle::Flow);
    layers[name] = n;
  }
  map["layers"] = layers;
  YAML::Node fifos = map["fifos"];
  fifos["sizing"] = toString(m.fifos.sizing);
  fifos["default_depth"] = m.fifos.default_depth;
  if (m.fifos.shortcut_depth)
    fifos["shortcut_depth"] = *m.fifos.shortcut_depth;
  else
    fifos["shortcut_depth"] = "auto";
  YAML::Node depths(YAML::NodeType::Map);
  for (const auto& [name, d] : m.fifos.depths) depths[name] = d;
  fifos["depths"] = depths;
  // Only when on: a config that does not segment keeps the identity it had before the key existed.
  if (m.segments.mode != SegmentMode::Off) {
    YAML::Node seg = map["segments"];
    seg["mode"] = toString(m.segments.mode);
    YAML::Node cuts(YAML::NodeType::Sequence);
    for (const auto& c : m.segments.cuts) cuts.push_back(c);
    cuts.SetStyle(YAML::EmitterStyle::Flow);
    seg["cuts"] = cuts;
    seg["execution"] = toString(m.segments.execution);
    if (m.segments.reconfiguration_ms) seg["reconfiguration_ms"] = io::numberNode(*m.segments.reconfiguration_ms);
    seg["max_segments"] = m.segments.max_segments;
  }

  YAML::Node sim = root["simulation"];
  sim["frames"] = cfg.simulation.frames;
  sim["mode"] = toString(cfg.simulation.mode);
  sim["functional"] = cfg.simulation.functional;
  sim["seed"] = cfg.simulation.seed;
  // Only when off: fast-forward does not change results, and a config that does not mention it
  // keeps the identity (sweep point hash) it had before the key existed.
  if (!cfg.simulation.fast_forward) sim["fast_forward"] = false;
  if (cfg.input) root["input"] = inputYaml(*cfg.input);
  if (cfg.host) root["host"] = hostYaml(*cfg.host);
  if (!cfg.background.empty()) root["background"] = backgroundYaml(cfg.background);
  for (YAML::Node n : {net["quant"], map["layers"], fifos["depths"]})
    if (n.size() == 0) n.SetStyle(YAML::EmitterStyle::Flow); // "{}" on the key's line
  return root;
}

namespace {

RunConfig parse(std::shared_ptr<io::YamlDoc> doc, const std::string& baseDir, graph::Graph& graphOut) {
  RunConfig cfg;
  cfg.file = doc->file;
  Reader root(doc);
  // A network YAML given where a run config belongs: say so instead of listing unknown keys.
  if (!root.has("network") && root.has("layers") && root.has("input"))
    throw LoadError(doc->file +
                    ": this is a network description (input, layers), not a run config; run it with "
                    "`mpsim run --set network.model=" +
                    doc->file + "` or name it as network.model in a run config");

  // network
  Reader net = root.child("network");
  cfg.network.model = net.req<std::string>("model");
  const std::string modelWhere = net.where("model") + ": " + net.keyPath("model");
  cfg.network.quant = io::readQuantRules(net.child("quant"));
  net.finish();

  // hardware
  Reader hwr = root.child("hardware");
  cfg.hardware.device = readDevice(hwr, cfg.hardware.device_key);
  const hw::Device& dev = cfg.hardware.device;
  cfg.hardware.clock_mhz = hwr.get<double>("clock_mhz", dev.clock_mhz > 0 ? dev.clock_mhz : kDefaultClockMhz,
                                           between(kMinClockMhz, kMaxClockMhz, "MHz"));
  Reader dram = hwr.child("dram");
  cfg.hardware.dram.channels = dram.get<int>("channels", dev.dram_channels, inRangeInt(1, 64));
  cfg.hardware.dram.bandwidth_gbps =
      dram.get<double>("bandwidth_gbps", dev.dram_gbps_per_channel > 0 ? dev.dram_gbps_per_channel : kDefaultDramGbps,
                       between(kMinDramGbps, kMaxDramGbps, "GB/s"));
  cfg.hardware.dram.latency_ns =
      dram.get<double>("latency_ns", kDefaultDramLatencyNs, between(0, kMaxDramLatencyNs, "ns"));
  cfg.hardware.dram.burst_bytes = dram.get<int>("burst_bytes", kDefaultBurstBytes, inRangeInt(16, 1 << 24));
  cfg.hardware.dram.max_utilization =
      dram.get<double>("max_utilization", kDefaultDramMaxUtilization, between(0.01, 1, "(share of the peak)"));
  dram.finish();
  Reader ior = hwr.child("io");
  cfg.hardware.io.in_bits_per_cycle = ior.get<int>("in_bits_per_cycle", dev.io_port_bits, inRangeInt(1, 1 << 16));
  cfg.hardware.io.out_bits_per_cycle = ior.get<int>("out_bits_per_cycle", dev.io_port_bits, inRangeInt(1, 1 << 16));
  ior.finish();
  readCostModel(hwr, cfg.hardware, baseDir);
  Reader bud = hwr.child("budget");
  auto frac = [](const double& v) {
    return (v > 0 && v <= 1) ? std::string() : "fraction " + io::formatNumber(v) + " must be in (0, 1]";
  };
  const hw::Budget defBudget;
  cfg.hardware.budget.lut = bud.get<double>("lut", defBudget.lut, frac);
  cfg.hardware.budget.ff = bud.get<double>("ff", defBudget.ff, frac);
  cfg.hardware.budget.dsp = bud.get<double>("dsp", defBudget.dsp, frac);
  cfg.hardware.budget.bram = bud.get<double>("bram", defBudget.bram, frac);
  cfg.hardware.budget.uram = bud.get<double>("uram", defBudget.uram, frac);
  bud.finish();
  hwr.finish();
  resolveUnits(cfg.hardware);

  // mapping
  Reader map = root.child("mapping");
  cfg.mapping.mode = map.getEnum("mode", MappingMode::Manual, kMappingModeNames);
  cfg.mapping.goal = map.getEnum("goal", Goal::MaxFps, kGoalNames);
  if (auto t = map.opt<double>("target_fps", io::positive()))
    cfg.mapping.target_fps = *t;
  else if (cfg.mapping.mode == MappingMode::Auto && cfg.mapping.goal == Goal::TargetFps)
    map.error("goal", "goal target_fps needs mapping.target_fps (frames per second)");
  if (auto k = map.optEnumList("pe_kinds", hw::kPeKindNames)) {
    if (k->empty())
      map.error("pe_kinds", "the list is empty; valid entries: " + enumChoices(hw::kPeKindNames));
    else
      cfg.mapping.pe_kinds = *k;
  }
  std::optional<std::string> finnFolding = map.opt<std::string>("finn_folding");
  std::string finnWhere = map.where("finn_folding");
  Reader layers = map.child("layers");
  for (const auto& name : layers.keys()) {
    Reader l = layers.child(name);
    LayerMapping m;
    m.where = layers.where(name);
    m.pe = l.opt<int>("pe", inRangeInt(1, 1 << 20));
    m.simd = l.opt<int>("simd", inRangeInt(1, 1 << 20));
    m.pe_kind = l.optEnum("pe_kind", hw::kPeKindNames);
    m.ram_style = l.optEnum("ram_style", kRamStyleNames);
    m.weights = l.optEnum("weights", kWeightPlacementNames);
    m.weight_reuse = l.opt<int>("weight_reuse", inRangeInt(1, 1 << 24));
    if (auto rq = l.opt<std::string>("requant", oneOf({"thresholds", "scale_shift"}))) m.requant = graph::parseRequant(*rq);
    m.swu_simd = l.opt<int>("swu_simd", inRangeInt(1, 1 << 20));
    l.finish();
    cfg.mapping.layers[name] = m;
  }
  // `fifos: auto` is short for `fifos: {sizing: auto}`.
  if (map.has("fifos") && map.raw("fifos").IsScalar()) {
    map.accept("fifos");
    if (map.raw("fifos").Scalar() == "auto")
      cfg.mapping.fifos.sizing = FifoSizing::Auto;
    else
      map.error("fifos", "expected 'auto' or a mapping (keys sizing, default_depth, shortcut_depth, depths), got '" +
                             map.raw("fifos").Scalar() + "'");
  } else {
    Reader fifos = map.child("fifos");
    cfg.mapping.fifos.sizing = fifos.getEnum("sizing", FifoSizing::Fixed, kFifoSizingNames);
    cfg.mapping.fifos.default_depth = fifos.get<int>("default_depth", kDefaultFifoDepth, inRangeInt(1, kMaxFifoDepth));
    if (fifos.has("shortcut_depth") && fifos.raw("shortcut_depth").IsScalar() &&
        fifos.raw("shortcut_depth").Scalar() == "auto") {
      fifos.accept("shortcut_depth");
    } else {
      cfg.mapping.fifos.shortcut_depth = fifos.opt<int>("shortcut_depth", inRangeInt(1, kMaxFifoDepth));
    }
    Reader depths = fifos.child("depths");
    for (const auto& name : depths.keys()) {
      if (auto d = depths.opt<int>(name, inRangeInt(1, kMaxFifoDepth))) cfg.mapping.fifos.depths[name] = *d;
    }
    depths.finish();
    fifos.finish();
  }
  // `segments: auto` (or off, manual) is short for `segments: {mode: ...}`.
  SegmentsConfig& seg = cfg.mapping.segments;
  seg.where = map.where("segments");
  if (map.has("segments") && map.raw("segments").IsScalar()) {
    seg.mode = map.getEnum("segments", SegmentMode::Off, kSegmentModeNames);
    if (seg.mode == SegmentMode::Manual) map.error("segments", "manual segments need a mapping with `cuts` (layer names)");
  } else {
    Reader sr = map.child("segments");
    seg.mode = sr.getEnum("mode", SegmentMode::Off, kSegmentModeNames);
    if (auto c = sr.optList<std::string>("cuts")) seg.cuts = *c;
    seg.execution = sr.getEnum("execution", SegmentExecution::Auto, kSegmentExecutionNames);
    seg.reconfiguration_ms = sr.opt<double>("reconfiguration_ms", io::nonNegative());
    seg.max_segments = sr.get<int>("max_segments", 64, inRangeInt(1, 4096));
    if (seg.mode == SegmentMode::Manual && seg.cuts.empty())
      sr.error("cuts", "manual segments need at least one cut (the layer each later segment starts at)");
    if (seg.mode != SegmentMode::Manual && !seg.cuts.empty())
      sr.error("cuts", std::string("cuts are for mode manual; mode ") + toString(seg.mode) + " chooses its own");
    sr.finish();
  }
  map.finish();

  // simulation
  Reader sim = root.child("simulation");
  cfg.simulation.frames = sim.get<int>("frames", kDefaultFrames, inRangeInt(kMinFrames, kMaxFrames));
  cfg.simulation.mode = sim.getEnum("mode", SimMode::Timestamped, kSimModeNames);
  cfg.simulation.functional = sim.get<bool>("functional", false);
  cfg.simulation.seed = sim.get<int64_t>("seed", kDefaultSeed, io::inRange(0, kMaxSeed));
  cfg.simulation.fast_forward = sim.get<bool>("fast_forward", true);
  sim.finish();
  // The system around the accelerator (docs/system.md): optional sections.
  if (root.has("input")) {
    Reader in = root.child("input");
    cfg.input = readInput(in, baseDir, cfg.simulation.frames);
  } else {
    root.accept("input");
  }
  if (root.has("host")) {
    Reader h = root.child("host");
    cfg.host = readHost(h, cfg.hardware.device, cfg.simulation.frames);
  } else {
    root.accept("host");
  }
  if (root.has("background"))
    cfg.background = readBackground(root, baseDir, cfg.hardware.clock_mhz);
  else
    root.accept("background");
  if (cfg.input && cfg.host)
    root.error("host", "input.arrivals and host cannot be combined (yet): a host runs batches back to back, "
                       "arrivals pace single frames; give one of them");
  if ((cfg.input || cfg.host || !cfg.background.empty()) && cfg.simulation.functional)
    root.error(cfg.input ? "input" : (cfg.host ? "host" : "background"),
               "input, host and background are timing models; a functional run takes none of them");
  root.finish();
  doc->diag.throwIfAny();

  // The network, with its quantisation rules, and mapping names checked against it.
  io::ModelLoad model = io::loadModelFull(cfg.network.model, baseDir, modelWhere);
  graphOut = std::move(model.graph);
  {
    // Widths of layers whose integer parameters come with the model (ONNX initialisers, .npy files)
    // should not change: say so when network.quant does (timing runs go on; functional runs will
    // reject the parameters).
    std::map<std::string, std::pair<int, graph::ActType>> given;
    for (const auto& l : graphOut.layers())
      if (l.weight_values || l.threshold_values || !l.weights_file.empty() || !l.thresholds_file.empty())
        given[l.name] = {l.maxWeightBits(), l.out};
    graph::applyQuantRules(graphOut, cfg.network.quant);
    std::vector<std::string> changed;
    for (const auto& [name, before] : given) {
      const auto& l = graphOut.at(name);
      if (l.maxWeightBits() != before.first || l.out != before.second)
        changed.push_back("'" + name + "' (weights " + std::to_string(before.first) + " -> " +
                          std::to_string(l.maxWeightBits()) + " bits, output " + before.second.str() + " -> " +
                          l.out.str() + ")");
    }
    if (!changed.empty())
      spdlog::warn("{}: network.quant changes {} layer(s) whose parameters come with the model, e.g. {}; functional "
                   "runs will reject those parameters ({})",
                   cfg.file, changed.size(), changed.front(),
                   doc->file == "<built-in default example>"
                       ? "the built-in default example's quant rules apply; give a run config without network.quant"
                       : "remove network.quant to keep the model's widths");
  }
  // PE/SIMD/ram_style of FINN-ONNX hardware nodes: the mapping of the build the file came from;
  // entries of mapping.layers (and a finn_folding file) refine it.
  for (const auto& h : model.mapping) {
    LayerMapping& m = cfg.mapping.layers[h.layer];
    if (!m.pe) m.pe = h.pe;
    if (!m.simd) m.simd = h.simd;
    if (m.where.empty()) m.where = cfg.network.model + ": node of layer " + h.layer;
    if (!m.ram_style && h.ram_style) {
      m.ram_style = parseEnum(kFinnRamStyleNames, *h.ram_style); // FINN's names
      if (!m.ram_style)
        doc->diag.error(m.where + ": ram_style '" + *h.ram_style + "' is not one of " +
                        enumChoices(kFinnRamStyleNames));
    }
  }
  for (const auto& n : model.notes) cfg.mapping.finn_folding_notes.push_back(n);
  if (finnFolding) {
    // FINN's folding first; entries of mapping.layers refine it field by field.
    std::filesystem::path fp(*finnFolding);
    if (fp.is_relative() && !baseDir.empty() && std::filesystem::exists(std::filesystem::path(baseDir) / fp))
      fp = std::filesystem::path(baseDir) / fp;
    FinnFoldingResult ff;
    try {
      ff = readFinnFolding(fp.string(), graphOut);
    } catch (const LoadError& e) {
      std::vector<std::string> msgs;
      for (const auto& m : e.messages()) msgs.push_back(finnWhere + ": mapping.finn_folding: " + m);
      throw LoadError(msgs);
    }
    for (auto& [name, m] : ff.layers) {
      auto it = cfg.mapping.layers.find(name);
      if (it != cfg.mapping.layers.end()) {
        const LayerMapping& u = it->second;
        if (u.pe) m.pe = u.pe;
        if (u.simd) m.simd = u.simd;
        if (u.pe_kind) m.pe_kind = u.pe_kind;
        if (u.ram_style) m.ram_style = u.ram_style;
        m.weights = u.weights;
        m.weight_reuse = u.weight_reuse;
        m.requant = u.requant;
        if (u.swu_simd) m.swu_simd = u.swu_simd;
        m.where = u.where;
      }
      cfg.mapping.layers[name] = m;
    }
    cfg.mapping.finn_folding_notes = ff.notes;
    cfg.mapping.finn_folding_notes.push_back(
        std::to_string(ff.skipped) + " entries without a counterpart in mpsim (SWU, thresholds, FIFOs, ...) skipped");
  }
  for (const auto& [name, m] : cfg.mapping.layers) {
    const graph::Layer* l = graphOut.find(name);
    if (!l)
      doc->diag.error(m.where + ": mapping.layers." + name + ": no layer named '" + name + "' in " + graphOut.name());
    else if (m.weights && *m.weights == WeightPlacement::Dram && !l->isWeighted())
      doc->diag.error(m.where + ": mapping.layers." + name + ".weights: layer '" + name + "' has no weights");
    else if (m.requant && (!l->isWeighted() || l->requant == graph::Requant::None))
      doc->diag.error(m.where + ": mapping.layers." + name + ".requant: layer '" + name + "' (" +
                      graph::toString(l->kind) + ") has no requantiser to choose; requant applies to conv and fc "
                      "layers with requant thresholds, scale_shift or auto");
    else if (m.requant && *m.requant == graph::Requant::ScaleShift && l->out.bipolar)
      doc->diag.error(m.where + ": mapping.layers." + name + ".requant: layer '" + name +
                      "' has bipolar outputs, which need requant: thresholds");
    else if (m.requant && *m.requant != l->requant && (l->threshold_values || !l->thresholds_file.empty()))
      doc->diag.error(m.where + ": mapping.layers." + name + ".requant: layer '" + name +
                      "' brings its thresholds with the model; they would no longer apply");
    else if (m.swu_simd && !l->isWeighted())
      doc->diag.error(m.where + ": mapping.layers." + name + ".swu_simd: layer '" + name +
                      "' has no sliding-window unit (only conv layers do)");
  }
  doc->diag.throwIfAny();
  return cfg;
}

Run loadDoc(std::shared_ptr<io::YamlDoc> doc, const std::vector<std::string>& overrides, const std::string& baseDir) {
  io::applyOverrides(doc->root, overrides);
  Run run;
  run.config = parse(doc, baseDir, run.graph);
  return run;
}

} // namespace

Run loadRun(const std::string& path, const std::vector<std::string>& overrides) {
  auto doc = io::YamlDoc::loadFile(path);
  return loadDoc(doc, overrides, std::filesystem::path(path).parent_path().string());
}

Run loadRunString(const std::string& text, const std::string& name, const std::vector<std::string>& overrides,
                  const std::string& baseDir) {
  return loadDoc(io::YamlDoc::loadString(text, name), overrides, baseDir);
}

void writeEffectiveConfig(const RunConfig& cfg, const std::string& path) {
  writeFileAtomic(path, "# Effective configuration of this run (source: " + cfg.file +
                            ", with --set overrides, defaults and the chosen mapping)\n" +
                            YAML::Dump(effectiveConfig(cfg)) + "\n");
}

} // namespace mpsim::config
