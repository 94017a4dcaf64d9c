// mpsim explain: what-if analysis of the bottleneck (flow/Explain.hpp).
#include "mpsim/cli/Commands.hpp"

#include "CliUtil.hpp"

#include <boost/program_options.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/flow/Explain.hpp"
#include "mpsim/flow/Flow.hpp"

namespace po = boost::program_options;

namespace mpsim::cli {

int cmdExplain(const std::vector<std::string>& args) {
  po::options_description opts("explain options");
  std::vector<std::string> sets;
  std::string configPath;
  int confirmN = 0;
  opts.add_options()("help,h", "show this help")("config", po::value(&configPath),
                                                 "run config YAML (default: the built-in example)")(
      "set", po::value(&sets)->composing(), "override a key (repeatable)")("json", "print JSON instead of the table")(
      "confirm", po::value(&confirmN)->implicit_value(3),
      "simulate the best N steps (default 3) and show their simulated frame rate");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  const std::string usage = "mpsim explain [config.yaml] [--set key=value ...] [--confirm [N]] [--json]";
  if (!parseArgs(args, opts, pos, vm, usage)) return kExitOk;
  if (vm.count("config") && configPath.empty())
    throw UsageError("the config file name is empty; give a run config YAML, or none for the built-in default example");
  if (vm.count("confirm") && (confirmN < 1 || confirmN > 20))
    throw UsageError("--confirm " + std::to_string(confirmN) + ": give 1..20 steps to simulate");
  const flow::Design design = flow::map(flow::load(configPath, sets));
  flow::Explanation e = flow::explain(design);
  if (confirmN > 0) {
    flow::checkSimulatable(design);
    flow::confirm(design, e, confirmN);
  }
  writeStdout(vm.count("json") ? flow::explanationJson(e).dump(2) + "\n" : flow::explanationText(e));
  return kExitOk;
}

} // namespace mpsim::cli
