#include "mpsim/cli/Commands.hpp"

#include "CliUtil.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/flow/Segments.hpp"
#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/report/Compare.hpp"
#include "mpsim/report/InfoReport.hpp"
#include "mpsim/report/RunHtml.hpp"
#include "mpsim/report/RunReport.hpp"
#include "mpsim/report/Trace.hpp"

namespace po = boost::program_options;

namespace mpsim::cli {

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
  if (vm.count("out") && outFile.empty()) throw UsageError("info: -o needs a file name");
  graph::Graph g = flow::loadNetwork(model, sets);
  auto stats = graph::computeStats(g);
  std::ostringstream os;
  if (vm.count("json"))
    os << report::infoJson(stats).dump(2) << "\n";
  else
    report::printInfoTable(os, stats);
  if (outFile.empty())
    writeStdout(os.str());
  else
    writeFileAtomic(outFile, os.str());
  return kExitOk;
}

int cmdDevices(const std::vector<std::string>& args) {
  po::options_description opts("devices options");
  opts.add_options()("help,h", "show this help")("sources", "also print where each device's figures come from");
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
  if (vm.count("sources")) {
    std::printf("\nsources (docs/run-config.md has the details):\n");
    for (const auto& d : hw::devices()) std::printf("%-9s %s\n", d.name.c_str(), d.source.c_str());
  }
  return kExitOk;
}

} // namespace mpsim::cli

