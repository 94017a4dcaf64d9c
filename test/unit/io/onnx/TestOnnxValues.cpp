// Initialiser values of imported models: quantised weights and float chains become integer thresholds
// that match the float model, FINN's and QONNX's models classify their golden inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "FuncTestUtil.hpp"
#include "OnnxTestUtil.hpp"
#include "TempDir.hpp"
#include "io/onnx/OpTable.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/config/FinnFolding.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/OnnxImport.hpp"
#include "mpsim/sim/Functional.hpp"

using namespace mpsim;
using graph::LayerKind;
using namespace mpsim::test;

namespace {

// Runs an imported graph on the host with the functional kernels: parameters as a functional run
// takes them (sim::makeFunctionalData), input frames from an .npy file.
func::Tensor runImported(const graph::Graph& g, const std::string& inputNpy, int frames) {
  return mpsim::test::runWholeTensors(g, sim::makeFunctionalData(g, 1, inputNpy, frames)).at("output");
}

bool hasNote(const io::OnnxImport& r, const std::string& text) {
  for (const auto& n : r.notes)
    if (n.find(text) != std::string::npos) return true;
  return false;
}

// x (float, 3 features) -> Quant(0.5, uint4) -> MatMul with 4-bit narrow weights quantised per output
// channel (scales 0.1, 0.05) -> Mul [2, -1.5] -> Add [0.1, 0.21] -> Relu -> Quant(0.25, uint2).
// Channel 1 has a negative scale, so mpsim must negate its weights to count thresholds upwards.
std::string floatChainModel() {
  Pb g;
  g.s(2, "chain");
  g.m(11, valueInfo("x", {1, 3}));
  g.m(12, valueInfo("y", {1, 2}));
  g.m(5, tensorVals("w", {3, 2}, {0.3f, -0.2f, 0.1f, 0.4f, -0.5f, 0.25f}));
  g.m(5, tensorVals("ws", {2}, {0.1f, 0.05f}));
  g.m(5, tensorVals("z", {}, {0}));
  g.m(5, tensorVals("b4", {}, {4}));
  g.m(5, tensorVals("b2", {}, {2}));
  g.m(5, tensorVals("is", {}, {0.5f}));
  g.m(5, tensorVals("os", {}, {0.25f}));
  g.m(5, tensorVals("mul", {2}, {2.0f, -1.5f}));
  g.m(5, tensorVals("add", {1, 2}, {0.1f, 0.21f}));
  const std::string q = "qonnx.custom_op.general";
  g.m(1, node("Quant", {"x", "is", "z", "b4"}, {"xq"}, "inquant", {attrI("signed", 0)}, q));
  g.m(1, node("Quant", {"w", "ws", "z", "b4"}, {"wq"}, "wquant", {attrI("signed", 1), attrI("narrow", 1)}, q));
  g.m(1, node("MatMul", {"xq", "wq"}, {"m"}, "fc"));
  g.m(1, node("Mul", {"m", "mul"}, {"s"}, "scale"));
  g.m(1, node("Add", {"s", "add"}, {"a"}, "bias"));
  g.m(1, node("Relu", {"a"}, {"r"}, "relu"));
  g.m(1, node("Quant", {"r", "os", "z", "b2"}, {"y"}, "outquant", {attrI("signed", 0)}, q));
  return model(g);
}

// The model in floating point, written out from the QONNX operator definitions.
std::vector<int> floatChainReference(const std::vector<double>& x) {
  auto quant = [](double v, double scale, double lo, double hi) {
    return std::clamp(std::nearbyint(v / scale), lo, hi);
  };
  const double wint[3][2] = {{3, -4}, {1, 7}, {-5, 5}}; // round(w / scale), narrow int4: -7..7
  const double wscale[2] = {0.1f, 0.05f}, mul[2] = {2.0f, -1.5f}, add[2] = {0.1f, 0.21f};
  std::vector<int> y;
  for (int k = 0; k < 2; ++k) {
    double acc = 0;
    for (int j = 0; j < 3; ++j) acc += quant(x[size_t(j)], 0.5, 0, 15) * 0.5 * (wint[j][k] * wscale[k]);
    y.push_back(int(quant(std::max(0.0, acc * mul[k] + add[k]), 0.25, 0, 3)));
  }
  return y;
}

} // namespace

