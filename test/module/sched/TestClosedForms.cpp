// Property of the engine families (sched/Engines.hpp): for every zoo network and random legal
// foldings, each engine's closed form (EngineSpec::closed_form_cycles) equals its simulated
// steady-state interval when it runs alone, fed by sources and drained by a sink that are never the
// bottleneck (for line-buffer engines the closed form includes the refill at frame boundaries).
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "mpsim/flow/Flow.hpp"
#include "mpsim/sched/Engines.hpp"
#include "mpsim/sched/Scheduler.hpp"
#include "mpsim/sim/Simulator.hpp"
#include "mpsim/zoo/Zoo.hpp"

using namespace mpsim;

namespace {

/// A design of engine `e` of `m` alone: one source per data input port (a token per cycle), the
/// engine's weight streamer when its weights stream from DRAM, and a sink taking a token per cycle;
/// FIFOs deep enough to never fill.
sched::Mapping alone(const sched::Mapping& m, size_t idx) {
  const sched::EngineSpec& e = m.engines[idx];
  sched::Mapping a;
  a.clock_mhz = m.clock_mhz;
  auto stream = [&](int producer, int consumer, int port, int64_t depth) {
    sched::StreamSpec s;
    s.producer = producer;
    s.consumer = consumer;
    s.port = port;
    s.name = a.engines[size_t(producer)].name + "->" + a.engines[size_t(consumer)].name;
    s.depth = depth;
    a.streams.push_back(s);
    const int id = int(a.streams.size()) - 1;
    a.engines[size_t(producer)].out.push_back(id);
    return id;
  };
  sched::EngineSpec dut = e;
  dut.out.clear();
  std::vector<int> producers;
  for (size_t p = 0; p < e.in.size(); ++p) {
    if (e.in[p].need == sched::NeedKind::Pass) {
      sched::EngineSpec w = m.engines[size_t(m.indexOf(e.layer + ".weights"))];
      w.out.clear();
      a.engines.push_back(w);
    } else {
      sched::EngineSpec src;
      src.name = "src" + std::to_string(p);
      src.layer = e.layer;
      src.kind = sched::EngineKind::InputDma;
      src.out_tokens_per_frame = e.in[p].tokens_per_frame;
      src.out_cost = 1;
      src.bytes_per_token = 1;
      src.bytes_per_frame = src.out_tokens_per_frame;
      a.engines.push_back(src);
    }
    producers.push_back(int(a.engines.size()) - 1);
  }
  a.engines.push_back(dut);
  const int d = int(a.engines.size()) - 1;
  sched::EngineSpec sink;
  sink.name = "sink";
  sink.layer = e.layer;
  sink.kind = sched::EngineKind::OutputDma;
  sched::PortSpec in;
  in.tokens_per_frame = e.out_tokens_per_frame;
  in.read_cost = 1;
  sink.in.push_back(in);
  sink.out_tokens_per_frame = 1;
  sink.bytes_per_token = 1;
  sink.bytes_per_frame = in.tokens_per_frame;
  a.engines.push_back(sink);
  const int k = int(a.engines.size()) - 1;
  for (size_t p = 0; p < producers.size(); ++p)
    a.engines[size_t(d)].in[p].stream =
        stream(producers[p], d, int(p), std::max<int64_t>(2, e.in[p].tokens_per_frame * 4));
  a.engines[size_t(k)].in[0].stream = stream(d, k, 0, std::max<int64_t>(2, e.out_tokens_per_frame * 4));
  return a;
}

/// A random legal folding of every layer (PE and SIMD divisors of their dimensions, any PE kind,
/// now and then weights streamed from DRAM).
sched::Plan randomPlan(const graph::Graph& g, std::mt19937_64& rng) {
  auto pick = [&](const std::vector<int64_t>& v) {
    return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
  };
  sched::Plan p;
  for (const auto& l : g.layers()) {
    config::LayerMapping lm;
    if (l.isWeighted()) {
      lm.pe = int(pick(sched::divisors(sched::mac::maxPe(l))));
      lm.simd = int(pick(sched::divisors(sched::mac::maxSimd(l))));
      lm.pe_kind = hw::PeKind(std::uniform_int_distribution<int>(0, 2)(rng));
      if (std::uniform_int_distribution<int>(0, 7)(rng) == 0) {
        lm.weights = config::WeightPlacement::Dram;
        lm.weight_reuse = int(pick({1, l.out_shape.w, l.out_shape.h * l.out_shape.w}));
      }
    } else if (sched::maxLanes(l) > 0) {
      lm.pe = int(pick(sched::divisors(sched::maxLanes(l))));
    } else {
      continue;
    }
    p.layers[l.name] = lm;
  }
  return p;
}

} // namespace

