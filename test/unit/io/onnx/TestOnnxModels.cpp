// ONNX importer tests (QONNX / FINN-ONNX, docs/onnx-import.md). Fixtures: test/data/onnx and
// test/data/finn/build_dataflow, and the reference models vendored into test/data/reference (origins
// and licences in their READMEs). A missing fixture fails the test that needs it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "FuncTestUtil.hpp"
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

namespace {

bool exists(const std::string& p) { return std::filesystem::exists(p); }
// A test input that must be there: a missing file is a failure of the test that needs it, never a skip.
std::string required(const std::string& p) {
  if (!exists(p)) FAIL("missing test fixture " << p << " (test/data is part of the repository; restore it from git)");
  return p;
}
std::string fixture(const std::string& name) { return required(std::string(MPSIM_TEST_DATA) + "/onnx/" + name); }
// Reference models vendored from ../shared/reference (same layout below test/data/reference).
std::string reference(const std::string& rel) { return required(std::string(MPSIM_TEST_DATA) + "/reference/onnx/" + rel); }
std::string buildDataflow(const std::string& name) {
  return required(std::string(MPSIM_TEST_DATA) + "/finn/build_dataflow/" + name);
}

std::string readFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Totals {
  int64_t macs = 0, wbits = 0;
  int weighted = 0;
};
Totals totals(const graph::Graph& g) {
  Totals t;
  for (const auto& l : g.layers()) {
    t.macs += l.macs();
    t.wbits += l.weightMemoryBits();
    if (l.isWeighted()) ++t.weighted;
  }
  return t;
}

std::vector<const graph::Layer*> ofKind(const graph::Graph& g, LayerKind k) {
  std::vector<const graph::Layer*> r;
  for (const auto& l : g.layers())
    if (l.kind == k) r.push_back(&l);
  return r;
}

const io::OnnxMappingHint* hintFor(const io::OnnxImport& r, const std::string& layer) {
  for (const auto& h : r.mapping)
    if (h.layer == layer) return &h;
  return nullptr;
}

std::string errorOf(const std::string& bytes) {
  try {
    io::importOnnxBytes(bytes, "t.onnx");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}

// ---- a tiny protobuf writer for hand-made ONNX models (field numbers from onnx.proto) ----
struct Pb {
  std::string b;
  Pb& varint(uint64_t v) {
    while (v >= 0x80) { b += char((v & 0x7f) | 0x80); v >>= 7; }
    b += char(v);
    return *this;
  }
  Pb& key(int field, int wire) { return varint(uint64_t(field) << 3 | uint64_t(wire)); }
  Pb& i(int field, int64_t v) { return key(field, 0).varint(uint64_t(v)); }
  Pb& s(int field, const std::string& v) { key(field, 2).varint(v.size()); b += v; return *this; }
  Pb& m(int field, const Pb& v) { return s(field, v.b); }
  Pb& f(int field, float v) {
    key(field, 5);
    char c[4];
    std::memcpy(c, &v, 4);
    b.append(c, 4);
    return *this;
  }
};
Pb valueInfo(const std::string& name, std::vector<int64_t> dims, const std::string& symbolic = "") {
  Pb shape;
  for (auto d : dims) shape.m(1, Pb().i(1, d));
  if (!symbolic.empty()) shape.m(1, Pb().s(2, symbolic));
  return Pb().s(1, name).m(2, Pb().m(1, Pb().i(1, 1).m(2, shape)));
}
Pb floatTensor(const std::string& name, std::vector<int64_t> dims, float fill) {
  Pb t;
  int64_t n = 1;
  for (auto d : dims) { t.i(1, d); n *= d; }
  t.i(2, 1).s(8, name);
  std::string raw;
  for (int64_t k = 0; k < n; ++k) {
    char c[4];
    std::memcpy(c, &fill, 4);
    raw.append(c, 4);
  }
  return t.s(9, raw);
}
Pb tensorVals(const std::string& name, std::vector<int64_t> dims, std::vector<float> vals) {
  Pb t;
  for (auto d : dims) t.i(1, d);
  t.i(2, 1).s(8, name);
  std::string raw;
  for (float v : vals) {
    char c[4];
    std::memcpy(c, &v, 4);
    raw.append(c, 4);
  }
  return t.s(9, raw);
}
Pb node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out, const std::string& name,
        std::vector<Pb> attrs = {}, const std::string& domain = "") {
  Pb n;
  for (auto& x : in) n.s(1, x);
  for (auto& x : out) n.s(2, x);
  n.s(3, name).s(4, op);
  for (auto& a : attrs) n.m(5, a);
  if (!domain.empty()) n.s(7, domain);
  return n;
}
Pb attrI(const std::string& name, int64_t v) { return Pb().s(1, name).i(3, v).i(20, 2); }
Pb attrInts(const std::string& name, std::vector<int64_t> v) {
  Pb a;
  a.s(1, name);
  for (auto x : v) a.i(8, x);
  return a.i(20, 7);
}
std::string model(const Pb& graph) { return Pb().i(1, 7).m(7, graph).m(8, Pb().i(2, 13)).b; }

// A conv with per-output-channel weight widths [8, 8, 4, 2], then ReLU and a 4-bit activation Quant,
// then global average pooling, Flatten and a 3-bit Gemm.
std::string perChannelModel() {
  Pb g;
  g.s(2, "perchannel");
  g.m(11, valueInfo("x", {1, 3, 8, 8}));
  g.m(12, valueInfo("y", {1, 5}));
  g.m(5, floatTensor("w", {4, 3, 3, 3}, 0.5f));
  g.m(5, tensorVals("s", {4, 1, 1, 1}, {0.1f, 0.1f, 0.2f, 0.3f}));
  g.m(5, tensorVals("z", {}, {0}));
  g.m(5, tensorVals("bw", {4, 1, 1, 1}, {8, 8, 4, 2}));
  g.m(5, tensorVals("as", {}, {0.5f}));
  g.m(5, tensorVals("ab", {}, {4}));
  g.m(5, floatTensor("fw", {5, 4}, 0.25f));
  g.m(5, tensorVals("fb", {}, {3}));
  g.m(5, floatTensor("bias", {5}, 0.0f));
  g.m(1, node("Quant", {"w", "s", "z", "bw"}, {"wq"}, "wquant", {attrI("signed", 1), attrI("narrow", 1)}, "qonnx.custom_op.general"));
  g.m(1, node("Conv", {"x", "wq"}, {"c"}, "conv", {attrInts("kernel_shape", {3, 3}), attrInts("pads", {1, 1, 1, 1})}));
  g.m(1, node("Relu", {"c"}, {"r"}, "relu"));
  g.m(1, node("Quant", {"r", "as", "z", "ab"}, {"q"}, "aquant", {attrI("signed", 0)}, "qonnx.custom_op.general"));
  g.m(1, node("GlobalAveragePool", {"q"}, {"p"}, "gap"));
  g.m(1, node("Flatten", {"p"}, {"f"}, "flatten"));
  g.m(1, node("Quant", {"fw", "as", "z", "fb"}, {"fwq"}, "fquant", {attrI("signed", 1)}, "qonnx.custom_op.general"));
  g.m(1, node("Gemm", {"f", "fwq", "bias"}, {"y"}, "fc", {attrI("transB", 1)}));
  return model(g);
}

} // namespace