TEST_CASE("onnx values: quantised weights and a float chain become integer thresholds that match the float model",
          "[unit][onnx][values]") {
  auto r = io::importOnnxBytes(floatChainModel(), "chain.onnx");
  INFO([&] {
    std::string s;
    for (const auto& n : r.notes) s += n + "\n";
    return s;
  }());
  const auto& g = r.graph;
  const auto* fc = g.find("fc");
  REQUIRE(fc);
  REQUIRE(fc->weight_values);
  // (K, features): channel 0 as quantised, channel 1 negated (its scale is negative).
  CHECK(*fc->weight_values == std::vector<int32_t>{3, 1, -5, 4, -7, -5});
  REQUIRE(fc->threshold_values);
  CHECK(fc->threshold_values->size() == 2 * 3);
  CHECK(fc->out.bits == 2);
  CHECK_FALSE(fc->out.is_signed);
  REQUIRE(g.at("input").input_thresholds);
  CHECK(g.at("input").out.bits == 4);
  CHECK(hasNote(r, "1 of 1 MAC layers take their integer weights and thresholds"));

  // Inputs on a grid that includes the input quantiser's ties (odd multiples of 0.25) and values
  // outside its range, and every output level of both channels.
  std::vector<double> xs;
  for (int i = -4; i <= 34; ++i) xs.push_back(i * 0.25);
  std::vector<double> frames;
  std::vector<std::vector<int>> want;
  std::set<int> levels0, levels1;
  for (size_t a = 0; a < xs.size(); a += 1)
    for (size_t b = 0; b < xs.size(); b += 3)
      for (size_t c = 0; c < xs.size(); c += 2) {
        std::vector<double> x{xs[a], xs[b], xs[c]};
        frames.insert(frames.end(), x.begin(), x.end());
        want.push_back(floatChainReference(x));
        levels0.insert(want.back()[0]);
        levels1.insert(want.back()[1]);
      }
  CHECK(levels0.size() == 4);
  CHECK(levels1.size() == 4);
  mpsim::test::TempDir dir("mpsim_onnx_values");
  const int64_t n = int64_t(want.size());
  func::writeNpy(dir / "x.npy", func::NpyType::Float64, {n, 3}, frames.data());
  func::Tensor y = runImported(g, dir / "x.npy", int(n));
  REQUIRE(int64_t(y.size()) == 2 * n);
  int64_t mismatches = 0;
  for (int64_t f = 0; f < n; ++f)
    for (int k = 0; k < 2; ++k)
      if (y[size_t(f * 2 + k)] != want[size_t(f)][size_t(k)]) {
        if (++mismatches <= 5)
          UNSCOPED_INFO("frame " << f << " x = " << frames[size_t(3 * f)] << ", " << frames[size_t(3 * f + 1)] << ", "
                                 << frames[size_t(3 * f + 2)] << " channel " << k << ": mpsim " << y[size_t(f * 2 + k)]
                                 << ", float model " << want[size_t(f)][size_t(k)]);
      }
  CHECK(mismatches == 0);
}

TEST_CASE("onnx values: layers whose parameters cannot be derived keep seeded parameters and say why",
          "[unit][onnx][values]") {
  auto r = io::importOnnxBytes(perChannelModel(), "perchannel.onnx");
  const auto& g = r.graph;
  const auto* conv = g.find("conv");
  REQUIRE(conv);
  REQUIRE(conv->weight_values);
  // 0.5 quantised per channel: scale 0.1 -> 5, 0.2 -> 2.5 -> 2 (half to even), 0.3 -> 1.67 -> 2,
  // clamped to 1 by the narrow 2-bit range.
  const auto& w = *conv->weight_values;
  REQUIRE(w.size() == 4 * 27);
  CHECK(w[0] == 5);
  CHECK(w[27] == 5);
  CHECK(w[2 * 27] == 2);
  CHECK(w[3 * 27] == 1);
  CHECK(conv->threshold_values);
  const auto* fc = g.find("fc");
  REQUIRE(fc);
  CHECK(fc->weight_values);          // its weights are quantised initialisers ...
  CHECK_FALSE(fc->threshold_values); // ... but it has no activation quantiser (requant none)
  CHECK(hasNote(r, "layer 'gap': functional parameters are generated from the seed"));
  CHECK(hasNote(r, "2 of 2 MAC layers take their integer weights and thresholds"));

  auto e = io::importOnnx(fixture("eltwise_chanlast_testcase.onnx"));
  CHECK(hasNote(e, "float weights without a quantiser"));
  CHECK(hasNote(e, "0 of 1 MAC layers"));
}

