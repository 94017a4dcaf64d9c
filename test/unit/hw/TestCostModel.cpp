// The cost model (hw/CostModel): LUT, BRAM18 and DSP counts at hand-checked points, channel-wise mixed
// precision, monotonicity in the bit-widths, label-select comparators.
#include <catch2/catch.hpp>

#include "SimTestUtil.hpp"

#include "mpsim/common/Error.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/sched/Resources.hpp"
#include "mpsim/sched/Scheduler.hpp"
#include "mpsim/zoo/Zoo.hpp"
#include <fstream>

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

namespace {
config::Run runFor(const std::string& model, int w, int a, const std::string& device) {
  std::string yaml = "network: {model: " + model + ", quant: {weights: " + std::to_string(w) +
                     ", activations: " + std::to_string(a) + "}}\nhardware: {device: " + device + "}\n";
  return config::loadRunString(yaml, "<test>");
}
} // namespace

TEST_CASE("matrix-vector unit cost at a hand-checked point (MW = MH = 4, PE = SIMD = 1, W2A2, 2-bit thresholds)",
          "[unit][cost]") {
  auto g = mvuGraph(4, 4, 2, 2, 2);
  const auto& l = g.at("fc");
  // Accumulator: signed 2-bit weights (|w| <= 2^1), unsigned 2-bit inputs (< 2^2), 4 terms (2 bits), sign: 6.
  REQUIRE(l.accBits() == 6);
  auto u = hw::macUnitOf(l, 1, 1, PeKind::Lut, MemKind::Lutram);
  // The form with coefficients chosen here (the defaults are fitted, docs/cost-model.md).
  hw::CostCoefficients c;
  c.mvu_lut_base = 100;
  c.mvu_lut_per_mul_bit = 1;
  c.mvu_lut_per_acc_bit = 2;
  c.mvu_lut_per_threshold_bit = 0.5;
  c.mvu_lut_per_input_bit = 0.25;
  c.mvu_ff_base = 50;
  c.mvu_ff_per_lane_bit = 1;
  c.mvu_ff_per_acc_bit = 1;
  c.mvu_ff_per_threshold_bit = 0.5;
  c.mvu_ff_per_input_bit = 1;
  auto r = hw::macResources(u, hw::findDevice("xczu3eg")->dsp_kind, c);
  // PE x SIMD x W x A = 4 multiplier bits, PE x acc = 6, PE x 3 thresholds x acc = 18 threshold bits,
  // MW x A = 8 input-buffer bits (MH = 4 > PE); the threshold memories are 4 deep (< 64: in LUTs);
  // weights 16 deep x 2 bits in LUTRAM: one LUT per bit up to 64 entries, 2.
  // LUT = 100 + 4 + 2 * 6 + 0.5 * 18 + 0.25 * 8 + 2 = 129
  CHECK(r.lut == Approx(129));
  // FF = 50 + PE x SIMD x (W + A) = 4, + 6, + 0.5 * 18, + 8 = 77
  CHECK(r.ff == Approx(77));
  CHECK(r.dsp == 0);
  CHECK(r.bram18 == 0);
  // The defaults put it at a fraction of a percent of a small device's LUT budget.
  hw::CostCoefficients d;
  CHECK(hw::macResources(u, hw::DspKind::DSP48E2, d).lut / (0.7 * 70560) < 0.01);
}

