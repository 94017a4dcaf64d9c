// mpsim command line: option parsing and dispatch only.
#include <cstdio>
#include <iostream>
#include <new>
#include <string>
#include <vector>

#include <systemc>

#include "mpsim/cli/Commands.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/common/Log.hpp"
#include "mpsim/common/Progress.hpp"

namespace {
const char* kUsage = R"(mpsim - transaction-level simulator of mixed-precision CNN accelerators on FPGA

usage: mpsim [-v|-vv|-q|-qq] <command> [options]

commands:
  run [config.yaml]     map and simulate a design; without a config runs the built-in default example
                        (ResNet-18 on a ZCU102 at 200 MHz)
  map [config.yaml]     the mapping (scheduler in mapping.mode auto), resource estimate and closed-form
                        throughput, without simulation
  info <model|file>     per-layer table and totals: MACs, weights, parameter memory, reduction vs FP32
  import <model.onnx>   write the network YAML of a QONNX / FINN-ONNX model (-o net.yaml)
  explain [config.yaml] what-if: the next folding step of the bottleneck and of the engines near it,
                        its cost and the design's new frame rate (--confirm simulates the best ones)
  report <dir>          write DIR/report.html, the HTML page of an earlier run's report.json
  calibrate <config> <report>...
                        fit the cost model to a built design's Vivado / FINN utilisation reports and
                        write a cost-model YAML for hardware.cost_model (--out cal.yaml)
  compare <a> <b>       compare two reports (JSON) within tolerances; prints the first difference
  sweep <sweep.yaml>    run a sweep into a SQLite results database (resumable, parallel); also
                        sweep export | pareto | compare <db> (docs/sweeps.md)
  devices               list the built-in device database
  help                  this text

global options: -v / -vv more logging, -q / -qq less; MPSIM_LOG_LEVEL=trace|debug|info|warn|error|off
run `mpsim <command> --help` for the options of a command.
)";
} // namespace

namespace {
int run(const std::string& command, const std::vector<std::string>& rest);
} // namespace

// SystemC's library provides main() and calls sc_main().
int sc_main(int argc, char** argv) {
  int verbosity = 0;
  std::vector<std::string> rest;
  std::string command;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-v")
      ++verbosity;
    else if (a == "-vv")
      verbosity += 2;
    else if (a == "-q")
      --verbosity;
    else if (a == "-qq")
      verbosity -= 2;
    else if (command.empty() && (a == "-h" || a == "--help"))
      command = "help";
    else if (command.empty() && a == "--version")
      command = "version";
    else if (command.empty() && !a.empty() && a[0] != '-')
      command = a;
    else
      rest.push_back(a);
  }
  mpsim::initLogging(verbosity);
  mpsim::Progress::setEnabled(verbosity >= 0); // -q: nothing but warnings and errors
  mpsim::routeSystemCReports();
  int rc = run(command, rest);
  // Output that did not reach stdout (a full disk, a closed pipe) is a failure, not a result.
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    spdlog::error("cannot write to standard output");
    if (rc == mpsim::kExitOk) rc = mpsim::kExitFailure;
  }
  return rc;
}

namespace {
int run(const std::string& command, const std::vector<std::string>& rest) {
  try {
    if (command.empty() || command == "help") {
      std::cout << kUsage;
      return command.empty() ? mpsim::kExitUsage : mpsim::kExitOk;
    }
    if (command == "version") {
      std::cout << "mpsim " << MPSIM_VERSION << "\n";
      return mpsim::kExitOk;
    }
    if (command == "info") return mpsim::cli::cmdInfo(rest);
    if (command == "run") return mpsim::cli::cmdRun(rest);
    if (command == "map") return mpsim::cli::cmdMap(rest);
    if (command == "compare") return mpsim::cli::cmdCompare(rest);
    if (command == "import") return mpsim::cli::cmdImport(rest);
    if (command == "devices") return mpsim::cli::cmdDevices(rest);
    if (command == "sweep") return mpsim::cli::cmdSweep(rest);
    if (command == "report") return mpsim::cli::cmdReport(rest);
    if (command == "explain") return mpsim::cli::cmdExplain(rest);
    if (command == "calibrate") return mpsim::cli::cmdCalibrate(rest);
    spdlog::error("unknown command '{}'; valid: run, map, explain, calibrate, info, import, report, compare, devices, sweep, help",
                  command);
    return mpsim::kExitUsage;
  } catch (const mpsim::LoadError& e) {
    for (const auto& m : e.messages()) spdlog::error("{}", m);
    return mpsim::kExitLoadError;
  } catch (const mpsim::UsageError& e) {
    spdlog::error("{}", e.what());
    return mpsim::kExitUsage;
  } catch (const mpsim::Interrupted& e) {
    spdlog::error("{}: stopped; earlier results are unchanged", e.what());
    return 128 + e.sig;
  } catch (const mpsim::BusyError& e) {
    spdlog::error("{}", e.what());
    return mpsim::kExitBusy;
  } catch (const std::bad_alloc&) {
    spdlog::error("out of memory; the design or an input is too large for this machine");
    return mpsim::kExitFailure;
  } catch (const std::exception& e) {
    spdlog::error("internal error: {}", e.what());
    return mpsim::kExitFailure;
  }
}
} // namespace

// Our own main() (it takes precedence over the one in libsystemc) only to silence the SystemC
// banner, which would otherwise be printed on stdout and corrupt --json output.
int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
