// Sliding-window unit bench: a source feeds an 8x8 image into the line buffer; the first window forms
// at the documented cycle, not with one pixel or one row less.
#include <catch2/catch.hpp>

#include <algorithm>

#include "SimTestUtil.hpp"
#include "mpsim/sim/Engine.hpp"
#include "mpsim/sim/Isolated.hpp"

using namespace mpsim;
using mpsim::test::simulateText;

namespace {
// Module testbench: a source writes token j at cycle j into a stream; a sliding-window unit
// (3x3, no padding, 8x8 image, 4 channels, SIMD 4) reads it; a sink records output cycles.
struct SwuBench : sc_core::sc_module {
  SC_HAS_PROCESS(SwuBench);
  sim::Stream in{"in", 64}, out{"out", 64};
  int64_t feed;
  std::vector<uint64_t> outTimes;
  std::unique_ptr<sim::DataflowEngine> swu;
  SwuBench(sc_core::sc_module_name n, int64_t capacity, int64_t tokensToFeed) : sc_module(n), feed(tokensToFeed) {
    sched::EngineSpec s;
    s.name = "swu";
    s.kind = sched::EngineKind::Swu;
    s.simd = 4;
    s.geom = sched::WindowGeom(graph::Window{3, 3, 1, 1, 0, 0, 1, 1}, 8, 8, 6, 6);
    sched::PortSpec p;
    p.tokens_per_frame = 64;
    p.read_cost = 1;
    p.need = sched::NeedKind::Window;
    p.capacity = capacity;
    s.in.push_back(p);
    s.out_tokens_per_frame = 36;
    s.out_cost = 9;
    s.tail = 9;
    s.latency = 1;
    sim::EngineContext ctx;
    ctx.frames = 1;
    ctx.period = sc_core::sc_time(10, sc_core::SC_NS);
    swu = std::make_unique<sim::DataflowEngine>("swu", s, ctx, std::vector<sim::Stream*>{&in},
                                                std::vector<sim::Stream*>{&out});
    SC_THREAD(source);
    SC_THREAD(sink);
  }
  void source() {
    for (int64_t j = 0; j < feed; ++j) {
      in.waitSlot();
      in.push(uint64_t(j));
    }
  }
  void sink() {
    for (;;) {
      uint64_t t = out.pop();
      out.readDone(t + 1);
      outTimes.push_back(t);
    }
  }
};

nlohmann::json runSwu(int64_t capacity, int64_t feed) {
  return sim::runInChild([&] {
    SwuBench b("bench", capacity, feed);
    sc_core::sc_start();
    return nlohmann::json{{"out", b.outTimes}, {"state", b.swu->state()}};
  });
}
} // namespace

TEST_CASE("line buffer: first window at the documented cycle, not with one row or one pixel less", "[module][sim]") {
  // Window (0,0) needs pixel (K_h-1)*W + K_w - 1 = 18. It is written at cycle 18, read by cycle 19,
  // the window takes K_h*K_w*ceil(C/SIMD) = 9 cycles to emit and 1 cycle of latency: cycle 29.
  const int64_t needed = 2 * 8 + 3; // (K_h-1) rows + K_w pixels = 19
  auto ok = runSwu(needed, 64);
  REQUIRE(ok["out"].size() == 36);
  CHECK(ok["out"][0].get<uint64_t>() == 29);
  CHECK(ok["state"] == "done");
  // One pixel early: the source stops after pixel 17, so window 0 never forms.
  auto early = runSwu(needed, 18);
  CHECK(early["out"].empty());
  // With pixel 18 it forms at 29 (and no other window does: window 1 needs pixel 19).
  auto exact = runSwu(needed, 19);
  REQUIRE(exact["out"].size() == 1);
  CHECK(exact["out"][0].get<uint64_t>() == 29);
  // A line buffer one row short cannot hold a window: no output, and the engine says why.
  auto shortBuf = runSwu(needed - 8, 64);
  CHECK(shortBuf["out"].empty());
  CHECK_THAT(shortBuf["state"].get<std::string>(), Catch::Contains("line buffer too small: holds 11 tokens"));
}