TEST_CASE("the MAC unit's input buffer: registers (finn-hlslib HLS) or a memory placed by depth", "[unit][cost]") {
  // ResNet-18's widest layer: MW = 3*3*512 = 4608, MH = 512, W6A6, PE = SIMD = 1: SF = 4608 words of 6 bits.
  auto g = mvuGraph(4608, 512, 6, 6, 6);
  const auto& l = g.at("fc");
  auto u = hw::macUnitOf(l, 1, 1, PeKind::Lut, MemKind::Bram);
  hw::CostCoefficients regs, mem;
  REQUIRE(regs.mvu_input_buffer == hw::InputBuffer::Registers); // the default (the six builds)
  mem.mvu_input_buffer = hw::InputBuffer::Memory;
  const auto r = hw::macResources(u, hw::DspKind::DSP48E2, regs);
  const auto m = hw::macResources(u, hw::DspKind::DSP48E2, mem);
  // Registers: MW * A = 27648 bits at the per-input-bit coefficients.
  // Memory: those terms go; a 4608 x 6 buffer: 8K x 4 RAMB36 (2 BRAM18) + a RAMB18 for the 2-bit rest
  // = 3 BRAM18, with its control: buffer_lut_per_bit * 6 + buffer_lut_per_addr_bit * 13 LUTs (and FFs).
  CHECK(r.lut - m.lut == Approx(regs.mvu_lut_per_input_bit * 27648 - (regs.buffer_lut_per_bit * 6 +
                                                                      regs.buffer_lut_per_addr_bit * 13)));
  CHECK(r.ff - m.ff == Approx(regs.mvu_ff_per_input_bit * 27648 - (regs.buffer_ff_per_bit * 6 +
                                                                   regs.buffer_ff_per_addr_bit * 13)));
  CHECK(m.bram18 - r.bram18 == 3);
  CHECK(m.lut < r.lut - 10000); // the registers' read multiplexer alone is ~12k LUTs
  // A short buffer (SF = 27 words of 8 bits, the CNV build's first layer) is a shift register: 8 SRL32.
  auto g2 = mvuGraph(27, 64, 4, 8, 4);
  auto u2 = hw::macUnitOf(g2.at("fc"), 2, 1, PeKind::Lut, MemKind::Bram);
  const auto r2 = hw::macResources(u2, hw::DspKind::DSP48E2, regs);
  const auto m2 = hw::macResources(u2, hw::DspKind::DSP48E2, mem);
  CHECK(m2.bram18 == r2.bram18);
  CHECK(r2.lut - m2.lut == Approx(regs.mvu_lut_per_input_bit * 216 - (8 + regs.buffer_lut_per_bit * 8 +
                                                                     regs.buffer_lut_per_addr_bit * 5)));
  // No output folds (MH = PE): nothing is buffered either way.
  auto u3 = hw::macUnitOf(g2.at("fc"), 64, 1, PeKind::Lut, MemKind::Bram);
  const auto r3 = hw::macResources(u3, hw::DspKind::DSP48E2, regs), m3 = hw::macResources(u3, hw::DspKind::DSP48E2, mem);
  CHECK(r3.lut == m3.lut);
  CHECK(r3.ff == m3.ff);
  CHECK(r3.bram18 == m3.bram18);
}

TEST_CASE("hardware.cost_model.mvu_input_buffer reaches the design's estimate and the effective config",
          "[unit][cost]") {
  auto load = [](const std::string& style) {
    return config::loadRunString("network: {model: tfc, quant: {weights: 2, activations: 2}}\n"
                                 "hardware: {device: xcu250, cost_model: {mvu_input_buffer: " +
                                     style + "}}\n",
                                 "<test>");
  };
  auto regs = load("registers"), mem = load("memory");
  CHECK(config::effectiveConfig(mem.config)["hardware"]["cost_model"]["mvu_input_buffer"].as<std::string>() ==
        "memory");
  CHECK(config::effectiveConfig(regs.config)["hardware"]["cost_model"]["mvu_input_buffer"].as<std::string>() ==
        "registers");
  const auto dr = flow::map(regs), dm = flow::map(mem);
  const auto r = sched::estimateResources(dr.run.graph, dr.mapping, dr.run.config);
  const auto m = sched::estimateResources(dm.run.graph, dm.mapping, dm.run.config);
  // TFC's 784-wide first layer buffers its input (MH = 64 > PE at the default folding): fewer FFs as a memory.
  CHECK(m.total.ff < r.total.ff);
}

