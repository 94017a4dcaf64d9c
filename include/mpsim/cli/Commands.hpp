#pragma once
// CLI subcommands. main() parses the global options and dispatches here; each command parses its
// own options with Boost.Program_options and returns the process exit code.
#include <string>
#include <vector>

namespace mpsim::cli {

int cmdInfo(const std::vector<std::string>& args);
int cmdRun(const std::vector<std::string>& args);
int cmdMap(const std::vector<std::string>& args);
int cmdCompare(const std::vector<std::string>& args);
int cmdImport(const std::vector<std::string>& args);
int cmdDevices(const std::vector<std::string>& args);
int cmdSweep(const std::vector<std::string>& args);
int cmdReport(const std::vector<std::string>& args);
int cmdExplain(const std::vector<std::string>& args);
int cmdCalibrate(const std::vector<std::string>& args);

} // namespace mpsim::cli