TEST_CASE("onnx values: FINN build_dataflow TFC-W1A1 classifies FINN's four MNIST digits", "[unit][onnx][values]") {
  const std::string dir = std::string(MPSIM_TEST_DATA) + "/finn/build_dataflow/";
  auto r = io::importOnnx(dir + "model.onnx");
  const auto& g = r.graph;
  for (const char* name : {"MatMul_0", "MatMul_1", "MatMul_2", "MatMul_3"}) {
    INFO(name);
    REQUIRE(g.find(name));
    CHECK(g.at(name).weight_values);
    CHECK(g.at(name).weight_type == graph::WeightType::Bipolar);
  }
  CHECK(g.at("MultiThreshold_0").out.bipolar);
  CHECK(g.at("MultiThreshold_0").threshold_values);
  CHECK(g.at("MatMul_0").out.bipolar);
  CHECK(g.at("MatMul_2").threshold_values);
  CHECK(g.at("MatMul_3").requant == graph::Requant::None);
  REQUIRE(g.find("TopK_0"));
  CHECK(g.at("TopK_0").kind == LayerKind::LabelSelect);
  CHECK(g.at("TopK_0").topk == 1);
  // FINN's folding config folds the thresholding and label-select nodes too ("MVA_hls_3" names no
  // FINN node type, so MatMul_3 keeps its default folding, as in FINN).
  auto fold = config::readFinnFolding(dir + "folding_config.json", g);
  CHECK(fold.layers.at("MultiThreshold_0").pe == 49);
  CHECK(fold.layers.at("MatMul_0").simd == 49);
  CHECK(fold.layers.at("TopK_0").pe == 1);
  CHECK_FALSE(fold.layers.count("MatMul_3"));
  func::Tensor y = runImported(g, dir + "input.npy", 4);
  func::Tensor want = func::readTensor(dir + "expected_output.npy");
  CHECK(y.values() == want.values());
  CHECK(y.values() == std::vector<int32_t>{7, 2, 1, 0});

  // Written as a network YAML with .npy parameter files, it reads back to the same parameters.
  mpsim::test::TempDir tmp("mpsim_onnx_params");
  auto files = io::writeLayerParams(g, tmp / "tfc.yaml");
  CHECK(files.size() == 5);
  std::ofstream(tmp / "tfc.yaml") << [&] {
    std::ostringstream os;
    io::writeNetworkYaml(g, os, files);
    return os.str();
  }();
  graph::Graph back = io::loadNetworkYaml(tmp / "tfc.yaml");
  CHECK(back.at("MatMul_0").out.bipolar);
  CHECK(runImported(back, dir + "input.npy", 4).values() == y.values());
}

TEST_CASE("onnx values: QONNX TFC models classify MNIST digits given as floats", "[unit][onnx][values]") {
  // The QONNX TFC models expect pixels in [0, 1]; their first quantiser quantises the float input.
  const std::string dir = std::string(MPSIM_TEST_DATA) + "/finn/build_dataflow/";
  std::vector<std::string> models{fixture("TFC_2W2A.onnx")};
  for (const char* m : {"qonnx_model_zoo/TFC_1W1A.onnx", "qonnx_model_zoo/TFC_1W2A.onnx"})
    models.push_back(reference(m));
  for (const auto& path : models) {
    INFO(path);
    auto r = io::importOnnx(path);
    REQUIRE(r.graph.at("input").input_thresholds);
    CHECK(hasNote(r, "4 of 4 MAC layers take their integer weights and thresholds"));
    func::NpyArray a = func::readNpy(dir + "input.npy");
    std::vector<double> x = a.toDouble();
    for (auto& v : x) v /= 255.0;
    mpsim::test::TempDir tmp("mpsim_qonnx_tfc");
    func::writeNpy(tmp / "x.npy", func::NpyType::Float64, {4, 784}, x.data());
    func::Tensor y = runImported(r.graph, tmp / "x.npy", 4);
    REQUIRE(y.size() == 40);
    std::vector<int> classes;
    for (int f = 0; f < 4; ++f)
      classes.push_back(int(std::max_element(y.data() + f * 10, y.data() + f * 10 + 10) - (y.data() + f * 10)));
    CHECK(classes == std::vector<int>{7, 2, 1, 0});
  }
}

TEST_CASE("onnx values: FINN's cybersecurity MLP (bipolar input, MVAU thresholds) gives finn-examples' golden output",
          "[unit][onnx][values]") {
  const std::string model = reference("finn/cybsec_PE_SIMD.onnx");
  const std::string in = reference("finn-examples/golden_io_1168db11/cybersecurity-mlp__cybersecurity_input.npy");
  const std::string want =
      reference("finn-examples/golden_io_1168db11/cybersecurity-mlp__cybersecurity_expected_output.npy");
  auto r = io::importOnnx(model);
  CHECK(r.graph.at("input").out.bipolar);
  CHECK(hasNote(r, "4 of 4 MAC layers take their integer weights and thresholds"));
  func::Tensor y = runImported(r.graph, in, 1);
  REQUIRE(y.size() == 1);
  // the layer computes the stored bit; output.npy (and the golden file) hold the value -1 / +1
  CHECK(2 * y[0] - 1 == func::readAccTensor(want)[0]);
}
