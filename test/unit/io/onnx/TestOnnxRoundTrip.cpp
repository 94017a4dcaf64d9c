// Imported networks written as network YAML (+ .npy parameters) load back to the same layers, and
// give the same values.
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
#include "mpsim/func/Kernels.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/OnnxImport.hpp"
#include "mpsim/sim/Functional.hpp"

using namespace mpsim;
using graph::LayerKind;
using namespace mpsim::test;

namespace {

// Every .onnx model the tests have: test/data/onnx, test/data/finn/build_dataflow and the vendored
// reference models (test/data/reference/onnx), sorted.
std::vector<std::string> allOnnxFixtures() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  for (const char* sub : {"onnx", "finn/build_dataflow", "reference/onnx"}) {
    const fs::path dir = fs::path(MPSIM_TEST_DATA) / sub;
    if (!fs::is_directory(dir)) FAIL("missing test fixture directory " << dir.string());
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && e.path().extension() == ".onnx") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What `mpsim import model.onnx -o DIR/net.yaml` writes: the network YAML and its .npy parameters.
std::string writeImported(const graph::Graph& g, const mpsim::test::TempDir& dir) {
  const std::string yaml = dir / "net.yaml";
  const auto files = io::writeLayerParams(g, yaml);
  std::ofstream f(yaml);
  io::writeNetworkYaml(g, f, files);
  return yaml;
}

// The same layers with the same shapes, types, widths, geometry and requantisers.
void checkSameGraph(const graph::Graph& a, const graph::Graph& b) {
  REQUIRE(a.layers().size() == b.layers().size());
  for (size_t i = 0; i < a.layers().size(); ++i) {
    const graph::Layer& x = a.layers()[i];
    const graph::Layer& y = b.layers()[i];
    INFO("layer " << i << " '" << x.name << "' (" << graph::toString(x.kind) << ")");
    CHECK(y.name == x.name);
    CHECK(y.kind == x.kind);
    CHECK(y.inputs == x.inputs);
    CHECK(y.out_shape == x.out_shape);
    CHECK(y.in_shapes == x.in_shapes);
    CHECK(y.stream_in == x.stream_in);
    CHECK(y.out == x.out);
    CHECK(y.in == x.in);
    CHECK(y.requant == x.requant);
    CHECK(y.kh == x.kh);
    CHECK(y.kw == x.kw);
    CHECK(y.stride_h == x.stride_h);
    CHECK(y.stride_w == x.stride_w);
    CHECK(y.pad_h == x.pad_h);
    CHECK(y.pad_w == x.pad_w);
    CHECK(y.dil_h == x.dil_h);
    CHECK(y.dil_w == x.dil_w);
    CHECK(y.groups == x.groups);
    CHECK(y.out_channels == x.out_channels);
    CHECK(y.topk == x.topk);
    CHECK(y.weight_bits == x.weight_bits);
    CHECK(y.weight_type == x.weight_type);
    CHECK(y.channel_bits == x.channel_bits);
    CHECK(y.accBits() == x.accBits());
    CHECK(y.macs() == x.macs());
    CHECK(y.weightMemoryBits() == x.weightMemoryBits());
    // Parameters: what the model brought in memory is in the written files, nothing more.
    CHECK(bool(x.weight_values) == !y.weights_file.empty());
    CHECK(bool(x.threshold_values) == !y.thresholds_file.empty()); // input thresholds: input.thresholds_file
    if (x.weight_values && !y.weights_file.empty()) {
      const std::vector<int64_t> w = func::readNpy(y.weights_file).toInt64();
      CHECK(w == std::vector<int64_t>(x.weight_values->begin(), x.weight_values->end()));
    }
    if (x.threshold_values && !y.thresholds_file.empty())
      CHECK(func::readNpy(y.thresholds_file).toInt64() == *x.threshold_values);
    CHECK(bool(y.input_thresholds) == bool(x.input_thresholds));
    if (x.input_thresholds && y.input_thresholds) CHECK(*y.input_thresholds == *x.input_thresholds);
  }
}

// An input file for the frames of `d` as the model reads them: bipolar as -1 / +1; a float input
// (input thresholds) as floats around and on every threshold.
std::string writeInput(const graph::Graph& g, const sim::FunctionalData& d, const mpsim::test::TempDir& dir) {
  const graph::Layer& in = g.layers().front();
  REQUIRE(in.kind == LayerKind::Input);
  const graph::Shape& s = d.input.shape();
  const std::string path = dir / "x.npy";
  if (in.input_thresholds) {
    std::vector<double> th; // the finite thresholds (unreachable levels may sit at +-infinity)
    for (double t : *in.input_thresholds)
      if (std::isfinite(t)) th.push_back(t);
    REQUIRE_FALSE(th.empty());
    const double lo = *std::min_element(th.begin(), th.end()), hi = *std::max_element(th.begin(), th.end());
    std::vector<double> x(size_t(s.elements()));
    uint64_t rng = 0x243f6a8885a308d3ull;
    for (size_t i = 0; i < x.size(); ++i) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      const double u = double(rng >> 11) * 0x1.0p-53;
      x[i] = i % 5 == 0 ? th[(rng >> 20) % th.size()] : lo - 1 + u * (hi - lo + 2); // ties, and everything between
    }
    func::writeNpy(path, func::NpyType::Float64, {s.n, s.c, s.h, s.w}, x.data());
  } else {
    std::vector<int32_t> x(d.input.values());
    if (in.out.bipolar)
      for (auto& v : x) v = v ? 1 : -1;
    func::writeNpy(path, func::NpyType::Int32, {s.n, s.c, s.h, s.w}, x.data());
  }
  return path;
}

} // namespace

