// mpsim calibrate: fit the cost model to a built design's measured utilisation (docs/cost-model.md,
// "Calibration").
#include "mpsim/cli/Commands.hpp"

#include "CliUtil.hpp"

#include <sstream>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/flow/Calibrate.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/io/UtilizationReport.hpp"

namespace po = boost::program_options;

namespace mpsim::cli {

int cmdCalibrate(const std::vector<std::string>& args) {
  po::options_description opts("calibrate options");
  std::vector<std::string> sets, positional;
  std::string outFile;
  opts.add_options()("help,h", "show this help")(
      "inputs", po::value(&positional)->composing(),
      "the run config of the built design, then its utilisation reports")(
      "out,o", po::value(&outFile), "write the calibrated cost model (YAML for hardware.cost_model) to this file")(
      "json", "print the calibration as JSON (schema mpsim.calibration/1) instead of the tables")(
      "set", po::value(&sets)->composing(), "override a key of the run config (repeatable)");
  po::positional_options_description pos;
  pos.add("inputs", -1);
  po::variables_map vm;
  const std::string usage =
      "mpsim calibrate CONFIG REPORT... [--out cal.yaml] [--json] [--set key=value ...]\n"
      "  CONFIG: the run config of the built design (network and mapping, e.g. the FINN-ONNX model with its folding)\n"
      "  REPORT: Vivado report_utilization -hierarchical (text or XML, e.g. FINN's post_synth_resources.xml) or "
      "FINN's post_synth_resources.json";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  if (positional.size() < 2)
    throw UsageError("calibrate: give the run config and at least one utilisation report\nusage: " + usage);
  if (vm.count("out") && outFile.empty()) throw UsageError("calibrate: --out needs a file name");
  const std::string configPath = positional.front();
  if (configPath.empty()) throw UsageError("calibrate: the config file name is empty");
  std::vector<io::UtilReport> reports;
  for (size_t i = 1; i < positional.size(); ++i) {
    if (positional[i].empty()) throw UsageError("calibrate: a report file name is empty");
    reports.push_back(io::readUtilizationReport(positional[i]));
  }
  const flow::Design design = flow::map(flow::load(configPath, sets));
  std::string command = "mpsim calibrate";
  for (const auto& a : args) command += " " + a;
  const flow::Calibration cal = flow::calibrate(design, reports, command);
  // Everything succeeded: now the file (atomically: a failure leaves an earlier file as it was).
  if (!outFile.empty()) writeFileAtomic(outFile, cal.yaml);
  std::ostringstream os;
  if (vm.count("json")) {
    os << flow::calibrationJson(cal).dump(2) << "\n";
  } else {
    flow::printCalibration(os, cal);
    os << (outFile.empty() ? "\n(no --out: nothing written; the cost model would be:)\n" + cal.yaml
                           : "\nwrote " + outFile + "\n");
  }
  writeStdout(os.str());
  return kExitOk;
}

} // namespace mpsim::cli