TEST_CASE("onnx: QONNX TFC-W2A2 matches qonnx inference_cost (dense)", "[unit][onnx]") {
  auto r = io::importOnnx(fixture("TFC_2W2A.onnx"));
  const auto& g = r.graph;
  REQUIRE(g.finalized());
  Totals t = totals(g);
  // ../shared/reference/qonnx/inference_cost_expected.json, FINN-TFC_W2A2 expected_dense
  CHECK(t.macs == 59008);
  CHECK(t.wbits == 118016);
  CHECK(t.weighted == 4);
  auto fcs = ofKind(g, LayerKind::FullyConnected);
  REQUIRE(fcs.size() == 4);
  CHECK(fcs[0]->out_channels == 64);
  CHECK(fcs[0]->dotLength() == 784);
  CHECK(fcs[3]->out_channels == 10);
  for (auto* l : fcs) {
    CHECK(l->weight_bits == 2);
    CHECK(l->weight_type == graph::WeightType::Signed);
  }
  // Activation quantisers (2-bit signed) become the requantisers of the first three layers.
  for (int i = 0; i < 3; ++i) {
    CHECK(fcs[size_t(i)]->out.bits == 2);
    CHECK(fcs[size_t(i)]->out.is_signed);
    CHECK(fcs[size_t(i)]->requant == graph::Requant::Thresholds);
  }
  CHECK(fcs[3]->requant == graph::Requant::None); // no quantiser after the classifier
  // The input Quant (after the Reshape/Mul/Sub preprocessing) sets the input type; the Reshape becomes a flatten.
  const auto& in = g.layers().front();
  CHECK(in.kind == LayerKind::Input);
  CHECK(in.out.bits == 2);
  CHECK(in.out_shape == graph::Shape{1, 1, 28, 28});
  CHECK(ofKind(g, LayerKind::Flatten).size() == 1);
  CHECK(r.mapping.empty());
  bool bnNote = false;
  for (const auto& n : r.notes) bnNote = bnNote || n.find("BatchNormalization") != std::string::npos;
  CHECK(bnNote);
}