TEST_CASE("threshold memories move to BRAM when deep and wide, one per PE and threshold", "[unit][cost]") {
  // MH = 256, PE = 2: 128 deep; 4-bit outputs: 15 thresholds of acc bits per channel.
  auto g = mvuGraph(256, 256, 4, 4, 4);
  const auto& l = g.at("fc");
  REQUIRE(l.accBits() >= 9);
  hw::CostCoefficients c;
  auto u = hw::macUnitOf(l, 2, 2, PeKind::Lut, MemKind::Lutram);
  CHECK(hw::macResources(u, hw::DspKind::DSP48E2, c).bram18 == 2 * 15); // one RAMB18 (512 x 36) each
  c.threshold_bram_min_depth = 129;                                     // 128 deep stays in LUTs
  CHECK(hw::macResources(u, hw::DspKind::DSP48E2, c).bram18 == 0);
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
  CHECK(bram18For(2048, 5) == 1); // 5 bits wide uses the 2K x 9 shape
  CHECK(bram18For(4096, 5) == 2);
  CHECK(bram18For(1024, 18) == 1);
  CHECK(bram18For(1025, 18) == 2);
  CHECK(bram18For(1024, 19) == 2); // deeper than 512: 1K x 18 shapes, two side by side
  CHECK(bram18For(512, 36) == 1);  // 512 x 36 (simple dual port)
  CHECK(bram18For(512, 37) == 2);
  CHECK(bram18For(513, 36) == 2);
  // Measured placements (test/data/synth): the depth rounded up to a power of two picks the aspect
  // ratio, whole RAMB36 plus a RAMB18 for a remainder of at most half the width.
  CHECK(bram18For(80, 960) == 27);   // cybsec fc0 weights: 13 RAMB36 (512 x 72) + 1 RAMB18
  CHECK(bram18For(64, 128) == 4);    // cybsec fc1: 2 RAMB36
  CHECK(bram18For(9216, 16) == 16);  // cnv fc1: 8 RAMB36 of 16K x 2
  CHECK(bram18For(18432, 32) == 64); // cnv fc3: 32 RAMB36 of 32K x 1
  CHECK(bram18For(6975, 12) == 6);   // eeg fc0: 3 RAMB36 of 8K x 4
  CHECK(bram18For(4096, 6) == 2);    // a 4K x 6 FIFO: one RAMB36 (4K x 9; a RAMB18 holds 4 bits)
  // Deeper than 32K: 7-series multiplexes 32K x 1 slices, UltraScale+ cascades 4K x 9 columns.
  CHECK(bram18For(147456, 16, true) == 160); // cnv fc5: 80 RAMB36
  CHECK(bram18For(45000, 6) == 22);          // eeg fc1: 11 RAMB36
  CHECK(bram18For(180000, 6) == 88);         // eeg fc2: 44 RAMB36
  CHECK(hw::lutramLuts(64, 8, hw::CostCoefficients{}) == 8);
  CHECK(hw::lutramLuts(65536, 8, hw::CostCoefficients{}) == Approx(12288)); // cnv fc6 (distributed)
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
  CHECK(hw::macResources(hw::macUnitOf(g8.at("fc"), 4, 8, PeKind::Dsp, MemKind::Bram), hw::DspKind::DSP48E2, c).dsp ==
        16);
  CHECK(hw::macResources(hw::macUnitOf(g8.at("fc"), 4, 8, PeKind::Dsp, MemKind::Bram), hw::DspKind::DSP58, c).dsp ==
        11);
  auto g4 = mvuGraph(64, 64, 4, 4, 4);
  CHECK(hw::macResources(hw::macUnitOf(g4.at("fc"), 4, 8, PeKind::Dsp, MemKind::Bram), hw::DspKind::DSP48E2, c).dsp ==
        8);
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
  auto lutU =
      hw::macResources(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram), hw::DspKind::DSP48E2, c);
  auto lutM =
      hw::macResources(hw::macUnitOf(mixed.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram), hw::DspKind::DSP48E2, c);
  CHECK(lutM.lut < lutU.lut);
  // Same cycles for LUT PEs: the lanes are split by channel share.
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(mixed.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram)) ==
        hw::macCyclesPerPixel(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram)));
  // Bit-serial: one cycle per weight bit: 16 * 8 + 48 * 2 = 224 bit-channels over 16 lanes = 14, x 64/8.
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(mixed.at("fc"), 16, 8, PeKind::BitSerial, MemKind::Bram)) == 14 * 8);
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::BitSerial, MemKind::Bram)) == 32 * 8);
  CHECK(hw::macCyclesPerPixel(hw::macUnitOf(uniform8.at("fc"), 16, 8, PeKind::Lut, MemKind::Bram)) == 4 * 8);
}

