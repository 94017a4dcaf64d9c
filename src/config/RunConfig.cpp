#include "mpsim/config/RunConfig.hpp"

#include <filesystem>
#include <fstream>
#include <map>

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

/// A number in [lo, hi] (unit for the message).
io::Check<double> between(double lo, double hi, const std::string& unit) {
  return [lo, hi, unit](const double& v) {
    return (v >= lo && v <= hi) ? std::string()
                                : "value " + io::formatNumber(v) + (unit.empty() ? "" : " " + unit) + " is outside " +
                                      io::formatNumber(lo) + ".." + io::formatNumber(hi);
  };
}

hw::Device readDevice(Reader& hwr) {
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
  std::string kind = d.get<std::string>("dsp_kind", "DSP48E2", oneOf({"DSP48E1", "DSP48E2", "DSP58"}));
  dev.dsp_kind = hw::parseDspKind(kind).value_or(hw::DspKind::DSP48E2);
  dev.dram_channels = d.get<int>("dram_channels", 1, inRangeInt(1, 64));
  dev.dram_gbps_per_channel = d.get<double>("dram_gbps_per_channel", 19.2, between(kMinDramGbps, kMaxDramGbps, "GB/s"));
  dev.clock_mhz = d.get<double>("clock_mhz", 200, between(kMinClockMhz, kMaxClockMhz, "MHz"));
  dev.io_port_bits = d.get<int>("io_port_bits", 128, inRangeInt(1, 1 << 16));
  dev.source = "inline device block";
  d.finish();
  return dev;
}

// hardware.cost_model: any coefficient of hw::CostCoefficients by name.
void readCostModel(Reader r, hw::CostCoefficients& c) {
  struct D {
    const char* key;
    double* v;
  };
  struct I {
    const char* key;
    int64_t* v;
  };
  const D doubles[] = {{"mvu_lut_base", &c.mvu_lut_base},     {"mvu_lut_scale", &c.mvu_lut_scale},
                       {"mvu_ff_base", &c.mvu_ff_base},       {"mvu_ff_scale", &c.mvu_ff_scale},
                       {"lutram_bits_per_lut", &c.lutram_bits_per_lut},
                       {"bitserial_lut_per_bit", &c.bitserial_lut_per_bit},
                       {"engine_lut_base", &c.engine_lut_base}, {"engine_lut_per_bit", &c.engine_lut_per_bit},
                       {"dma_lut", &c.dma_lut},               {"dma_ff", &c.dma_ff},
                       {"scale_shift_dsp_per_pe", &c.scale_shift_dsp_per_pe}};
  const I ints[] = {{"lutram_max_depth", &c.lutram_max_depth},
                    {"srl_max_depth", &c.srl_max_depth}};
  for (const auto& d : doubles)
    *d.v = r.get<double>(d.key, *d.v, d.v == &c.lutram_bits_per_lut ? between(1, 1e6, "bits per LUT") : between(0, 1e9, ""));
  for (const auto& i : ints) *i.v = r.get<int64_t>(i.key, *i.v, io::inRange(0, int64_t(1) << 40));
  r.finish();
}

