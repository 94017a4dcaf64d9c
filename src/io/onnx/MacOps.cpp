// ONNX importer: MAC layers (Conv, MatMul, Gemm, FINN MVAU / VVAU), their integer weights and the
// value chain of their accumulators.
#include "Importer.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>

namespace mpsim::io::onnx_import {

void Importer::applyWeightQuant(const onnx::NodeProto& n, Layer& l, const QInfo& q, int outAxis, int64_t outCh) {
  if (!q.set) {
    l.weight_bits = 8;
    l.weight_type = WeightType::Signed;
    m_notes.push_back("layer '" + l.name + "': float weights (no Quant node); assumed 8-bit signed");
    return;
  }
  int mx = 0;
  for (int b : q.bits) mx = std::max(mx, b);
  l.weight_bits = mx;
  l.weight_type = q.bipolar ? WeightType::Bipolar : (q.isSigned ? WeightType::Signed : WeightType::Unsigned);
  bool varies = std::any_of(q.bits.begin(), q.bits.end(), [&](int b) { return b != mx; });
  if (varies) {
    if (q.axis != outAxis || int64_t(q.bits.size()) != outCh)
      failNode(n, "the weight bit widths vary along weight axis " + std::to_string(q.axis) +
                      ", not per output channel (axis " + std::to_string(outAxis) +
                      "); only per-output-channel widths are supported");
    l.channel_bits = q.bits;
  }
}

bool Importer::layerWeights(Layer& l, const Const& w, const std::function<int64_t(int64_t, int64_t)>& src,
                            std::vector<double>& scaleK) {
  auto no = [&](const std::string& why) {
    noValues(l.name, why);
    return false;
  };
  if (!w.hasVals) return no("its weight tensor has no values");
  if (!w.q.set) return no("float weights without a quantiser");
  if (!w.q.noValues.empty()) return no(w.q.noValues);
  const int64_t K = l.out_channels, J = l.dotLength();
  if (l.maxWeightBits() > 16) return no("its weights are wider than 16 bits (the functional kernels take 1..16)");
  if (K * J != w.elements())
    return no("its weight tensor does not hold " + std::to_string(K) + " x " + std::to_string(J) + " values");
  std::vector<int32_t> ints(size_t(K * J));
  scaleK.assign(size_t(K), 1.0);
  for (int64_t k = 0; k < K; ++k) {
    const int bits = l.channel_bits.empty() ? l.weight_bits : l.channel_bits[size_t(k)];
    int64_t lo = 0, hi = 1;
    if (l.weight_type == WeightType::Signed)
      lo = -(int64_t(1) << (bits - 1)), hi = (int64_t(1) << (bits - 1)) - 1;
    else if (l.weight_type == WeightType::Unsigned)
      hi = (int64_t(1) << bits) - 1;
    for (int64_t j = 0; j < J; ++j) {
      const int64_t e = src(k, j);
      if (j == 0 && w.q.scaled && w.q.scaleAxis >= 0)
        scaleK[size_t(k)] = w.q.scale[size_t(w.indexAlong(e, w.q.scaleAxis))];
      else if (j == 0 && w.q.scaled)
        scaleK[size_t(k)] = w.q.scale[0];
      const double v = w.v[size_t(e)];
      if (v != std::floor(v))
        return no("weight " + std::to_string(e) + " (" + std::to_string(v) + ") is not an integer");
      int64_t iv = toI64(v);
      if (l.weight_type == WeightType::Bipolar) {
        if (iv != 1 && iv != -1)
          return no("bipolar weight " + std::to_string(e) + " is " + std::to_string(iv) + ", not -1 or +1");
        iv = iv > 0 ? 1 : 0;
      }
      if (iv < lo || iv > hi)
        return no("weight " + std::to_string(e) + " = " + std::to_string(iv) + " is outside its " +
                  std::to_string(bits) + "-bit type");
      ints[size_t(k * J + j)] = int32_t(iv);
    }
  }
  l.weight_values = std::make_shared<const std::vector<int32_t>>(std::move(ints));
  return true;
}

void Importer::macChain(Dyn& y, const Layer& l, const Dyn& x, const std::vector<double>& scaleK, bool padded) {
  y.lo = y.hi = 0;
  if (!l.weight_values) {
    y.chain = ValueChain::unknown("the weights of '" + l.name + "' have no integer values");
    return;
  }
  if (!x.chain.known()) {
    y.chain = ValueChain::unknown(x.chain.why());
    return;
  }
  if (!x.pending.empty() && layer(x.pending).kind != LayerKind::Input) {
    y.chain = ValueChain::unknown("its input '" + x.pending + "' has no activation quantiser");
    return;
  }
  double s = 1, o = 0;
  if (!x.chain.perTensorAffine(s, o)) {
    y.chain = ValueChain::unknown("the input of '" + l.name + "' has a per-channel or non-affine scale");
    return;
  }
  if (padded && o != 0) {
    y.chain = ValueChain::unknown("'" + l.name + "' zero-pads an input whose integer 0 is not the value 0");
    return;
  }
  const int64_t K = l.out_channels, J = l.dotLength();
  const auto& w = *l.weight_values;
  const double xmax = double(std::max(std::abs(x.lo), std::abs(x.hi)));
  std::vector<double> mul(static_cast<size_t>(K)), add(static_cast<size_t>(K));
  double bound = 0;
  for (int64_t k = 0; k < K; ++k) {
    double sumAbs = 0, sum = 0;
    for (int64_t j = 0; j < J; ++j) {
      const double v =
          l.weight_type == WeightType::Bipolar ? 2.0 * w[size_t(k * J + j)] - 1 : double(w[size_t(k * J + j)]);
      sumAbs += std::fabs(v);
      sum += v;
    }
    bound = std::max(bound, sumAbs * xmax);
    mul[size_t(k)] = s * scaleK[size_t(k)];
    add[size_t(k)] = o * scaleK[size_t(k)] * sum;
  }
  if (bound > 4e18) {
    y.chain = ValueChain::unknown("the accumulator range of '" + l.name + "' exceeds 64 bits");
    return;
  }
  auto collapse = [](std::vector<double>& v) {
    if (std::all_of(v.begin(), v.end(), [&](double a) { return a == v[0]; })) v.resize(1);
  };
  collapse(mul);
  collapse(add);
  y.chain = ValueChain::identity();
  y.chain.mul(mul);
  if (o != 0) y.chain.add(add);
  y.lo = -int64_t(bound);
  y.hi = int64_t(bound);
}

void Importer::weighted(const onnx::NodeProto& n, const Dyn& x, const Const& w, LayerKind kind, int outAxis,
                        int64_t outCh, Layer proto) {
  markUsed(x);
  Layer& l = newLayer(n, kind, {x.layer});
  std::string name = l.name;
  proto.name = l.name;
  proto.kind = kind;
  proto.inputs = l.inputs;
  proto.out_channels = outCh;
  l = proto;
  applyWeightQuant(n, l, w.q, outAxis, outCh);
  if (outCh < 1 || outCh > (int64_t(1) << 24))
    failNode(n, "output channel count " + std::to_string(outCh) + " is outside 1..2^24");
  Shape s = canon(n, x);
  {
    double macs = double(outCh) * double(s.elements()) * double(l.kh) * double(l.kw);
    if (macs > 1e15) failNode(n, "the layer is implausibly large (more than 10^15 MACs per frame)");
  }
  Dyn out;
  out.layer = out.pending = name;
  // Integer weights in mpsim's layout (K, C/groups, kh, kw) or (K, features).
  {
    Layer tmp = l;
    tmp.in_shapes = {s};
    const int64_t K = outCh, J = kind == LayerKind::Conv ? (s.c / std::max(1, l.groups)) * l.kh * l.kw : s.elements();
    const int64_t hwcC = x.hwcC, hw = hwcC > 0 ? J / hwcC : 1;
    auto feature = [&](int64_t j) { return hwcC > 0 ? (j % hw) * hwcC + j / hw : j; };
    std::function<int64_t(int64_t, int64_t)> src;
    if (outAxis == 0)
      src = [&](int64_t k, int64_t j) { return k * J + feature(j); };
    else
      src = [&](int64_t k, int64_t j) { return feature(j) * K + k; };
    std::vector<double> scaleK;
    if (layerWeights(tmp, w, src, scaleK)) l.weight_values = tmp.weight_values;
    macChain(out, tmp, x, scaleK, l.pad_h > 0 || l.pad_w > 0);
    // Bias (Conv input 2, Gemm C with alpha / beta).
    const bool gemm = n.op_type() == "Gemm";
    if (gemm && attrFloat(n, "alpha", 1.0f) != 1.0f) out.chain.mul({double(attrFloat(n, "alpha", 1.0f))});
    if ((gemm || n.op_type() == "Conv") && hasIn(n, 2)) {
      const Const& b = cin(n, 2, "bias");
      std::vector<double> bv = b.hasVals ? b.floats() : std::vector<double>{};
      if (bv.size() != 1 && int64_t(bv.size()) != K)
        out.chain.lose("its bias " + dimsStr(b.dims) + " is not one value per output channel");
      const double beta = gemm ? double(attrFloat(n, "beta", 1.0f)) : 1.0;
      for (auto& v : bv) v *= beta;
      out.chain.add(bv);
      m_folded[name].push_back(n.op_type() + " bias");
    }
  }
  if (kind == LayerKind::FullyConnected) {
    out.dims = {1, outCh};
  } else {
    auto o = [](int64_t i, int k, int st, int p, int d) { return (i + 2 * p - int64_t(d) * (k - 1) - 1) / st + 1; };
    int64_t oh = o(s.h, l.kh, l.stride_h, l.pad_h, l.dil_h), ow = o(s.w, l.kw, l.stride_w, l.pad_w, l.dil_w);
    if (oh < 1 || ow < 1)
      failNode(n, "the " + std::to_string(l.kh) + "x" + std::to_string(l.kw) + " window does not fit the input " +
                      shapeStr(s));
    out.dims = x.dims.size() == 3 ? std::vector<int64_t>{1, outCh, oh} : std::vector<int64_t>{1, outCh, oh, ow};
    if (x.chLast && x.dims.size() == 4) {
      out.dims = {1, oh, ow, outCh};
      out.chLast = true;
    }
  }
  setDyn(n, out);
}

void Importer::opConv(const onnx::NodeProto& n, const std::string&, bool) {
  const Dyn& x = din(n, 0);
  const Const& w = cin(n, 1, "weights");
  if (x.chLast) failNode(n, "expects an NCHW tensor, got channels-last " + dimsStr(x.dims) + " (add a Transpose)");
  if (x.dims.size() != 4 && x.dims.size() != 3) failNode(n, "expects a 3-D or 4-D input, got " + dimsStr(x.dims));
  if (w.dims.size() != x.dims.size())
    failNode(n, "weights " + dimsStr(w.dims) + " do not match the input rank " + dimsStr(x.dims));
  Shape s = canon(n, x);
  Layer p;
  p.groups = smallInt(n, "group", attrInt(n, "group", 1), 1, 1 << 24);
  if (w.dims[1] * p.groups != s.c)
    failNode(n, "weights " + dimsStr(w.dims) + " with group=" + std::to_string(p.groups) + " do not match " +
                    std::to_string(s.c) + " input channels");
  bool oneD = x.dims.size() == 3;
  p.kh = smallInt(n, "kernel height", w.dims[2], 1, 1 << 16);
  p.kw = oneD ? 1 : smallInt(n, "kernel width", w.dims[3], 1, 1 << 16);
  auto st = pairAttr(n, "strides", 1, 1, 1 << 16);
  auto dl = pairAttr(n, "dilations", 1, 1, 1 << 16);
  p.stride_h = st.first;
  p.stride_w = oneD ? 1 : st.second;
  p.dil_h = dl.first;
  p.dil_w = oneD ? 1 : dl.second;
  std::string ap = attrStr(n, "auto_pad", "NOTSET");
  auto pads = attrInts(n, "pads", {});
  if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
    auto need = [](int64_t in, int k, int st2, int d) {
      int64_t outd = (in + st2 - 1) / st2;
      return std::max<int64_t>(0, (outd - 1) * st2 + int64_t(d) * (k - 1) + 1 - in);
    };
    int64_t th = need(s.h, p.kh, p.stride_h, p.dil_h), tw = need(s.w, p.kw, p.stride_w, p.dil_w);
    if (th % 2 || tw % 2) failNode(n, "auto_pad=" + ap + " needs asymmetric padding, which is not supported");
    p.pad_h = int(th / 2);
    p.pad_w = int(tw / 2);
  } else if (ap == "NOTSET" || ap == "VALID") {
    if (pads.empty()) pads = std::vector<int64_t>(oneD ? 2 : 4, 0);
    size_t half = pads.size() / 2;
    if ((pads.size() != 4 && !(oneD && pads.size() == 2)) || pads[0] != pads[half] || (half == 2 && pads[1] != pads[3]))
      failNode(n, "only symmetric padding is supported, got pads " + dimsStr(pads));
    p.pad_h = smallInt(n, "padding", pads[0], 0, 1 << 16);
    p.pad_w = oneD ? 0 : smallInt(n, "padding", pads[1], 0, 1 << 16);
  } else
    failNode(n, "auto_pad='" + ap + "' is not supported");
  weighted(n, x, w, LayerKind::Conv, 0, w.dims[0], p);
}

