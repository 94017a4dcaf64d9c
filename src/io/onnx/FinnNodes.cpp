// ONNX importer: FINN fpgadataflow nodes that are not MAC layers or thresholds (FMPadding,
// ConvolutionInputGenerator, StreamingMaxPool, AddStreams, DuplicateStreams).
#include "Importer.hpp"

#include <algorithm>

namespace mpsim::io::onnx_import {

void Importer::opFmPadding(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  auto pad = attrInts(n, "Padding", {});
  if (pad.size() == 4) {
    if (pad[0] != pad[2] || pad[1] != pad[3]) failNode(n, "asymmetric padding " + dimsStr(pad) + " is not supported");
  } else if (pad.size() != 1 && pad.size() != 2)
    failNode(n, "attribute 'Padding' must have 1, 2 or 4 entries");
  Dyn y = x;
  int ph = smallInt(n, "Padding", pad.size() == 1 ? pad[0] / 2 : pad[0], 0, 1 << 16);
  int pw = smallInt(n, "Padding", pad.size() == 1 ? pad[0] / 2 : pad.size() == 2 ? pad[1] : pad[1], 0, 1 << 16);
  y.padH += ph;
  y.padW += pw;
  if (y.dims.size() == 4) {
    y.dims[1] += 2 * ph;
    y.dims[2] += 2 * pw;
  }
  m_notes.push_back("node '" + n.name() + "' (FMPadding) folded into the padding of the next convolution");
  setDyn(n, y);
}

void Importer::opConvInputGen(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  if (x.dims.size() != 4) failNode(n, "expects an NHWC tensor, got " + dimsStr(x.dims));
  Dyn y = x;
  y.win.active = true;
  auto k = pairAttr(n, "ConvKernelDim", 0, 1, 1 << 16);
  if (k.first == 0) failNode(n, "missing attribute 'ConvKernelDim'");
  auto st = pairAttr(n, "Stride", 1, 1, 1 << 16);
  auto dl = pairAttr(n, "Dilation", 1, 1, 1 << 16);
  y.win.kh = k.first;
  y.win.kw = k.second;
  y.win.sh = st.first;
  y.win.sw = st.second;
  y.win.dh = dl.first;
  y.win.dw = dl.second;
  y.win.ph = x.padH;
  y.win.pw = x.padW;
  y.win.depthwise = attrInt(n, "depthwise", 0) != 0;
  y.padH = y.padW = 0;
  int64_t C = x.dims[3];
  auto o = [](int64_t i, int kk, int s2, int d) { return (i - int64_t(d) * (kk - 1) - 1) / s2 + 1; };
  int64_t oh = o(x.dims[1], k.first, st.first, dl.first), ow = o(x.dims[2], k.second, st.second, dl.second);
  if (oh < 1 || ow < 1) failNode(n, "the window does not fit the input " + dimsStr(x.dims));
  y.dims = {1, oh, ow, C};
  y.chLast = true;
  std::string rs = attrStr(n, "ram_style", "");
  m_notes.push_back("node '" + n.name() + "' (" + n.op_type() + ") becomes the sliding window of the next MAC layer" +
                    (attr(n, "SIMD") ? " (SIMD " + std::to_string(attrInt(n, "SIMD", 1)) +
                                           (rs.empty() ? "" : ", ram_style " + rs) + ")"
                                     : ""));
  setDyn(n, y);
}

void Importer::opStreamingMaxPool(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  if (x.dims.size() != 4) failNode(n, "expects an NHWC tensor, got " + dimsStr(x.dims));
  auto k = pairAttr(n, "PoolDim", 0, 1, 1 << 16);
  if (k.first == 0) failNode(n, "missing attribute 'PoolDim'");
  markUsed(x);
  Layer& l = newLayer(n, LayerKind::MaxPool, {x.layer});
  l.kh = l.stride_h = k.first;
  l.kw = l.stride_w = k.second;
  Dyn y = x;
  y.layer = l.name;
  y.rawInput = false;
  y.dims = {1, x.dims[1] / k.first, x.dims[2] / k.second, x.dims[3]};
  if (y.dims[1] < 1 || y.dims[2] < 1) failNode(n, "pool window does not fit the input " + dimsStr(x.dims));
  hint(l.name, n, false);
  setDyn(n, y);
}

void Importer::opAddStreams(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& a = din(n, 0);
  const Dyn& b = din(n, 1);
  if (canon(n, a) != canon(n, b))
    failNode(n, "inputs have different shapes " + dimsStr(a.dims) + " and " + dimsStr(b.dims));
  markUsed(a);
  markUsed(b);
  Layer& l = newLayer(n, LayerKind::Add, {a.layer, b.layer});
  auto dt = parseDType(attrStr(n, "inputDataType", ""));
  if (dt) {
    l.out = ActType{std::min(32, dt->bits + 1), dt->isSigned};
    m_quantSet.insert(l.name);
  }
  Dyn y = a;
  y.layer = l.name;
  y.pending = dt ? "" : l.name;
  // FINN's AddStreams adds the two integers (mpsim's add with scale 1, no shift): exact when both
  // inputs are the integers themselves.
  double sa = 0, oa = 0, sb = 0, ob = 0;
  if (a.chain.perTensorAffine(sa, oa) && b.chain.perTensorAffine(sb, ob) && sa == 1 && sb == 1 && oa == 0 && ob == 0 &&
      a.pending.empty() && b.pending.empty()) {
    y.chain = ValueChain::identity();
    y.lo = a.lo + b.lo;
    y.hi = a.hi + b.hi;
  } else {
    y.chain = ValueChain::unknown("the inputs of '" + l.name + "' are not plain integers");
  }
  y.rawInput = false;
  hint(l.name, n, false);
  setDyn(n, y);
}

void Importer::opDuplicateStreams(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  markUsed(x);
  Layer& l = newLayer(n, LayerKind::Fork, {x.layer});
  Dyn y = x;
  y.layer = l.name;
  y.rawInput = false;
  y.pending.clear();
  hint(l.name, n, false);
  for (int i = 0; i < n.output_size(); ++i) setDyn(n, y, i);
}

} // namespace mpsim::io::onnx_import
