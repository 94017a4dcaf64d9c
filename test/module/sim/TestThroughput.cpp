#include <catch2/catch.hpp>

#include <algorithm>

#include "SimTestUtil.hpp"
#include "TempDir.hpp"
#include "mpsim/sim/Engine.hpp"
#include "mpsim/sim/Isolated.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/report/Compare.hpp"

#include <filesystem>
#include <fstream>
#include <unistd.h>
#include "mpsim/zoo/Zoo.hpp"

using namespace mpsim;
using mpsim::test::simulateText;

namespace {

// A chain with known closed forms: conv 3x3 (SWU + MVU), conv 1x1, fc.
const char* kChainNet = R"(
name: chain
input: {shape: [8, 12, 12], bits: 8}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c1, type: conv, out_channels: 16, kernel: 3, padding: 1}
  - {name: c2, type: conv, out_channels: 16, kernel: 1}
  - {name: fc, type: fc, out_features: 10}
)";


} // namespace

TEST_CASE("balanced chain with deep FIFOs reaches exactly f_clk / max(cycles per frame)", "[module][sim]") {
  // c1: 144 px * (16/PE) * (72/SIMD); c2: 144 * (16/PE) * (16/SIMD); fc: (10/PE) * (2304/SIMD).
  auto g = io::loadNetworkYamlString(kChainNet, "chain");
  REQUIRE(g.at("c1").macs() == 144 * 16 * 72);

  struct Case {
    int c1pe, c1simd, c2pe, c2simd, fcpe, fcsimd;
  };
  for (Case c : {Case{4, 8, 2, 4, 2, 64}, Case{16, 72, 16, 16, 10, 2304}, Case{1, 1, 1, 1, 1, 1}, Case{2, 3, 4, 2, 5, 16}}) {
    std::vector<std::string> sets = {
        "mapping.layers.c1.pe=" + std::to_string(c.c1pe), "mapping.layers.c1.simd=" + std::to_string(c.c1simd),
        "mapping.layers.c2.pe=" + std::to_string(c.c2pe), "mapping.layers.c2.simd=" + std::to_string(c.c2simd),
        "mapping.layers.fc.pe=" + std::to_string(c.fcpe), "mapping.layers.fc.simd=" + std::to_string(c.fcsimd),
        "mapping.fifos.default_depth=256", "simulation.frames=5"};
    auto r = simulateText(std::string("network: {model: ") + MPSIM_SOURCE_DIR +
                              "/test/data/chain.yaml}\nhardware: {device: zcu104, clock_mhz: 200}\n",
                          sets);
    int64_t c1 = 144 * (16 / c.c1pe) * (72 / c.c1simd);
    int64_t c2 = 144 * (16 / c.c2pe) * (16 / c.c2simd);
    // fc also cannot run faster than its 144 input pixels of 16 channels arrive at SIMD per cycle.
    int64_t fc = std::max<int64_t>((10 / c.fcpe) * (2304 / c.fcsimd), 144 * ((16 + c.fcsimd - 1) / c.fcsimd));
    int64_t expect = std::max({c1, c2, fc});
    INFO("c1=" << c1 << " c2=" << c2 << " fc=" << fc);
    CHECK(r.spec("c1").closed_form_cycles == c1);
    CHECK(r.spec("c2").closed_form_cycles == c2);
    CHECK(r.spec("fc").closed_form_cycles == fc);
    CHECK(r.interval() == uint64_t(expect));
    CHECK(r.report["summary"]["fps"].get<double>() == Approx(200e6 / double(expect)).epsilon(1e-9));
    CHECK(r.report["summary"]["steady_state"].get<bool>());
  }
}

