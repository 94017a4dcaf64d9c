#pragma once
// Error types. LoadError carries every problem found while loading inputs, each already formatted
// as "file:line:col: key.path: message", so the CLI can print them and exit non-zero.
#include <stdexcept>
#include <string>
#include <vector>

namespace mpsim {

class LoadError : public std::runtime_error {
public:
  explicit LoadError(std::vector<std::string> messages);
  explicit LoadError(const std::string& message) : LoadError(std::vector<std::string>{message}) {}
  const std::vector<std::string>& messages() const { return m_messages; }

private:
  std::vector<std::string> m_messages;
};

/// The scheduler found no design within the device budget (a LoadError: exit code, messages).
class DoesNotFitError : public LoadError {
public:
  using LoadError::LoadError;
};

/// Collects diagnostics so that one load reports all problems at once.
class Diagnostics {
public:
  void error(std::string message) { m_errors.push_back(std::move(message)); }
  bool empty() const { return m_errors.empty(); }
  const std::vector<std::string>& errors() const { return m_errors; }
  /// Throws LoadError with every collected message when at least one error was recorded.
  void throwIfAny() const;

private:
  std::vector<std::string> m_errors;
};

/// A malformed command line (the CLI exits with kExitUsage).
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// SIGINT or SIGTERM arrived: the run stops at the next safe point, leaving earlier results intact.
class Interrupted : public std::runtime_error {
public:
  explicit Interrupted(int signal)
      : std::runtime_error("interrupted by signal " + std::to_string(signal)), sig(signal) {}
  int sig;
};

/// Another run holds the output directory's lock.
class BusyError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Exit codes of the CLI (documented in README.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,   // compare mismatch, generic failure
  kExitUsage = 2,     // bad command line
  kExitLoadError = 3, // invalid config / network / input file
  kExitDeadlock = 4,  // simulation deadlocked
  kExitBusy = 5,      // another mpsim run is writing the same output directory
  // interrupted by SIGINT / SIGTERM: 128 + the signal number, as shells report it
};

} // namespace mpsim
