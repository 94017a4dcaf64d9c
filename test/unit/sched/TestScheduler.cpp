// The scheduler (sched/Scheduler): manual entries kept and the rest filled in with legal foldings,
// cost monotone in the target, precise messages for designs that do not fit, label-select lanes.
#include <catch2/catch.hpp>

#include "SimTestUtil.hpp"
#include "TempDir.hpp"

#include "mpsim/common/Error.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/sched/Engines.hpp"
#include "mpsim/sched/Resources.hpp"
#include "mpsim/sched/Scheduler.hpp"
#include <fstream>

using namespace mpsim;
using hw::MemKind;
using hw::PeKind;

TEST_CASE("raising the target fps never lowers the cost", "[unit][sched]") {
  for (const char* model : {"resnet18", "mobilenet_v1", "cnv"}) {
    INFO(model);
    double prev = -1;
    for (double fps : {50.0, 100.0, 200.0, 400.0, 800.0}) {
      INFO("fps " << fps);
      auto run = config::loadRunString(std::string("network: {model: ") + model +
                                           ", quant: {weights: 4, activations: 4}}\n"
                                           "hardware: {device: xcu250, clock_mhz: 200}\n"
                                           "mapping: {mode: auto, goal: target_fps, target_fps: " +
                                           std::to_string(fps) + "}\n",
                                       "<test>");
      auto m = flow::map(run).mapping;
      CHECK(m.predicted_cycles <= int64_t(200e6 / fps));
      auto r = sched::estimateResources(run.graph, m, run.config);
      const auto& b = r.budget;
      double cost = r.total.lut / b.lut + r.total.ff / b.ff + r.total.dsp / b.dsp + r.total.bram18 / b.bram18 +
                    r.total.uram / b.uram;
      CHECK(cost >= prev);
      prev = cost;
    }
  }
}

TEST_CASE("scheduler: manual entries are kept, the rest is filled in, legal folding", "[unit][sched]") {
  auto run = config::loadRunString(R"(
network: {model: resnet18, quant: {weights: 4, activations: 4}}
hardware: {device: xczu9eg, clock_mhz: 200}
mapping:
  mode: auto
  layers:
    conv1: {pe: 2, simd: 7, pe_kind: dsp}
)",
                                   "<test>");
  auto m = flow::map(run).mapping;
  const auto& c1 = m.engines[size_t(m.indexOf("conv1"))];
  CHECK(c1.pe == 2);
  CHECK(c1.simd == 7);
  CHECK(c1.pe_kind == hw::PeKind::Dsp);
  for (const auto& e : m.engines) {
    if (e.kind != sched::EngineKind::MatrixVector) continue;
    const auto& l = run.graph.at(e.layer);
    INFO(e.name);
    CHECK(l.out_channels % e.pe == 0);
    CHECK(l.dotLength() % e.simd == 0);
  }
}

TEST_CASE("scheduler: ResNet-152 on xczu9eg fits or says precisely what is short, unreachable targets are errors",
          "[unit][sched]") {
  auto run = config::loadRunString(R"(
network: {model: resnet152, quant: {weights: 4, activations: 4, first_layer: {weights: 8}, last_layer: {weights: 8}}}
hardware: {device: xczu9eg, clock_mhz: 200}
mapping: {mode: auto, goal: max_fps}
)",
                                   "<test>");
  try {
    auto m = flow::map(run).mapping;
    CHECK(sched::estimateResources(run.graph, m, run.config).fits);
  } catch (const LoadError& e) {
    CHECK_THAT(e.what(), Catch::Contains("does not fit xczu9eg") && Catch::Contains("short by"));
  }
  auto fast = config::loadRunString(R"(
network: {model: cnv}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {mode: auto, goal: target_fps, target_fps: 1000000}
)",
                                    "<test>");
  CHECK_THROWS_WITH(sched::schedule(fast.graph, fast.config), Catch::Contains("is out of reach"));
}