TEST_CASE("an I/O-limited design reaches the I/O bound, not the compute bound", "[module][sim]") {
  // TFC with FINN's TFC-W1A1 folding: 64 cycles per frame of compute, but 784 input bytes per frame
  // through a 64-bit port take 98 cycles.
  auto r = simulateText(R"(
network: {model: tfc, quant: {weights: 1, activations: 1, input_bits: 8}}
hardware: {device: pynq-z1, clock_mhz: 100, io: {in_bits_per_cycle: 64}}
mapping:
  layers:
    fc0: {pe: 16, simd: 49}
    fc1: {pe: 8, simd: 8}
    fc2: {pe: 8, simd: 8}
    fc3: {pe: 10, simd: 8}
simulation: {frames: 8}
)");
  CHECK(r.spec("fc0").closed_form_cycles == 64);
  CHECK(r.spec("input").closed_form_cycles == 98);
  CHECK(r.interval() == 98);
  CHECK(r.report["summary"]["bottleneck"]["engine"] == "input");
  CHECK(r.report["summary"]["bottleneck"]["reason"] == "I/O");
  // A wider port moves the bound back to compute.
  auto wide = simulateText(R"(
network: {model: tfc, quant: {weights: 1, activations: 1, input_bits: 8}}
hardware: {device: pynq-z1, clock_mhz: 100, io: {in_bits_per_cycle: 256}}
mapping: {layers: {fc0: {pe: 16, simd: 49}, fc1: {pe: 8, simd: 8}, fc2: {pe: 8, simd: 8}, fc3: {pe: 10, simd: 8}}}
simulation: {frames: 8}
)");
  CHECK(wide.interval() == 64);
  CHECK(wide.report["summary"]["bottleneck"]["engine"] == "fc0");
  CHECK(wide.report["summary"]["bottleneck"]["reason"] == "compute");
}

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
    s.geom = sched::WindowGeom{8, 8, 6, 6, 3, 3, 1, 1, 0, 0, 1, 1};
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
    swu = std::make_unique<sim::DataflowEngine>("swu", s, ctx, std::vector<sim::Stream*>{&in}, std::vector<sim::Stream*>{&out});
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

TEST_CASE("ResNet-18: shortcut depth 1 deadlocks and names the FIFO, the suggested depth reaches the compute bound",
          "[module][sim][resnet]") {
  const std::string cfg = R"(
network: {model: resnet18, quant: {weights: 4, activations: 4, first_layer: {weights: 8}, last_layer: {weights: 8}}}
hardware: {device: zcu102, clock_mhz: 200}
simulation: {frames: 3}
)";
  // Balanced folding: every MAC layer at or below 200k cycles per frame, so stalls would show.
  auto fold = test::balancedFolding(cfg, 200000);
  auto sets = fold;
  sets.push_back("mapping.fifos.shortcut_depth=1");
  auto dead = simulateText(cfg, sets);
  REQUIRE(dead.result.deadlock.detected);
  CHECK(dead.report["summary"]["status"] == "deadlock");
  const auto& path = dead.result.deadlock.cycle_path;
  CHECK(std::find(path.begin(), path.end(), "maxpool.fork->layer1.0.add (full)") != path.end());
  bool suggested = false;
  for (const auto& s : dead.report["deadlock"]["shortcut_suggestions"])
    if (s["fifo"] == "maxpool.fork->layer1.0.add") {
      suggested = true;
      CHECK(s["min_depth"] == 115); // 2 rows of 56 + 3 pixels through two 3x3 convs
    }
  CHECK(suggested);

  auto good = simulateText(cfg, fold); // shortcut_depth: auto (the suggested depth)
  REQUIRE_FALSE(good.result.deadlock.detected);
  CHECK(good.interval() == uint64_t(good.mapping.predicted_cycles));
  CHECK(good.report["summary"]["bottleneck"]["reason"] == "compute");
  // Exactly the deadlock-free minimum does not deadlock; one less does.
  auto atMin = simulateText(cfg, [&] { auto s = fold; s.push_back("mapping.fifos.depths[maxpool.fork->layer1.0.add]=115"); return s; }());
  CHECK_FALSE(atMin.result.deadlock.detected);
  auto belowMin = simulateText(cfg, [&] { auto s = fold; s.push_back("mapping.fifos.depths[maxpool.fork->layer1.0.add]=114"); return s; }());
  CHECK(belowMin.result.deadlock.detected);
}