void Importer::opMatMul(const onnx::NodeProto& n, const std::string& op, bool) {
  const Value& a = in(n, 0);
  const Value& b = in(n, 1);
  if (a.isConst) failNode(n, "a constant left operand (weights times activations) is not supported");
  if (!b.isConst) failNode(n, "both operands are activation tensors; only activations x constant weights is supported");
  const Dyn& x = a.d;
  const Const& w = b.c;
  if (w.dims.size() != 2) failNode(n, "weights must be 2-D, got " + dimsStr(w.dims));
  bool transB = op == "Gemm" && attrInt(n, "transB", 0) != 0;
  if (op == "Gemm" && attrInt(n, "transA", 0) != 0) failNode(n, "transA=1 is not supported");
  int64_t inF = transB ? w.dims[1] : w.dims[0], outF = transB ? w.dims[0] : w.dims[1];
  Shape s = canon(n, x);
  Layer p;
  if (x.dims.size() == 4 && x.chLast && s.h * s.w > 1) {
    if (inF != s.c) failNode(n, "weights " + dimsStr(w.dims) + " do not match " + std::to_string(s.c) + " channels");
    m_notes.push_back("node '" + n.name() + "': MatMul on a channels-last tensor imported as a 1x1 conv");
    weighted(n, x, w, LayerKind::Conv, transB ? 0 : 1, outF, p);
    return;
  }
  if (inF != s.elements())
    failNode(n, "weights " + dimsStr(w.dims) + " do not match the " + std::to_string(s.elements()) +
                    " input features of " + dimsStr(x.dims));
  if (hasIn(n, 2) && !in(n, 2).isConst) failNode(n, "the bias must be a constant");
  weighted(n, x, w, LayerKind::FullyConnected, transB ? 0 : 1, outF, p);
}

