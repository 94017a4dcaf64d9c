#include "mpsim/common/Log.hpp"

#include <cstdlib>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <systemc>

namespace mpsim {

void initLogging(int verbosity) {
  auto logger = spdlog::stderr_color_mt("mpsim");
  logger->set_pattern("[%^%l%$] %v");
  spdlog::set_default_logger(logger);
  spdlog::level::level_enum level = spdlog::level::info;
  if (verbosity >= 2)
    level = spdlog::level::trace;
  else if (verbosity == 1)
    level = spdlog::level::debug;
  else if (verbosity == -1)
    level = spdlog::level::warn;
  else if (verbosity <= -2)
    level = spdlog::level::err;
  if (const char* env = std::getenv("MPSIM_LOG_LEVEL")) {
    auto parsed = spdlog::level::from_str(env);
    if (parsed != spdlog::level::off || std::string(env) == "off")
      level = parsed;
    else
      spdlog::warn("MPSIM_LOG_LEVEL='{}' is not one of trace, debug, info, warn, error, off", env);
  }
  spdlog::set_level(level);
}

namespace {
void scReportHandler(const sc_core::sc_report& rep, const sc_core::sc_actions& actions) {
  const char* type = rep.get_msg_type();
  const char* msg = rep.get_msg();
  switch (rep.get_severity()) {
  case sc_core::SC_INFO: spdlog::debug("[systemc] {}: {}", type, msg); break;
  case sc_core::SC_WARNING: spdlog::warn("[systemc] {}: {}", type, msg); break;
  case sc_core::SC_ERROR:
  case sc_core::SC_FATAL:
    spdlog::error("[systemc] {}: {} ({}:{})", type, msg, rep.get_file_name(), rep.get_line_number());
    break;
  default: break;
  }
  if (actions & (sc_core::SC_THROW | sc_core::SC_ABORT)) throw rep;
}
} // namespace

void routeSystemCReports() {
  sc_core::sc_report_handler::set_handler(&scReportHandler);
  // Errors throw to the caller instead of aborting the process.
  sc_core::sc_report_handler::set_actions(sc_core::SC_ERROR, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  sc_core::sc_report_handler::set_actions(sc_core::SC_FATAL, sc_core::SC_DISPLAY | sc_core::SC_THROW);
  // The kernel's deprecation chatter is not for users.
  sc_core::sc_report_handler::set_actions("/IEEE_Std_1666/deprecated", sc_core::SC_DO_NOTHING);
}

} // namespace mpsim