TEST_CASE("DRAM-placed weights with too little bandwidth make DRAM the bottleneck", "[module][sim]") {
  const std::string cfg = R"(
network: {model: cnv, quant: {weights: 2, activations: 2}}
hardware: {device: pynq-z1, clock_mhz: 100}
mapping: {finn_folding: )" MPSIM_TEST_DATA R"(/finn/cnv-w1a1_folding_config.json}
simulation: {frames: 8}
)";
  auto onchip = simulateText(cfg);
  CHECK(onchip.report["summary"]["bottleneck"]["reason"] == "compute");
  // fc7's 512x512 2-bit weights are 64 KiB per frame; at 0.2 GB/s and 100 MHz that is 32768+ cycles
  // of transfer alone, at 0.05 GB/s four times that.
  auto slow = simulateText(cfg, {"mapping.layers.fc7.weights=dram", "hardware.dram.bandwidth_gbps=0.05"});
  CHECK(slow.report["summary"]["bottleneck"]["reason"] == "DRAM");
  CHECK(slow.report["summary"]["bottleneck"]["layer"] == "fc7");
  CHECK(slow.interval() >= uint64_t(65536.0 / (0.05e9 / 100e6)));
  CHECK(slow.interval() > onchip.interval());
  // Plenty of bandwidth: streaming weights costs no throughput.
  auto fast = simulateText(cfg, {"mapping.layers.fc7.weights=dram", "hardware.dram.bandwidth_gbps=19.2"});
  CHECK(fast.interval() == onchip.interval());
}

TEST_CASE("cnv with FINN's CNV-W1A1 folding at 100 MHz: per-layer closed forms and fps within 1 %", "[module][sim]") {
  auto r = simulateText(R"(
network: {model: cnv, quant: {weights: 1, activations: 1, input_bits: 8}}
hardware: {device: pynq-z1, clock_mhz: 100}
# FINN's published folding (test/data/finn, from finn-examples build/bnn-pynq/folding_config)
mapping: {finn_folding: )" MPSIM_TEST_DATA R"(/finn/cnv-w1a1_folding_config.json}
simulation: {frames: 5}
)");
  // (MH/PE) * (MW/SIMD) * OFM_H * OFM_W, by hand:
  const std::pair<const char*, int64_t> expect[] = {
      {"conv0", 4 * 9 * 900}, {"conv1", 2 * 18 * 784}, {"conv2", 8 * 18 * 144}, {"conv3", 8 * 36 * 100},
      {"conv4", 64 * 36 * 9}, {"conv5", 256 * 72 * 1}, {"fc6", 512 * 64}, {"fc7", 512 * 64}, {"fc8", 2 * 512}};
  int64_t mx = 0;
  for (auto [name, cycles] : expect) {
    INFO(name);
    CHECK(r.spec(name).closed_form_cycles == cycles);
    mx = std::max(mx, cycles);
  }
  CHECK(mx == 32768);
  double fps = r.report["summary"]["fps"].get<double>();
  CHECK(fps == Approx(100e6 / 32768.0).epsilon(0.01));
}

TEST_CASE("timestamped and reference modes give identical cycles on every zoo network", "[module][sim][slow]") {
  for (const auto& model : zoo::modelNames()) {
    INFO(model);
    std::string cfg = "network: {model: " + model + ", quant: {weights: 4, activations: 4}}\n"
                      "hardware: {device: zcu102, clock_mhz: 200}\nsimulation: {frames: 3}\n";
    auto fold = test::balancedFolding(cfg, model == "tfc" ? 500 : 400000);
    auto ts = simulateText(cfg, fold);
    auto sets = fold;
    sets.push_back("simulation.mode=reference");
    auto ref = simulateText(cfg, sets);
    CHECK_FALSE(ts.result.deadlock.detected);
    CHECK(ts.result.frame_done == ref.result.frame_done);
    REQUIRE(ts.result.engines.size() == ref.result.engines.size());
    for (size_t i = 0; i < ts.result.engines.size(); ++i) {
      INFO(ts.result.engines[i].name);
      CHECK(nlohmann::json(ts.result.engines[i]) == nlohmann::json(ref.result.engines[i]));
    }
    for (size_t i = 0; i < ts.result.streams.size(); ++i)
      CHECK(ts.result.streams[i].max_occupancy == ref.result.streams[i].max_occupancy);
  }
}

TEST_CASE("the same inputs give the same report byte for byte", "[module][sim]") {
  const std::string cfg = "network: {model: resnet18}\nhardware: {device: zcu102}\nsimulation: {frames: 2}\n";
  auto a = simulateText(cfg);
  auto b = simulateText(cfg);
  CHECK(a.report.dump() == b.report.dump());
}

