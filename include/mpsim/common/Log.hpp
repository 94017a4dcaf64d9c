#pragma once
// Logging: everything goes through spdlog. The level comes from -v/-q on the command line or the
// MPSIM_LOG_LEVEL environment variable (trace, debug, info, warn, error, off).
#include <spdlog/spdlog.h>

namespace mpsim {

/// Sets up the default logger on stderr. verbosity: 0 = info, 1 = debug, 2+ = trace, -1 = warn, -2 = error.
/// MPSIM_LOG_LEVEL, when set, wins over verbosity.
void initLogging(int verbosity);

/// Routes SystemC reports (SC_REPORT_INFO/WARNING/ERROR) into spdlog. Errors and fatals still throw
/// (SC_THROW) so simulation code can rely on SystemC's usual control flow.
void routeSystemCReports();

} // namespace mpsim
