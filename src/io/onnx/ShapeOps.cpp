// ONNX importer: shape operators on activation streams (Reshape, Flatten, Squeeze, Unsqueeze,
// Transpose, Concat) and pooling.
#include "Importer.hpp"

#include <algorithm>

namespace mpsim::io::onnx_import {

std::vector<int64_t> Importer::squeezedDims(const onnx::NodeProto& n, std::vector<int64_t> nd, bool dynamic) {
  std::vector<int64_t> axes = attrInts(n, "axes", {});
  if (axes.empty() && hasIn(n, 1))
    for (double v : cvals(n, 1, "axes").v) axes.push_back(toI64(v));
  if (axes.size() > 8) failNode(n, "too many axes");
  if (n.op_type() == "Unsqueeze") {
    int64_t rk = int64_t(nd.size() + axes.size());
    for (auto& a : axes) a = a < 0 ? a + rk : a;
    std::sort(axes.begin(), axes.end());
    for (auto a : axes) {
      if (a < 0 || a > int64_t(nd.size())) failNode(n, "axis out of range");
      nd.insert(nd.begin() + a, 1);
    }
    return nd;
  }
  std::vector<int64_t> keep;
  for (size_t i = 0; i < nd.size(); ++i) {
    bool sq = axes.empty() ? (nd[i] == 1 && (!dynamic || i > 0))
                           : std::count(axes.begin(), axes.end(), int64_t(i)) +
                                     std::count(axes.begin(), axes.end(), int64_t(i) - int64_t(nd.size())) >
                                 0;
    if (dynamic && sq && nd[i] != 1) failNode(n, "cannot squeeze a dimension of size " + std::to_string(nd[i]));
    if (!sq) keep.push_back(nd[i]);
  }
  return keep;
}

void Importer::reshapeDyn(const onnx::NodeProto& n, const Dyn& x, std::vector<int64_t> nd) {
  Shape s = canon(n, x);
  for (auto d : nd)
    if (d < 1 || d > kMaxDim) failNode(n, "target shape " + dimsStr(nd) + " is not supported");
  Dyn y = x;
  y.dims = nd;
  y.chLast = false;
  Shape t = canon(n, y);
  if (t.elements() != s.elements())
    failNode(n, "reshape from " + dimsStr(x.dims) + " to " + dimsStr(nd) + " changes the number of elements");
  if (x.rawInput && m_consumers[n.input(0)] <= 1 && t != s) {
    // Reshaping the network input itself: the input simply has the new shape.
    Layer& inl = layer(m_inputName);
    inl.out_shape = t;
    m_notes.push_back("the network input is read as " + shapeStr(t) + " (reshaped by '" + n.name() + "')");
    y.rawInput = true;
    if (y.chain.channels() > 1 && t.c != s.c)
      y.chain.lose("per-channel input scaling before reshape '" + n.name() + "'");
    setDyn(n, y);
    return;
  }
  if (t == s || (t.c == s.c && t.h * t.w == 1 && s.h * s.w == 1)) {
    y.rawInput = x.rawInput;
    setDyn(n, y);
    return;
  }
  if (t.h == 1 && t.w == 1) { // flatten to features
    markUsed(x);
    Layer& f = newLayer(n, LayerKind::Flatten, {x.layer});
    y.layer = f.name;
    y.rawInput = false;
    y.chain.expandForFlatten(s.h * s.w);
    y.hwcC = x.chLast && s.h * s.w > 1 ? s.c : 0;
    setDyn(n, y);
    return;
  }
  failNode(n, "reshape of the activation tensor from " + dimsStr(x.dims) + " to " + dimsStr(nd) +
                  " is not supported (only flattening to [1, C*H*W], shape-preserving reshapes and reshaping the "
                  "network input)");
}

void Importer::opReshape(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  const Const& sh = cvals(n, 1, "shape");
  std::vector<int64_t> nd;
  int64_t known = 1, minus = -1, total = 1;
  for (auto d : x.dims) total *= d;
  for (size_t i = 0; i < sh.v.size(); ++i) {
    int64_t d = toI64(sh.v[i]);
    if (d == 0 && i < x.dims.size()) d = x.dims[i];
    if (d == -1 && minus < 0) {
      minus = int64_t(i);
      nd.push_back(1);
      continue;
    }
    if (d < 1 || d > kMaxDim) failNode(n, "invalid target dimension " + std::to_string(toI64(sh.v[i])));
    if (double(known) * double(d) > double(int64_t(1) << 40)) failNode(n, "target shape is too large");
    known *= d;
    nd.push_back(d);
  }
  if (minus >= 0) {
    if (total % known) failNode(n, "cannot infer the -1 dimension of " + dimsStr(nd) + " from " + dimsStr(x.dims));
    nd[size_t(minus)] = total / known;
  }
  reshapeDyn(n, x, nd);
}

void Importer::opFlatten(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  int64_t axis = attrInt(n, "axis", 1);
  if (axis < 0) axis += int64_t(x.dims.size());
  if (axis != 1) failNode(n, "only axis=1 is supported, got " + std::to_string(axis));
  int64_t f = 1;
  for (size_t i = 1; i < x.dims.size(); ++i) f *= x.dims[i];
  reshapeDyn(n, x, {x.dims.empty() ? 1 : x.dims[0], f});
}

void Importer::opSqueeze(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  std::vector<int64_t> nd = squeezedDims(n, x.dims, true);
  if (x.chLast) failNode(n, "squeezing a channels-last tensor is not supported");
  reshapeDyn(n, x, nd);
}

void Importer::opTranspose(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  std::vector<int64_t> perm = attrInts(n, "perm", {});
  Dyn y = x;
  auto is = [&](std::vector<int64_t> p) { return perm == p; };
  if (x.dims.size() == 4 && is({0, 2, 3, 1}) && !x.chLast) {
    y.dims = {x.dims[0], x.dims[2], x.dims[3], x.dims[1]};
    y.chLast = true;
  } else if (x.dims.size() == 4 && is({0, 3, 1, 2})) {
    y.dims = {x.dims[0], x.dims[3], x.dims[1], x.dims[2]};
    if (x.chLast)
      y.chLast = false;
    else if (x.rawInput) {
      // The network input was channels-last all along.
      layer(m_inputName).out_shape = Shape{1, x.dims[3], x.dims[1], x.dims[2]};
      m_notes.push_back("the network input is channels-last " + dimsStr(x.dims) +
                        "; imported as C x H x W = " + shapeStr(layer(m_inputName).out_shape));
    } else
      failNode(n, "perm [0,3,1,2] on a tensor that is already NCHW is not supported");
  } else if (perm.size() == x.dims.size() && std::is_sorted(perm.begin(), perm.end()) && perm.front() == 0 &&
             std::adjacent_find(perm.begin(), perm.end()) == perm.end() && perm.back() == int64_t(perm.size()) - 1) {
    // identity permutation
  } else {
    failNode(n, "perm " + dimsStr(perm) + " on " + dimsStr(x.dims) + " is not supported (NCHW <-> NHWC only)");
  }
  setDyn(n, y);
}

void Importer::opConcat(const onnx::NodeProto& n, const std::string&, bool) {
  std::vector<std::string> ins;
  Dyn y;
  int64_t cTot = 0;
  for (int i = 0; i < n.input_size(); ++i) {
    const Dyn& x = din(n, i);
    int64_t axis = attrInt(n, "axis", 1);
    if (axis < 0) axis += int64_t(x.dims.size());
    int64_t chAxis = x.chLast ? 3 : 1;
    if (axis != chAxis)
      failNode(n, "concatenation along axis " + std::to_string(axis) + " is not supported (channels only)");
    if (i == 0) y = x;
    markUsed(x);
    ins.push_back(x.layer);
    cTot += canon(n, x).c;
  }
  if (ins.size() < 2) failNode(n, "needs two or more inputs");
  Layer& l = newLayer(n, LayerKind::Concat, ins);
  y.layer = l.name;
  // The concatenation keeps values when every input is a stored tensor with the same scale.
  double s0 = 0, o0 = 0;
  bool same = y.pending.empty() && y.chain.perTensorAffine(s0, o0);
  for (int i = 1; i < n.input_size() && same; ++i) {
    const Dyn& x = din(n, i);
    double si = 0, oi = 0;
    same = x.pending.empty() && x.chain.perTensorAffine(si, oi) && si == s0 && oi == o0;
    y.lo = std::min(y.lo, x.lo);
    y.hi = std::max(y.hi, x.hi);
  }
  if (!same) y.chain = ValueChain::unknown("the inputs of concat '" + l.name + "' have different scales");
  y.pending.clear();
  y.rawInput = false;
  y.dims[y.chLast ? 3 : 1] = cTot;
  setDyn(n, y);
}

void Importer::pool(const onnx::NodeProto& n, LayerKind kind) {
  const Dyn& x = din(n, 0);
  if (x.chLast) failNode(n, "expects an NCHW tensor, got channels-last " + dimsStr(x.dims));
  if (x.dims.size() != 4) failNode(n, "expects a 4-D NCHW tensor, got " + dimsStr(x.dims));
  Shape s = canon(n, x);
  auto k = pairAttr(n, "kernel_shape", 0, 1, 1 << 16);
  if (k.first == 0) failNode(n, "missing attribute 'kernel_shape'");
  auto st = pairAttr(n, "strides", 1, 1, 1 << 16);
  auto dil = pairAttr(n, "dilations", 1, 1, 1);
  (void)dil;
  if (attrInt(n, "ceil_mode", 0) != 0) {
    bool exact = (s.h - k.first) % st.first == 0 && (s.w - k.second) % st.second == 0;
    if (!exact) failNode(n, "ceil_mode=1 with a window that does not tile the input is not supported");
  }
  auto pads = attrInts(n, "pads", {0, 0, 0, 0});
  if (pads.size() != 4 || pads[0] != pads[2] || pads[1] != pads[3] || pads[0] < 0 || pads[1] < 0 || pads[0] > 1024 ||
      pads[1] > 1024)
    failNode(n, "only symmetric padding is supported, got pads " + dimsStr(pads));
  std::string ap = attrStr(n, "auto_pad", "NOTSET");
  if (ap != "NOTSET" && ap != "VALID") failNode(n, "auto_pad=" + ap + " is not supported for pooling (NOTSET, VALID)");
  if (n.output_size() > 1 && !n.output(1).empty()) failNode(n, "the Indices output is not supported");
  markUsed(x);
  Layer& l = newLayer(n, kind, {x.layer});
  l.kh = k.first;
  l.kw = k.second;
  l.stride_h = st.first;
  l.stride_w = st.second;
  l.pad_h = int(pads[0]);
  l.pad_w = int(pads[1]);
  int64_t oh = (s.h + 2 * l.pad_h - l.kh) / l.stride_h + 1, ow = (s.w + 2 * l.pad_w - l.kw) / l.stride_w + 1;
  if (s.h + 2 * l.pad_h < l.kh || s.w + 2 * l.pad_w < l.kw)
    failNode(n, "pooling window does not fit the input " + shapeStr(s));
  Dyn y;
  y.layer = l.name;
  y.dims = {1, s.c, oh, ow};
  if (kind == LayerKind::MaxPool) { // max commutes with a monotonic requantiser
    y.pending = x.pending;
    y.chain = x.chain;
    y.lo = x.lo;
    y.hi = x.hi;
  } else {
    y.pending = l.name;
    y.chain = ValueChain::unknown("average pooling '" + l.name + "' is not converted to integer parameters");
    noValues(l.name, "its rounding divisor is mpsim's (kernel area), not the model's scales");
  }
  setDyn(n, y);
}

void Importer::opMaxPool(const onnx::NodeProto& n, const std::string&, bool) { pool(n, LayerKind::MaxPool); }

void Importer::opAveragePool(const onnx::NodeProto& n, const std::string&, bool) { pool(n, LayerKind::AvgPool); }

void Importer::opGlobalPool(const onnx::NodeProto& n, const std::string&, bool finnHw) {
  const Dyn& x = din(n, 0);
  Shape s = canon(n, x);
  markUsed(x);
  Layer& l = newLayer(n, LayerKind::GlobalAvgPool, {x.layer});
  Dyn y = x;
  y.layer = y.pending = l.name;
  y.chain = ValueChain::unknown("global pooling '" + l.name + "' is not converted to integer parameters");
  noValues(l.name, "its rounding divisor is mpsim's (pixel count), not the model's scales");
  y.rawInput = false;
  if (x.dims.size() == 4) y.dims = x.chLast ? std::vector<int64_t>{1, 1, 1, s.c} : std::vector<int64_t>{1, s.c, 1, 1};
  if (finnHw) hint(l.name, n, false);
  setDyn(n, y);
}

} // namespace mpsim::io::onnx_import
