// ONNX import of the QONNX model zoo and FINN hardware graphs (docs/onnx-import.md): MAC and weight
// counts as qonnx inference_cost gives them, FINN's PE/SIMD mapping and fork/add structure,
// per-channel weight widths. Fixtures: test/data/onnx, test/data/finn/build_dataflow and the reference
// models vendored into test/data/reference (origins and licences in their READMEs).
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

#include "OnnxTestUtil.hpp"
#include "io/onnx/OpTable.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/io/OnnxImport.hpp"

using namespace mpsim;
using graph::LayerKind;
using namespace mpsim::test;

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
    CHECK(fcs[3]->out.bits == 1);                  // BipolarQuant at the end
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
    try {
      io::importOnnx(reference("qonnx/espcn_subpixel_quant_model.onnx"));
    } catch (const LoadError& e) {
      e1 = e.what();
    }
    try {
      io::importOnnx(reference("qonnx/espcn_nn_resize_quant_model.onnx"));
    } catch (const LoadError& e) {
      e2 = e.what();
    }
    CHECK(e1.find("node 'DepthToSpace_42' (DepthToSpace): unsupported operator; supported: Quant") !=
          std::string::npos);
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
