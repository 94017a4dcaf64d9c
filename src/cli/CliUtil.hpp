#pragma once
// Helpers of the CLI's subcommands (src/cli/ only): option parsing with the usage on errors and
// --help, and checked writes to standard output.
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "mpsim/common/Error.hpp"

namespace mpsim::cli {

/// Parses a subcommand's options; returns false (after printing) when --help was given.
inline bool parseArgs(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
                      const boost::program_options::positional_options_description& pos,
                      boost::program_options::variables_map& vm, const std::string& usage) {
  try {
    boost::program_options::store(boost::program_options::command_line_parser(args).options(opts).positional(pos).run(),
                                  vm);
    boost::program_options::notify(vm);
  } catch (const boost::program_options::error& e) {
    throw UsageError(std::string(e.what()) + "\nusage: " + usage);
  }
  if (vm.count("help")) {
    std::cout << "usage: " << usage << "\n" << opts;
    return false;
  }
  return true;
}

/// Writes to stdout and checks that it arrived (a closed pipe or a full disk is an error).
inline void writeStdout(const std::string& text) {
  std::cout << text;
  std::cout.flush();
  if (!std::cout) throw std::runtime_error("cannot write to standard output");
}

} // namespace mpsim::cli