TEST_CASE("scheduler: labelselect gets the fewest lanes (a divisor of the classes) that meet the target",
          "[unit][sched]") {
  mpsim::test::TempDir dir("mpsim_labelselect");
  std::ofstream(dir / "net.yaml")
      << "input: {shape: [64], bits: 8}\n"
         "layers:\n  - {name: fc, type: fc, out_features: 200, weights: 2, activations: 4}\n"
         "  - {name: top, type: labelselect, k: 5}\n";
  auto load = [&](const std::string& mapping) {
    return config::loadRunString("network: {model: " + (dir / "net.yaml") +
                                     "}\nhardware: {device: zcu104, clock_mhz: 200}\nmapping: " + mapping + "\n",
                                 "<test>");
  };
  // 60 cycles per frame: ceil(200 / PE) + 5 <= 60 needs PE >= 4 (divisors of 200: 1, 2, 4, 5, ...).
  auto run = load("{mode: auto, goal: target_fps, target_fps: 3333333}");
  auto s = sched::schedule(run.graph, run.config);
  CHECK(s.target_cycles == 60);
  auto m = sched::buildMapping(run.graph, run.config, s);
  const auto& top = m.engines[size_t(m.indexOf("top"))];
  CHECK(top.pe == 4);
  CHECK(top.closed_form_cycles == 55);
  CHECK(m.predicted_cycles <= 60);
  // A manual PE is kept.
  auto manual = load("{mode: auto, goal: target_fps, target_fps: 3333333, layers: {top: {pe: 10}}}");
  CHECK(*sched::schedule(manual.graph, manual.config).layers.at("top").pe == 10);
  // max_fps: the fastest design also unfolds the label select (1 lane would cost 205 cycles), here
  // all the way: 200 lanes, ceil(200 / 200) + 5 = 6 cycles, and nothing else is slower.
  auto fast = load("{mode: auto}");
  auto fm = flow::map(fast).mapping;
  const auto& ftop = fm.engines[size_t(fm.indexOf("top"))];
  CHECK(ftop.closed_form_cycles < 205);
  // The label select limits the design only when it has a lane per class (200 / 200 + 5 cycles):
  // when the fc around it unfolds fully, the k outputs are the floor.
  if (fm.predicted_bottleneck == "top") CHECK(ftop.pe == 200);
}

TEST_CASE("the VEK280 (xcve2802) loads and maps a small network", "[unit][sched]") {
  // Figures as in src/hw/Device.cpp (their sources and what is unconfirmed: docs/run-config.md).
  auto d = hw::findDevice("VEK280");
  REQUIRE(d);
  CHECK(d->name == "xcve2802");
  CHECK(d->dsp_kind == hw::DspKind::DSP58);
  // The fabric counts of a third-party utilization table's Available column (docs/run-config.md).
  CHECK(d->lut == 520704);
  CHECK(d->ff == 1041408);
  CHECK(d->dsp == 1312);
  CHECK(d->bram18 == 1200);
  CHECK(d->uram == 264);
  auto run = config::loadRunString("network: {model: cnv, quant: {weights: 4, activations: 4}}\n"
                                   "hardware: {device: vek280}\nmapping: {mode: auto}\n",
                                   "<test>");
  CHECK(run.config.hardware.device.name == "xcve2802");
  CHECK(run.config.hardware.dram.channels == d->dram_channels);
  CHECK(run.config.hardware.clock_mhz == Approx(d->clock_mhz));
  auto m = flow::map(run).mapping;
  CHECK(m.predicted_cycles > 0);
  auto r = sched::estimateResources(run.graph, m, run.config);
  CHECK(r.fits);
  CHECK(r.device.lut == Approx(double(d->lut)));
  CHECK(r.device.dsp == Approx(double(d->dsp)));
  CHECK(r.device.uram == Approx(double(d->uram)));
  CHECK(r.total.lut <= r.budget.lut);
  CHECK(r.total.bram18 <= r.budget.bram18);
}

TEST_CASE("dma::burstPace: a pass's bursts spread over its layer's compute time, complete when it is needed",
          "[unit][sched]") {
  auto run = config::loadRunString("network: {model: tfc}\nhardware: {device: xczu7ev, clock_mhz: 200, "
                                   "dram: {bandwidth_gbps: 19.2, latency_ns: 100, burst_bytes: 4096}}\n",
                                   "<test>");
  const auto& h = run.config.hardware;
  // 96 bytes per cycle, 20 cycles of latency: a 9408-byte pass (3 bursts) used over 896 cycles
  // -> (896 - 4096 / 96 - 20) / 3 = 277.8.
  CHECK(sched::dma::burstPace(9408, 896, h) == 277);
  // Paced, the last burst (issued at (bursts - 1) x pace) is complete, unloaded, when the layer
  // needs the pass.
  for (int64_t bytes : {100, 4096, 9408, 36864, 589824})
    for (int64_t cycles : {70, 896, 3584, 100352}) {
      INFO(bytes << " bytes used over " << cycles << " cycles");
      const int64_t pace = sched::dma::burstPace(bytes, cycles, h);
      CHECK(pace >= 0);
      const int64_t n = (bytes + 4095) / 4096, last = bytes - (n - 1) * 4096;
      if (pace > 0) CHECK(double((n - 1) * pace) + double(last) / 96 + 20 <= double(cycles));
    }
  // A layer faster than one burst's transfer and latency: no pacing.
  CHECK(sched::dma::burstPace(9408, 60, h) == 0);
  CHECK(sched::dma::burstPace(0, 896, h) == 0);
}
