#include "mpsim/flow/Flow.hpp"
#include "mpsim/flow/Segments.hpp"
#include "mpsim/flow/Explain.hpp"
#include "mpsim/flow/FifoSizing.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/common/Math.hpp"
#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/OnnxImport.hpp"
#include "mpsim/io/Overrides.hpp"
#include "mpsim/io/YamlReader.hpp"
#include "mpsim/report/RunHtml.hpp"
#include "mpsim/report/RunReport.hpp"
#include "mpsim/report/SystemReport.hpp"
#include "mpsim/report/Trace.hpp"
#include "mpsim/sched/Scheduler.hpp"
#include "mpsim/sim/Functional.hpp"
#include "mpsim/sim/Timeline.hpp"

namespace mpsim::flow {

config::Run load(const std::string& configPath, const std::vector<std::string>& overrides) {
  return configPath.empty() ? config::loadRunString(config::defaultRunYaml(), "<built-in default example>", overrides)
                            : config::loadRun(configPath, overrides);
}

config::Run loadText(const std::string& yaml, const std::string& name, const std::vector<std::string>& overrides,
                     const std::string& baseDir) {
  return config::loadRunString(yaml, name, overrides, baseDir);
}

namespace {

bool isRunConfigFile(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.extension() != ".yaml" && p.extension() != ".yml") return false;
  if (!fs::exists(p)) return false;
  auto doc = io::YamlDoc::loadFile(path);
  return doc->root["network"].IsDefined();
}

} // namespace

graph::Graph loadNetwork(const std::string& what, const std::vector<std::string>& sets) {
  std::shared_ptr<io::YamlDoc> doc;
  std::string base;
  if (isRunConfigFile(what)) {
    doc = io::YamlDoc::loadFile(what);
    base = std::filesystem::path(what).parent_path().string();
  } else {
    doc = io::YamlDoc::loadString("network: {}\n", "<command line>");
    doc->root["network"]["model"] = what; // a node, not YAML text: any name is taken literally
  }
  io::applyOverrides(doc->root, sets);
  io::Reader root(doc);
  io::Reader net = root.child("network");
  std::string model = net.req<std::string>("model");
  auto rules = io::readQuantRules(net.child("quant"));
  net.finish();
  // Only the network section matters here; the rest is validated by `mpsim run`.
  for (const auto& k : root.keys())
    if (k != "network") root.accept(k);
  root.finish();
  doc->diag.throwIfAny();
  graph::Graph g = io::loadModel(model, base);
  graph::applyQuantRules(g, rules);
  return g;
}

Imported importModel(const std::string& onnxPath, const std::string& yamlPath) {
  io::OnnxImport imp = io::importOnnx(onnxPath);
  for (const auto& n : imp.notes) spdlog::info("{}", n);
  std::ostringstream yaml;
  std::map<std::string, io::LayerParamFiles> params;
  if (!yamlPath.empty())
    params = io::writeLayerParams(imp.graph, yamlPath);
  else if (std::any_of(imp.graph.layers().begin(), imp.graph.layers().end(),
                       [](const graph::Layer& l) { return l.weight_values || l.threshold_values; }))
    spdlog::info(
        "the model's integer weights and thresholds are written only with -o (as .npy files next to the YAML)");
  io::writeNetworkYaml(imp.graph, yaml, params);
  if (!imp.mapping.empty()) {
    yaml << "# Folding of the FINN hardware nodes (use under mapping.layers of a run config):\n";
    for (const auto& h : imp.mapping) {
      yaml << "#   " << h.layer << ": {";
      bool first = true;
      auto field = [&](const char* k, const std::string& v) {
        yaml << (first ? "" : ", ") << k << ": " << v;
        first = false;
      };
      if (h.pe) field("pe", std::to_string(*h.pe));
      if (h.simd) field("simd", std::to_string(*h.simd));
      if (h.ram_style) field("ram_style", *h.ram_style);
      yaml << "}\n";
    }
  }
  return Imported{yaml.str(), imp.graph.layers().size(), graph::computeStats(imp.graph).macs};
}

config::RunConfig Design::effectiveConfig() const { return sched::withPlan(run.config, plan); }

