// Functional (bit-exact) simulation: the SystemC engines carry pixel values through the FIFOs and
// compute them with the func kernels. Checked against the independent NumPy reference
// (test/func_ref.py network mode) bit for bit, and for timing identical to a timing-only run.
#include <catch2/catch.hpp>

#include "FuncTestUtil.hpp"
#include "NumpyPython.hpp"
#include "TempDir.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mpsim/common/Error.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/sim/Functional.hpp"
#include "mpsim/sim/Simulator.hpp"

using namespace mpsim;
using mpsim::test::loadExample;
using mpsim::test::readText;
using mpsim::test::TempDir;

namespace {

nlohmann::json timing(const sim::SimResult& r) {
  nlohmann::json j = r;
  j.erase("wall_seconds");
  return j;
}

struct FunctionalRun {
  sim::SimResult timingOnly, functional;
  func::AccTensor output, reference;
};

// Maps `run` and simulates it with and without values (seed `seed`); runs the NumPy reference on
// the files the functional run wrote.
FunctionalRun runBoth(const config::Run& run, uint64_t seed) {
  FunctionalRun r;
  TempDir dir;
  flow::Design d = flow::map(run);
  d.run.config.simulation.functional = false;
  flow::RunOptions opt;
  opt.isolated = true;
  r.timingOnly = flow::simulate(d, opt).result;
  d.run.config.simulation.functional = true;
  d.run.config.simulation.seed = int64_t(seed);
  r.functional = flow::simulate(d, opt, dir.path.string()).result;
  REQUIRE(r.functional.frames_done == run.config.simulation.frames);
  REQUIRE_FALSE(r.functional.deadlock.detected);
  r.output = func::readAccTensor(dir / "output.npy");
  const std::string py = mpsim::test::numpyPython(); // fails the test when there is no python3 with numpy
  const std::string cmd = py + " " MPSIM_SOURCE_DIR "/test/func_ref.py network " + dir.path.string() + " " +
                          (dir / "ref.npy") + " 2>" + (dir / "stderr.txt");
  const int rc = std::system(cmd.c_str());
  INFO(cmd << "\n" << readText(dir / "stderr.txt"));
  REQUIRE(rc == 0);
  r.reference = func::readAccTensor(dir / "ref.npy");
  return r;
}

void checkRun(const FunctionalRun& r, int frames) {
  CHECK(r.output.shape().n == frames);
  REQUIRE(r.output.shape() == r.reference.shape());
  CHECK(r.output.values() == r.reference.values());
  // Not a constant output: the seeded thresholds make the outputs depend on the data.
  bool varied = false;
  for (std::size_t i = 1; i < r.output.size(); ++i) varied = varied || r.output[i] != r.output[0];
  CHECK(varied);
  // Values change nothing in the timing.
  CHECK(timing(r.functional) == timing(r.timingOnly));
}

} // namespace

TEST_CASE("functional tfc (2-bit weights and activations, seeded) matches the NumPy reference bit for bit",
          "[module][func]") {
  auto run = loadExample("tfc_w1a1_pynq.yaml",
                         {"network.quant.weights=2", "network.quant.activations=2", "simulation.frames=3"});
  checkRun(runBoth(run, 3), 3);
}

TEST_CASE("functional cnv (2-bit weights and activations, seeded) matches the NumPy reference bit for bit",
          "[module][func]") {
  auto run = loadExample("cnv_w1a1_pynq.yaml",
                         {"network.quant.weights=2", "network.quant.activations=2", "simulation.frames=3"});
  checkRun(runBoth(run, 5), 3);
}

TEST_CASE("functional ResNet block with shortcuts (per-channel widths) matches the NumPy reference bit for bit",
          "[module][func]") {
  auto run = loadExample("resnet_block_small.yaml", {"simulation.frames=3"});
  checkRun(runBoth(run, 7), 3);
}

TEST_CASE("functional depthwise, 1x1, max-pool and flattened-fc network matches the NumPy reference",
          "[module][func]") {
  const std::string yaml = "network:\n  model: " MPSIM_SOURCE_DIR "/configs/networks/mixed_precision_cnn.yaml\n"
                           "hardware:\n  device: zcu102\nmapping:\n  mode: auto\nsimulation:\n  frames: 2\n";
  auto run = config::loadRunString(yaml, "<test>", {}, MPSIM_SOURCE_DIR "/configs/examples");
  checkRun(runBoth(run, 2), 2);
}

