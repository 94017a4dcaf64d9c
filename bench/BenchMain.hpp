#pragma once
// What the C++ benchmark programs under bench/ share: their exit codes on errors (2 usage, 3 a bad
// config, 1 anything else, with the message on stderr). Each program still defines the sc_main
// that libsystemc references (extern "C" int sc_main(int, char**) { return 0; }).
#include <functional>
#include <iostream>
#include <string>

#include "mpsim/common/Error.hpp"

namespace mpsim::bench {

/// Runs `body` (which returns the exit code) and turns its exceptions into exit codes.
inline int guardedMain(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const LoadError& e) {
    std::cerr << e.what() << "\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 1;
  }
}

} // namespace mpsim::bench