namespace mpsim::cli {

namespace {
/// A config argument given as an empty string is a mistake, not a request for the default example.
void checkConfigArg(const po::variables_map& vm, const std::string& configPath) {
  if (vm.count("config") && configPath.empty())
    throw UsageError("the config file name is empty; give a run config YAML, or none for the built-in default example");
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
  const flow::Imported imp = flow::importModel(model, outFile);
  if (outFile.empty()) {
    writeStdout(imp.yaml);
  } else {
    writeFileAtomic(outFile, imp.yaml);
    spdlog::info("wrote {} ({} layers, {} MACs)", outFile, imp.layers, imp.macs);
  }
  return kExitOk;
}

int cmdCompare(const std::vector<std::string>& args) {
  po::options_description opts("compare options");
  std::string expected, actual;
  double rel = 1e-9, abs = 0;
  std::vector<std::string> tols;
  opts.add_options()("help,h", "show this help")("expected", po::value(&expected), "expected (golden) report.json")(
      "actual", po::value(&actual), "actual report.json (or two .npy tensors: exact for integers)")(
      "rel", po::value(&rel), "default relative tolerance (1e-9)")("abs", po::value(&abs),
                                                                   "default absolute tolerance (0)")(
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
  auto isNpy = [](const std::string& p) { return p.size() > 4 && p.compare(p.size() - 4, 4, ".npy") == 0; };
  std::optional<report::Difference> d;
  if (isNpy(expected) && isNpy(actual))
    d = report::compareNpy(expected, actual, copt.defaults);
  else if (isNpy(expected) != isNpy(actual))
    throw LoadError("compare: both files must be reports (.json) or tensors (.npy)");
  else {
    const nlohmann::json e = report::loadComparable(expected), a = report::loadComparable(actual);
    report::checkSameSchema(e, expected, a, actual);
    d = report::compareJson(e, a, copt);
  }
  if (!d) {
    writeStdout("match: " + actual + " agrees with " + expected + "\n");
    return kExitOk;
  }
  writeStdout("DIFFERENT at " + d->path + " (" + d->what + "): expected " + d->expected + ", actual " + d->actual +
              "\n");
  return kExitFailure;
}

int cmdMap(const std::vector<std::string>& args) {
  po::options_description opts("map options");
  std::vector<std::string> sets;
  std::string configPath, outDir;
  opts.add_options()("help,h", "show this help")("config", po::value(&configPath),
                                                 "run config YAML (default: the built-in example)")(
      "set", po::value(&sets)->composing(), "override a key (repeatable)")(
      "json", "print the JSON instead of the table")("out,o", po::value(&outDir),
                                                     "also write DIR/map.json and DIR/effective-config.yaml");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  if (!parseArgs(args, opts, pos, vm, "mpsim map [config.yaml] [--set key=value ...] [--json] [--out DIR]"))
    return kExitOk;
  checkConfigArg(vm, configPath);
  if (vm.count("out") && outDir.empty()) throw UsageError("map: --out needs a directory name");
  config::Run run = flow::load(configPath, sets);
  if (flow::segmentsRequested(run)) {
    flow::SegmentedDesign sd = flow::mapSegments(run);
    if (sd.segments.size() > 1 || run.config.mapping.segments.mode == config::SegmentMode::Manual) {
      const auto j = flow::segmentsMapJson(sd);
      if (!outDir.empty()) {
        namespace fs = std::filesystem;
        installInterruptHandlers();
        OutputDir out(outDir);
        writeFileAtomic((fs::path(out.dir()) / "map.json").string(), j.dump(2) + "\n");
        config::writeEffectiveConfig(sd.effectiveConfig(), (fs::path(out.dir()) / "effective-config.yaml").string());
        out.commit();
      }
      writeStdout(vm.count("json") ? j.dump(2) + "\n" : flow::segmentsMapText(sd));
      return kExitOk;
    }
    // One segment: the design as without segments.
  }
  const flow::Design design = flow::mapForUser(std::move(run));
  auto j = flow::mapReport(design);
  if (!outDir.empty()) {
    namespace fs = std::filesystem;
    installInterruptHandlers(); // SIGINT / SIGTERM now stop at a safe point (OutputDir::commit)
    OutputDir out(outDir);
    writeFileAtomic((fs::path(out.dir()) / "map.json").string(), j.dump(2) + "\n");
    config::writeEffectiveConfig(design.effectiveConfig(), (fs::path(out.dir()) / "effective-config.yaml").string());
    out.commit();
  }
  std::ostringstream os;
  if (vm.count("json"))
    os << j.dump(2) << "\n";
  else
    report::printMapSummary(os, j);
  writeStdout(os.str());
  return kExitOk;
}

int cmdRun(const std::vector<std::string>& args) {
  po::options_description opts("run options");
  std::vector<std::string> sets;
  std::string configPath, outDir = "mpsim-out", mode;
  int frames = 0;
  std::string inputNpy;
  int64_t seed = -1;
  std::string traceFrames, traceEngines;
  int64_t traceResolution = 0;
  opts.add_options()("help,h", "show this help")("config", po::value(&configPath),
                                                 "run config YAML (default: the built-in ResNet-18 / ZCU102 example)")(
      "set", po::value(&sets)->composing(), "override a key, e.g. --set hardware.clock_mhz=250 (repeatable)")(
      "frames,f", po::value(&frames), "frames to simulate back to back (default simulation.frames)")(
      "mode", po::value(&mode), "timestamped | reference (default simulation.mode)")(
      "out,o", po::value(&outDir), "output directory (default mpsim-out)")("json", "print report.json to stdout")(
      "functional", "bit-exact functional simulation: tokens carry values; writes DIR/output.npy")(
      "input", po::value(&inputNpy), "functional: input frames (.npy, (N, C, H, W)); default: seeded random frames")(
      "seed", po::value(&seed),
      "functional: seed of the generated weights, thresholds and inputs (default simulation.seed)")(
      "trace", "write DIR/trace.json: a timeline for ui.perfetto.dev / chrome://tracing (docs/timelines.md)")(
      "trace-gzip", "--trace, written gzipped as DIR/trace.json.gz (Perfetto opens it as it is)")(
      "vcd", "write DIR/trace.vcd: engine states and FIFO occupancies as VCD signals")(
      "html", "write DIR/report.html: the run report as one self-contained page")(
      "explain", "add the what-if analysis of the bottleneck (mpsim explain) to report.json and report.html")(
      "trace-frames", po::value(&traceFrames), "timelines: frames A:B only (A:, or A; from 0)")(
      "trace-engines", po::value(&traceEngines),
      "timelines: only engines matching these comma-separated shell patterns, e.g. 'layer1.*,maxpool*'")(
      "trace-resolution", po::value(&traceResolution),
      "timelines: merge intervals shorter than this many cycles (default: closed-form cycles per frame / 200)");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  const std::string usage = "mpsim run [config.yaml] [--set key=value ...] [--frames F] [--out DIR] [--functional "
                            "[--input X.npy] [--seed N]] [--trace] [--trace-gzip] [--vcd] [--html] [--explain] [--trace-frames A:B] "
                            "[--trace-engines PATTERNS] [--trace-resolution CYCLES]";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  checkConfigArg(vm, configPath);
  if (vm.count("out") && outDir.empty()) throw UsageError("run: --out needs a directory name");
  if (vm.count("input") && inputNpy.empty()) throw UsageError("run: --input needs a .npy file name");
  if (vm.count("frames")) {
    if (frames < config::kMinFrames || frames > config::kMaxFrames)
      throw UsageError("--frames " + std::to_string(frames) + ": give " + std::to_string(config::kMinFrames) + ".." +
                       std::to_string(config::kMaxFrames) + " frames (1 frame measures latency only)");
    sets.push_back("simulation.frames=" + std::to_string(frames));
  }
  if (!mode.empty() || vm.count("mode")) sets.push_back("simulation.mode=" + mode);
  if (vm.count("seed")) {
    if (seed < 0 || seed > config::kMaxSeed)
      throw UsageError("--seed " + std::to_string(seed) + ": give a seed in 0.." + std::to_string(config::kMaxSeed));
    sets.push_back("simulation.seed=" + std::to_string(seed));
  }
  flow::TimelineOutputs outputs;
  outputs.gzip = vm.count("trace-gzip") > 0;
  outputs.trace = vm.count("trace") > 0 || outputs.gzip;
  outputs.vcd = vm.count("vcd") > 0;
  outputs.html = vm.count("html") > 0;
  outputs.explain = vm.count("explain") > 0;
  for (const char* o : {"trace-frames", "trace-engines", "trace-resolution"})
    if (vm.count(o) && !outputs.any())
      throw UsageError(std::string("--") + o + ": only with --trace or --vcd (it bounds their timelines)");
  if (vm.count("trace-resolution")) {
    if (traceResolution < 1 || traceResolution > (int64_t(1) << 40))
      throw UsageError("--trace-resolution " + std::to_string(traceResolution) + ": give 1.." +
                       std::to_string(int64_t(1) << 40) + " cycles");
    outputs.resolution = uint64_t(traceResolution);
  }
  if (vm.count("trace-engines") && traceEngines.empty())
    throw UsageError("--trace-engines: give comma-separated shell patterns of engine names, e.g. 'layer1.*'");

  installInterruptHandlers(); // SIGINT / SIGTERM stop the run at the next safe point
  config::Run run = flow::load(configPath, sets);
  if (vm.count("functional")) run.config.simulation.functional = true;
  spdlog::info("network {} ({} layers), device {} at {} MHz", run.graph.name(), run.graph.layers().size(),
               run.config.hardware.device.name, run.config.hardware.clock_mhz);
  if (flow::segmentsRequested(run)) {
    flow::SegmentedDesign sd = flow::mapSegments(run);
    if (sd.segments.size() > 1 || run.config.mapping.segments.mode == config::SegmentMode::Manual) {
      for (const auto& g : sd.segments) flow::checkSimulatable(g.design);
      OutputDir out(outDir);
      flow::RunOptions ropt;
      ropt.input_npy = inputNpy;
      ropt.outputs = outputs;
      const flow::SegmentedOutcome o = flow::simulateSegments(sd, ropt, out.dir());
      out.commit();
      writeStdout(vm.count("json") ? o.report.dump(2) + "\n" : flow::segmentsRunText(o.report));
      spdlog::info("wrote {}/report.json, effective-config.yaml and segments/<segment>/", out.target());
      if (run.config.simulation.functional)
        spdlog::info("functional: wrote {}/output.npy, input.npy, network.json and weights/", out.target());
      return kExitOk;
    }
  }
  const flow::Design design = flow::mapForUser(std::move(run));
  if (!design.resources.fits)
    for (const auto& s : design.resources.shortfalls) spdlog::warn("the design does not fit the device budget: {}", s);
  spdlog::info("mapped to {} engines and {} FIFOs; closed form {} cycles per frame ({})", design.mapping.engines.size(),
               design.mapping.streams.size(), design.mapping.predicted_cycles, design.mapping.predicted_bottleneck);
  flow::checkSimulatable(design);
  // Timeline options are checked against the design before anything runs.
  if (vm.count("trace-frames"))
    outputs.frames = report::parseTraceFrames(traceFrames, design.run.config.simulation.frames);
  if (vm.count("trace-engines")) outputs.engines = report::selectEngines(design.mapping, traceEngines);
  throwIfInterrupted();

  // Everything is written into a fresh directory beside --out and swapped into place at the end:
  // a failed or interrupted run leaves the previous result as it was.
  OutputDir out(outDir);
  flow::RunOptions ropt;
  ropt.input_npy = inputNpy;
  ropt.outputs = outputs;
  const flow::RunOutcome outcome = flow::simulate(design, ropt, out.dir());
  const auto& report = outcome.report;
  const sim::SimResult& result = outcome.result;
  out.commit();
  std::ostringstream os;
  if (vm.count("json"))
    os << report.dump(2) << "\n";
  else
    report::printRunSummary(os, report);
  writeStdout(os.str());
  spdlog::info("wrote {}/report.json, layers.csv, effective-config.yaml{}{}{}", out.target(),
               outputs.trace ? (outputs.gzip ? ", trace.json.gz" : ", trace.json") : "", outputs.vcd ? ", trace.vcd" : "", outputs.html ? ", report.html" : "");
  if (design.run.config.simulation.functional)
    spdlog::info("functional: wrote {}/output.npy ({} frames), input.npy, network.json and weights/", out.target(),
                 result.frames_done);
  if (result.deadlock.detected) {
    spdlog::error("the pipeline deadlocked at cycle {}; see {}/report.json (deadlock)", result.deadlock.cycle,
                  out.target());
    return kExitDeadlock;
  }
  return kExitOk;
}

int cmdReport(const std::vector<std::string>& args) {
  po::options_description opts("report options");
  std::string dir, outFile;
  opts.add_options()("help,h", "show this help")("dir", po::value(&dir), "output directory of mpsim run")(
      "out,o", po::value(&outFile), "the page to write (default DIR/report.html)");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  const std::string usage = "mpsim report DIR [-o page.html]";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  if (dir.empty()) throw UsageError("report: give the output directory of an mpsim run (it holds report.json)\nusage: " +
                                    usage);
  if (vm.count("out") && outFile.empty()) throw UsageError("report: -o needs a file name");
  namespace fs = std::filesystem;
  const std::string json = (fs::path(dir) / "report.json").string();
  nlohmann::ordered_json rep;
  try {
    rep = nlohmann::ordered_json::parse(readFileLimited(json, kMaxJsonBytes, "run report"));
  } catch (const nlohmann::json::exception& e) {
    throw LoadError(json + ": not valid JSON: " + e.what());
  }
  std::string page;
  try {
    page = report::runReportHtml(rep);
  } catch (const LoadError& e) {
    throw LoadError(json + ": " + e.messages().front());
  }
  if (outFile.empty()) outFile = (fs::path(dir) / "report.html").string();
  writeFileAtomic(outFile, page);
  spdlog::info("wrote {}", outFile);
  return kExitOk;
}

} // namespace mpsim::cli