TEST_CASE("mapping.finn_folding applies FINN's published folding configs by node order", "[unit][finn]") {
  auto cnv = config::loadRunString("network: {model: cnv, quant: {weights: 1, activations: 1}}\n"
                                   "hardware: {device: pynq-z1, clock_mhz: 100}\n"
                                   "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/cnv-w1a1_folding_config.json,"
                                   " layers: {fc8: {pe: 10}}}\n",
                                   "<test>");
  const auto& ml = cnv.config.mapping.layers;
  CHECK(ml.at("conv0").pe == 16);
  CHECK(ml.at("conv0").simd == 3);
  CHECK(ml.at("conv4").pe == 4);
  CHECK(ml.at("fc7").simd == 8);
  CHECK(ml.at("fc8").pe == 10);   // mapping.layers refines the folding file
  CHECK(ml.at("fc8").simd == 1);  // ... field by field
  CHECK(ml.at("conv1").pe_kind == hw::PeKind::Lut);
  auto m = flow::map(cnv).mapping;
  CHECK(m.engines[size_t(m.indexOf("fc6"))].closed_form_cycles == 32768);

  auto mb = config::loadRunString("network: {model: mobilenet_v1}\nhardware: {device: zcu102}\n"
                                  "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/mobilenet-v1_ZCU102_folding_config.json}\n",
                                  "<test>");
  // 15 MVAU nodes -> conv1, 13 pointwise convs, fc; 13 VVAU nodes -> the depthwise convs.
  size_t n = 0;
  for (const auto& l : mb.graph.layers())
    if (l.isWeighted()) {
      INFO(l.name);
      CHECK(mb.config.mapping.layers.count(l.name) == 1);
      ++n;
    }
  CHECK(n == 28);
  CHECK(mb.config.mapping.layers.at("conv_dw_1").pe == 16); // VVAU_hls_0: PE 16
  CHECK(mb.config.mapping.layers.at("conv_pw_1").pe_kind == hw::PeKind::Dsp); // MVAU_rtl_1: resType dsp

  // More MAC nodes than the graph has layers: a precise error.
  CHECK_THROWS_WITH(config::loadRunString("network: {model: tfc}\nhardware: {device: pynq-z1}\n"
                                          "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/cnv-w1a1_folding_config.json}\n",
                                          "t.yaml"),
                    Catch::Contains("mapping.finn_folding") && Catch::Contains("MVAU_hls_4 is matrix-vector node #5 but tfc has only 4 conv/fc layers"));
}

TEST_CASE("compare: reports agree within tolerances, a broken golden value names its path", "[unit][compare]") {
  std::ifstream in(MPSIM_SOURCE_DIR "/test/golden/cnv_w1a1/expected.json");
  REQUIRE(in);
  nlohmann::json golden = nlohmann::json::parse(in);
  report::CompareOptions opt;
  CHECK_FALSE(report::compareJson(golden, golden, opt).has_value());

  nlohmann::json broken = golden;
  broken["layers"][3]["busy"] = broken["layers"][3]["busy"].get<uint64_t>() + 1;
  auto d = report::compareJson(golden, broken, opt);
  REQUIRE(d.has_value());
  CHECK(d->path == "layers[3].busy");
  CHECK(d->what == "value");
  // A per-metric tolerance (array indices ignored) accepts it; another metric does not.
  opt.metrics["layers.busy"] = report::Tolerance{0, 1};
  CHECK_FALSE(report::compareJson(golden, broken, opt).has_value());
  broken["summary"]["fps"] = broken["summary"]["fps"].get<double>() * 1.001;
  d = report::compareJson(golden, broken, opt);
  REQUIRE(d.has_value());
  CHECK(d->path == "summary.fps");
  opt.metrics["summary.fps"] = report::Tolerance{0.01, 0};
  CHECK_FALSE(report::compareJson(golden, broken, opt).has_value());
  // Structure: a missing key and a shorter array are differences too.
  broken.erase("dram");
  d = report::compareJson(golden, broken, opt);
  REQUIRE(d.has_value());
  CHECK(d->path == "dram");
  CHECK(d->what == "missing key");
  nlohmann::json shorter = golden;
  shorter["fifos"].erase(shorter["fifos"].size() - 1);
  d = report::compareJson(golden, shorter, report::CompareOptions{});
  REQUIRE(d.has_value());
  CHECK(d->path == "fifos");
  CHECK(d->what == "length");
}