namespace {
/// map() on a run that stays the caller's until the scheduler has succeeded (it moves into the
/// Design after that), so that mapForUser can still read it when nothing fits.
Design mapKeeping(config::Run& run) {
  // Segments are mapped by mapSegments (mpsim map and mpsim run); everything else takes one design.
  const config::SegmentsConfig& seg = run.config.mapping.segments;
  if (seg.mode == config::SegmentMode::Manual)
    throw LoadError(seg.where + ": mapping.segments: manual segments are mapped and simulated by `mpsim map` and "
                                "`mpsim run` only (docs/segments.md); this command takes one design");
  if (seg.mode == config::SegmentMode::Auto) {
    config::Run one = run;
    one.config.mapping.segments = config::SegmentsConfig{};
    try {
      return mapKeeping(one);
    } catch (const DoesNotFitError& e) {
      std::vector<std::string> msgs = e.messages();
      msgs.push_back("mapping.segments: auto would run it as segments through DRAM, which only `mpsim map` and "
                     "`mpsim run` do (docs/segments.md); this command takes one design");
      throw LoadError(msgs);
    }
  }
  Design d;
  const auto t0 = std::chrono::steady_clock::now();
  d.plan = sched::schedule(run.graph, run.config);
  if (d.plan.scheduled) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("scheduler ({}): {} cycles per frame after {} candidate designs in {:.0f} ms",
                 config::toString(run.config.mapping.goal), d.plan.design_cycles, d.plan.evaluations, ms);
    for (const auto& n : d.plan.notes) spdlog::info("  {}", n);
  }
  // The scheduler's own build of its plan where it has one (the same function of the same plan).
  d.mapping = d.plan.built ? *d.plan.built : sched::buildMapping(run.graph, run.config, d.plan);
  d.plan.built.reset();
  // network.quant `requant: auto`: the requantiser each MAC engine was built with becomes its
  // layer's (functional parameters and reports follow it) and goes into the plan (the effective
  // config then fixes it).
  for (const auto& e : d.mapping.engines) {
    if (e.kind != sched::EngineKind::MatrixVector && e.kind != sched::EngineKind::Vector) continue;
    graph::Layer* l = run.graph.find(e.layer);
    if (!l || !l->requant_auto) continue;
    l->requant = e.requant;
    d.plan.layers[e.layer].requant = e.requant;
  }
  d.resources = sched::estimateResources(run.graph, d.mapping, run.config);
  d.run = std::move(run);
  sizeFifos(d);
  return d;
}
} // namespace

Design map(config::Run run) { return mapKeeping(run); }

std::vector<std::string> fittingChoices(const config::Run& run) {
  std::vector<std::string> out;
  if (run.config.mapping.mode != config::MappingMode::Auto) return out;
  // Layers whose requantiser the scheduler may choose: thresholds now, not fixed by the model or the
  // mapping, not bipolar (which needs thresholds).
  std::vector<std::string> switchable;
  for (const auto& l : run.graph.layers())
    if (l.isWeighted() && l.requant == graph::Requant::Thresholds && !l.requant_auto && !l.out.bipolar &&
        !l.threshold_values && l.thresholds_file.empty() && !run.config.mapping.layers.count(l.name))
      switchable.push_back(l.name);
  const bool registers = run.config.hardware.cost.mvu_input_buffer == hw::InputBuffer::Registers;
  struct Choice {
    bool requant, buffer;
  };
  std::vector<Choice> tries;
  if (!switchable.empty()) tries.push_back({true, false});
  if (registers) tries.push_back({false, true});
  if (!switchable.empty() && registers) tries.push_back({true, true});
  for (const Choice& c : tries) {
    config::Run alt = run;
    std::string sets;
    if (c.requant) {
      for (const auto& n : switchable) alt.graph.find(n)->requant_auto = true;
      sets += "--set network.quant.requant=auto";
    }
    if (c.buffer) {
      alt.config.hardware.cost.mvu_input_buffer = hw::InputBuffer::Memory;
      sets += std::string(sets.empty() ? "" : " ") + "--set hardware.cost_model.mvu_input_buffer=memory";
    }
    try {
      const sched::Plan p = sched::schedule(alt.graph, alt.config);
      const sched::Mapping m = sched::buildMapping(alt.graph, alt.config, p);
      char buf[200];
      std::snprintf(buf, sizeof buf, "fits, %.2f frames/s (closed form, bottleneck %s)",
                    framesPerSecond(alt.config.hardware.clock_mhz, double(m.predicted_cycles)),
                    m.predicted_bottleneck.c_str());
      out.push_back("with `" + sets + "`: " + buf);
    } catch (const std::exception&) {
      // Does not fit with this choice either (or cannot be scheduled): not a hint.
    }
  }
  return out;
}

