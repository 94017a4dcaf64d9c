// Cost model and scheduler tests.
#include <catch2/catch.hpp>

#include "SimTestUtil.hpp"
#include "TempDir.hpp"

#include <fstream>
#include "mpsim/common/Error.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/sched/Resources.hpp"
#include "mpsim/sched/Scheduler.hpp"
#include "mpsim/zoo/Zoo.hpp"

using namespace mpsim;
using hw::MemKind;
using hw::PeKind;

namespace {
graph::Graph mvuGraph(int64_t mw, int64_t mh, int w, int a, int outBits) {
  graph::Graph g("t");
  graph::GraphBuilder b(g);
  b.input("in", mw, 1, 1, a, false);
  b.fc("fc", "in", mh);
  g.finalize();
  auto& l = g.layers().back();
  l.weight_bits = w;
  l.out.bits = outBits;
  g.finalize();
  return g;
}
} // namespace

TEST_CASE("matrix-vector unit cost at a hand-checked point (MW = MH = 4, PE = SIMD = 1, W2A2, 2-bit thresholds)",
          "[unit][cost]") {
  auto g = mvuGraph(4, 4, 2, 2, 2);
  const auto& l = g.at("fc");
  // Accumulator: signed 2-bit weights (|w| <= 2^1), unsigned 2-bit inputs (< 2^2), 4 terms (2 bits), sign: 6.
  REQUIRE(l.accBits() == 6);
  auto u = hw::macUnitOf(l, 1, 1, PeKind::Lut, MemKind::Lutram);
  hw::CostCoefficients c;
  auto r = hw::macResources(u, hw::findDevice("xczu3eg")->dsp_kind, c);
  // mult = (2*ceil(4/6) - 1) * 4 = 4; adder tree = 4 * (2*1 - 1) = 4; acc = 6; comparators = 2 * 6 = 12
  // LUT = 300 + 1.1 * (4 + 4 + 6 + 12) = 328.6
  // thresholds: 4 deep x (3 * 6) bits in SRLs: 18 * 1 + 8 = 26; weights: 16 deep x 2 bits LUTRAM: 2 * 1 = 2
  CHECK(r.lut == Approx(328.6 + 26 + 2));
  // FF = 200 + (1 * (2 + 2) + 6) + threshold SRL outputs (18 + 8)
  CHECK(r.ff == Approx(210 + 26));
  CHECK(r.dsp == 0);
  CHECK(r.bram18 == 0);
  // On a device with 70560 LUTs this is 0.5 % of the LUT budget of 70 %.
  CHECK(r.lut / (0.7 * 70560) < 0.01);
}

TEST_CASE("BRAM18 counts at the aspect-ratio boundaries", "[unit][cost]") {
  using hw::bram18For;
  CHECK(bram18For(16384, 1) == 1);
  CHECK(bram18For(16385, 1) == 2);
  CHECK(bram18For(8192, 2) == 1);
  CHECK(bram18For(8193, 2) == 2);
  CHECK(bram18For(4096, 4) == 1);
  CHECK(bram18For(4097, 4) == 2);
  CHECK(bram18For(4096, 3) == 1);
  CHECK(bram18For(2048, 9) == 1);
  CHECK(bram18For(2049, 9) == 2);
  CHECK(bram18For(2048, 5) == 1);  // 5 bits wide uses the 2K x 9 shape
  CHECK(bram18For(4096, 5) == 2);
  CHECK(bram18For(1024, 18) == 1);
  CHECK(bram18For(1025, 18) == 2);
  CHECK(bram18For(1024, 19) == 2); // deeper than 512: 1K x 18 shapes, two side by side
  CHECK(bram18For(512, 36) == 1);  // 512 x 36 (simple dual port)
  CHECK(bram18For(512, 37) == 2);
  CHECK(bram18For(513, 36) == 2);
  CHECK(hw::uramFor(4096, 72) == 1);
  CHECK(hw::uramFor(4097, 72) == 2);
  CHECK(hw::uramFor(4096, 73) == 2);
}