TEST_CASE("compare: .npy tensors exactly for integers, first differing element by index", "[unit][compare]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("mpsim_cmp_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<int32_t> a(2 * 3 * 2 * 2);
  for (size_t i = 0; i < a.size(); ++i) a[i] = int32_t(i) - 7;
  func::writeNpy((dir / "a.npy").string(), func::NpyType::Int32, {2, 3, 2, 2}, a.data());
  func::writeNpy((dir / "same.npy").string(), func::NpyType::Int32, {2, 3, 2, 2}, a.data());
  auto b = a;
  b[1 * 12 + 2 * 4 + 1 * 2 + 0] += 1;
  func::writeNpy((dir / "b.npy").string(), func::NpyType::Int32, {2, 3, 2, 2}, b.data());
  func::writeNpy((dir / "flat.npy").string(), func::NpyType::Int32, {24}, a.data());
  report::Tolerance tol{1e-3, 0};
  CHECK_FALSE(report::compareNpy((dir / "a.npy").string(), (dir / "same.npy").string(), tol).has_value());
  auto d = report::compareNpy((dir / "a.npy").string(), (dir / "b.npy").string(), tol);
  REQUIRE(d.has_value());
  CHECK(d->path == "[1, 2, 1, 0]");
  CHECK(d->expected == std::to_string(a[22]));
  CHECK(d->actual == std::to_string(a[22] + 1));
  d = report::compareNpy((dir / "a.npy").string(), (dir / "flat.npy").string(), tol);
  REQUIRE(d.has_value());
  CHECK(d->what == "shape");
  CHECK(d->expected == "(2, 3, 2, 2)");
  CHECK(d->actual == "(24,)");
  // Shapes that differ only by unit dimensions hold the same elements in the same order.
  func::writeNpy((dir / "unit.npy").string(), func::NpyType::Int64, {2, 1, 3, 1, 2, 2}, std::vector<int64_t>(a.begin(), a.end()).data());
  CHECK_FALSE(report::compareNpy((dir / "a.npy").string(), (dir / "unit.npy").string(), tol).has_value());
  d = report::compareNpy((dir / "b.npy").string(), (dir / "unit.npy").string(), tol);
  REQUIRE(d.has_value());
  CHECK(d->path == "[1, 2, 1, 0]");
  fs::remove_all(dir);
}

namespace {
const nlohmann::ordered_json& layerEntry(const nlohmann::ordered_json& report, const std::string& name) {
  for (const auto& l : report["layers"])
    if (l["name"] == name) return l;
  throw std::out_of_range("no layer " + name + " in the report");
}
} // namespace

TEST_CASE("labelselect engine: ceil(C/PE) + k cycles per frame in the per-layer report and the simulated interval",
          "[module][sim]") {
  // 200 class scores from a fast fc, top 5: the label-select engine is the bottleneck at small PE.
  mpsim::test::TempDir dir("mpsim_labelselect");
  std::ofstream(dir / "net.yaml") << "name: head\ninput: {shape: [64], bits: 8}\n"
                                     "layers:\n  - {name: fc, type: fc, out_features: 200, weights: 2, activations: 4}\n"
                                     "  - {name: top, type: labelselect, k: 5}\n";
  auto config = [&](const std::string& pe) {
    return "network: {model: " + (dir / "net.yaml") +
           "}\nhardware: {device: zcu104, clock_mhz: 200}\n"
           "mapping:\n  fifos: {default_depth: 8}\n  layers:\n    fc: {pe: 200, simd: 64}\n" +
           (pe.empty() ? "" : "    top: {pe: " + pe + "}\n") + "simulation: {frames: 6}\n";
  };
  struct Case {
    std::string pe;
    int64_t cycles;
  };
  // PE 1 is the default; 7 does not divide 200 (ceil); 8 divides.
  for (const Case& c : {Case{"", 200 + 5}, Case{"7", 29 + 5}, Case{"8", 25 + 5}}) {
    INFO("pe " << (c.pe.empty() ? "default" : c.pe));
    auto r = simulateText(config(c.pe));
    const auto& spec = r.spec("top");
    CHECK(spec.kind == sched::EngineKind::LabelSelect);
    CHECK(spec.pe == (c.pe.empty() ? 1 : std::stoi(c.pe)));
    CHECK(spec.closed_form_cycles == c.cycles);
    CHECK(spec.out_tokens_per_frame == 1); // one token of k indices per frame
    const auto& entry = layerEntry(r.report, "top");
    CHECK(entry["kind"] == "label_select");
    CHECK(entry["cycles_per_frame"].get<int64_t>() == c.cycles);
    CHECK(entry["resources"]["bram18"].get<double>() == 0);
    CHECK(entry["resources"]["dsp"].get<double>() == 0);
    CHECK(r.report["summary"]["predicted"]["cycles_per_frame"].get<int64_t>() == c.cycles);
    CHECK(r.report["summary"]["predicted"]["bottleneck"] == "top");
    // The simulated steady-state interval is the engine's closed form: scan, then k indices out.
    CHECK(r.interval() == uint64_t(c.cycles));
    CHECK(r.report["summary"]["bottleneck"]["engine"] == "top");
    CHECK(r.engine("top").busy + r.engine("top").starved + r.engine("top").blocked == uint64_t(c.cycles));
  }
  // PE beyond the class count is an error naming the layer.
  CHECK_THROWS_WITH(simulateText(config("201")), Catch::Contains("mapping.layers.top.pe = 201 exceeds the layer's 200 class scores"));
}

