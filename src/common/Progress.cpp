#include "mpsim/common/Progress.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace mpsim {

namespace {
bool g_enabled = false;
}

void Progress::setEnabled(bool on) { g_enabled = on; }
bool Progress::enabled() { return g_enabled; }

Progress::Progress(std::string what, uint64_t total, std::string unit)
    : m_what(std::move(what)), m_unit(std::move(unit)), m_total(total), m_on(g_enabled),
      m_tty(m_on && isatty(STDERR_FILENO) == 1), m_start(std::chrono::steady_clock::now()), m_last(m_start) {
  if (const char* env = std::getenv("MPSIM_PROGRESS_SECONDS")) {
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    if (end && *end == '\0' && v >= 0) m_lineSeconds = v;
  }
}

Progress::~Progress() {
  if (m_on && m_drawn && m_tty) {
    std::fputs("\r\033[K", stderr); // erase the bar
    std::fflush(stderr);
  }
}

void Progress::update(uint64_t done) {
  if (!m_on) return;
  m_done = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - m_last).count();
  if (since < (m_tty ? std::min(0.1, m_lineSeconds) : m_lineSeconds)) return;
  m_last = now;
  draw(false);
}

void Progress::draw(bool) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  const double f = m_total ? double(m_done) / double(m_total) : 0;
  if (m_tty) {
    constexpr int kWidth = 30;
    const int fill = int(f * kWidth + 0.5);
    std::fprintf(stderr, "\r\033[K%s [%.*s%*s] %llu/%llu %s, %.0f s", m_what.c_str(), fill,
                 "##############################", kWidth - fill, "", (unsigned long long)m_done,
                 (unsigned long long)m_total, m_unit.c_str(), secs);
  } else {
    std::fprintf(stderr, "%s: %llu/%llu %s (%.0f %%), %.0f s\n", m_what.c_str(), (unsigned long long)m_done,
                 (unsigned long long)m_total, m_unit.c_str(), 100 * f, secs);
  }
  std::fflush(stderr);
  m_drawn = true;
}

} // namespace mpsim
