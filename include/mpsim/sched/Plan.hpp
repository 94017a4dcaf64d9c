#pragma once
// The scheduler's result: the mapping that buildMapping turns into engines and streams.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"

namespace mpsim::sched {

/// What the scheduler chose: the mapping the engines are built from.
struct Plan {
  std::map<std::string, config::LayerMapping> layers; // per layer: folding, PE kind, weight placement
  config::FifoConfig fifos;                           // FIFO depths: default, shortcut policy, overrides
  bool scheduled = false;                             // chosen by the scheduler (mapping mode auto)
  int64_t target_cycles = 0;                          // cycles per frame the folding was chosen for
  int64_t design_cycles = 0;                          // closed-form cycles of the chosen design
  int evaluations = 0;                                // designs costed
  std::vector<std::string> notes;                     // placement decisions worth telling the user
};

} // namespace mpsim::sched
