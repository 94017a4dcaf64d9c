#pragma once
// Helpers for simulation tests: the library flow (flow/Flow.hpp) on a run config given as text,
// simulated in a child process (SystemC elaborates once per process).
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::test {

/// The run config of the chain test network (test/data/chain.yaml) on a ZCU104 at 200 MHz, folded to
/// a few thousand cycles per frame (c1 pe 4 simd 8, c2 pe 2 simd 4, fc pe 2 simd 64). `hardware`
/// goes inside `hardware: {...}` after the clock (e.g. "dram: {burst_bytes: 256}"), `fc` inside fc's
/// mapping (e.g. "weights: dram"), `extra` after the mapping (whole sections).
inline std::string chainRunText(const std::string& hardware, const std::string& fc, const std::string& extra) {
  return std::string("network: {model: ") + MPSIM_SOURCE_DIR +
         "/test/data/chain.yaml}\n"
         "hardware: {device: zcu104, clock_mhz: 200" +
         (hardware.empty() ? "" : ", " + hardware) +
         "}\n"
         "mapping:\n  layers:\n    c1: {pe: 4, simd: 8}\n    c2: {pe: 2, simd: 4}\n    fc: {pe: 2, simd: 64" +
         (fc.empty() ? "" : ", " + fc) + "}\n" + extra;
}

struct SimRun {
  config::Run run;
  sched::Mapping mapping;
  sim::SimResult result;
  nlohmann::ordered_json report;
  const sim::EngineStats& engine(const std::string& name) const {
    for (const auto& e : result.engines)
      if (e.name == name) return e;
    throw std::out_of_range("no engine " + name);
  }
  const sched::EngineSpec& spec(const std::string& name) const {
    return mapping.engines.at(size_t(mapping.indexOf(name)));
  }
  uint64_t interval() const { return report["summary"]["cycles_per_frame"].get<uint64_t>(); }
};

inline SimRun simulateText(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  flow::Design d = flow::map(flow::loadText(yaml, "<test>", sets, MPSIM_SOURCE_DIR "/configs/examples"));
  flow::RunOptions opt;
  opt.isolated = true;
  flow::RunOutcome out = flow::simulate(d, opt);
  return SimRun{std::move(d.run), std::move(d.mapping), std::move(out.result), std::move(out.report)};
}

/// --set overrides that fold every MAC layer of `model` to meet `targetCycles` per frame.
inline std::vector<std::string> balancedFolding(const std::string& yaml, int64_t targetCycles) {
  auto run = config::loadRunString(yaml, "<test>", {}, MPSIM_SOURCE_DIR "/configs/examples");
  std::vector<std::string> sets;
  for (const auto& l : run.graph.layers()) {
    if (!l.isWeighted()) continue;
    auto f = sched::mac::foldForTarget(l, targetCycles);
    sets.push_back("mapping.layers[" + l.name + "].pe=" + std::to_string(f.pe));
    sets.push_back("mapping.layers[" + l.name + "].simd=" + std::to_string(f.simd));
  }
  return sets;
}

} // namespace mpsim::test