TEST_CASE("onnx: QONNX model-zoo MLPs (TFC W1A1/W1A2, KWS, UNSW, jet tagging)", "[unit][onnx]") {
  {
    auto r = io::importOnnx(reference("qonnx_model_zoo/TFC_1W1A.onnx"));
    Totals t = totals(r.graph);
    CHECK(t.macs == 59008);
    CHECK(t.wbits == 59008);
    for (auto* l : ofKind(r.graph, LayerKind::FullyConnected)) CHECK(l->weight_type == graph::WeightType::Bipolar);
    CHECK(r.graph.layers().front().out.bits == 1); // BipolarQuant on the input
  }
  {
    auto r = io::importOnnx(reference("qonnx_model_zoo/TFC_1W2A.onnx"));
    CHECK(totals(r.graph).macs == 59008);
    CHECK(ofKind(r.graph, LayerKind::FullyConnected)[0]->out.bits == 2);
  }
  {
    auto r = io::importOnnx(reference("qonnx_model_zoo/kwsmlp_w3a3.onnx"));
    Totals t = totals(r.graph);
    CHECK(t.macs == 259584); // 490*256 + 2*256*256 + 256*12
    CHECK(t.wbits == 3 * 259584);
    auto fcs = ofKind(r.graph, LayerKind::FullyConnected);
    REQUIRE(fcs.size() == 4);
    CHECK(fcs[0]->out.bits == 3);
    CHECK_FALSE(fcs[0]->out.is_signed);
    CHECK(r.graph.layers().front().out_shape == graph::Shape{1, 1, 10, 49});
  }
  {
    auto r = io::importOnnx(reference("qonnx_model_zoo/unsw_nb15-mlp-w2a2.onnx"));
    Totals t = totals(r.graph);
    CHECK(t.macs == 46656); // 600*64 + 64*64*2 + 64*1
    CHECK(t.wbits == 2 * 46656);
    auto fcs = ofKind(r.graph, LayerKind::FullyConnected);
    REQUIRE(fcs.size() == 4);
    CHECK(fcs[1]->out.bits == 2);
    CHECK(fcs[3]->out.bits == 1); // BipolarQuant at the end
    CHECK(r.graph.layers().front().out.bits == 1); // bipolar input annotation
  }
  {
    auto r = io::importOnnx(reference("qonnx_model_zoo/qkeras_jettagging.onnx"));
    CHECK(totals(r.graph).macs == 4256); // 16*64 + 64*32 + 32*32 + 32*5
    CHECK(ofKind(r.graph, LayerKind::FullyConnected)[0]->weight_bits == 6);
  }
}

