// ONNX importer: element-wise operators on activation streams (residual Add, float operators folded
// into the pending requantiser) and classification heads (TopK, ArgMax, LabelSelect).
#include "Importer.hpp"

#include <cmath>
#include <limits>
#include <optional>

namespace mpsim::io::onnx_import {

std::optional<std::vector<double>> Importer::channelParam(const Const& c, const Dyn& x) const {
  if (!c.hasVals) return std::nullopt;
  std::vector<double> f = c.floats();
  if (f.size() == 1) return f;
  if (x.hwcC > 0 && x.dims.size() == 2 && c.elements() == x.dims[1]) {
    // per-feature parameters in the model's (H, W, C) order; mpsim's features are (C, H, W)
    const int64_t C = x.hwcC, HW = c.elements() / C;
    std::vector<double> g(f.size());
    for (int64_t ch = 0; ch < C; ++ch)
      for (int64_t p = 0; p < HW; ++p) g[size_t(ch * HW + p)] = f[size_t(p * C + ch)];
    return g;
  }
  const size_t rank = x.dims.size();
  if (c.dims.size() > rank || rank < 2) return std::nullopt;
  const size_t chAxis = x.chLast ? rank - 1 : 1;
  const size_t off = rank - c.dims.size();
  for (size_t i = 0; i < c.dims.size(); ++i) {
    if (c.dims[i] == 1) continue;
    if (i + off != chAxis || c.dims[i] != x.dims[chAxis]) return std::nullopt;
  }
  return f;
}

void Importer::opElementwise(const onnx::NodeProto& n, const std::string& op, bool) {
  const Value& a = in(n, 0);
  const Value& b = in(n, 1);
  if (!a.isConst && !b.isConst) {
    if (op != "Add") failNode(n, "element-wise " + op + " of two activation tensors is not supported (only Add)");
    Shape sa = canon(n, a.d), sb = canon(n, b.d);
    if (sa != sb) failNode(n, "inputs have different shapes " + dimsStr(a.d.dims) + " and " + dimsStr(b.d.dims));
    markUsed(a.d);
    markUsed(b.d);
    Layer& l = newLayer(n, LayerKind::Add, {a.d.layer, b.d.layer});
    Dyn y = a.d;
    y.layer = y.pending = l.name;
    y.rawInput = false;
    y.chain = ValueChain::unknown("the residual add '" + l.name + "' is not converted to integer parameters");
    noValues(l.name, "residual adds use scale 1 and no shift (the two inputs' scales are not converted)");
    setDyn(n, y);
    return;
  }
  const Dyn& x = a.isConst ? b.d : a.d;
  const Const& c = a.isConst ? a.c : b.c;
  if (c.elements() > canon(n, x).elements() * 1 && c.elements() != 1)
    failNode(n, "constant operand " + dimsStr(c.dims) + " is larger than the activation tensor " + dimsStr(x.dims));
  if (op == "Div" && a.isConst) failNode(n, "dividing a constant by an activation tensor is not supported");
  if (!x.pending.empty()) m_folded[x.pending].push_back(op);
  Dyn y = x;
  if (auto p = channelParam(c, x)) {
    if (op == "Mul")
      y.chain.mul(*p);
    else if (op == "Div")
      y.chain.div(*p);
    else if (op == "Add")
      y.chain.add(*p);
    else if (b.isConst) { // x - c
      for (auto& v : *p) v = -v;
      y.chain.add(*p);
    } else { // c - x
      y.chain.mul({-1.0});
      y.chain.add(*p);
    }
  } else {
    y.chain.lose(op + " '" + n.name() + "' has a constant that varies along a non-channel axis");
  }
  setDyn(n, y);
}

void Importer::opFloat(const onnx::NodeProto& n, const std::string& op, bool) {
  const Dyn& x = din(n, 0);
  Dyn y = x;
  if (op == "BatchNormalization") {
    // y = (x - mean) / sqrt(var + epsilon) * scale + B
    std::optional<std::vector<double>> p[4];
    const int64_t C = canon(n, x).c;
    for (int i = 1; i < 5; ++i) { // one value per channel (axis 1) by definition, not broadcast
      const Const& c = cin(n, i, "BatchNormalization parameter");
      if (c.hasVals && (c.elements() == 1 || (c.elements() == C && !x.chLast)))
        p[i - 1] = c.floats();
      else
        p[i - 1] = channelParam(c, x);
    }
    if (p[0] && p[1] && p[2] && p[3]) {
      std::vector<double> den = *p[3], negMean = *p[2];
      const double eps = attrFloat(n, "epsilon", 1e-5f);
      for (auto& v : den) v = std::sqrt(v + eps);
      for (auto& v : negMean) v = -v;
      y.chain.add(negMean);
      y.chain.div(den);
      y.chain.mul(*p[0]);
      y.chain.add(*p[1]);
    } else {
      y.chain.lose("BatchNormalization '" + n.name() + "' has parameters that do not match the channels");
    }
  } else if (op == "Relu") {
    y.chain.relu();
  } else if (op == "Clip") {
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    if (attr(n, "min")) lo = attrFloat(n, "min", 0);
    if (attr(n, "max")) hi = attrFloat(n, "max", 0);
    for (int i = 1; i < n.input_size() && i < 3; ++i)
      if (hasIn(n, i)) {
        const Const& b = cin(n, i, "Clip bound");
        if (!b.hasVals || b.elements() != 1) failNode(n, "Clip bounds must be scalars");
        (i == 1 ? lo : hi) = b.floats()[0];
      }
    y.chain.clip(lo, hi);
  } else if (op != "Identity" && op != "Dropout" && op != "Cast" && op != "StreamingDataWidthConverter" &&
             op != "StreamingFIFO" && op != "TLastMarker" && op != "IODMA") {
    y.chain.lose(op + " '" + n.name() + "' is not converted to integer parameters");
  }
  if (op == "Softmax" || op == "LogSoftmax")
    m_notes.push_back("node '" + n.name() + "' (" + n.op_type() +
                      "): classification head outside the dataflow pipeline; the output is taken before it");
  else if (!x.pending.empty() && op != "Identity" && op != "Dropout" && op != "StreamingDataWidthConverter" &&
           op != "StreamingFIFO" && op != "TLastMarker" && op != "IODMA")
    m_folded[x.pending].push_back(op);
  const bool head = op == "Softmax" || op == "LogSoftmax";
  setDyn(n, head ? x : y);
  for (int i = 1; i < n.output_size(); ++i)
    if (!n.output(i).empty()) failNode(n, "output #" + std::to_string(i) + " is not supported");
}

void Importer::opLabelSelect(const onnx::NodeProto& n, const std::string& op, bool finnHw) {
  // Top-k classification head: mpsim's labelselect layer (indices of the k largest scores).
  const Dyn& x = din(n, 0);
  const Shape s = canon(n, x);
  int64_t k = 1;
  int idxOut = 0;
  if (op == "TopK") {
    const Const& kc = cvals(n, 1, "K");
    if (kc.v.size() != 1) failNode(n, "K must be a single value");
    k = toI64(kc.v[0]);
    if (attrInt(n, "largest", 1) != 1) failNode(n, "largest=0 (the k smallest) is not supported");
    idxOut = 1;
    if (n.output_size() > 0 && !n.output(0).empty() &&
        (m_consumers[n.output(0)] > 0 || m_graphOutputs.count(n.output(0))))
      failNode(n, "its values output '" + n.output(0) + "' is used; mpsim's labelselect gives the indices only");
  } else if (op == "LabelSelect") {
    k = attrInt(n, "K", 1);
  } else if (attrInt(n, "select_last_index", 0) != 0) {
    failNode(n, "select_last_index=1 is not supported (ties go to the lowest index)");
  }
  const int64_t rank = int64_t(x.dims.size());
  if (op != "LabelSelect") {
    int64_t axis = attrInt(n, "axis", -1);
    if (axis < 0) axis += rank;
    const int64_t classAxis = x.chLast || rank == 2 ? rank - 1 : 1;
    if (axis != classAxis && s.c > 1)
      failNode(n, "axis " + std::to_string(axis) + " is not the class axis of " + dimsStr(x.dims));
  }
  if (s.h * s.w != 1) failNode(n, "expects one score per class, got " + dimsStr(x.dims) + " (flatten or pool first)");
  if (k < 1 || k > s.c)
    failNode(n, "k = " + std::to_string(k) + " is outside 1.." + std::to_string(s.c) + " (the classes)");
  markUsed(x);
  Layer& l = newLayer(n, LayerKind::LabelSelect, {x.layer});
  l.topk = int(k);
  const std::string name = l.name;
  double sc = 0, off = 0;
  if (x.chain.perTensorAffine(sc, off) && sc > 0)
    m_notes.push_back("layer '" + name +
                      "': the scores are the model's up to a common positive scale, so the classes are the model's");
  else
    m_notes.push_back(
        "layer '" + name + "': the model's scores are not a common positive scale of the integers it ranks" +
        (x.chain.known() ? std::string() : " (" + x.chain.why() + ")") + "; its classes may differ from the model's");
  if (finnHw) hint(name, n, false);
  Dyn y;
  y.layer = name;
  y.dims = {1, k};
  storedChain(y, ActType{32, false}, ValueChain::identity());
  y.lo = 0;
  y.hi = s.c - 1;
  setDyn(n, y, idxOut);
}

} // namespace mpsim::io::onnx_import
