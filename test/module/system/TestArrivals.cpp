// Frame arrivals in front of the input DMA (docs/system.md): paced frames see the single-frame
// latency and leave at the arrival rate; a bounded buffer drops what an independent count of its
// slots says it must; the block policy drops nothing; the same inputs give the same report.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "SimTestUtil.hpp"
#include "TempDir.hpp"

using namespace mpsim;
using mpsim::test::simulateText;

namespace {

// The chain test network at 200 MHz with every layer folded to a few thousand cycles per frame.
// 256-byte bursts: a frame (1152 bytes) takes 5, so the input DMA's two bursts in flight never hold
// more than one frame (docs/system.md: a frame leaves the buffer with its first burst request).
std::string chainRun(const std::string& extra) {
  return mpsim::test::chainRunText("dram: {burst_bytes: 256}", "", extra);
}

uint64_t lat(const nlohmann::ordered_json& rep, const char* which) {
  return rep["system"]["arrivals"]["latency_cycles"][which].get<uint64_t>();
}

} // namespace

TEST_CASE("periodic arrivals slower than the pipeline: single-frame latency, arrival-rate fps", "[module][system]") {
  const auto single = simulateText(chainRun("simulation: {frames: 1}\n"));
  const uint64_t L = single.report["summary"]["latency_cycles"].get<uint64_t>();
  REQUIRE(L > 0);
  const auto free = simulateText(chainRun("simulation: {frames: 6}\n"));
  const uint64_t interval = free.interval();
  REQUIRE(interval < L);
  // A period of whole 64-cycle DRAM buckets (docs/system.md: the model is shift-invariant then),
  // three single-frame latencies long: every frame finds the pipeline empty.
  const uint64_t period = 64 * ((3 * L + 63) / 64);
  const double fps = 200e6 / double(period);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.17g", fps);
  const auto r = simulateText(chainRun(std::string("simulation: {frames: 8}\ninput:\n  arrivals: {kind: periodic, fps: ") +
                                       buf + "}\n  buffer_frames: 2\n"));
  const auto& a = r.report["system"]["arrivals"];
  INFO(a.dump(2));
  CHECK(a["offered"].get<int>() == 8);
  CHECK(a["processed"].get<int>() == 8);
  CHECK(a["dropped"].get<int>() == 0);
  CHECK(lat(r.report, "min") == L);
  CHECK(lat(r.report, "max") == L);
  CHECK(a["achieved_fps"].get<double>() == Approx(fps).epsilon(1e-9));
  CHECK(r.report["summary"]["fps"].get<double>() == Approx(fps).epsilon(1e-9));
  CHECK(r.report["summary"]["status"] == "ok");
  CHECK(a["queue"]["max_occupancy"].get<int>() == 0);
  // The pipeline waits for every frame: the arrival rate binds; the pipeline's own bottleneck is the
  // one the free-running run names (its reason judged by its own work, not the idle gaps).
  const auto& b = r.report["summary"]["bottleneck"];
  CHECK(b["engine"] == "arrivals");
  CHECK(b["reason"] == "arrival rate");
  CHECK(b["pipeline"]["engine"] == free.report["summary"]["bottleneck"]["engine"]);
  CHECK(b["pipeline"]["reason"] == free.report["summary"]["bottleneck"]["reason"]);
}