TEST_CASE("onnx: QONNX conv models", "[unit][onnx]") {
  SECTION("QKeras Conv2D with a channels-last input") {
    auto r = io::importOnnx(fixture("model_test_qkeras_qconv2d_0.onnx"));
    const auto& g = r.graph;
    CHECK(g.layers().front().out_shape == graph::Shape{1, 3, 28, 28});
    auto convs = ofKind(g, LayerKind::Conv);
    REQUIRE(convs.size() == 1);
    CHECK(convs[0]->out_shape == graph::Shape{1, 32, 14, 14});
    CHECK(convs[0]->kh == 2);
    CHECK(convs[0]->stride_h == 2);
    CHECK(totals(g).macs == 75264); // 32*14*14 * 3*2*2
  }
  SECTION("conv with Mul/Add/Relu folded into a 4-bit unsigned requantiser") {
    auto r = io::importOnnx(fixture("eltwise_chanlast_testcase.onnx"));
    auto convs = ofKind(r.graph, LayerKind::Conv);
    REQUIRE(convs.size() == 1);
    CHECK(convs[0]->out_shape == graph::Shape{1, 32, 111, 111});
    CHECK(convs[0]->out.bits == 4);
    CHECK_FALSE(convs[0]->out.is_signed);
    CHECK(r.graph.layers().front().out.bits == 8); // UINT8 input annotation
    CHECK(totals(r.graph).macs == 10645344);
  }
  SECTION("float residual block: conv, add and maxpool, float weights assumed 8-bit") {
    auto r = io::importOnnx(reference("qonnx/residual_block_clean.onnx"));
    CHECK(ofKind(r.graph, LayerKind::Add).size() == 1);
    CHECK(ofKind(r.graph, LayerKind::Conv).size() == 3);
    CHECK(ofKind(r.graph, LayerKind::MaxPool).size() == 1);
    CHECK(totals(r.graph).macs == 10622024);
    bool floatNote = false;
    for (const auto& n : r.notes) floatNote = floatNote || n.find("float weights") != std::string::npos;
    CHECK(floatNote);
  }
  SECTION("QKeras conv net: reshaped input, transpose + reshape flatten, softmax dropped") {
    auto r = io::importOnnx(reference("qonnx/model_test_qkeras_qconv2d_conversion.onnx"));
    CHECK(totals(r.graph).macs == 457856);
    CHECK(r.graph.layers().front().out_shape == graph::Shape{1, 1, 28, 28});
    CHECK(ofKind(r.graph, LayerKind::Flatten).size() == 1);
  }
  SECTION("CNTK MNIST conv (SAME_UPPER padding)") {
    auto r = io::importOnnx(reference("qonnx/mnist-conv_model.onnx"));
    auto convs = ofKind(r.graph, LayerKind::Conv);
    REQUIRE(convs.size() == 2);
    CHECK(convs[0]->pad_h == 2);
    CHECK(totals(r.graph).macs == 786560);
  }
  SECTION("ESPCN models are rejected with the operator named") {
    std::string e1, e2;
    try { io::importOnnx(reference("qonnx/espcn_subpixel_quant_model.onnx")); } catch (const LoadError& e) { e1 = e.what(); }
    try { io::importOnnx(reference("qonnx/espcn_nn_resize_quant_model.onnx")); } catch (const LoadError& e) { e2 = e.what(); }
    CHECK(e1.find("node 'DepthToSpace_42' (DepthToSpace): unsupported operator; supported: Quant") != std::string::npos);
    CHECK(e2.find("node 'Resize_42' (Resize): unsupported operator") != std::string::npos);
  }
}