TEST_CASE("DSP packing: 8x8, 4x4 and mixed widths", "[unit][cost]") {
  CHECK(hw::dspMacsPerSlice(hw::DspKind::DSP48E2, 8, 8) == 2);
  CHECK(hw::dspMacsPerSlice(hw::DspKind::DSP48E2, 4, 4) == 4);
  CHECK(hw::dspMacsPerSlice(hw::DspKind::DSP48E2, 16, 16) == 1);
  CHECK(hw::dspMacsPerSlice(hw::DspKind::DSP48E2, 32, 32) == Approx(1.0 / 4)); // ceil(32/27) * ceil(32/18)
  CHECK(hw::dspMacsPerSlice(hw::DspKind::DSP58, 8, 8) == 3);
  CHECK(hw::dspMacsPerSlice(hw::DspKind::DSP48E1, 8, 8) == 1);
  CHECK(hw::dspMacsPerSlice(hw::DspKind::DSP48E1, 4, 4) == 2);
  hw::CostCoefficients c;
  // 64 outputs, 64 inputs, PE 4 x SIMD 8 = 32 lanes.
  auto g8 = mvuGraph(64, 64, 8, 8, 4);
  CHECK(hw::macResources(hw::macUnitOf(g8.at("fc"), 4, 8, PeKind::Dsp, MemKind::Bram), hw::DspKind::DSP48E2, c).dsp == 16);
  CHECK(hw::macResources(hw::macUnitOf(g8.at("fc"), 4, 8, PeKind::Dsp, MemKind::Bram), hw::DspKind::DSP58, c).dsp == 11);
  auto g4 = mvuGraph(64, 64, 4, 4, 4);
  CHECK(hw::macResources(hw::macUnitOf(g4.at("fc"), 4, 8, PeKind::Dsp, MemKind::Bram), hw::DspKind::DSP48E2, c).dsp == 8);
  // Mixed: 16 channels at 8 bits, 48 at 4 bits, 8-bit inputs would defeat the 4x4 packing, so 4-bit inputs.
  auto gm = mvuGraph(64, 64, 8, 4, 4);
  auto& l = gm.layers().back();
  l.channel_bits.assign(16, 8);
  l.channel_bits.insert(l.channel_bits.end(), 48, 4);
  gm.finalize();
  auto u = hw::macUnitOf(gm.at("fc"), 16, 8, PeKind::Dsp, MemKind::Bram);
  // Lanes split by share: 16 PEs -> 4 for the 8-bit group, 12 for the 4-bit group.
  // 8-bit: 4 * 8 lanes / 2 = 16 DSP; 4-bit: 12 * 8 / 4 = 24 DSP.
  CHECK(hw::macResources(u, hw::DspKind::DSP48E2, c).dsp == 40);
  CHECK(hw::macCyclesPerPixel(u) == 4 * 8); // 16/4 = 48/12 = 4 channel folds x 64/8 input folds
}

TEST_CASE("channel-wise mixed precision changes LUT cost (LUT PEs) and cycles (bit-serial PEs)", "[unit][cost]") {
  hw::CostCoefficients c;
  auto uniform8 = mvuGraph(64, 64, 8, 4, 4);
  auto mixed = mvuGraph(64, 64, 8, 4, 4);
  auto& l = mixed.layers().back();
  l.channel_bits.assign(16, 8);
  l.channel_bits.insert(l.channel_bits.end(), 48, 2);
  mixed.finalize();
  auto lutU = hw::macResources(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram), hw::DspKind::DSP48E2, c);
  auto lutM = hw::macResources(hw::macUnitOf(mixed.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram), hw::DspKind::DSP48E2, c);
  CHECK(lutM.lut < lutU.lut);
  // Same cycles for LUT PEs: the lanes are split by channel share.
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(mixed.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram)) ==
        hw::macCyclesPerPixel(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram)));
  // Bit-serial: one cycle per weight bit: 16 * 8 + 48 * 2 = 224 bit-channels over 16 lanes = 14, x 64/8.
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(mixed.at("fc"), 16, 8, PeKind::BitSerial, MemKind::Bram)) == 14 * 8);
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::BitSerial, MemKind::Bram)) == 32 * 8);
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram)) == 4 * 8);
}

namespace {
config::Run runFor(const std::string& model, int w, int a, const std::string& device) {
  std::string yaml = "network: {model: " + model + ", quant: {weights: " + std::to_string(w) +
                     ", activations: " + std::to_string(a) + "}}\nhardware: {device: " + device + "}\n";
  return config::loadRunString(yaml, "<test>");
}
} // namespace

TEST_CASE("lowering bit-widths never increases estimated LUT or BRAM of the same folding (zoo)", "[unit][cost]") {
  for (const auto& model : zoo::modelNames()) {
    INFO(model);
    // One folding for all widths: what meets 1/4 of the PE=SIMD=1 cycles at 8 bits, LUT PEs.
    auto base = runFor(model, 8, 8, "xcu250");
    std::map<std::string, config::LayerMapping> fold;
    for (const auto& l : base.graph.layers()) {
      if (!l.isWeighted()) continue;
      auto f = sched::mac::foldForTarget(l, std::max<int64_t>(1, sched::mac::cycles(l, 1, 1) / 4));
      config::LayerMapping lm;
      lm.pe = int(f.pe);
      lm.simd = int(f.simd);
      lm.pe_kind = hw::PeKind::Lut;
      fold[l.name] = lm;
    }
    double prevLut = 1e18, prevBram = 1e18;
    for (int bits : {8, 6, 4, 3, 2, 1}) {
      INFO("bits " << bits);
      auto run = runFor(model, bits, bits, "xcu250");
      run.config.mapping.layers = fold;
      auto m = sched::buildMapping(run.graph, run.config, sched::manualPlan(run.config));
      auto res = sched::estimateResources(run.graph, m, run.config);
      CHECK(res.total.lut <= prevLut);
      CHECK(res.total.bram18 <= prevBram);
      prevLut = res.total.lut;
      prevBram = res.total.bram18;
    }
  }
}

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