RunConfig parse(std::shared_ptr<io::YamlDoc> doc, const std::string& baseDir, graph::Graph& graphOut) {
  RunConfig cfg;
  cfg.file = doc->file;
  Reader root(doc);
  // A network YAML given where a run config belongs: say so instead of listing unknown keys.
  if (!root.has("network") && root.has("layers") && root.has("input"))
    throw LoadError(doc->file + ": this is a network description (input, layers), not a run config; run it with "
                                "`mpsim run --set network.model=" + doc->file + "` or name it as network.model in a run config");

  // network
  Reader net = root.child("network");
  cfg.network.model = net.req<std::string>("model");
  const std::string modelWhere = net.where("model") + ": " + net.keyPath("model");
  cfg.network.quant = io::readQuantRules(net.child("quant"));
  net.finish();

  // hardware
  Reader hwr = root.child("hardware");
  cfg.hardware.device = readDevice(hwr);
  const hw::Device& dev = cfg.hardware.device;
  cfg.hardware.clock_mhz = hwr.get<double>("clock_mhz", dev.clock_mhz > 0 ? dev.clock_mhz : 200,
                                           between(kMinClockMhz, kMaxClockMhz, "MHz"));
  Reader dram = hwr.child("dram");
  cfg.hardware.dram.channels = dram.get<int>("channels", dev.dram_channels, inRangeInt(1, 64));
  cfg.hardware.dram.bandwidth_gbps =
      dram.get<double>("bandwidth_gbps", dev.dram_gbps_per_channel > 0 ? dev.dram_gbps_per_channel : 19.2,
                       between(kMinDramGbps, kMaxDramGbps, "GB/s"));
  cfg.hardware.dram.latency_ns = dram.get<double>("latency_ns", 100.0, between(0, kMaxDramLatencyNs, "ns"));
  cfg.hardware.dram.burst_bytes = dram.get<int>("burst_bytes", 4096, inRangeInt(16, 1 << 24));
  dram.finish();
  Reader ior = hwr.child("io");
  cfg.hardware.io.in_bits_per_cycle = ior.get<int>("in_bits_per_cycle", dev.io_port_bits, inRangeInt(1, 1 << 16));
  cfg.hardware.io.out_bits_per_cycle = ior.get<int>("out_bits_per_cycle", dev.io_port_bits, inRangeInt(1, 1 << 16));
  ior.finish();
  readCostModel(hwr.child("cost_model"), cfg.hardware.cost);
  Reader bud = hwr.child("budget");
  auto frac = [](const double& v) {
    return (v > 0 && v <= 1) ? std::string() : "fraction " + io::formatNumber(v) + " must be in (0, 1]";
  };
  cfg.hardware.budget.lut = bud.get<double>("lut", 0.70, frac);
  cfg.hardware.budget.ff = bud.get<double>("ff", 0.50, frac);
  cfg.hardware.budget.dsp = bud.get<double>("dsp", 0.80, frac);
  cfg.hardware.budget.bram = bud.get<double>("bram", 0.80, frac);
  cfg.hardware.budget.uram = bud.get<double>("uram", 0.80, frac);
  bud.finish();
  hwr.finish();

  // mapping
  Reader map = root.child("mapping");
  cfg.mapping.mode = map.get<std::string>("mode", "manual", oneOf({"manual", "auto"}));
  cfg.mapping.goal = map.get<std::string>("goal", "max_fps", oneOf({"max_fps", "target_fps"}));
  if (auto t = map.opt<double>("target_fps", io::positive())) cfg.mapping.target_fps = *t;
  else if (cfg.mapping.mode == "auto" && cfg.mapping.goal == "target_fps")
    map.error("goal", "goal target_fps needs mapping.target_fps (frames per second)");
  if (auto k = map.optList<std::string>("pe_kinds", oneOf({"lut", "dsp", "bitserial"}))) {
    if (k->empty()) map.error("pe_kinds", "the list is empty; valid entries: lut, dsp, bitserial");
    else cfg.mapping.pe_kinds = *k;
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
    m.pe_kind = l.opt<std::string>("pe_kind", oneOf({"lut", "dsp", "bitserial"}));
    m.ram_style = l.opt<std::string>("ram_style", oneOf({"auto", "lutram", "bram", "uram"}));
    if (auto w = l.opt<std::string>("weights", oneOf({"onchip", "dram"})))
      m.weights = *w == "dram" ? WeightPlacement::Dram : WeightPlacement::OnChip;
    m.weight_reuse = l.opt<int>("weight_reuse", inRangeInt(1, 1 << 24));
    l.finish();
    cfg.mapping.layers[name] = m;
  }
  Reader fifos = map.child("fifos");
  cfg.mapping.fifos.default_depth = fifos.get<int>("default_depth", 2, inRangeInt(1, kMaxFifoDepth));
  if (fifos.has("shortcut_depth") && fifos.raw("shortcut_depth").IsScalar() &&
      fifos.raw("shortcut_depth").Scalar() == "auto") {
    fifos.accept("shortcut_depth");
  } else {
    cfg.mapping.fifos.shortcut_depth = fifos.opt<int>("shortcut_depth", inRangeInt(1, kMaxFifoDepth));
    if (!cfg.mapping.fifos.shortcut_depth && !fifos.has("shortcut_depth")) fifos.node()["shortcut_depth"] = "auto";
  }
  Reader depths = fifos.child("depths");
  for (const auto& name : depths.keys()) {
    if (auto d = depths.opt<int>(name, inRangeInt(1, kMaxFifoDepth))) cfg.mapping.fifos.depths[name] = *d;
  }
  depths.finish();
  fifos.finish();
  map.finish();

  // simulation
  Reader sim = root.child("simulation");
  cfg.simulation.frames = sim.get<int>("frames", 4, inRangeInt(kMinFrames, kMaxFrames));
  std::string mode = sim.get<std::string>("mode", "timestamped", oneOf({"timestamped", "reference"}));
  cfg.simulation.mode = mode == "reference" ? SimMode::Reference : SimMode::Timestamped;
  cfg.simulation.functional = sim.get<bool>("functional", false);
  cfg.simulation.seed = sim.get<int64_t>("seed", 1, io::inRange(0, kMaxSeed));
  sim.finish();
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
    if (!m.ram_style && h.ram_style) {
      const std::string& r = *h.ram_style; // FINN's names
      m.ram_style = r == "block" ? "bram" : r == "distributed" ? "lutram" : r == "ultra" ? "uram" : "auto";
    }
    if (m.where.empty()) m.where = cfg.network.model + ": node of layer " + h.layer;
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
        m.where = u.where;
      }
      cfg.mapping.layers[name] = m;
    }
    cfg.mapping.finn_folding_notes = ff.notes;
    cfg.mapping.finn_folding_notes.push_back(std::to_string(ff.skipped) +
                                             " entries without a counterpart in mpsim (SWU, thresholds, FIFOs, ...) skipped");
  }
  for (const auto& [name, m] : cfg.mapping.layers) {
    const graph::Layer* l = graphOut.find(name);
    if (!l) doc->diag.error(m.where + ": mapping.layers." + name + ": no layer named '" + name + "' in " + graphOut.name());
    else if (m.weights && *m.weights == WeightPlacement::Dram && !l->isWeighted())
      doc->diag.error(m.where + ": mapping.layers." + name + ".weights: layer '" + name + "' has no weights");
  }
  doc->diag.throwIfAny();
  cfg.effective = doc->root;
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
                            ", with --set overrides and defaults)\n" + YAML::Dump(cfg.effective) + "\n");
}

} // namespace mpsim::config