TEST_CASE("onnx: FINN hardware graphs give the PE/SIMD mapping and the fork/add structure", "[unit][onnx]") {
  SECTION("residual_testcase") {
    auto r = io::importOnnx(fixture("residual_testcase.onnx"));
    const auto& g = r.graph;
    CHECK(g.layers().front().out_shape == graph::Shape{1, 16, 32, 32}); // NHWC input
    CHECK(g.layers().front().out.bits == 4);
    CHECK(g.layers().front().out.is_signed);
    auto forks = ofKind(g, LayerKind::Fork);
    auto adds = ofKind(g, LayerKind::Add);
    auto convs = ofKind(g, LayerKind::Conv);
    REQUIRE(forks.size() == 1);
    REQUIRE(adds.size() == 1);
    REQUIRE(convs.size() == 2);
    // VVAU: depthwise 3x3 with the FMPadding folded in.
    const auto* dw = g.find("VectorVectorActivation_0");
    REQUIRE(dw);
    CHECK(dw->isDepthwise());
    CHECK(dw->groups == 16);
    CHECK(dw->kh == 3);
    CHECK(dw->pad_h == 1);
    CHECK(dw->out_shape == graph::Shape{1, 16, 32, 32});
    CHECK(dw->weight_bits == 4);
    CHECK(dw->out.bits == 4);
    CHECK_FALSE(dw->out.is_signed);
    const auto* pw = g.find("MatrixVectorActivation_0");
    REQUIRE(pw);
    CHECK(pw->kh == 1);
    CHECK(pw->out_channels == 16);
    CHECK(pw->out.is_signed);
    // The add reads the fork (shortcut) and the MVAU.
    CHECK(adds[0]->inputs == std::vector<std::string>{"DuplicateStreams_Batch_0", "MatrixVectorActivation_0"});
    CHECK(dw->inputs == std::vector<std::string>{"DuplicateStreams_Batch_0"});
    CHECK(totals(g).macs == 147456 + 262144);
    auto* h = hintFor(r, "MatrixVectorActivation_0");
    REQUIRE(h);
    CHECK(h->pe == 1);
    CHECK(h->simd == 16);
    CHECK(h->ram_style == std::string("auto"));
    h = hintFor(r, "VectorVectorActivation_0");
    REQUIRE(h);
    CHECK(h->pe == 16);
    CHECK_FALSE(h->simd.has_value());
    REQUIRE(hintFor(r, "AddStreams_Batch_0"));
    CHECK(hintFor(r, "AddStreams_Batch_0")->pe == 16);
    REQUIRE(hintFor(r, "DuplicateStreams_Batch_0"));
  }
  SECTION("cybsec_PE_SIMD") {
    auto r = io::importOnnx(reference("finn/cybsec_PE_SIMD.onnx"));
    auto fcs = ofKind(r.graph, LayerKind::FullyConnected);
    REQUIRE(fcs.size() == 4);
    CHECK(fcs[0]->dotLength() == 600);
    CHECK(fcs[0]->weight_bits == 2);
    CHECK(fcs[0]->out.bits == 2);
    CHECK(fcs[3]->out.bits == 1); // BIPOLAR output
    CHECK(r.graph.layers().front().out.bits == 1);
    CHECK(totals(r.graph).macs == 46656);
    REQUIRE(r.mapping.size() == 4);
    for (const auto& h : r.mapping) {
      CHECK(h.pe == 1);
      CHECK(h.simd == 1);
    }
  }
  SECTION("streamlined FINN TFC-W1A1 (MultiThreshold + MatMul, datatype annotations)") {
    auto r = io::importOnnx(buildDataflow("model.onnx"));
    Totals t = totals(r.graph);
    CHECK(t.macs == 59008);
    CHECK(t.wbits == 59008);
    auto fcs = ofKind(r.graph, LayerKind::FullyConnected);
    REQUIRE(fcs.size() == 4);
    CHECK(fcs[0]->weight_type == graph::WeightType::Bipolar);
    CHECK(fcs[0]->out.bits == 1);
    REQUIRE(ofKind(r.graph, LayerKind::Quantizer).size() == 1); // the input MultiThreshold
  }
}

TEST_CASE("onnx: per-channel weight widths and the hand-made model", "[unit][onnx]") {
  auto r = io::importOnnxBytes(perChannelModel(), "perchannel.onnx");
  const auto& g = r.graph;
  const auto* c = g.find("conv");
  REQUIRE(c);
  CHECK(c->channel_bits == std::vector<int>{8, 8, 4, 2});
  CHECK(c->weight_bits == 8);
  CHECK(c->weightMemoryBits() == 27 * (8 + 8 + 4 + 2));
  CHECK(c->out.bits == 4);
  CHECK(c->pad_h == 1);
  CHECK(c->out_shape == graph::Shape{1, 4, 8, 8});
  const auto* fc = g.find("fc");
  REQUIRE(fc);
  CHECK(fc->weight_bits == 3);
  CHECK(fc->out_channels == 5);
  CHECK(fc->dotLength() == 4);
  CHECK(g.find("gap"));
  CHECK(totals(g).macs == 4 * 64 * 27 + 20);
}

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