TEST_CASE("onnx: writeNetworkYaml round trip", "[unit][onnx]") {
  std::vector<std::pair<std::string, io::OnnxImport>> models;
  models.emplace_back("tfc", io::importOnnx(fixture("TFC_2W2A.onnx")));
  models.emplace_back("residual", io::importOnnx(fixture("residual_testcase.onnx")));
  models.emplace_back("qconv", io::importOnnx(fixture("model_test_qkeras_qconv2d_0.onnx")));
  models.emplace_back("perchannel", io::importOnnxBytes(perChannelModel(), "perchannel.onnx"));
  for (const auto& [name, r] : models) {
    INFO(name);
    std::ostringstream os;
    io::writeNetworkYaml(r.graph, os);
    INFO(os.str());
    graph::Graph back = io::loadNetworkYamlString(os.str(), name + ".yaml");
    const auto& a = r.graph.layers();
    const auto& b = back.layers();
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      const auto* lb = back.find(a[i].name);
      REQUIRE(lb);
      CHECK(lb->kind == a[i].kind);
      CHECK(lb->out_shape == a[i].out_shape);
      CHECK(lb->macs() == a[i].macs());
      CHECK(lb->weight_bits == a[i].weight_bits);
      CHECK(lb->weight_type == a[i].weight_type);
      CHECK(lb->channel_bits == a[i].channel_bits);
      CHECK(lb->weightMemoryBits() == a[i].weightMemoryBits());
      CHECK(lb->out.bits == a[i].out.bits);
      CHECK(lb->out.is_signed == a[i].out.is_signed);
      CHECK(lb->requant == a[i].requant);
      CHECK(lb->inputs == a[i].inputs);
    }
    CHECK(totals(back).macs == totals(r.graph).macs);
  }
}

