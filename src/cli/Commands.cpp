#include "mpsim/cli/Commands.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/OnnxImport.hpp"
#include "mpsim/io/Overrides.hpp"

#include <sstream>
#include "mpsim/report/Compare.hpp"
#include "mpsim/report/InfoReport.hpp"
#include "mpsim/report/RunReport.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sched/Resources.hpp"
#include "mpsim/sched/Scheduler.hpp"

#include <chrono>
#include "mpsim/sim/Functional.hpp"
#include "mpsim/sim/Simulator.hpp"

namespace po = boost::program_options;

namespace mpsim::cli {

namespace {

/// Parses a subcommand's options; returns false (after printing) when --help was given.
bool parseArgs(const std::vector<std::string>& args, const po::options_description& opts,
               const po::positional_options_description& pos, po::variables_map& vm, const std::string& usage) {
  try {
    po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + "\nusage: " + usage);
  }
  if (vm.count("help")) {
    std::cout << "usage: " << usage << "\n" << opts;
    return false;
  }
  return true;
}

bool isRunConfigFile(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.extension() != ".yaml" && p.extension() != ".yml") return false;
  if (!fs::exists(p)) return false;
  auto doc = io::YamlDoc::loadFile(path);
  return doc->root["network"].IsDefined();
}

/// A network for `info`: a run config (its network section), or a zoo name / network YAML plus
/// --set network.quant... overrides.
graph::Graph loadNetworkForInfo(const std::string& what, const std::vector<std::string>& sets) {
  std::shared_ptr<io::YamlDoc> doc;
  std::string base;
  if (isRunConfigFile(what)) {
    doc = io::YamlDoc::loadFile(what);
    base = std::filesystem::path(what).parent_path().string();
  } else {
    doc = io::YamlDoc::loadString("network: {model: \"" + what + "\"}\n", "<command line>");
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

} // namespace

int cmdInfo(const std::vector<std::string>& args) {
  po::options_description opts("info options");
  std::vector<std::string> sets;
  std::string model, outFile;
  opts.add_options()("help,h", "show this help")("model", po::value(&model), "zoo name, network YAML or run config")(
      "json", "print JSON instead of the table")("set", po::value(&sets)->composing(),
                                                 "override a key, e.g. --set network.quant.weights=4 (repeatable)")(
      "out,o", po::value(&outFile), "write to this file instead of stdout");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  const std::string usage = "mpsim info <model|network.yaml|run.yaml> [--json] [--set key=value ...] [-o file]";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  if (model.empty()) {
    spdlog::error("info: missing the model (a zoo name, a network YAML or a run config)\nusage: {}", usage);
    return kExitUsage;
  }
  graph::Graph g = loadNetworkForInfo(model, sets);
  auto stats = graph::computeStats(g);
  std::ofstream file;
  if (!outFile.empty()) {
    file.open(outFile);
    if (!file) throw LoadError(outFile + ": cannot open for writing");
  }
  std::ostream& os = outFile.empty() ? std::cout : file;
  if (vm.count("json")) os << report::infoJson(stats).dump(2) << "\n";
  else report::printInfoTable(os, stats);
  return kExitOk;
}

int cmdDevices(const std::vector<std::string>& args) {
  po::options_description opts("devices options");
  opts.add_options()("help,h", "show this help");
  po::variables_map vm;
  if (!parseArgs(args, opts, {}, vm, "mpsim devices")) return kExitOk;
  std::printf("%-9s %-28s %9s %9s %6s %7s %5s %-8s %9s\n", "device", "boards", "LUT", "FF", "DSP", "BRAM18", "URAM",
              "DSP kind", "DRAM GB/s");
  for (const auto& d : hw::devices()) {
    std::string boards;
    for (const auto& b : d.boards) boards += (boards.empty() ? "" : ",") + b;
    std::printf("%-9s %-28s %9lld %9lld %6lld %7lld %5lld %-8s %9.2f\n", d.name.c_str(), boards.c_str(),
                (long long)d.lut, (long long)d.ff, (long long)d.dsp, (long long)d.bram18, (long long)d.uram,
                hw::toString(d.dsp_kind), d.dram_gbps_per_channel * d.dram_channels);
  }
  return kExitOk;
}

} // namespace mpsim::cli