TEST_CASE("lowering bit-widths never increases estimated LUT or BRAM of the same folding and placement (zoo)",
          "[unit][cost]") {
  // Placement by size (a weight memory small enough for LUTRAM, a line buffer for distributed RAM,
  // thresholds narrow enough for LUTs) trades BRAM for LUTs when the widths shrink, as Vivado does;
  // with every memory's placement held (all in BRAM), no resource may grow.
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
      run.config.hardware.cost.weight_lutram_max_bits = 0;
      run.config.hardware.cost.linebuffer_lutram_max_bits = 0;
      run.config.hardware.cost.threshold_bram_min_width = 0;
      auto m = sched::buildMapping(run.graph, run.config, sched::manualPlan(run.config));
      auto res = sched::estimateResources(run.graph, m, run.config);
      CHECK(res.total.lut <= prevLut);
      CHECK(res.total.bram18 <= prevBram);
      prevLut = res.total.lut;
      prevBram = res.total.bram18;
    }
  }
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
)",
                                   "<test>");
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

TEST_CASE("DMA cost: LUT / FF by the width converters' word lcm(interface, stream), BRAM18 by whether they go "
          "through it",
          "[unit][cost]") {
  hw::CostCoefficients c;
  c.dma_lut = 700;
  c.dma_lut_per_bit = 2;
  c.dma_ff = 1000;
  c.dma_ff_per_bit = 5;
  c.dma_bram18 = 1;
  // FACILE's idma0: 4-bit inputs padded to an 8-bit stream, 14 words per frame, InsertIODMA(64):
  // interface gcd(8 * 14, 64) = 16, which 8 divides: one converter of X = 16 bits.
  const hw::Resources narrow = hw::dmaResources(4, 8 * 14, 64, c);
  CHECK(narrow.lut == Approx(700 + 2 * 16));
  CHECK(narrow.ff == Approx(1000 + 5 * 16));
  CHECK(narrow.bram18 == 1);
  // The EEG build's idma0: 150 bits padded to 152, 992 words: interface gcd(152 * 992, 64) = 64,
  // which neither divides nor is divided by 152: through X = lcm(64, 152) = 1216 bits, 512 x 72
  // RAMB36 of it, ceil(1216 / 72) = 17, plus one (2 * 18 = 36 BRAM18, what the build measured).
  const hw::Resources wide = hw::dmaResources(150, 152 * 992, 64, c);
  CHECK(wide.lut == Approx(700 + 2 * 1216));
  CHECK(wide.ff == Approx(1000 + 5 * 1216));
  CHECK(wide.bram18 == 36);
  // The EEG output: 24 bits, one word: interface gcd(24, 64) = 8 divides 24: X = 24, no lcm buffer.
  const hw::Resources out = hw::dmaResources(24, 24, 64, c);
  CHECK(out.lut == Approx(700 + 2 * 24));
  CHECK(out.bram18 == 1);
  // The mapping's input DMA of 3 x 8-bit pixels (32 x 32 per frame) on a 64-bit port streams the
  // whole 24-bit token: interface gcd(24 * 1024, 64) = 64, X = lcm(64, 24) = 192, which is neither
  // width: ceil(192 / 72) = 3 RAMB36 plus one, 8 BRAM18.
  auto run = config::loadRunString(R"(
network: {model: tfc}
hardware: {device: zcu104, io: {in_bits_per_cycle: 64, out_bits_per_cycle: 64}}
)",
                                   "<test>");
  run.config.hardware.cost = c;
  graph::Graph g("t");
  graph::GraphBuilder b(g);
  b.input("in", 3, 32, 32, 8, false);
  b.maxPool("pool", "in", 2, 2);
  b.output("out", "pool");
  g.finalize();
  run.config.mapping.layers.clear();
  auto m = sched::buildMapping(g, run.config, sched::manualPlan(run.config));
  auto res = sched::estimateResources(g, m, run.config);
  const auto& in = res.engines[size_t(m.indexOf("in"))];
  CHECK(in.lut == Approx(700 + 2 * 192));
  CHECK(in.ff == Approx(1000 + 5 * 192));
  CHECK(in.bram18 == 8);
  CHECK(in.lut == Approx(hw::dmaResources(24, 24 * 1024, 64, c).lut));
  // A token wider than the port (a host-flattened 600-bit vector) streams port-wide words:
  // 64 bits, 10 words, interface gcd(640, 64) = 64 = X.
  CHECK(hw::dmaResources(64, 640, 64, c).lut == Approx(700 + 2 * 64));
  CHECK(hw::dmaResources(64, 640, 64, c).bram18 == 1);
}