namespace {
/// "as segments through DRAM (...): S segments, X frames/s at batch B (closed form)", or empty when
/// the run asks for segments already, is not auto-mapped, or cannot be cut into segments that fit.
std::string segmentsHint(const config::Run& run) {
  if (run.config.mapping.mode != config::MappingMode::Auto || segmentsRequested(run)) return "";
  config::Run alt = run;
  alt.config.mapping.segments.mode = config::SegmentMode::Auto;
  try {
    const SegmentedDesign s = mapSegments(std::move(alt));
    char buf[200];
    std::snprintf(buf, sizeof buf, "%zu segments, %.2f frames/s at batch %d (closed form)", s.segments.size(),
                  s.predictedFps(), s.batch);
    return std::string("as segments through DRAM (`--set mapping.segments=auto`, docs/segments.md): ") + buf;
  } catch (const std::exception&) {
    return ""; // not even as segments
  }
}
} // namespace

Design mapForUser(config::Run run) {
  try {
    return mapKeeping(run);
  } catch (const DoesNotFitError& e) {
    // The scheduler threw before the run moved: it is intact here.
    const std::vector<std::string> hints = fittingChoices(run);
    const std::string segments = segmentsHint(run);
    if (hints.empty() && segments.empty()) throw;
    std::vector<std::string> msgs = e.messages();
    if (!hints.empty()) msgs.push_back("design choices this run leaves at their defaults would fit:");
    for (const auto& h : hints) msgs.push_back("  " + h);
    if (!segments.empty()) msgs.push_back(segments);
    throw DoesNotFitError(msgs);
  }
}

nlohmann::ordered_json mapReport(const Design& d) {
  nlohmann::ordered_json j = report::mapReportJson(d.run.graph, d.run.config, d.mapping, d.resources);
  report::addLimit(j, d.plan, d.run.config.hardware.clock_mhz);
  report::addFifoSizing(j, d.plan);
  return j;
}

sim::SimOptions simOptions(const Design& d) { return sim::simOptions(d.run.config); }

void checkSimulatable(const Design& d) { sim::checkSimulatable(d.mapping, d.run.config, simOptions(d)); }