void Importer::finnMac(const onnx::NodeProto& n, bool vvau) {
  const Dyn& x = din(n, 0);
  const Const& w = cin(n, 1, "weight tensor");
  auto wdt = parseDType(attrStr(n, "weightDataType", ""));
  if (!wdt)
    failNode(n, "attribute 'weightDataType' is missing or not a FINN integer type ('" +
                    attrStr(n, "weightDataType", "") + "')");
  Shape s = canon(n, x);
  Layer proto;
  int64_t outCh = 0;
  LayerKind kind = LayerKind::Conv;
  if (vvau) {
    outCh = attrInt(n, "Channels", 0);
    if (!x.win.active) failNode(n, "expects its input from a ConvolutionInputGenerator");
    if (outCh < 1 || outCh > kMaxDim) failNode(n, "attribute 'Channels' is missing or invalid");
    proto.groups = int(outCh);
    if (w.dims.empty() || w.dims[0] != outCh)
      failNode(n, "weights " + dimsStr(w.dims) + " do not match Channels = " + std::to_string(outCh));
  } else {
    int64_t mw = attrInt(n, "MW", 0), mh = attrInt(n, "MH", 0);
    if (mw < 1 || mh < 1 || mw > kMaxDim || mh > kMaxDim) failNode(n, "attributes 'MW' and 'MH' must be positive");
    outCh = mh;
    if (w.dims.size() != 2 || w.dims[0] != mw || w.dims[1] != mh)
      failNode(n, "weights " + dimsStr(w.dims) + " do not match MW x MH = " + std::to_string(mw) + "x" +
                      std::to_string(mh));
    if (x.win.active) {
      if (mw != int64_t(x.win.kh) * x.win.kw * s.c)
        failNode(n, "MW = " + std::to_string(mw) + " does not match the window " + std::to_string(x.win.kh) + "x" +
                        std::to_string(x.win.kw) + "x" + std::to_string(s.c));
    } else {
      int64_t feats = s.h * s.w > 1 && x.dims.size() == 4 ? s.c : s.elements();
      if (mw != feats) failNode(n, "MW = " + std::to_string(mw) + " does not match the input " + dimsStr(x.dims));
      kind = (s.h * s.w > 1 && x.dims.size() == 4) ? LayerKind::Conv : LayerKind::FullyConnected;
    }
  }
  if (outCh > (int64_t(1) << 24)) failNode(n, "output channel count " + std::to_string(outCh) + " is outside 1..2^24");
  if (double(outCh) * double(s.elements()) > 1e15)
    failNode(n, "the layer is implausibly large (more than 10^15 MACs per frame)");
  if (x.win.active) {
    proto.kh = x.win.kh;
    proto.kw = x.win.kw;
    proto.stride_h = x.win.sh;
    proto.stride_w = x.win.sw;
    proto.dil_h = x.win.dh;
    proto.dil_w = x.win.dw;
    proto.pad_h = x.win.ph;
    proto.pad_w = x.win.pw;
    if (vvau != x.win.depthwise && vvau) failNode(n, "expects a depthwise ConvolutionInputGenerator");
  }
  markUsed(x);
  Layer& l = newLayer(n, kind, {x.layer});
  std::string name = l.name;
  proto.name = name;
  proto.kind = kind;
  proto.inputs = l.inputs;
  proto.out_channels = outCh;
  l = proto;
  applyDType(l, *wdt);
  const bool xnor = attrInt(n, "binaryXnorMode", 0) == 1;
  if (xnor) l.weight_type = WeightType::Bipolar, l.weight_bits = 1;
  Dyn y;
  y.layer = name;
  y.chLast = true;
  if (kind == LayerKind::FullyConnected)
    y.dims = {1, outCh}, y.chLast = false;
  else {
    int64_t oh = x.dims.size() == 4 ? x.dims[1] : 1, ow = x.dims.size() == 4 ? x.dims[2] : 1;
    y.dims = {1, oh, ow, outCh};
  }
  // Values: FINN keeps integer weights [MW, MH] (windows in kh, kw, C order; VVAU [C, 1, kh, kw]).
  {
    Layer tmp = l;
    tmp.in_shapes = {s};
    const int64_t K = outCh, C = s.c, J = tmp.dotLength();
    std::function<int64_t(int64_t, int64_t)> src;
    if (vvau)
      src = [&](int64_t k, int64_t j) { return k * J + j; };
    else if (x.win.active)
      src = [&](int64_t k, int64_t j) {
        const int64_t c = j / (int64_t(l.kh) * l.kw), ij = j % (int64_t(l.kh) * l.kw);
        return (ij * C + c) * K + k;
      };
    else
      src = [&](int64_t k, int64_t j) { return j * K + k; };
    Const wc = w;
    wc.q.set = true; // FINN weights are integers of weightDataType
    wc.q.bipolar = l.weight_type == WeightType::Bipolar;
    std::vector<double> scaleK;
    if (xnor)
      noValues(name, "binaryXnorMode weights and thresholds (popcount domain) are not converted");
    else if (layerWeights(tmp, wc, src, scaleK))
      l.weight_values = tmp.weight_values;
    macChain(y, tmp, x, scaleK, l.pad_h > 0 || l.pad_w > 0);
  }
  bool noAct = attrInt(n, "noActivation", 0) == 1 || !hasIn(n, 2);
  auto odt = parseDType(attrStr(n, "outputDataType", ""));
  if (!noAct && odt) {
    l.out = actOf(*odt);
    m_quantSet.insert(name);
    if (l.weight_values) finnThresholds(n, name, y, attrInt(n, "ActVal", 0));
    storedChain(y, l.out, ValueChain::identity());
  } else {
    y.pending = name;
  }
  hint(name, n, true);
  setDyn(n, y);
}

void Importer::opMvau(const onnx::NodeProto& n, const std::string&, bool) { finnMac(n, false); }

void Importer::opVvau(const onnx::NodeProto& n, const std::string&, bool) { finnMac(n, true); }

} // namespace mpsim::io::onnx_import
