// A plain C++ max-plus engine of mpsim's pipelines, the reference of the simulation-speed issue's
// per-token target: the same design (engines, their need functions, per-token costs) evaluated
// frame by frame in topological order, each output token
//     o_k = max(o_{k-1} + out_cost, max over inputs (write cycle of the last token k needs) + 1 + tail)
// written at o_k + latency, with no SystemC, no FIFO back-pressure (ample FIFOs), no DRAM model.
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
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "BenchMain.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/sched/Engines.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sim/Simulator.hpp"

using namespace mpsim;

namespace {

struct Engine {
  std::vector<int> inStreams;
  std::vector<std::vector<int64_t>> needLast; // per input port, per output token
  std::vector<int> outStreams;
  int64_t T = 0, outCost = 1, tail = 0, latency = 1;
  uint64_t o = 0; // the last output's cycle
};

std::vector<size_t> topologicalOrder(const sched::Mapping& m) {
  std::vector<int> producerOf(m.streams.size(), -1);
  for (size_t i = 0; i < m.engines.size(); ++i)
    for (int s : m.engines[i].out) producerOf[size_t(s)] = int(i);
  std::vector<int> state(m.engines.size(), 0);
  std::vector<size_t> order;
  std::function<void(size_t)> visit = [&](size_t i) {
    if (state[i] == 2) return;
    if (state[i] == 1) throw std::runtime_error("maxplus_reference: the mapping has a cycle");
    state[i] = 1;
    for (const auto& p : m.engines[i].in)
      if (producerOf[size_t(p.stream)] >= 0) visit(size_t(producerOf[size_t(p.stream)]));
    state[i] = 2;
    order.push_back(i);
  };
  for (size_t i = 0; i < m.engines.size(); ++i) visit(i);
  return order;
}

} // namespace

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

    std::vector<Engine> es(m.engines.size());
    int64_t tokensPerFrame = 0;
    for (size_t i = 0; i < m.engines.size(); ++i) {
      const auto& s = m.engines[i];
      Engine& e = es[i];
      e.T = std::max<int64_t>(1, s.out_tokens_per_frame);
      e.outCost = s.out_cost;
      e.tail = s.tail;
      e.latency = s.latency;
      e.outStreams = s.out;
      for (const auto& p : s.in) {
        e.inStreams.push_back(p.stream);
        std::vector<int64_t> nl(size_t(e.T));
        for (int64_t k = 0; k < e.T; ++k) nl[size_t(k)] = std::min(sched::needOf(s, p, k).last, p.tokens_per_frame - 1);
        e.needLast.push_back(std::move(nl));
      }
      tokensPerFrame += e.T;
    }
    const std::vector<size_t> order = topologicalOrder(m);
    // Write cycles of the current frame's tokens, per stream.
    std::vector<std::vector<uint64_t>> w(m.streams.size());
    for (size_t i = 0; i < es.size(); ++i)
      for (int s : es[i].outStreams) w[size_t(s)].assign(size_t(es[i].T), 0);
    uint64_t checksum = 0;
    auto frame = [&] {
      for (size_t i : order) {
        Engine& e = es[i];
        for (int64_t k = 0; k < e.T; ++k) {
          uint64_t ready = 0;
          for (size_t p = 0; p < e.inStreams.size(); ++p)
            ready = std::max(ready, w[size_t(e.inStreams[p])][size_t(e.needLast[p][size_t(k)])] + 1);
          e.o = std::max(e.o + uint64_t(e.outCost), ready + uint64_t(e.tail));
          const uint64_t at = e.o + uint64_t(e.latency);
          for (int s : e.outStreams) w[size_t(s)][size_t(k)] = at;
        }
      }
      checksum += es[order.back()].o;
    };
    std::vector<double> reps;
    for (int r = 0; r < 5; ++r) {
      for (auto& e : es) e.o = 0;
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
