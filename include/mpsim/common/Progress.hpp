#pragma once
// Progress of long work (parameter generation and calibration, simulating frames) on standard
// error: a bar redrawn in place when stderr is a terminal, a plain line every few seconds when it
// is not (logs, CI), nothing when disabled (the default: the CLI enables it unless -q, so library
// users, tests and sweep workers print nothing). The bar is erased when the work ends, before
// anything is printed to stdout.
#include <chrono>
#include <cstdint>
#include <string>

namespace mpsim {

class Progress {
public:
  /// `what` says what is being done ("simulating"), `unit` what is counted ("frames").
  Progress(std::string what, uint64_t total, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `done` of `total` finished (cheap when disabled or called often: draws at most every 100 ms
  /// on a terminal, every kLineSeconds otherwise).
  void update(uint64_t done);

  static void setEnabled(bool on);
  static bool enabled();
  /// Seconds between the plain lines when stderr is not a terminal (MPSIM_PROGRESS_SECONDS
  /// overrides it, e.g. 0 for a line per update).
  static constexpr double kLineSeconds = 5;

private:
  void draw(bool final);
  std::string m_what, m_unit;
  uint64_t m_total, m_done = 0;
  bool m_on, m_tty, m_drawn = false;
  double m_lineSeconds = kLineSeconds;
  std::chrono::steady_clock::time_point m_start, m_last;
};

} // namespace mpsim