RunOutcome simulate(const Design& d, const RunOptions& opt, const std::string& dir) {
  namespace fs = std::filesystem;
  const config::RunConfig& cfg = d.run.config;
  sim::SimOptions so = simOptions(d);
  if (cfg.simulation.functional && (cfg.input || cfg.host || !cfg.background.empty()))
    throw LoadError("input, host and background are timing models: a functional run (--functional) takes none of them");
  so.system = true; // input arrivals and the host's shell, when configured (docs/system.md)
  if (cfg.host) so.frames = cfg.host->batch;
  sim::checkSimulatable(d.mapping, cfg, so);
  throwIfInterrupted();
  if (!opt.input_npy.empty() && !cfg.simulation.functional)
    throw LoadError("--input: only a functional simulation (--functional) reads input frames");
  if (!dir.empty() && opt.effective_config)
    config::writeEffectiveConfig(d.effectiveConfig(), (fs::path(dir) / "effective-config.yaml").string());

  sim::FunctionalData funcData;
  if (cfg.simulation.functional && opt.functional) {
    if (!dir.empty()) so.output_npy = (fs::path(dir) / "output.npy").string();
    so.functional = opt.functional;
  } else if (cfg.simulation.functional) {
    funcData = sim::makeFunctionalData(d.run.graph, uint64_t(cfg.simulation.seed), opt.input_npy, so.frames);
    throwIfInterrupted();
    if (!dir.empty()) {
      sim::writeFunctionalData(funcData, dir);
      so.output_npy = (fs::path(dir) / "output.npy").string();
    }
    so.functional = &funcData;
  }
  const TimelineOutputs& to = opt.outputs;
  std::unique_ptr<sim::Timeline> timeline;
  if (to.any()) {
    sim::TimelineOptions tlo;
    tlo.resolution = to.resolution ? to.resolution : report::defaultTraceResolution(d.mapping);
    tlo.engines = to.engines;
    timeline = std::make_unique<sim::Timeline>(tlo, d.mapping.engines.size(), d.mapping.streams.size());
    so.timeline = timeline.get();
  }
  spdlog::info("simulating {} frames ({} mode{})...", so.frames, so.reference ? "reference" : "timestamped",
               so.functional ? ", functional" : "");
  RunOutcome out;
  // Background masters: the accelerator alone first (in a child process), for its slowdown and the
  // masters' time limit (64 times its run, docs/system.md).
  std::optional<sim::SimResult> alone;
  if (!cfg.background.empty()) {
    sim::SimOptions a = so;
    a.timeline = nullptr;
    alone = sim::simulateIsolated(d.mapping, cfg, a);
    throwIfInterrupted();
    so.background = true;
    so.background_horizon = 64 * (alone->frame_done.empty() ? 0 : alone->frame_done.back()) + 1000000;
  }
  out.result = opt.isolated && !timeline ? sim::simulateIsolated(d.mapping, cfg, so) : sim::simulate(d.mapping, cfg, so);
  spdlog::info("simulated in {:.3f} s wall time", out.result.wall_seconds);
  out.report = report::runReportJson(d.run.graph, cfg, d.mapping, out.result, d.resources);
  report::addLimit(out.report, d.plan, cfg.hardware.clock_mhz);
  report::addFifoSizing(out.report, d.plan);
  report::addSystem(out.report, cfg, d.mapping, out.result, alone ? &*alone : nullptr);
  if (to.explain) {
    Explanation e = explain(d);
    if (out.result.frames_done > 0) e.simulated_fps = out.report["summary"]["fps"].get<double>();
    const double lost = e.fps > 0 && e.simulated_fps > 0 ? 1 - e.simulated_fps / e.fps : 0;
    if (lost > sched::kFifoSizingTolerance) {
      char pctText[32];
      std::snprintf(pctText, sizeof pctText, "%.1f", 100 * lost);
      e.notes.push_back(std::string("the simulation is ") + pctText +
                        " % below the closed form (FIFO stalls or DRAM): `mpsim explain --confirm` finds the FIFO "
                        "depths that remove FIFO stalls");
    }
    out.report["explain"] = explanationJson(e);
  }
  if (!dir.empty()) {
    writeFileAtomic((fs::path(dir) / "report.json").string(), out.report.dump(2) + "\n");
    std::ostringstream c;
    report::writeLayersCsv(c, out.report);
    writeFileAtomic((fs::path(dir) / "layers.csv").string(), c.str());
    const auto t0 = std::chrono::steady_clock::now();
    if (timeline) {
      report::TimelineView v{&d.mapping, timeline.get(), cfg.hardware.clock_mhz, to.frames};
      auto timed = [&](const char* file, auto&& make) {
        const auto a = std::chrono::steady_clock::now();
        const std::string text = make();
        const auto b = std::chrono::steady_clock::now();
        writeFileAtomic((fs::path(dir) / file).string(), text);
        spdlog::debug("{}: {} bytes made in {:.3f} s, written in {:.3f} s", file, text.size(),
                      std::chrono::duration<double>(b - a).count(),
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - b).count());
      };
      if (to.trace && !to.gzip) timed("trace.json", [&] { return report::traceEventJson(v); });
      if (to.trace && to.gzip) timed("trace.json.gz", [&] { return gzipText(report::traceEventJson(v)); });
      if (to.vcd) timed("trace.vcd", [&] { return report::vcdText(v); });
    }
    if (to.html) writeFileAtomic((fs::path(dir) / "report.html").string(), report::runReportHtml(out.report));
    if (timeline || to.html)
      spdlog::info("wrote the timelines / page in {:.3f} s",
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return out;
}

} // namespace mpsim::flow