TEST_CASE("labelselect after a flatten scans every token of the frame", "[module][sim]") {
  // 8 x 2 x 2 scores arrive as 4 pixels of 8 channels: 4 * ceil(8 / PE) + k.
  mpsim::test::TempDir dir("mpsim_labelselect");
  std::ofstream(dir / "net.yaml") << "input: {shape: [8, 2, 2], bits: 4}\n"
                                     "layers:\n  - {name: fl, type: flatten}\n  - {name: top, type: topk, k: 3}\n";
  for (auto [pe, cycles] : std::vector<std::pair<int, int64_t>>{{1, 4 * 8 + 3}, {4, 4 * 2 + 3}, {32, 4 * 1 + 3}}) {
    auto r = simulateText("network: {model: " + (dir / "net.yaml") +
                          "}\nhardware: {device: zcu104}\nmapping: {layers: {top: {pe: " + std::to_string(pe) +
                          "}}}\nsimulation: {frames: 4}\n");
    INFO("pe " << pe);
    CHECK(r.spec("top").in.at(0).tokens_per_frame == 4);
    CHECK(r.spec("top").closed_form_cycles == cycles);
    CHECK(layerEntry(r.report, "top")["cycles_per_frame"].get<int64_t>() == cycles);
    CHECK(r.report["summary"]["frames_done"].get<int>() == 4);
  }
}

namespace {
// Forks that meet again at a concat: input -> c0 -> fork -> {branches} -> concat -> c3 (12x12).
const char* kForkIdentity = R"(
name: fork_identity
input: {shape: [8, 12, 12], bits: 4}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c0, type: conv, out_channels: 8, kernel: 1}
  - {name: b1, type: conv, inputs: [c0], out_channels: 8, kernel: 3, padding: 1}
  - {name: cat, type: concat, inputs: [b1, c0]}
  - {name: c3, type: conv, out_channels: 8, kernel: 1}
)";
const char* kForkTwoConvs = R"(
name: fork_two_convs
input: {shape: [8, 12, 12], bits: 4}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c0, type: conv, out_channels: 8, kernel: 1}
  - {name: b1, type: conv, inputs: [c0], out_channels: 8, kernel: 3, padding: 1}
  - {name: b2, type: conv, inputs: [c0], out_channels: 8, kernel: 5, padding: 2}
  - {name: cat, type: concat, inputs: [b1, b2]}
  - {name: c3, type: conv, out_channels: 8, kernel: 1}
)";
const char* kForkThree = R"(
name: fork_three
input: {shape: [8, 12, 12], bits: 4}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c0, type: conv, out_channels: 8, kernel: 1}
  - {name: b1, type: conv, inputs: [c0], out_channels: 8, kernel: 3, padding: 1}
  - {name: b2, type: conv, inputs: [c0], out_channels: 4, kernel: 1}
  - {name: cat, type: concat, inputs: [b1, b2, c0]}
  - {name: c3, type: conv, out_channels: 8, kernel: 1}
)";

