// ONNX importer tests (QONNX / FINN-ONNX, docs/onnx-import.md). Fixtures: test/data/onnx (origins
// in its README); the other reference models are read from /work/shared/reference when present.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mpsim/common/Error.hpp"
#include "mpsim/io/NetworkYaml.hpp"
#include "mpsim/io/OnnxImport.hpp"

#define MPSIM_ONNX_REFERENCE "/work/shared/reference/onnx"

using namespace mpsim;
using graph::LayerKind;

namespace {

std::string fixture(const std::string& name) { return std::string(MPSIM_TEST_DATA) + "/onnx/" + name; }
std::string reference(const std::string& rel) { return std::string(MPSIM_ONNX_REFERENCE) + "/" + rel; }
bool exists(const std::string& p) { return std::filesystem::exists(p); }

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
  // /work/shared/reference/qonnx/inference_cost_expected.json, FINN-TFC_W2A2 expected_dense
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
  if (!exists(reference("qonnx_model_zoo/TFC_1W1A.onnx"))) return;
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
  if (!exists(reference("qonnx/residual_block_clean.onnx"))) return;
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
  if (!exists(reference("finn/cybsec_PE_SIMD.onnx"))) return;
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
    auto r = io::importOnnx(reference("finn/build_dataflow/model.onnx"));
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
    CHECK(e == "/nonexistent/x.onnx: cannot open the file");
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
