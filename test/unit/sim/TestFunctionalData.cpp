// Functional data (sim::makeFunctionalData): parameters and input frames deterministic from the seed,
// input frames and parameters from .npy files, which must have exactly the layer's shape.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "FuncTestUtil.hpp"
#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/sim/Functional.hpp"

using namespace mpsim;
using mpsim::test::loadExample;
using mpsim::test::TempDir;

TEST_CASE("functional data: deterministic from the seed, input frames from .npy checked", "[unit][func]") {
  auto run = loadExample("resnet_block_small.yaml", {});
  auto a = sim::makeFunctionalData(run.graph, 11, "", 2);
  auto b = sim::makeFunctionalData(run.graph, 11, "", 2);
  auto c = sim::makeFunctionalData(run.graph, 12, "", 2);
  CHECK(a.params.at("stem").weights == b.params.at("stem").weights);
  CHECK(a.params.at("fc").thresholds == b.params.at("fc").thresholds);
  CHECK(a.input == b.input);
  CHECK(a.params.at("stem").weights != c.params.at("stem").weights);
  CHECK(a.input.shape() == graph::Shape{2, 16, 16, 16});
  // Per-channel widths: block2.conv1's first 8 output channels are 8-bit, the rest 4-bit.
  const auto& w = a.params.at("block2.conv1").weights;
  const int64_t per = w.shape().c * w.shape().h * w.shape().w;
  int32_t lo8 = 0, hi8 = 0, lo4 = 0, hi4 = 0;
  for (int64_t k = 0; k < w.shape().n; ++k)
    for (int64_t i = 0; i < per; ++i) {
      int32_t v = w[size_t(k * per + i)];
      if (k < 8)
        lo8 = std::min(lo8, v), hi8 = std::max(hi8, v);
      else
        lo4 = std::min(lo4, v), hi4 = std::max(hi4, v);
    }
  CHECK(lo4 >= -8);
  CHECK(hi4 <= 7);
  CHECK(lo8 < -8);
  CHECK(hi8 > 7);
  // Thresholds are sorted per channel.
  const auto& t = a.params.at("stem").thresholds;
  const int64_t T = t.shape().w;
  CHECK(T == 15);
  for (int64_t r = 0; r < t.shape().h; ++r) CHECK(std::is_sorted(t.data() + r * T, t.data() + (r + 1) * T));

  TempDir dir;
  func::Tensor x(graph::Shape{3, 16, 16, 16}, 7);
  func::writeNpy(dir / "x.npy", x);
  auto d = sim::makeFunctionalData(run.graph, 1, dir / "x.npy", 2);
  CHECK(d.input == x);
  func::writeNpy(dir / "bad_shape.npy", func::Tensor(graph::Shape{1, 3, 16, 16}, 1));
  CHECK_THROWS_AS(sim::makeFunctionalData(run.graph, 1, dir / "bad_shape.npy", 2), LoadError);
  func::writeNpy(dir / "bad_range.npy", func::Tensor(graph::Shape{1, 16, 16, 16}, 256));
  CHECK_THROWS_AS(sim::makeFunctionalData(run.graph, 1, dir / "bad_range.npy", 2), LoadError);
}

TEST_CASE("functional parameters from .npy files named in the network YAML", "[unit][func]") {
  namespace fs = std::filesystem;
  const TempDir tmp("mpsim_params");
  const fs::path dir = tmp.path;
  // fc: 4 inputs -> 3 outputs, 2-bit signed weights (-2..1), 2-bit unsigned outputs (3 thresholds).
  std::vector<int32_t> w = {1, -2, 0, 1, -1, -1, 1, 0, 0, 0, -2, 1};
  func::writeNpy((dir / "w.npy").string(), func::NpyType::Int32, {3, 4}, w.data());
  std::vector<int64_t> thr = {-2, 0, 2, -1, 1, 3, 0, 0, 4};
  func::writeNpy((dir / "t.npy").string(), func::NpyType::Int64, {3, 3}, thr.data());
  std::vector<int32_t> bad = w;
  bad[5] = 2; // outside -2..1
  func::writeNpy((dir / "bad.npy").string(), func::NpyType::Int32, {3, 4}, bad.data());
  std::vector<int64_t> unsorted = {2, 0, 2, -1, 1, 3, 0, 0, 4};
  func::writeNpy((dir / "unsorted.npy").string(), func::NpyType::Int64, {3, 3}, unsorted.data());
  auto net = [&](const std::string& wf, const std::string& tf) {
    return "name: p\ninput: {shape: [4, 1, 1], bits: 2}\nlayers:\n"
           "  - {name: fc, type: fc, out_features: 3, weights: 2, activations: 2, weights_file: " +
           wf + ", thresholds_file: " + tf + "}\n";
  };
  auto write = [&](const std::string& text) {
    std::ofstream((dir / "net.yaml").string()) << text;
    return io::loadNetworkYaml((dir / "net.yaml").string());
  };
  auto g = write(net("w.npy", "t.npy"));
  auto d = sim::makeFunctionalData(g, 7, "", 2);
  const auto& p = d.params.at("fc");
  REQUIRE(p.weights.size() == 12);
  for (size_t i = 0; i < w.size(); ++i) CHECK(p.weights[i] == w[i]);
  REQUIRE(p.thresholds.size() == 9);
  for (size_t i = 0; i < thr.size(); ++i) CHECK(p.thresholds.data()[i] == thr[i]);
  // Another seed changes the input frames, not the parameters from files.
  auto d2 = sim::makeFunctionalData(g, 8, "", 2);
  CHECK(d2.params.at("fc").weights.values() == p.weights.values());

  CHECK_THROWS_WITH(sim::makeFunctionalData(write(net("bad.npy", "t.npy")), 7, "", 2),
                    Catch::Contains("bad.npy: weight [1, 1] = 2 is outside"));
  CHECK_THROWS_WITH(sim::makeFunctionalData(write(net("w.npy", "unsorted.npy")), 7, "", 2),
                    Catch::Contains("thresholds of channel 0 of layer 'fc' are not sorted"));
  CHECK_THROWS_WITH(write(net("t.npy", "t.npy")), Catch::Contains("layers[0].weights_file") &&
                                                      Catch::Contains("has shape (3, 3)") &&
                                                      Catch::Contains("needs (3, 4)"));
  CHECK_THROWS_WITH(write(net("missing.npy", "t.npy")), Catch::Contains("weights_file: file not found"));
}