TEST_CASE("functional ResNet block in reference mode (kernel-ordered events) matches the NumPy reference",
          "[module][func]") {
  // Regression: with top padding, output row 1 needs input row 0 after output row 0 has moved the
  // timing model's release point past it; values must be kept by what later outputs need.
  auto run = loadExample("resnet_block_small.yaml", {"simulation.frames=2", "simulation.mode=reference"});
  checkRun(runBoth(run, 7), 2);
}

TEST_CASE("functional quantizer, fork, concat, scale/shift, dilation, avg/max pool with padding, bipolar fc",
          "[module][func]") {
  TempDir dir;
  {
    std::ofstream f(dir / "net.yaml");
    f << "name: misc\ninput:\n  shape: [6, 12, 12]\n  bits: 8\ndefaults:\n  weights: 3\n  activations: 4\nlayers:\n"
         "  - {name: q, type: quantizer, activations: 5}\n"
         "  - {name: a, type: conv, out_channels: 8, kernel: 3, padding: 1, stride: 2, requant: scale_shift}\n"
         "  - {name: b, type: conv, inputs: [q], out_channels: 4, kernel: 3, padding: 2, dilation: 2, stride: 2,"
         " weight_type: unsigned, activations_signed: true}\n"
         "  - {name: cat, type: concat, inputs: [a, b]}\n"
         "  - {name: ap, type: avgpool, kernel: 3, stride: 1, padding: 1}\n"
         "  - {name: mp, type: maxpool, kernel: 3, stride: 2, padding: 1}\n"
         "  - {name: dw, type: conv, out_channels: 12, kernel: 3, padding: 1, groups: 12, requant: none, activations: "
         "6}\n"
         "  - {name: flatten, type: flatten}\n"
         "  - {name: fc, type: fc, out_features: 5, weights: 1, activations: 3}\n";
  }
  const std::string yaml = "network:\n  model: " + (dir / "net.yaml") +
                           "\nhardware:\n  device: zcu102\nmapping:\n  mode: auto\nsimulation:\n  frames: 3\n";
  auto run = config::loadRunString(yaml, "<test>", {}, dir.path.string());
  REQUIRE(run.graph.find("fc")->weight_type == graph::WeightType::Bipolar);
  checkRun(runBoth(run, 9), 3);
}

TEST_CASE("functional bipolar input to padded conv and depthwise conv: padding adds nothing", "[module][func]") {
  // Regression: the SWU filled padded window positions with the stored bit 0, which the MVU/VVU
  // decoded as -1, so every padded position added -w to the accumulator. The whole-tensor kernels
  // and the NumPy reference pad with the value 0.
  TempDir dir;
  {
    std::ofstream f(dir / "net.yaml");
    f << "name: bipolar_pad\ninput:\n  shape: [4, 8, 8]\n  bits: 8\ndefaults:\n  weights: 2\n  activations: 2\n"
         "layers:\n"
         "  - {name: b0, type: conv, out_channels: 6, kernel: 3, padding: 1, weights: 3, activation_type: bipolar}\n"
         "  - {name: c1, type: conv, out_channels: 6, kernel: 3, padding: 1, activation_type: bipolar}\n"
         "  - {name: dw, type: conv, out_channels: 6, kernel: 3, padding: 1, groups: 6, activation_type: bipolar}\n"
         "  - {name: c2, type: conv, out_channels: 8, kernel: 3, padding: 2, dilation: 2, stride: 2,"
         " requant: scale_shift, activations: 6, activations_signed: true}\n"
         "  - {name: flatten, type: flatten}\n"
         "  - {name: fc, type: fc, out_features: 5, activations: 4}\n";
  }
  const std::string yaml = "network:\n  model: " + (dir / "net.yaml") +
                           "\nhardware:\n  device: zcu102\nmapping:\n  mode: auto\nsimulation:\n  frames: 2\n";
  auto run = config::loadRunString(yaml, "<test>", {}, dir.path.string());
  REQUIRE(run.graph.find("c1")->in.bipolar);
  REQUIRE(run.graph.find("dw")->in.bipolar);
  REQUIRE(run.graph.find("dw")->isDepthwise());
  REQUIRE(run.graph.find("c2")->in.bipolar);
  checkRun(runBoth(run, 4), 2);

  // The same integers as the whole-tensor kernels (which pad with the value 0) on the host.
  flow::Design design = flow::map(run);
  design.run.config.simulation.functional = true;
  design.run.config.simulation.seed = 4;
  TempDir out;
  flow::RunOptions opt;
  opt.isolated = true;
  REQUIRE(flow::simulate(design, opt, out.path.string()).result.frames_done == run.config.simulation.frames);
  const sim::FunctionalData d = sim::makeFunctionalData(run.graph, 4, "", run.config.simulation.frames);
  const auto host = test::runWholeTensors(run.graph, d);
  CHECK(func::readAccTensor(out / "output.npy").values() == func::widen(host.at("output")).values());
}