TEST_CASE("onnx: every model that imports round-trips through `import -o` (network YAML + .npy parameters)",
          "[unit][onnx][values]") {
  // Models the importer rejects (docs/onnx-import.md, "Reference models"); every other one must import.
  const std::set<std::string> rejected = {"espcn_subpixel_quant_model.onnx", "espcn_nn_resize_quant_model.onnx"};
  int imported = 0, refused = 0, bipolarInputs = 0, floatInputs = 0, functional = 0, notFunctional = 0;
  for (const auto& path : allOnnxFixtures()) {
    INFO(path);
    const std::string file = std::filesystem::path(path).filename().string();
    std::optional<io::OnnxImport> r;
    try {
      r = io::importOnnx(path);
    } catch (const LoadError& e) {
      INFO(e.what());
      CHECK(rejected.count(file) == 1);
      ++refused;
      continue;
    }
    CHECK(rejected.count(file) == 0);
    ++imported;
    const graph::Graph& g = r->graph;
    bipolarInputs += g.layers().front().out.bipolar;
    floatInputs += bool(g.layers().front().input_thresholds);
    mpsim::test::TempDir dir("mpsim_onnx_roundtrip");
    const std::string yaml = writeImported(g, dir);
    INFO(readFile(yaml));
    graph::Graph back = [&] {
      try {
        return io::loadNetworkYaml(yaml);
      } catch (const LoadError& e) {
        FAIL("the written network YAML does not load: " << e.what());
      }
      return graph::Graph();
    }();
    checkSameGraph(g, back);

    // Functional mode: the same parameters (from the model in memory / from the .npy files), and on
    // the same input file the same value of every layer. A model the functional kernels cannot run
    // (e.g. an accumulator output wider than 16 bits) must fail the same way from the YAML.
    const int frames = 3;
    std::string whyNot;
    std::optional<sim::FunctionalData> da;
    std::map<std::string, func::Tensor> va;
    std::string x;
    try {
      const sim::FunctionalData seeded = sim::makeFunctionalData(g, 5, "", frames);
      x = writeInput(g, seeded, dir);
      da = sim::makeFunctionalData(g, 5, x, frames);
      va = mpsim::test::runWholeTensors(g, *da);
    } catch (const std::exception& e) {
      whyNot = e.what();
    }
    if (!whyNot.empty()) {
      INFO("the imported model does not run functionally: " << whyNot);
      const std::string onYaml = [&] {
        try {
          mpsim::test::runWholeTensors(back, sim::makeFunctionalData(back, 5, "", frames));
        } catch (const std::exception& e) {
          return std::string(e.what());
        }
        return std::string("(it runs)");
      }();
      CHECK(onYaml == whyNot);
      ++notFunctional;
      continue;
    }
    const sim::FunctionalData db = sim::makeFunctionalData(back, 5, x, frames);
    CHECK(db.input == da->input);
    REQUIRE(da->params.size() == db.params.size());
    for (const auto& [name, pa] : da->params) {
      INFO("parameters of layer '" << name << "'");
      REQUIRE(db.params.count(name));
      const auto& pb = db.params.at(name);
      CHECK(pb.weights == pa.weights);
      CHECK(pb.thresholds == pa.thresholds);
      CHECK(pb.scale.scale == pa.scale.scale);
      CHECK(pb.scale.bias == pa.scale.bias);
      CHECK(pb.scale.shift == pa.scale.shift);
    }
    const auto vb = mpsim::test::runWholeTensors(back, db);
    REQUIRE(va.size() == vb.size());
    for (const auto& [name, t] : va) {
      INFO("output of layer '" << name << "'");
      REQUIRE(vb.count(name));
      CHECK(vb.at(name) == t);
    }
    ++functional;
  }
  // test/data: 4 + 1 + 11 models, of which 2 are rejected; 3 have a bipolar input (TFC_1W1A,
  // UNSW-NB15, cybsec), several a float input.
  CHECK(imported == 14);
  CHECK(refused == 2);
  CHECK(bipolarInputs == 3);
  CHECK(floatInputs > 0);
  CHECK(functional + notFunctional == imported);
  CHECK(functional >= 9); // the others have accumulator outputs wider than the kernels' 16-bit operands
}