namespace mpsim::cli {

namespace {
/// Runs the scheduler in auto mode, then builds the mapping.
sched::Mapping mapRun(config::Run& run) {
  if (run.config.mapping.mode == "auto") {
    auto t0 = std::chrono::steady_clock::now();
    auto r = sched::schedule(run.graph, run.config);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("scheduler ({}): {} cycles per frame after {} candidate designs in {:.0f} ms", run.config.mapping.goal,
                 r.design_cycles, r.evaluations, ms);
    for (const auto& n : r.notes) spdlog::info("  {}", n);
  }
  return sched::buildMapping(run.graph, run.config);
}

config::Run loadRunArg(const std::string& configPath, const std::vector<std::string>& sets) {
  return configPath.empty() ? config::loadRunString(config::defaultRunYaml(), "<built-in default example>", sets)
                            : config::loadRun(configPath, sets);
}
} // namespace

int cmdImport(const std::vector<std::string>& args) {
  po::options_description opts("import options");
  std::string model, outFile;
  opts.add_options()("help,h", "show this help")("model", po::value(&model), "QONNX or FINN-ONNX model (.onnx)")(
      "out,o", po::value(&outFile), "network YAML to write (default: stdout)");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  const std::string usage = "mpsim import <model.onnx> [-o net.yaml]";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  if (model.empty()) {
    spdlog::error("import: missing the .onnx model\nusage: {}", usage);
    return kExitUsage;
  }
  io::OnnxImport imp = io::importOnnx(model);
  for (const auto& n : imp.notes) spdlog::info("{}", n);
  std::ostringstream yaml;
  std::map<std::string, io::LayerParamFiles> params;
  if (!outFile.empty()) params = io::writeLayerParams(imp.graph, outFile);
  else if (std::any_of(imp.graph.layers().begin(), imp.graph.layers().end(),
                       [](const graph::Layer& l) { return l.weight_values || l.threshold_values; }))
    spdlog::info("the model's integer weights and thresholds are written only with -o (as .npy files next to the YAML)");
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
  if (outFile.empty()) {
    std::cout << yaml.str();
  } else {
    std::ofstream f(outFile);
    f << yaml.str();
    if (!f) throw LoadError(outFile + ": cannot write");
    spdlog::info("wrote {} ({} layers, {} MACs)", outFile, imp.graph.layers().size(),
                 graph::computeStats(imp.graph).macs);
  }
  return kExitOk;
}

int cmdCompare(const std::vector<std::string>& args) {
  po::options_description opts("compare options");
  std::string expected, actual;
  double rel = 1e-9, abs = 0;
  std::vector<std::string> tols;
  opts.add_options()("help,h", "show this help")("expected", po::value(&expected), "expected (golden) report.json")(
      "actual", po::value(&actual), "actual report.json (or two .npy tensors: exact for integers)")("rel", po::value(&rel), "default relative tolerance (1e-9)")(
      "abs", po::value(&abs), "default absolute tolerance (0)")(
      "tol", po::value(&tols)->composing(),
      "per-metric tolerance, path=rel[,abs], e.g. --tol summary.fps=0.01 --tol layers.busy=0,16 (repeatable)");
  po::positional_options_description pos;
  pos.add("expected", 1).add("actual", 1);
  po::variables_map vm;
  const std::string usage = "mpsim compare <expected.json> <actual.json> [--rel R] [--abs A] [--tol path=rel[,abs]]";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  if (expected.empty() || actual.empty()) {
    spdlog::error("compare: needs two files\nusage: {}", usage);
    return kExitUsage;
  }
  report::CompareOptions copt;
  copt.defaults = report::Tolerance{rel, abs};
  for (const auto& t : tols) {
    size_t eq = t.find('=');
    if (eq == std::string::npos || eq == 0) throw LoadError("--tol " + t + ": expected path=rel[,abs]");
    report::Tolerance tol{0, 0};
    std::string v = t.substr(eq + 1);
    char* end = nullptr;
    tol.rel = std::strtod(v.c_str(), &end);
    if (end && *end == ',') tol.abs = std::strtod(end + 1, &end);
    if (!end || *end != '\0' || tol.rel < 0 || tol.abs < 0)
      throw LoadError("--tol " + t + ": expected path=rel[,abs] with non-negative numbers");
    copt.metrics[t.substr(0, eq)] = tol;
  }
  auto load = [](const std::string& path) {
    std::ifstream in(path);
    if (!in) throw LoadError(path + ": cannot open");
    try {
      return nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
      throw LoadError(path + ": not valid JSON (" + std::string(e.what()) + ")");
    }
  };
  auto isNpy = [](const std::string& p) { return p.size() > 4 && p.compare(p.size() - 4, 4, ".npy") == 0; };
  std::optional<report::Difference> d;
  if (isNpy(expected) && isNpy(actual)) d = report::compareNpy(expected, actual, copt.defaults);
  else if (isNpy(expected) != isNpy(actual)) throw LoadError("compare: both files must be reports (.json) or tensors (.npy)");
  else d = report::compareJson(load(expected), load(actual), copt);
  if (!d) {
    std::cout << "match: " << actual << " agrees with " << expected << "\n";
    return kExitOk;
  }
  std::cout << "DIFFERENT at " << d->path << " (" << d->what << "): expected " << d->expected << ", actual "
            << d->actual << "\n";
  return kExitFailure;
}

int cmdMap(const std::vector<std::string>& args) {
  po::options_description opts("map options");
  std::vector<std::string> sets;
  std::string configPath, outDir;
  opts.add_options()("help,h", "show this help")("config", po::value(&configPath),
                                                 "run config YAML (default: the built-in example)")(
      "set", po::value(&sets)->composing(), "override a key (repeatable)")("json", "print the JSON instead of the table")(
      "out,o", po::value(&outDir), "also write DIR/map.json and DIR/effective-config.yaml");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, "mpsim map [config.yaml] [--set key=value ...] [--json] [--out DIR]")) return kExitOk;
  config::Run run = loadRunArg(configPath, sets);
  sched::Mapping mapping = mapRun(run);
  auto res = sched::estimateResources(run.graph, mapping, run.config);
  auto j = report::mapReportJson(run.graph, run.config, mapping, res);
  if (!outDir.empty()) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(outDir, ec);
    if (ec) throw LoadError(outDir + ": cannot create the output directory (" + ec.message() + ")");
    std::ofstream f((fs::path(outDir) / "map.json").string());
    f << j.dump(2) << "\n";
    config::writeEffectiveConfig(run.config, (fs::path(outDir) / "effective-config.yaml").string());
  }
  if (vm.count("json")) std::cout << j.dump(2) << "\n";
  else report::printMapSummary(std::cout, j);
  return kExitOk;
}