TEST_CASE("parameter files must have exactly the layer's shape: no reinterpretation, unit dimensions included",
          "[unit][func]") {
  TempDir dir;
  auto npy = [&](const std::string& name, std::vector<int64_t> shape, int32_t fill = 0) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<int32_t> v(size_t(n), fill);
    func::writeNpy(dir / name, func::NpyType::Int32, shape, v.data());
    return name;
  };
  auto npyF = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<double> v(static_cast<size_t>(n));
    for (size_t i = 0; i < v.size(); ++i) v[i] = double(i % 3); // sorted rows of 3
    func::writeNpy(dir / name, func::NpyType::Float64, shape, v.data());
    return name;
  };
  // input 3 x 2 x 2 (2-bit, so 3 input thresholds per row) -> conv 3 -> 2 (1x1) -> fc 8 -> 4
  // (2-bit outputs: 3 thresholds per channel) -> quantizer (1-bit: 1 threshold per channel).
  auto net = [&](const std::string& in, const std::string& cw, const std::string& ct, const std::string& fw,
                 const std::string& ft, const std::string& qt) {
    std::ofstream(dir / "net.yaml") << "input: {shape: [3, 2, 2], bits: 2, thresholds_file: " << in << "}\n"
                                    << "defaults: {weights: 2, activations: 2}\nlayers:\n"
                                    << "  - {name: c, type: conv, out_channels: 2, kernel: 1, weights_file: " << cw
                                    << ", thresholds_file: " << ct << "}\n"
                                    << "  - {name: f, type: fc, out_features: 4, weights_file: " << fw
                                    << ", thresholds_file: " << ft << "}\n"
                                    << "  - {name: q, type: quantizer, activations: 1, thresholds_file: " << qt
                                    << "}\n";
    return io::loadNetworkYaml(dir / "net.yaml");
  };
  const std::string in = npyF("in.npy", {1, 3}), cw = npy("cw.npy", {2, 3, 1, 1}), ct = npy("ct.npy", {2, 3}),
                    fw = npy("fw.npy", {4, 8}), ft = npy("ft.npy", {4, 3}), qt = npy("qt.npy", {4, 1});
  const auto g = net(in, cw, ct, fw, ft, qt);
  CHECK(sim::makeFunctionalData(g, 1, "", 1).params.at("f").weights.size() == 32);
  CHECK_NOTHROW(net(npyF("in3.npy", {3, 3}), cw, ct, fw, ft, qt)); // one row per channel

  auto err = [&](const std::string& i, const std::string& a, const std::string& b, const std::string& c,
                 const std::string& d, const std::string& e) {
    try {
      net(i, a, b, c, d, e);
    } catch (const LoadError& x) {
      return std::string(x.what());
    }
    return std::string("(loaded)");
  };
  using Catch::Contains;
  // conv weights (K, C/groups, K_h, K_w) = (2, 3, 1, 1): transposed, flattened or with a unit
  // dimension moved are all wrong, though each holds 6 values.
  CHECK_THAT(err(in, npy("cw_t.npy", {3, 2, 1, 1}), ct, fw, ft, qt),
             Contains("net.yaml:4:") && Contains("layers[0].weights_file: ") &&
                 Contains("cw_t.npy has shape (3, 2, 1, 1)") &&
                 Contains("layer 'c' (conv) needs (2, 3, 1, 1) (K, C/groups, K_h, K_w)"));
  CHECK_THAT(err(in, npy("cw_2d.npy", {2, 3}), ct, fw, ft, qt), Contains("cw_2d.npy has shape (2, 3)"));
  CHECK_THAT(err(in, npy("cw_u.npy", {2, 1, 3, 1}), ct, fw, ft, qt), Contains("cw_u.npy has shape (2, 1, 3, 1)"));
  CHECK_THAT(err(in, npy("cw_5.npy", {1, 2, 3, 1, 1}), ct, fw, ft, qt), Contains("cw_5.npy has shape (1, 2, 3, 1, 1)"));
  // fc weights (K, MW) = (4, 8).
  CHECK_THAT(err(in, cw, ct, npy("fw_t.npy", {8, 4}), ft, qt),
             Contains("layers[1].weights_file: ") &&
                 Contains("fw_t.npy has shape (8, 4); layer 'f' (fc) needs (4, 8) (K, MW)"));
  CHECK_THAT(err(in, cw, ct, npy("fw_4d.npy", {4, 2, 2, 2}), ft, qt), Contains("fw_4d.npy has shape (4, 2, 2, 2)"));
  CHECK_THAT(err(in, cw, ct, npy("fw_1.npy", {1, 4, 8}), ft, qt), Contains("fw_1.npy has shape (1, 4, 8)"));
  CHECK_THAT(err(in, cw, ct, npy("fw_flat.npy", {32}), ft, qt), Contains("fw_flat.npy has shape (32,)"));
  // thresholds (channels, 2^B - 1).
  CHECK_THAT(err(in, cw, npy("ct_flat.npy", {6}), fw, ft, qt),
             Contains("layers[0].thresholds_file: ") &&
                 Contains("ct_flat.npy has shape (6,); layer 'c' (conv) needs (2, 3) (channels, 2^B - 1)"));
  CHECK_THAT(err(in, cw, npy("ct_t.npy", {3, 2}), fw, ft, qt), Contains("ct_t.npy has shape (3, 2)"));
  CHECK_THAT(err(in, cw, ct, fw, npy("ft_3d.npy", {1, 4, 3}), qt), Contains("ft_3d.npy has shape (1, 4, 3)"));
  CHECK_THAT(err(in, cw, ct, fw, ft, npy("qt_1.npy", {4})),
             Contains("layers[2].thresholds_file: ") &&
                 Contains("qt_1.npy has shape (4,); layer 'q' (quantizer) needs (4, 1)"));
  // Input thresholds: (1, 2^bits - 1) or (C, 2^bits - 1).
  CHECK_THAT(err(npyF("in_flat.npy", {3}), cw, ct, fw, ft, qt),
             Contains("input.thresholds_file: ") && Contains("in_flat.npy has shape (3,); need (1, 3) or (3, 3)"));
  CHECK_THAT(err(npyF("in_9.npy", {9}), cw, ct, fw, ft, qt), Contains("in_9.npy has shape (9,)"));
  CHECK_THAT(err(npyF("in_3d.npy", {1, 1, 3}), cw, ct, fw, ft, qt), Contains("in_3d.npy has shape (1, 1, 3)"));
  // Every problem at once, and a file that is not a .npy file.
  {
    std::ofstream(dir / "junk.npy") << "not numpy";
    const std::string e = err(in, npy("cw_t2.npy", {3, 2, 1, 1}), ct, "junk.npy", ft, qt);
    CHECK_THAT(e, Contains("cw_t2.npy has shape (3, 2, 1, 1)") && Contains("layers[1].weights_file: ") &&
                      Contains("junk.npy: not a .npy file"));
  }
  // thresholds_file where no thresholds are used is an error, not ignored.
  std::ofstream(dir / "n2.yaml") << "input: {shape: [3, 2, 2], bits: 2}\nlayers:\n"
                                 << "  - {name: p, type: maxpool, kernel: 2, thresholds_file: " << ct << "}\n"
                                 << "  - {name: f, type: fc, out_features: 2, requant: none, thresholds_file: " << ct
                                 << "}\n";
  CHECK_THROWS_WITH(io::loadNetworkYaml(dir / "n2.yaml"),
                    Contains("layers[0].thresholds_file: layer 'p' (maxpool) uses no thresholds") &&
                        Contains("layers[1].thresholds_file: layer 'f' (fc) uses no thresholds"));

  // A graph built in code is checked when the run starts, with the same exactness.
  graph::Graph h = g;
  h.layers()[1].weights_file = dir / "cw_t.npy";
  CHECK_THROWS_WITH(sim::makeFunctionalData(h, 1, "", 1),
                    Contains("cw_t.npy: weights_file of layer 'c' (conv): shape (3, 2, 1, 1), expected (2, 3, 1, 1) "
                             "(K, C/groups, K_h, K_w)"));
  h = g;
  h.layers()[2].thresholds_file = dir / "ft_3d.npy";
  CHECK_THROWS_WITH(sim::makeFunctionalData(h, 1, "", 1),
                    Contains("ft_3d.npy: thresholds_file of layer 'f' (fc): shape (1, 4, 3), expected (4, 3)"));
}