TEST_CASE("functional concat of uint4, int4 and bipolar is int5 and passes the values on unchanged", "[module][func]") {
  // Regression: uint4 concat int4 was typed int4, so the conv reading it rejected the values 8..15.
  TempDir dir;
  {
    std::ofstream f(dir / "net.yaml");
    f << "name: concat_types\ninput:\n  shape: [4, 8, 8]\n  bits: 4\ndefaults:\n  weights: 3\n  activations: 4\n"
         "layers:\n"
         "  - {name: a, type: conv, out_channels: 4, kernel: 1}\n"
         "  - {name: b, type: conv, inputs: [input], out_channels: 4, kernel: 3, padding: 1, activations_signed: "
         "true}\n"
         "  - {name: c, type: conv, inputs: [input], out_channels: 3, kernel: 1, activation_type: bipolar}\n"
         "  - {name: cat, type: concat, inputs: [a, b, c]}\n"
         "  - {name: d, type: conv, out_channels: 6, kernel: 3, padding: 1}\n"
         "  - {name: flatten, type: flatten}\n"
         "  - {name: fc, type: fc, out_features: 5}\n";
  }
  const std::string yaml = "network:\n  model: " + (dir / "net.yaml") +
                           "\nhardware:\n  device: zcu102\nmapping:\n  mode: auto\nsimulation:\n  frames: 2\n";
  auto run = config::loadRunString(yaml, "<test>", {}, dir.path.string());
  REQUIRE(run.graph.at("cat").out.str() == "int5");
  REQUIRE(run.graph.at("d").in.str() == "int5");
  checkRun(runBoth(run, 6), 2);

  // The concatenation is the inputs' values side by side (bipolar decoded to -1 / +1).
  sim::FunctionalData d = sim::makeFunctionalData(run.graph, 6, "", 2);
  const auto v = test::runWholeTensors(run.graph, d);
  const func::Tensor &a = v.at("a"), &b = v.at("b"), &c = v.at("c"), &cat = v.at("cat");
  const int64_t hw = 64;
  bool high = false, negative = false;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t ch = 0; ch < 11; ++ch)
      for (int64_t i = 0; i < hw; ++i) {
        const int32_t got = cat[size_t((n * 11 + ch) * hw + i)];
        const int32_t want = ch < 4   ? a[size_t((n * 4 + ch) * hw + i)]
                             : ch < 8 ? b[size_t((n * 4 + ch - 4) * hw + i)]
                                      : 2 * c[size_t((n * 3 + ch - 8) * hw + i)] - 1;
        REQUIRE(got == want);
        high = high || got >= 8;
        negative = negative || got < 0;
      }
  CHECK(high);     // uint4 values that int4 could not hold
  CHECK(negative); // int4 and bipolar values
}