TEST_CASE("onnx: precise errors", "[unit][onnx]") {
  CHECK(errorOf("").find("t.onnx: the file is empty") != std::string::npos);
  CHECK(errorOf("this is not protobuf \xff\xff\xff").find("not a valid ONNX model") != std::string::npos);
  {
    std::string e;
    try { io::importOnnx("/nonexistent/x.onnx"); } catch (const LoadError& ex) { e = ex.what(); }
    CHECK(e == "/nonexistent/x.onnx: cannot open ONNX model (No such file or directory)");
  }
  auto base = [](Pb extraNode, bool withInit = true) {
    Pb g;
    g.m(11, valueInfo("x", {1, 4}));
    g.m(12, valueInfo("y", {1, 2}));
    if (withInit) g.m(5, floatTensor("w", {4, 2}, 1.0f));
    g.m(1, extraNode);
    return model(g);
  };
  // Unsupported operator: names the node, its op type and the supported list.
  std::string e = errorOf(base(node("Sin", {"x"}, {"y"}, "sine")));
  CHECK(e.find("t.onnx: node 'sine' (Sin): unsupported operator; supported: Quant, BipolarQuant") != std::string::npos);
  // Missing initializer.
  e = errorOf(base(node("MatMul", {"x", "w"}, {"y"}, "mm"), false));
  CHECK(e.find("node 'mm' (MatMul): input 'w' is neither a graph input, an initializer nor the output of another node") != std::string::npos);
  // Activations x activations.
  e = errorOf(base(node("MatMul", {"x", "x"}, {"y"}, "mm2")));
  CHECK(e.find("node 'mm2' (MatMul): both operands are activation tensors") != std::string::npos);
  // Dynamic shapes.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 3}, "H"));
    g.m(12, valueInfo("y", {1}));
    g.m(1, node("Relu", {"x"}, {"y"}, "r"));
    e = errorOf(model(g));
    CHECK(e.find("graph input 'x' has dynamic dimension #2 ('H'); dynamic shapes are not supported") != std::string::npos);
  }
  // Weights that do not fit the input.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 5}));
    g.m(12, valueInfo("y", {1, 2}));
    g.m(5, floatTensor("w", {4, 2}, 1.0f));
    g.m(1, node("MatMul", {"x", "w"}, {"y"}, "mm"));
    e = errorOf(model(g));
    CHECK(e.find("node 'mm' (MatMul): weights [4x2] do not match the 5 input features of [1x5]") != std::string::npos);
  }
  // Non-integer bit width.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 4}));
    g.m(12, valueInfo("y", {1, 4}));
    g.m(5, tensorVals("s", {}, {1}));
    g.m(5, tensorVals("z", {}, {0}));
    g.m(5, tensorVals("b", {}, {2.5f}));
    g.m(1, node("Quant", {"x", "s", "z", "b"}, {"y"}, "q", {}, "qonnx.custom_op.general"));
    e = errorOf(model(g));
    CHECK(e.find("node 'q' (Quant): bit width 2.5") != std::string::npos);
  }
  // Cycle.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 4}));
    g.m(12, valueInfo("y", {1, 4}));
    g.m(1, node("Add", {"x", "b"}, {"a"}, "n1"));
    g.m(1, node("Relu", {"a"}, {"b"}, "n2"));
    g.m(1, node("Relu", {"a"}, {"y"}, "n3"));
    e = errorOf(model(g));
    CHECK(e.find("is part of a cycle") != std::string::npos);
  }
}

TEST_CASE("onnx: the dispatch table is the operator list of the errors and of docs/onnx-import.md", "[unit][onnx]") {
  const auto ops = io::onnx_import::supportedOps();
  const std::string text = io::onnx_import::supportedOpsText();
  REQUIRE(ops.size() > 40);
  // Both errors give the table's list.
  Pb g;
  g.m(11, valueInfo("x", {1, 4}));
  g.m(12, valueInfo("y", {1, 4}));
  g.m(1, node("Sin", {"x"}, {"y"}, "sine"));
  CHECK(errorOf(model(g)) == "t.onnx: node 'sine' (Sin): unsupported operator; supported: " + text);
  Pb g2;
  g2.m(11, valueInfo("x", {1, 4}));
  g2.m(12, valueInfo("y", {1, 4}));
  g2.m(5, floatTensor("c", {4}, 1.0f));
  g2.m(1, node("Cos", {"c"}, {"y"}, "cosine"));
  CHECK(errorOf(model(g2)) == "t.onnx: node 'cosine' (Cos): unsupported on constant inputs; supported: " + text);
  // The words of the list are the table's listed op types (and the words around them).
  std::set<std::string> words;
  std::string w;
  for (char ch : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(ch))) w += ch;
    else if (!w.empty()) words.insert(w), w.clear();
  }
  std::map<std::string, bool> listed;
  for (const auto& o : ops) {
    INFO(o.op);
    CHECK(listed.emplace(o.op, o.listed).second); // one row per op type
    if (o.listed) CHECK(words.count(o.op) == 1);
  }
  for (const auto& x : words) {
    INFO(x);
    const bool prose = x == "and" || x == "the" || x == "FINN" || x == "fpgadataflow" || x == "nodes";
    CHECK((prose || (listed.count(x) && listed[x])));
  }
  // docs/onnx-import.md, "Supported operators", names every op type of the table.
  const std::string doc = readFile(std::string(MPSIM_SOURCE_DIR) + "/docs/onnx-import.md");
  const size_t from = doc.find("## Supported operators"), to = doc.find("\n## ", from + 1);
  REQUIRE(from != std::string::npos);
  const std::string section = doc.substr(from, to == std::string::npos ? std::string::npos : to - from);
  for (const auto& o : ops) {
    INFO(o.op);
    CHECK(section.find("`" + o.op + "`") != std::string::npos);
  }
}

