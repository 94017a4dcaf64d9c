// ONNX importer: the dispatch table (op type -> handler) and Importer::node, which looks a node up
// in it. The table is the one list of supported op types: the unsupported-operator errors, and the
// test that docs/onnx-import.md names every op, are generated from it.
#include "OpTable.hpp"
#include "Importer.hpp"

namespace mpsim::io::onnx_import {

const std::vector<Importer::OpEntry>& Importer::opTable() {
  using I = Importer;
  // The order of the listed rows is the order of the error message.
  static const std::vector<OpEntry> table = {
      // ---- QONNX quantisers ----
      {"Quant", &I::opQuant, &I::foldQuant, 0},
      {"BipolarQuant", &I::opQuant, &I::foldQuant, 0},
      {"Trunc", &I::opQuant, nullptr, 0},
      {"MultiThreshold", &I::opMultiThreshold, nullptr, kNoFold},
      // ---- MAC layers ----
      {"Conv", &I::opConv, nullptr, 0},
      {"MatMul", &I::opMatMul, nullptr, 0},
      {"Gemm", &I::opMatMul, nullptr, 0},
      // ---- element-wise ----
      {"Add", &I::opElementwise, &I::foldArith, 0},
      {"Sub", &I::opElementwise, &I::foldArith, 0},
      {"Mul", &I::opElementwise, &I::foldArith, 0},
      {"Div", &I::opElementwise, &I::foldArith, 0},
      {"Pow", nullptr, &I::foldArith, 0},
      {"BatchNormalization", &I::opFloat, nullptr, 0},
      {"Relu", &I::opFloat, &I::foldUnary, 0},
      {"Clip", &I::opFloat, nullptr, 0},
      {"LeakyRelu", &I::opFloat, nullptr, kUnlisted},
      {"Sigmoid", &I::opFloat, nullptr, kUnlisted},
      {"HardTanh", &I::opFloat, nullptr, kUnlisted},
      // ---- pooling and shapes ----
      {"MaxPool", &I::opMaxPool, nullptr, 0},
      {"AveragePool", &I::opAveragePool, nullptr, 0},
      {"GlobalAveragePool", &I::opGlobalPool, nullptr, 0},
      {"Flatten", &I::opFlatten, &I::foldFlatten, 0},
      {"Reshape", &I::opReshape, &I::foldReshape, 0},
      {"Squeeze", &I::opSqueeze, &I::foldSqueeze, 0},
      {"Unsqueeze", &I::opSqueeze, &I::foldSqueeze, 0},
      {"Transpose", &I::opTranspose, &I::foldTranspose, 0},
      {"Concat", &I::opConcat, &I::foldConcat, 0},
      {"Identity", &I::opFloat, &I::foldUnary, 0},
      {"Dropout", &I::opFloat, &I::foldUnary, 0},
      {"Cast", &I::opFloat, &I::foldUnary, 0},
      // ---- constants ----
      {"Constant", &I::opConstant, nullptr, kAnyInputs},
      {"Shape", &I::opShape, nullptr, kAnyInputs},
      {"Gather", nullptr, &I::foldGather, 0},
      // ---- classification heads ----
      {"Softmax", &I::opFloat, nullptr, 0},
      {"LogSoftmax", &I::opFloat, nullptr, 0},
      {"TopK", &I::opLabelSelect, nullptr, 0},
      {"ArgMax", &I::opLabelSelect, nullptr, 0},
      // ---- FINN fpgadataflow nodes ----
      {"MVAU", &I::opMvau, nullptr, kFinnDomain | kFinnList},
      {"MatrixVectorActivation", &I::opMvau, nullptr, kFinnDomain | kFinnList | kAlias},
      {"StreamingFCLayer", &I::opMvau, nullptr, kFinnDomain | kFinnList | kUnlisted},
      {"VVAU", &I::opVvau, nullptr, kFinnDomain | kFinnList},
      {"VectorVectorActivation", &I::opVvau, nullptr, kFinnDomain | kFinnList | kAlias},
      {"ConvolutionInputGenerator", &I::opConvInputGen, nullptr, kFinnDomain | kFinnList},
      {"ConvolutionInputGenerator1D", &I::opConvInputGen, nullptr, kFinnDomain | kFinnList | kUnlisted},
      {"FMPadding", &I::opFmPadding, nullptr, kFinnDomain | kFinnList},
      {"StreamingMaxPool", &I::opStreamingMaxPool, nullptr, kFinnDomain | kFinnList},
      {"AddStreams", &I::opAddStreams, nullptr, kFinnDomain | kFinnList},
      {"DuplicateStreams", &I::opDuplicateStreams, nullptr, kFinnDomain | kFinnList},
      {"Thresholding", &I::opMultiThreshold, nullptr, kFinnDomain | kFinnList},
      {"GlobalAccPool", &I::opGlobalPool, nullptr, kFinnDomain | kFinnList},
      // in any domain:
      {"LabelSelect", &I::opLabelSelect, nullptr, kFinnList},
      {"StreamingDataWidthConverter", &I::opFloat, nullptr, kFinnList},
      {"StreamingFIFO", &I::opFloat, nullptr, kFinnList},
      {"ChannelwiseOp", &I::opFloat, nullptr, kFinnList | kUnlisted},
      {"TLastMarker", &I::opFloat, nullptr, kFinnList | kUnlisted},
      {"IODMA", &I::opFloat, nullptr, kFinnList | kUnlisted},
  };
  return table;
}

namespace {

// The table row for op type `op` (nullptr: unsupported); FINN rows need an fpgadataflow domain.
const Importer::OpEntry* findOp(const std::string& op, bool finnHw) {
  static const std::map<std::string, const Importer::OpEntry*> byOp = [] {
    std::map<std::string, const Importer::OpEntry*> m;
    for (const auto& e : Importer::opTable()) m.emplace(e.op, &e);
    return m;
  }();
  auto it = byOp.find(op);
  if (it == byOp.end() || ((it->second->flags & kFinnDomain) && !finnHw)) return nullptr;
  return it->second;
}

} // namespace

std::vector<SupportedOp> supportedOps() {
  std::vector<SupportedOp> r;
  for (const auto& e : Importer::opTable()) r.push_back({e.op, !(e.flags & kUnlisted)});
  return r;
}

std::string supportedOpsText() {
  static const std::string text = [] {
    std::string onnxOps, finnOps;
    for (const auto& e : Importer::opTable()) {
      if (e.flags & kUnlisted) continue;
      std::string& s = (e.flags & kFinnList) ? finnOps : onnxOps;
      if (e.flags & kAlias)
        s += std::string(" (") + e.op + ")";
      else
        s += (s.empty() ? "" : ", ") + std::string(e.op);
    }
    return onnxOps + ", and the FINN fpgadataflow nodes " + finnOps;
  }();
  return text;
}

void Importer::node(const onnx::NodeProto& n) {
  std::string op = n.op_type();
  const std::string& dom = n.domain();
  bool finnHw = dom.find("fpgadataflow") != std::string::npos;
  // FINN node names carry a backend/batch suffix.
  for (const char* suf : {"_hls", "_rtl", "_Batch"}) {
    std::string s(suf);
    if (op.size() > s.size() && op.compare(op.size() - s.size(), s.size(), s) == 0)
      op = op.substr(0, op.size() - s.size());
  }
  if (n.output_size() < 1) failNode(n, "has no outputs");
  const OpEntry* e = findOp(op, finnHw);
  if (e && (e->flags & kAnyInputs)) return (this->*e->onStream)(n, op, finnHw);
  // All inputs constant: fold.
  bool allConst = n.input_size() > 0;
  for (int i = 0; i < n.input_size(); ++i)
    if (!n.input(i).empty() && !in(n, i).isConst) allConst = false;
  if (allConst && !finnHw && !(e && (e->flags & kNoFold))) {
    if (!e || !e->onConst) failNode(n, "unsupported on constant inputs; supported: " + supportedOpsText());
    return (this->*e->onConst)(n, op, finnHw);
  }
  if (!e || !e->onStream)
    failNode(n, "unsupported operator" + (dom.empty() ? std::string() : " (domain " + dom + ")") +
                    "; supported: " + supportedOpsText());
  (this->*e->onStream)(n, op, finnHw);
}

} // namespace mpsim::io::onnx_import
