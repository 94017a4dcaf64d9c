#pragma once
// SystemC 2.3 elaborates one design per process. runInChild() runs a function that elaborates and
// simulates in a forked child process and returns its JSON result, so tests and sweeps can run any
// number of simulations from one process.
#include <functional>

#include <nlohmann/json.hpp>

namespace mpsim::sim {

/// Runs fn in a forked child; returns what it returned. Throws std::runtime_error with the child's
/// exception message, or when the child dies.
nlohmann::json runInChild(const std::function<nlohmann::json()>& fn);

} // namespace mpsim::sim