TEST_CASE("onnx: truncated and bit-flipped models give errors, never crashes", "[unit][onnx]") {
  std::vector<std::string> files = {fixture("residual_testcase.onnx"), fixture("model_test_qkeras_qconv2d_0.onnx"),
                                    fixture("eltwise_chanlast_testcase.onnx"), fixture("TFC_2W2A.onnx")};
  std::vector<std::string> corpus = {perChannelModel()};
  for (const auto& f : files) corpus.push_back(readFile(f));
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  auto next = [&]() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  int ok = 0, rejected = 0;
  for (const auto& bytes : corpus) {
    REQUIRE(bytes.size() > 100);
    auto attempt = [&](const std::string& b) {
      try {
        auto r = io::importOnnxBytes(b, "fuzz.onnx");
        REQUIRE(r.graph.finalized());
        ++ok;
      } catch (const LoadError& e) {
        CHECK(std::string(e.what()).rfind("fuzz.onnx", 0) == 0);
        ++rejected;
      }
    };
    // Truncations at 60 offsets spread over the file (the structure is mostly at the ends).
    for (int k = 1; k <= 60; ++k) {
      size_t cut = k <= 30 ? bytes.size() * size_t(k) / 31 : bytes.size() - size_t(k - 30) * std::min<size_t>(bytes.size() / 40, 97);
      attempt(bytes.substr(0, cut));
    }
    // Single and triple bit flips at pseudo-random offsets; half of them in the last 4 KiB where
    // the graph structure (nodes, attributes, shapes) of weight-heavy files lives.
    for (int k = 0; k < 150; ++k) {
      std::string b = bytes;
      int flips = k % 3 == 0 ? 3 : 1;
      for (int j = 0; j < flips; ++j) {
        size_t span = (k % 2) ? std::min<size_t>(b.size(), 4096) : b.size();
        size_t off = b.size() - span + size_t(next() % span);
        b[off] = char(b[off] ^ char(1u << (next() % 8)));
      }
      attempt(b);
    }
  }
  CHECK(rejected > 0);
  CHECK(ok + rejected == int(corpus.size()) * 210);
}

// ---------------------------------------------------------------- initialiser values

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
  auto quant = [](double v, double scale, double lo, double hi) { return std::clamp(std::nearbyint(v / scale), lo, hi); };
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
  INFO([&] { std::string s; for (const auto& n : r.notes) s += n + "\n"; return s; }());
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
  for (const char* m : {"qonnx_model_zoo/TFC_1W1A.onnx", "qonnx_model_zoo/TFC_1W2A.onnx"}) models.push_back(reference(m));
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