struct ForkCase {
  const char* net;
  std::string shortcut; // the FIFO that must hold the fork's tokens while the longest branch gathers its window
  int64_t minDepth;
  bool exact; // no engine on the shortcut buffers tokens, so min_depth - 1 deadlocks
};

std::string writeNet(const mpsim::test::TempDir& dir, const char* text) {
  const std::string path = (dir.path / "net.yaml").string();
  std::ofstream(path) << text;
  return "network: {model: " + path + "}\nhardware: {device: zcu104, clock_mhz: 200}\nsimulation: {frames: 6}\n";
}
} // namespace

TEST_CASE("a fork that meets again at a concat: shortcut FIFOs sized, no deadlock, closed-form throughput",
          "[module][sim]") {
  // Regression: shortcut FIFOs were sized only for forks that meet at an add, so these deadlocked
  // with the default FIFO depth 2 (the 3x3 branch needs W + 2 = 14 fork tokens before its first
  // window, the 5x5 branch 2W + 3 = 27).
  const std::vector<ForkCase> cases = {
      {kForkIdentity, "c0.fork->cat", 14, true},     // 3x3 conv vs identity: (W + 1) - 0 + 1
      {kForkTwoConvs, "c0.fork->b1.swu", 14, false}, // 5x5 vs 3x3: (2W + 2) - (W + 1) + 1
      {kForkThree, "c0.fork->cat", 14, true},        // 3x3, 1x1 and identity: the identity against the 3x3
  };
  for (const auto& c : cases) {
    mpsim::test::TempDir dir("mpsim_fork");
    const std::string cfg = writeNet(dir, c.net);
    INFO(c.net);
    auto fold = test::balancedFolding(cfg, 1200);
    auto r = simulateText(cfg, fold); // default FIFOs: depth 2, shortcut_depth auto
    REQUIRE_FALSE(r.result.deadlock.detected);
    CHECK(r.interval() == uint64_t(r.mapping.predicted_cycles));
    bool found = false;
    for (const auto& s : r.mapping.streams)
      if (s.name == c.shortcut) {
        found = true;
        CHECK(s.shortcut);
        CHECK(s.min_depth == c.minDepth);
        CHECK(s.depth == s.auto_depth);
      }
    CHECK(found);
    // Exactly the minimum does not deadlock; one less does (when nothing else on the branch
    // buffers tokens: the 3x3 branch's line buffer holds more than the difference).
    auto atMin = simulateText(cfg, [&] {
      auto s = fold;
      s.push_back("mapping.fifos.depths[" + c.shortcut + "]=" + std::to_string(c.minDepth));
      return s;
    }());
    CHECK_FALSE(atMin.result.deadlock.detected);
    if (!c.exact) continue;
    auto below = simulateText(cfg, [&] {
      auto s = fold;
      s.push_back("mapping.fifos.depths[" + c.shortcut + "]=" + std::to_string(c.minDepth - 1));
      return s;
    }());
    CHECK(below.result.deadlock.detected);
  }
  // Every fork output that meets the others at the concat and runs behind the longest branch is a
  // shortcut; in the three-way fork the 1x1 branch is one too.
  mpsim::test::TempDir dir("mpsim_fork");
  auto three = simulateText(writeNet(dir, kForkThree), test::balancedFolding(writeNet(dir, kForkThree), 1200));
  for (const auto& s : three.mapping.streams)
    if (s.name == "c0.fork->b2") {
      CHECK(s.shortcut);
      CHECK(s.min_depth == 14);
    }
}

namespace {
const std::string kResnetBlock = "network: {model: " MPSIM_SOURCE_DIR "/configs/networks/resnet_block.yaml}\n"
                                 "hardware: {device: xczu3eg, clock_mhz: 250}\nsimulation: {frames: 6}\n";

// Every engine's busy + starved + blocked + idle is the measured frame interval.
void checkPartition(const test::SimRun& r) {
  const uint64_t interval = r.interval();
  REQUIRE(interval > 0);
  for (const auto& l : r.report["layers"]) {
    INFO(l["name"].get<std::string>() << ": busy " << l["busy"] << " starved " << l["starved"] << " blocked "
                                      << l["blocked"] << " idle " << l.value("idle", 0) << " dram_wait "
                                      << l["dram_wait"] << ", interval " << interval);
    const uint64_t used = l["busy"].get<uint64_t>() + l["starved"].get<uint64_t>() + l["blocked"].get<uint64_t>();
    CHECK(used <= interval);
    CHECK(used + l.value("idle", uint64_t(0)) == interval);
    if (l["kind"] != "output_dma") CHECK(l["dram_wait"].get<uint64_t>() <= l["starved"].get<uint64_t>());
  }
}
const nlohmann::ordered_json& layerOf(const test::SimRun& r, const std::string& name) {
  for (const auto& l : r.report["layers"])
    if (l["name"] == name) return l;
  throw std::out_of_range("no layer " + name);
}
} // namespace