int cmdRun(const std::vector<std::string>& args) {
  po::options_description opts("run options");
  std::vector<std::string> sets;
  std::string configPath, outDir = "mpsim-out", mode;
  int frames = 0;
  std::string inputNpy;
  int64_t seed = -1;
  opts.add_options()("help,h", "show this help")("config", po::value(&configPath),
                                                 "run config YAML (default: the built-in ResNet-18 / ZCU102 example)")(
      "set", po::value(&sets)->composing(), "override a key, e.g. --set hardware.clock_mhz=250 (repeatable)")(
      "frames,f", po::value(&frames), "frames to simulate back to back (default simulation.frames)")(
      "mode", po::value(&mode), "timestamped | reference (default simulation.mode)")(
      "out,o", po::value(&outDir), "output directory (default mpsim-out)")("json", "print report.json to stdout")(
      "functional", "bit-exact functional simulation: tokens carry values; writes DIR/output.npy")(
      "input", po::value(&inputNpy), "functional: input frames (.npy, (N, C, H, W)); default: seeded random frames")(
      "seed", po::value(&seed), "functional: seed of the generated weights, thresholds and inputs (default simulation.seed)");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  const std::string usage =
      "mpsim run [config.yaml] [--set key=value ...] [--frames F] [--out DIR] [--functional [--input X.npy] [--seed N]]";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  if (frames != 0) sets.push_back("simulation.frames=" + std::to_string(frames));
  if (!mode.empty()) sets.push_back("simulation.mode=" + mode);
  if (seed >= 0) sets.push_back("simulation.seed=" + std::to_string(seed));

  config::Run run = loadRunArg(configPath, sets);
  if (vm.count("functional")) {
    run.config.simulation.functional = true;
    run.config.effective["simulation"]["functional"] = true; // the effective config says what ran
  }
  if (!inputNpy.empty() && !run.config.simulation.functional)
    throw LoadError("--input: only a functional simulation (--functional) reads input frames");
  spdlog::info("network {} ({} layers), device {} at {} MHz", run.graph.name(), run.graph.layers().size(),
               run.config.hardware.device.name, run.config.hardware.clock_mhz);
  sched::Mapping mapping = mapRun(run);
  sched::DesignResources resources = sched::estimateResources(run.graph, mapping, run.config);
  if (!resources.fits)
    for (const auto& s : resources.shortfalls) spdlog::warn("the design does not fit the device budget: {}", s);
  spdlog::info("mapped to {} engines and {} FIFOs; closed form {} cycles per frame ({})", mapping.engines.size(),
               mapping.streams.size(), mapping.predicted_cycles, mapping.predicted_bottleneck);

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec) throw LoadError(outDir + ": cannot create the output directory (" + ec.message() + ")");
  config::writeEffectiveConfig(run.config, (fs::path(outDir) / "effective-config.yaml").string());

  auto opt = sim::simOptions(run.config);
  sim::FunctionalData funcData;
  if (run.config.simulation.functional) {
    funcData = sim::makeFunctionalData(run.graph, uint64_t(run.config.simulation.seed), inputNpy, opt.frames);
    sim::writeFunctionalData(funcData, outDir);
    opt.functional = &funcData;
    opt.output_npy = (fs::path(outDir) / "output.npy").string();
  }
  spdlog::info("simulating {} frames ({} mode{})...", opt.frames, opt.reference ? "reference" : "timestamped",
               opt.functional ? ", functional" : "");
  sim::SimResult result = sim::simulate(mapping, run.config, opt);
  spdlog::info("simulated in {:.3f} s wall time", result.wall_seconds);
  auto report = report::runReportJson(run.graph, run.config, mapping, result, resources);
  {
    std::ofstream f((fs::path(outDir) / "report.json").string());
    f << report.dump(2) << "\n";
    std::ofstream c((fs::path(outDir) / "layers.csv").string());
    report::writeLayersCsv(c, report);
    if (!f || !c) throw LoadError(outDir + ": cannot write the report files");
  }
  if (vm.count("json")) std::cout << report.dump(2) << "\n";
  else report::printRunSummary(std::cout, report);
  spdlog::info("wrote {}/report.json, layers.csv, effective-config.yaml", outDir);
  if (opt.functional)
    spdlog::info("functional: wrote {}/output.npy ({} frames), input.npy, network.json and weights/", outDir,
                 result.frames_done);
  if (result.deadlock.detected) {
    spdlog::error("the pipeline deadlocked at cycle {}; see {}/report.json (deadlock)", result.deadlock.cycle, outDir);
    return kExitDeadlock;
  }
  return kExitOk;
}

} // namespace mpsim::cli