TEST_CASE("functional tfc with a labelselect head outputs the top-k class indices of the NumPy reference",
          "[module][func]") {
  // FINN's TFC (784 -> 64 -> 64 -> 64 -> 10) with 2-bit weights and activations: fc3's ten 2-bit
  // scores tie often, so the lower-index rule is exercised; then top 3 (LabelSelect, PE 2).
  TempDir dir;
  std::ofstream(dir / "tfc_top.yaml") << "name: tfc_top\ninput: {shape: [784], bits: 8}\n"
                                         "defaults: {weights: 2, activations: 2}\nlayers:\n"
                                         "  - {name: fc0, type: fc, out_features: 64}\n"
                                         "  - {name: fc1, type: fc, out_features: 64}\n"
                                         "  - {name: fc2, type: fc, out_features: 64}\n"
                                         "  - {name: fc3, type: fc, out_features: 10}\n"
                                         "  - {name: top, type: labelselect, k: 3}\n";
  const std::string yaml = "network: {model: " + (dir / "tfc_top.yaml") +
                           "}\nhardware: {device: pynq-z1, clock_mhz: 100}\nmapping:\n  layers:\n"
                           "    fc0: {pe: 16, simd: 49}\n    fc1: {pe: 8, simd: 8}\n    fc2: {pe: 8, simd: 8}\n"
                           "    fc3: {pe: 10, simd: 8}\n    top: {pe: 2}\nsimulation: {frames: 6}\n";
  auto run = config::loadRunString(yaml, "<test>", {}, dir.path.string());
  REQUIRE(run.graph.at("top").out.bits == 4);
  const FunctionalRun r = runBoth(run, 3);
  checkRun(r, 6);
  REQUIRE(r.output.shape() == graph::Shape{6, 3, 1, 1});
  // The same network through the whole-tensor kernels: fc3's scores, and the tie rule on them.
  const auto v = mpsim::test::runWholeTensors(run.graph, sim::makeFunctionalData(run.graph, 3, "", 6));
  CHECK(func::widen(v.at("top")).values() == r.output.values());
  const func::Tensor& scores = v.at("fc3");
  int tiesInTop = 0;
  for (int64_t n = 0; n < 6; ++n) {
    const int64_t* idx = r.output.data() + n * 3;
    const int32_t* s = scores.data() + n * 10;
    for (int i = 0; i < 3; ++i) {
      INFO("frame " << n << " rank " << i);
      // No unselected class scores higher, or equal at a lower index.
      for (int c = 0; c < 10; ++c) {
        if (c == idx[0] || c == idx[1] || c == idx[2]) continue;
        CHECK((s[c] < s[idx[i]] || (s[c] == s[idx[i]] && c > idx[i])));
      }
      if (i > 0) {
        CHECK(s[idx[i - 1]] >= s[idx[i]]);
        if (s[idx[i - 1]] == s[idx[i]]) {
          CHECK(idx[i - 1] < idx[i]);
          ++tiesInTop;
        }
      }
    }
  }
  CHECK(tiesInTop > 0); // ten 2-bit scores: ties are certain, and some fall inside the top 3
}

TEST_CASE("functional labelselect over a flattened feature map (several tokens per frame) matches the NumPy reference",
          "[module][func]") {
  // 6 x 3 x 3 = 54 scores arrive as 9 pixels of 6 channels; indices follow the flatten's C order.
  TempDir dir;
  std::ofstream(dir / "net.yaml")
      << "name: spatial_top\ninput: {shape: [4, 3, 3], bits: 4}\n"
         "layers:\n  - {name: c, type: conv, out_channels: 6, kernel: 1, weights: 3, activations: 3}\n"
         "  - {name: fl, type: flatten}\n  - {name: top, type: labelselect, k: 5}\n";
  const std::string yaml = "network: {model: " + (dir / "net.yaml") +
                           "}\nhardware: {device: zcu104}\nmapping: {layers: {c: {pe: 2, simd: 4}, top: {pe: 3}}}\n"
                           "simulation: {frames: 4}\n";
  auto run = config::loadRunString(yaml, "<test>", {}, dir.path.string());
  REQUIRE(run.graph.at("top").out.bits == 6);
  const FunctionalRun r = runBoth(run, 21);
  checkRun(r, 4);
  REQUIRE(r.output.shape() == graph::Shape{4, 5, 1, 1});
  for (int64_t v : r.output.values()) CHECK((v >= 0 && v < 54));
}