TEST_CASE("every engine family's closed form equals the engine's simulated interval when it runs alone",
          "[module][sched]") {
  std::mt19937_64 rng(20261202);
  int checked = 0, withRefill = 0; // line-buffer engines slower than max(read, emit) a frame
  for (const auto& model : zoo::modelNames()) {
    INFO(model);
    // Fast DRAM (no latency): the sources, the sink and the weight streams are never the bottleneck.
    const config::Run run = flow::loadText("network: {model: " + model +
                                               ", quant: {weights: 4, activations: 4, first_layer: {weights: 8}}}\n"
                                               "hardware: {device: xcu250, clock_mhz: 200,"
                                               " dram: {bandwidth_gbps: 100000, latency_ns: 0}}\n"
                                               "simulation: {frames: 4}\n",
                                           "<test>");
    const sched::Mapping m = sched::buildMapping(run.graph, run.config, randomPlan(run.graph, rng));
    // A sample of the engines, every kind present at least once.
    std::vector<size_t> sample;
    std::vector<bool> kindSeen(16, false);
    for (size_t i = 0; i < m.engines.size(); ++i) {
      const auto& e = m.engines[i];
      if (e.kind == sched::EngineKind::InputDma || e.kind == sched::EngineKind::OutputDma ||
          e.kind == sched::EngineKind::WeightStreamer)
        continue;
      // Line-buffer engines more often: their frame-boundary refill depends on the geometry.
      const bool lineBuffer = e.kind == sched::EngineKind::Swu || e.kind == sched::EngineKind::Pool;
      const int odds = lineBuffer ? 3 : 15;
      if (!kindSeen[size_t(e.kind)] || std::uniform_int_distribution<int>(0, odds)(rng) == 0) sample.push_back(i);
      kindSeen[size_t(e.kind)] = true;
    }
    for (size_t i : sample) {
      const auto& e = m.engines[i];
      INFO(e.name << " (" << sched::toString(e.kind) << ", pe " << e.pe << ", simd " << e.simd << ", "
                  << hw::toString(e.pe_kind) << ")");
      const sim::SimResult r = sim::simulateIsolated(alone(m, i), run.config, sim::simOptions(run.config));
      REQUIRE(r.frames_done == run.config.simulation.frames);
      const auto& st = r.engines.at(size_t(alone(m, i).indexOf(e.name)));
      REQUIRE(st.frames.size() >= 3);
      const auto& f = st.frames.back(); // a steady-state frame: the pipeline around it is full
      const int64_t interval = int64_t(f.busy + f.starved + f.blocked);
      CHECK(interval == e.closed_form_cycles);
      if (e.in.size() == 1 && e.in[0].need == sched::NeedKind::Window &&
          interval > std::max(e.in[0].tokens_per_frame * e.in[0].read_cost, e.out_tokens_per_frame * e.out_cost))
        ++withRefill;
      ++checked;
    }
  }
  CHECK(checked >= 40);
  CHECK(withRefill >= 5); // the sample exercises the frame-boundary refill
}