TEST_CASE("scheduler: ResNet-18 W4A4 (8-bit first/last) on xczu9eg at 200 MHz fits and simulates within 5 %",
          "[module][sched]") {
  const std::string cfg = R"(
network: {model: resnet18, quant: {weights: 4, activations: 4, first_layer: {weights: 8}, last_layer: {weights: 8}}}
hardware: {device: xczu9eg, clock_mhz: 200}
mapping: {mode: auto, goal: max_fps}
simulation: {frames: 6}
)";
  auto r = test::simulateText(cfg);
  CHECK(r.report["resources"]["fits"].get<bool>());
  const double predicted = r.report["summary"]["predicted"]["fps"].get<double>();
  const double simulated = r.report["summary"]["fps"].get<double>();
  CHECK(predicted > 100);
  CHECK(simulated == Approx(predicted).epsilon(0.05));
  // Deterministic: the same inputs give the same mapping.
  auto again = config::loadRunString(cfg, "<test>");
  auto m2 = flow::map(again).mapping;
  REQUIRE(m2.engines.size() == r.mapping.engines.size());
  for (size_t i = 0; i < m2.engines.size(); ++i) {
    CHECK(m2.engines[i].pe == r.mapping.engines[i].pe);
    CHECK(m2.engines[i].simd == r.mapping.engines[i].simd);
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
)", "<test>");
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
)", "<test>");
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
)", "<test>");
  CHECK_THROWS_WITH(sched::schedule(fast.graph, fast.config), Catch::Contains("is out of reach"));
}

TEST_CASE("labelselect cost: PE x k comparators of the score width plus k (score, index) registers, no BRAM or DSP",
          "[unit][cost]") {
  hw::CostCoefficients c;
  // PE 2, k 3, 8-bit scores, 8-bit indices: comparators 2 * 3 * 8 = 48, registers 3 * (8 + 8) = 48.
  auto r = hw::labelSelectResources(2, 3, 8, 8, c);
  CHECK(r.lut == Approx(100 + 48 + 48));
  CHECK(r.ff == Approx(100 + 48 + 8));
  CHECK(r.dsp == 0);
  CHECK(r.bram18 == 0);
  CHECK(r.uram == 0);
  // The design's estimate uses the layer's input width, k and index width (1000 classes: 10 bits).
  auto run = config::loadRunString(R"(
network: {model: tfc}
hardware: {device: zcu104}
)", "<test>");
  graph::Graph g("t");
  graph::GraphBuilder b(g);
  b.input("in", 1000, 1, 1, 6, true);
  b.labelSelect("top", "in", 5);
  b.output("out", "top");
  g.finalize();
  run.config.mapping.layers.clear();
  run.config.mapping.layers["top"].pe = 4;
  auto m = sched::buildMapping(g, run.config, sched::manualPlan(run.config));
  auto res = sched::estimateResources(g, m, run.config);
  const size_t i = size_t(m.indexOf("top"));
  const auto expect = hw::labelSelectResources(4, 5, 6, 10, run.config.hardware.cost);
  CHECK(res.engines[i].lut == Approx(expect.lut));
  CHECK(expect.lut == Approx(100 + 4 * 5 * 6 + 5 * 16));
  CHECK(res.engines[i].ff == Approx(100 + 5 * 16 + 10));
  CHECK(res.engines[i].bram18 == 0);
  CHECK(res.engines[i].dsp == 0);
  // Wider lanes cost more.
  CHECK(hw::labelSelectResources(8, 5, 6, 10, c).lut > expect.lut);
}

TEST_CASE("scheduler: labelselect gets the fewest lanes (a divisor of the classes) that meet the target",
          "[unit][sched]") {
  mpsim::test::TempDir dir("mpsim_labelselect");
  std::ofstream(dir / "net.yaml") << "input: {shape: [64], bits: 8}\n"
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
  // max_fps: the fastest design also unfolds the label select (1 lane would cost 205 cycles).
  auto fast = load("{mode: auto}");
  auto fm = flow::map(fast).mapping;
  CHECK(fm.engines[size_t(fm.indexOf("top"))].closed_form_cycles < 205);
  CHECK(fm.predicted_bottleneck != "top");
}
