// A plain C++ max-plus engine of mpsim's pipelines, the reference of the simulation-speed issue's
// per-token target: the same design (engines, their need functions, per-token costs) evaluated
// frame by frame in topological order by sched::MaxPlus (include/mpsim/sched/MaxPlus.hpp), with no
// SystemC, no FIFO back-pressure (ample FIFOs), no DRAM model.
// It is a lower bound on what a per-token simulation can cost, not a second simulator: its cycles
// are not mpsim's (no back-pressure, no read costs, no DRAM).
//
// Usage: maxplus_reference [--frames N] [--set key=value ...]     (the run config is the built-in
// default example with the overrides, as `mpsim run --set ...`)
// Prints one JSON object: engines, tokens per frame (output tokens over all engines), the
// reference's ns per token (steady frames, median of 5 repetitions) and mpsim's (its simulation
// of the same frames, fast-forward off, in a child process), and their ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "BenchMain.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/sched/MaxPlus.hpp"
#include "mpsim/sim/Simulator.hpp"

using namespace mpsim;

int main(int argc, char** argv) {
  return bench::guardedMain("maxplus_reference", [&]() -> int {
    int frames = 20;
    std::vector<std::string> sets;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--frames" && i + 1 < argc)
        frames = std::stoi(argv[++i]);
      else if (a == "--set" && i + 1 < argc)
        sets.push_back(argv[++i]);
      else
        throw UsageError("usage: maxplus_reference [--frames N] [--set key=value ...]; unexpected " + a);
    }
    if (frames < 4) throw UsageError("maxplus_reference: --frames must be at least 4");
    spdlog::set_level(spdlog::level::warn);
    sets.push_back("simulation.frames=" + std::to_string(frames));
    sets.push_back("simulation.fast_forward=false");
    const flow::Design d = flow::map(flow::load("", sets));
    const sched::Mapping& m = d.mapping;

    sched::MaxPlus mp(m);
    const int64_t tokensPerFrame = mp.tokensPerFrame();
    uint64_t checksum = 0;
    auto frame = [&] { checksum += mp.frame(); };
    std::vector<double> reps;
    for (int r = 0; r < 5; ++r) {
      mp.reset();
      frame(); // the first frame fills the pipeline
      const auto t0 = std::chrono::steady_clock::now();
      for (int f = 1; f < frames; ++f) frame();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      reps.push_back(s * 1e9 / double(tokensPerFrame) / double(frames - 1));
    }
    std::sort(reps.begin(), reps.end());
    const double refNs = reps[reps.size() / 2];

    // mpsim's simulation of the same design and frames (elaboration included), fast-forward off.
    sim::SimOptions so = flow::simOptions(d);
    const sim::SimResult r = sim::simulateIsolated(m, d.run.config, so);
    const double simNs = r.wall_seconds * 1e9 / double(tokensPerFrame) / double(frames);
    nlohmann::ordered_json j;
    j["network"] = d.run.graph.name();
    j["device"] = d.run.config.hardware.device.name;
    j["engines"] = m.engines.size();
    j["frames"] = frames;
    j["tokens_per_frame"] = tokensPerFrame;
    j["maxplus_ns_per_token"] = refNs;
    j["mpsim_ns_per_token"] = simNs;
    j["ratio"] = simNs / refNs;
    j["checksum"] = checksum; // keeps the reference's work from being optimised away
    std::cout << j.dump(1) << "\n";
    return 0;
  });
}

// libsystemc (linked through mpsim_core) defines its own main() that calls sc_main(); ours above
// takes precedence, this one only satisfies the library's reference.
extern "C" int sc_main(int, char**) { return 0; }