TEST_CASE("bipolar activations: only layers that decode or move them may read them, YAML spelling", "[unit][graph]") {
  auto bad = [](const std::string& yaml) {
    try {
      io::loadNetworkYamlString(yaml, "n.yaml");
    } catch (const LoadError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string head = "input: {shape: [16], bits: 8}\nlayers:\n"
                           "  - {name: q, type: quantizer, activation_type: bipolar}\n";
  auto ok = io::loadNetworkYamlString(head + "  - {name: f, type: fc, out_features: 4, weights: 1}\n", "n.yaml");
  CHECK(ok.at("q").out.bipolar);
  CHECK(ok.at("q").out.bits == 1);
  CHECK(ok.at("f").in.bipolar);
  CHECK(bad(head + "  - {name: p, type: global_avgpool}\n").find("carries bipolar activations") != std::string::npos);
  CHECK(bad("input: {shape: [16]}\nlayers:\n  - {name: q, type: quantizer, activation_type: bipolar, activations: 4}\n")
            .find("bipolar activations are 1 bit") != std::string::npos);
  CHECK(bad("input: {shape: [16]}\nlayers:\n  - {name: q, type: quantizer, activation_type: bipolar, activations_signed: true}\n")
            .find("either 'activation_type' or 'activations_signed'") != std::string::npos);
  CHECK(bad("input: {shape: [16]}\nlayers:\n  - {name: f, type: fc, out_features: 4, activation_type: bipolar, requant: none}\n")
            .find("bipolar outputs need requant: thresholds") != std::string::npos);
}

TEST_CASE("onnx values: FINN's cybersecurity MLP (bipolar input, MVAU thresholds) gives finn-examples' golden output",
          "[unit][onnx][values]") {
  const std::string model = reference("finn/cybsec_PE_SIMD.onnx");
  const std::string in = reference("finn-examples/golden_io_1168db11/cybersecurity-mlp__cybersecurity_input.npy");
  const std::string want = reference("finn-examples/golden_io_1168db11/cybersecurity-mlp__cybersecurity_expected_output.npy");
  auto r = io::importOnnx(model);
  CHECK(r.graph.at("input").out.bipolar);
  CHECK(hasNote(r, "4 of 4 MAC layers take their integer weights and thresholds"));
  func::Tensor y = runImported(r.graph, in, 1);
  REQUIRE(y.size() == 1);
  // the layer computes the stored bit; output.npy (and the golden file) hold the value -1 / +1
  CHECK(2 * y[0] - 1 == func::readAccTensor(want)[0]);
}

// ---------------------------------------------------------------- import -> network YAML -> load

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
    if (x.threshold_values && !y.thresholds_file.empty()) CHECK(func::readNpy(y.thresholds_file).toInt64() == *x.threshold_values);
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

TEST_CASE("onnx: a Quant scale of 0, NaN or infinity is an error naming the node", "[unit][onnx][robust]") {
  const std::string q = "qonnx.custom_op.general";
  for (float bad : {0.0f, std::nanf(""), INFINITY, -INFINITY}) {
    INFO("scale " << bad);
    // On an activation.
    {
      Pb g;
      g.m(11, valueInfo("x", {1, 4}));
      g.m(12, valueInfo("y", {1, 4}));
      g.m(5, tensorVals("s", {}, {bad}));
      g.m(5, tensorVals("z", {}, {0}));
      g.m(5, tensorVals("b", {}, {4}));
      g.m(1, node("Quant", {"x", "s", "z", "b"}, {"y"}, "aq", {attrI("signed", 0)}, q));
      const std::string e = errorOf(model(g));
      CHECK(e.find("node 'aq' (Quant): scale element 0 is") != std::string::npos);
      CHECK(e.find("a quantiser scale must be a finite non-zero number") != std::string::npos);
    }
    // On weights (one channel of two).
    {
      Pb g;
      g.m(11, valueInfo("x", {1, 3}));
      g.m(12, valueInfo("y", {1, 2}));
      g.m(5, tensorVals("w", {3, 2}, {0.3f, -0.2f, 0.1f, 0.4f, -0.5f, 0.25f}));
      g.m(5, tensorVals("ws", {2}, {0.1f, bad}));
      g.m(5, tensorVals("z", {}, {0}));
      g.m(5, tensorVals("b4", {}, {4}));
      g.m(5, tensorVals("is", {}, {0.5f}));
      g.m(1, node("Quant", {"x", "is", "z", "b4"}, {"xq"}, "inquant", {attrI("signed", 0)}, q));
      g.m(1, node("Quant", {"w", "ws", "z", "b4"}, {"wq"}, "wquant", {attrI("signed", 1)}, q));
      g.m(1, node("MatMul", {"xq", "wq"}, {"y"}, "fc"));
      const std::string e = errorOf(model(g));
      CHECK(e.find("node 'wquant' (Quant): scale element 1 is") != std::string::npos);
    }
  }
}