TEST_CASE("input DMA: starved (DRAM) and blocked (full FIFO) apart, and a DRAM-bound input makes DRAM the bottleneck",
          "[module][sim]") {
  // Compute-bound (the stem conv): the input DMA waits on its full output FIFO, not on DRAM.
  auto compute = simulateText(kResnetBlock);
  CHECK(compute.report["summary"]["bottleneck"]["reason"] == "compute");
  const auto& in = layerOf(compute, "input");
  CHECK(in["blocked"].get<uint64_t>() > compute.interval() / 2);
  CHECK(in["starved"].get<uint64_t>() < in["blocked"].get<uint64_t>() / 10);
  checkPartition(compute);
  // 0.001 GB/s: the input frame (16x16x16 bytes) takes ~1M cycles at 250 MHz, longer than the stem's
  // 589824; DRAM is saturated and the input DMA waits on it (regression: reported 'input-starved'
  // at the stem, and the DMA's starved equalled its blocked cycles).
  auto slow = simulateText(kResnetBlock, {"hardware.dram.bandwidth_gbps=0.001"});
  CHECK(slow.report["dram"]["utilization"].get<double>() > 0.95);
  CHECK(slow.report["summary"]["bottleneck"]["reason"] == "DRAM");
  CHECK(slow.report["summary"]["bottleneck"]["engine"] == "input");
  const auto& sin = layerOf(slow, "input");
  CHECK(sin["starved"].get<uint64_t>() == sin["dram_wait"].get<uint64_t>());
  CHECK(sin["starved"] != sin["blocked"]);
  checkPartition(slow);
}

TEST_CASE("every engine's busy + starved + blocked (+ idle) partitions the measured frame interval",
          "[module][sim]") {
  mpsim::test::TempDir dir("mpsim_partition");
  const std::string fork = writeNet(dir, kForkThree);
  const std::string tfc = "network: {model: tfc, quant: {weights: 1, activations: 1, input_bits: 8}}\n"
                          "hardware: {device: pynq-z1, clock_mhz: 100, io: {in_bits_per_cycle: 64}}\n"
                          "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/tfc-w1a1_folding_config.json}\n"
                          "simulation: {frames: 8}\n";
  const std::string cnv = "network: {model: cnv, quant: {weights: 2, activations: 2}}\n"
                          "hardware: {device: pynq-z1, clock_mhz: 100}\n"
                          "mapping: {finn_folding: " MPSIM_TEST_DATA "/finn/cnv-w1a1_folding_config.json}\n"
                          "simulation: {frames: 5}\n";
  const std::vector<std::pair<std::string, std::vector<std::string>>> designs = {
      {tfc, {}},                                                         // I/O-bound
      {tfc, {"hardware.dram.bandwidth_gbps=0.05"}},                      // DRAM-bound input
      {cnv, {}},                                                         // compute-bound
      {cnv, {"mapping.layers.fc7.weights=dram", "hardware.dram.bandwidth_gbps=0.05"}}, // weight streaming
      {kResnetBlock, {}},                                                // shortcuts
      {kResnetBlock, {"hardware.dram.bandwidth_gbps=0.002"}},
      {fork, test::balancedFolding(fork, 1200)},                         // three-way fork into a concat
      {fork, {"mapping.fifos.default_depth=64", "simulation.frames=3"}},
  };
  for (const auto& [cfg, sets] : designs) {
    std::string what = cfg;
    for (const auto& s : sets) what += " --set " + s;
    INFO(what);
    auto r = simulateText(cfg, sets);
    REQUIRE_FALSE(r.result.deadlock.detected);
    checkPartition(r);
  }
}