TEST_CASE("bursts into a bounded buffer with the drop policy drop what the slots cannot hold", "[module][system]") {
  const auto single = simulateText(chainRun("simulation: {frames: 1}\n"));
  const uint64_t L = single.report["summary"]["latency_cycles"].get<uint64_t>();
  // K frames arrive at the same instant, bursts far apart (the pipeline drains between them).
  const int bursts = 3, K = 6;
  const double gapUs = double(40 * L) / 200.0; // 40 single-frame latencies
  std::string trace = "# test bursts\nframe,time_us\n";
  int n = 0;
  for (int b = 0; b < bursts; ++b)
    for (int k = 0; k < K; ++k) trace += std::to_string(n++) + "," + std::to_string(b * gapUs) + "\n";
  test::TempDir tmp;
  const std::string file = tmp.write("bursts.csv", trace);
  for (int B : {1, 2, 4}) {
    // Independent count: at a burst the buffer is empty and the DMA idle; the first frame is taken
    // at once, B more wait, the rest find the buffer full.
    const int expectDropped = bursts * std::max(0, K - 1 - B);
    const auto r = simulateText(chainRun("simulation: {frames: " + std::to_string(bursts * K) +
                                         "}\ninput:\n  arrivals: {kind: trace, file: " + file +
                                         "}\n  buffer_frames: " + std::to_string(B) + "\n  policy: drop\n"));
    const auto& a = r.report["system"]["arrivals"];
    INFO("B=" << B << "\n" << a.dump(2));
    CHECK(a["dropped"].get<int>() == expectDropped);
    CHECK(a["processed"].get<int>() == bursts * K - expectDropped);
    CHECK(a["queue"]["max_occupancy"].get<int>() == std::min(B, K - 1));
    CHECK(r.report["summary"]["status"] == "ok");
    CHECK(lat(r.report, "min") == L); // the first frame of a burst
  }
  // Block: nothing dropped, the source waits; the last frame of a burst waits for K - 1 frames.
  const auto r = simulateText(chainRun("simulation: {frames: " + std::to_string(bursts * K) +
                                       "}\ninput:\n  arrivals: {kind: trace, file: " + file +
                                       "}\n  buffer_frames: 1\n  policy: block\n"));
  const auto& a = r.report["system"]["arrivals"];
  INFO(a.dump(2));
  CHECK(a["dropped"].get<int>() == 0);
  CHECK(a["processed"].get<int>() == bursts * K);
  CHECK(a["queue"]["max_occupancy"].get<int>() == 1);
  CHECK(a["queue"]["source_blocked_frames"].get<int>() == bursts * (K - 2));
  CHECK(lat(r.report, "max") > lat(r.report, "min"));
}

TEST_CASE("periodic arrivals faster than the pipeline drop as a slot-counting queue predicts", "[module][system]") {
  const auto free = simulateText(chainRun("simulation: {frames: 8}\n"));
  const double I = double(free.interval());
  // Arrivals at 2.5x the pipeline's rate into a 2-frame buffer. The expectation: a queue whose
  // server takes a frame every I cycles (start_n = max(entered_n, start_{n-1} + I)); an arrival
  // finds room when n < B or start_{n-B} <= its time.
  const int frames = 40, B = 2;
  const double period = std::floor(I / 2.5);
  const double fps = 200e6 / period;
  std::vector<double> start;
  int dropped = 0;
  for (int i = 0; i < frames; ++i) {
    const double t = std::round(double(i) * period);
    const size_t nAdm = start.size();
    if (nAdm >= size_t(B) && start[nAdm - size_t(B)] > t) {
      ++dropped;
      continue;
    }
    start.push_back(start.empty() ? t : std::max(t, start.back() + I));
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", fps);
  const auto r = simulateText(chainRun("simulation: {frames: " + std::to_string(frames) +
                                       "}\ninput:\n  arrivals: {kind: periodic, fps: " + buf +
                                       "}\n  buffer_frames: " + std::to_string(B) + "\n"));
  const auto& a = r.report["system"]["arrivals"];
  INFO("expected dropped " << dropped << "\n" << a.dump(2));
  REQUIRE(dropped > 10);
  // The pipeline's first frames are taken a little faster than I (the FIFOs fill): one frame of slack.
  CHECK(std::abs(a["dropped"].get<int>() - dropped) <= 1);
  CHECK(a["processed"].get<int>() + a["dropped"].get<int>() == frames);
  CHECK(a["queue"]["max_occupancy"].get<int>() == B);
  // Saturated: frames leave at the pipeline's rate, and an engine of the pipeline binds.
  CHECK(a["achieved_fps"].get<double>() == Approx(200e6 / I).epsilon(0.02));
  CHECK(r.report["summary"]["bottleneck"]["engine"] != "arrivals");
  CHECK(!r.report["summary"]["bottleneck"].contains("pipeline"));
}

TEST_CASE("jittered periodic and Poisson arrivals are deterministic for a seed", "[module][system]") {
  const std::string jit = chainRun("simulation: {frames: 12}\ninput:\n  arrivals: {kind: periodic, fps: 20000, "
                                   "jitter_us: 10, seed: 5}\n");
  const auto a = simulateText(jit), b = simulateText(jit);
  CHECK(a.report.dump() == b.report.dump());
  const auto c = simulateText(jit, {"input.arrivals.seed=6"});
  CHECK(a.report.dump() != c.report.dump());
  const std::string poi = chainRun("simulation: {frames: 30}\ninput:\n  arrivals: {kind: poisson, fps: 20000, seed: 3}\n");
  const auto p = simulateText(poi), q = simulateText(poi);
  CHECK(p.report.dump() == q.report.dump());
  CHECK(p.report["system"]["arrivals"]["offered_fps"].get<double>() == Approx(20000).epsilon(0.35));
}
