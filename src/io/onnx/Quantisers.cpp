// ONNX importer: activation quantisers (Quant, BipolarQuant, Trunc, MultiThreshold, FINN Thresholding)
// and the integer thresholds they give the layer before them.
#include "Importer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <tuple>

namespace mpsim::io::onnx_import {

// A Quant scale of 0, NaN or infinity has no integer meaning (x / scale): the model is broken.
void Importer::requireUsableScale(const onnx::NodeProto& n, const std::vector<double>& scale) const {
  for (size_t i = 0; i < scale.size(); ++i)
    if (scale[i] == 0 || !std::isfinite(scale[i]))
      failNode(n, "scale element " + std::to_string(i) + " is " + std::to_string(scale[i]) +
                      "; a quantiser scale must be a finite non-zero number");
}

void Importer::quantAct(const onnx::NodeProto& n, const Dyn& x, ActType t, bool setsInput, const std::string& what,
                        const QuantSpec& qs) {
  Dyn out = x;
  out.pending.clear();
  out.rawInput = false;
  std::string target;
  bool inputType = false; // the quantiser sets the network input's type: no thresholds
  if (!x.pending.empty() && !m_quantSet.count(x.pending) && (layer(x.pending).kind != LayerKind::Input || setsInput)) {
    Layer& p = layer(x.pending);
    p.out = t;
    if (p.kind != LayerKind::Input) p.requant = graph::Requant::Thresholds;
    m_quantSet.insert(p.name);
    if (p.kind == LayerKind::Input) {
      m_notes.push_back("the network input is quantised by " + what + " '" + n.name() + "'");
      inputType = true;
    }
    target = p.name;
  } else {
    markUsed(x);
    Layer& q = newLayer(n, LayerKind::Quantizer, {x.layer});
    q.out = t;
    m_quantSet.insert(q.name);
    out.layer = q.name;
    target = q.name;
  }
  if (!inputType)
    deriveThresholds(n, target, x, qs);
  else
    inputThresholds(n, x, qs);
  storedChain(out, t, qs.out);
  setDyn(n, out);
}

void Importer::deriveThresholds(const onnx::NodeProto& n, const std::string& target, const Dyn& x,
                                const QuantSpec& qs) {
  Layer& l = layer(target);
  if (!l.isWeighted() && l.kind != LayerKind::Quantizer)
    return noValues(target, "a " + std::string(graph::toString(l.kind)) + " layer does not requantise with thresholds");
  if (!qs.why.empty()) return noValues(target, qs.why);
  if (!x.chain.known()) return noValues(target, x.chain.why());
  const int64_t C = l.isWeighted() ? l.out_channels : canon(n, x).c;
  if (!x.chain.consistentWith(C))
    return noValues(target, "per-channel parameters do not match its " + std::to_string(C) + " channels");
  if (l.isWeighted() && !l.weight_values) return noValues(target, "its weights have no integer values");
  const int64_t levels = l.out.thresholdCount();
  if (qs.steps > levels)
    failNode(n, std::to_string(qs.steps) + " thresholds per channel do not fit the " + l.out.str() + " output");
  if (double(C) * double(levels) > double(kMaxElements))
    return noValues(target,
                    std::to_string(C) + " channels x " + std::to_string(levels) + " thresholds are too many to derive");
  // Decreasing channels (a negative scale) have their weights negated so that the count of
  // thresholds reached grows with the accumulator; that needs weights whose negation fits.
  std::vector<int32_t> w = l.weight_values ? *l.weight_values : std::vector<int32_t>{};
  const int64_t J = l.isWeighted() && C > 0 ? int64_t(w.size()) / C : 0; // (shapes are not final yet)
  std::vector<int64_t> th(size_t(C * levels));
  for (int64_t c = 0; c < C; ++c) {
    const bool dec = x.chain.eval(c, double(x.hi)) < x.chain.eval(c, double(x.lo));
    int64_t lo = x.lo, hi = x.hi;
    if (dec) {
      if (!l.isWeighted())
        return noValues(target, "channel " + std::to_string(c) + " decreases with its input (negative scale)");
      for (int64_t j = 0; j < J; ++j) {
        int32_t& v = w[size_t(c * J + j)];
        if (l.weight_type == WeightType::Bipolar)
          v = 1 - v;
        else if (l.weight_type == WeightType::Signed && v > -(int64_t(1) << (l.maxWeightBits() - 1)))
          v = -v;
        else if (v != 0)
          return noValues(target, "channel " + std::to_string(c) +
                                      " has a negative scale and its weights cannot be negated within " +
                                      std::to_string(l.maxWeightBits()) + " bits");
      }
      std::tie(lo, hi) = std::make_pair(-x.hi, -x.lo);
    }
    const double sign = dec ? -1.0 : 1.0;
    int64_t* row = th.data() + c * levels;
    for (int64_t i = 0; i < levels; ++i)
      row[i] = i < qs.steps
                   ? detail::firstReached(
                         lo, hi, [&](int64_t a) { return qs.reached(c, i, x.chain.eval(c, sign * double(a))); })
                   : hi + 1;
    std::sort(row, row + levels);
  }
  if (l.isWeighted()) l.weight_values = std::make_shared<const std::vector<int32_t>>(std::move(w));
  l.threshold_values = std::make_shared<const std::vector<int64_t>>(std::move(th));
}

namespace {
// Doubles in order as int64 keys (and back), so that integer bisection finds exact float boundaries.
int64_t orderedKey(double v) {
  int64_t b;
  std::memcpy(&b, &v, 8);
  return b >= 0 ? b : std::numeric_limits<int64_t>::min() - b;
}
double fromKey(int64_t k) {
  int64_t b = k >= 0 ? k : std::numeric_limits<int64_t>::min() - k;
  double v;
  std::memcpy(&v, &b, 8);
  return v;
}
} // namespace

void Importer::inputThresholds(const onnx::NodeProto& n, const Dyn& x, const QuantSpec& qs) {
  Layer& in = layer(m_inputName);
  auto lose = [&](const std::string& why) {
    m_notes.push_back("the float network input cannot be quantised by mpsim (" + why +
                      "); input .npy files must hold the integers of '" + n.name() + "'");
  };
  if (!qs.why.empty()) return lose(qs.why);
  if (!x.chain.known()) return lose(x.chain.why());
  const int64_t C = canon(n, x).c;
  if (!x.chain.consistentWith(C)) return lose("per-channel parameters do not match the input channels");
  const int64_t levels = in.out.thresholdCount();
  const int64_t rows = x.chain.channels() > 1 || C == 1 ? C : 1;
  if (double(rows) * double(levels) > double(kMaxElements)) return lose("too many input thresholds");
  const double big = 1e30;
  std::vector<double> th(size_t(rows * levels), std::numeric_limits<double>::infinity());
  for (int64_t c = 0; c < rows; ++c) {
    if (x.chain.eval(c, big) < x.chain.eval(c, -big)) return lose("it decreases with the input");
    for (int64_t i = 0; i < qs.steps && i < levels; ++i) {
      const int64_t lo = orderedKey(-big), hi = orderedKey(big);
      const int64_t k =
          detail::firstReached(lo, hi, [&](int64_t key) { return qs.reached(c, i, x.chain.eval(c, fromKey(key))); });
      th[size_t(c * levels + i)] = k == lo  ? -std::numeric_limits<double>::infinity()
                                   : k > hi ? std::numeric_limits<double>::infinity()
                                            : fromKey(k);
    }
    std::sort(th.begin() + c * levels, th.begin() + (c + 1) * levels);
  }
  in.input_thresholds = std::make_shared<const std::vector<double>>(std::move(th));
  m_notes.push_back("input .npy files hold the model's float input values; mpsim quantises them to " + in.out.str() +
                    " as '" + n.name() + "' does (thresholds on the input values)");
}

void Importer::finnThresholds(const onnx::NodeProto& n, const std::string& target, const Dyn& x, int64_t actVal) {
  Layer& l = layer(target);
  const Const& th = cin(n, l.isWeighted() ? 2 : 1, "thresholds");
  if (th.dims.size() != 2 || !th.hasVals)
    failNode(n, "thresholds must be a 2-D tensor [channels, steps], got " + dimsStr(th.dims));
  const int64_t omin = l.out.valueMin();
  if (!l.out.bipolar && actVal != omin)
    return noValues(target, "its output offset ActVal = " + std::to_string(actVal) + " differs from the lowest " +
                                l.out.str() + " level " + std::to_string(omin));
  const int64_t levels = l.out.thresholdCount();
  const int64_t C = l.isWeighted() ? l.out_channels : canon(n, x).c, rows = th.dims[0], T = th.dims[1];
  if (double(C) * double(levels) > double(kMaxElements))
    return noValues(target, std::to_string(C) + " channels x " + std::to_string(levels) + " thresholds are too many");
  if ((rows != 1 && rows != C) || T > levels)
    failNode(n, "thresholds " + dimsStr(th.dims) + " do not fit " + std::to_string(C) + " channels of " + l.out.str());
  std::vector<int64_t> v(size_t(C * levels));
  const std::vector<double> f = th.floats();
  for (int64_t c = 0; c < C; ++c) {
    int64_t* row = v.data() + c * levels;
    for (int64_t i = 0; i < levels; ++i) {
      // integer inputs reach a threshold t exactly when they reach ceil(t)
      row[i] = i < T ? toI64(std::ceil(f[size_t((rows == 1 ? 0 : c) * T + i)])) : x.hi + 1;
      row[i] = std::clamp(row[i], x.lo, x.hi + 1);
    }
    std::sort(row, row + levels);
  }
  l.threshold_values = std::make_shared<const std::vector<int64_t>>(std::move(v));
}

void Importer::opQuant(const onnx::NodeProto& n, const std::string& op, bool) {
  const Dyn& x = din(n, 0);
  ActType t;
  QuantSpec qs;
  if (op == "Quant") {
    const Const& bw = cvals(n, 3, "bit width");
    if (bw.v.size() != 1) failNode(n, "per-channel bit widths on activations are not supported");
    double b = bw.v[0];
    if (!(b >= 1 && b <= 32) || b != std::floor(b))
      failNode(n, "bit width " + std::to_string(b) + " is not an integer in 1..32");
    std::string rm = attrStr(n, "rounding_mode", "ROUND");
    static const std::set<std::string> modes{"ROUND",   "CEIL",      "FLOOR", "ROUND_TO_ZERO", "HALF_EVEN",
                                             "HALF_UP", "HALF_DOWN", "UP",    "DOWN"};
    if (!modes.count(rm)) failNode(n, "rounding_mode '" + rm + "' is not supported");
    t = ActType{int(b), attrInt(n, "signed", 1) != 0};
    const Const& zp = cin(n, 2, "zero point");
    if (zp.hasVals && std::any_of(zp.v.begin(), zp.v.end(), [](double z) { return z != 0; }))
      m_notes.push_back("node '" + n.name() + "': non-zero zero point (asymmetric quantisation) kept as a " +
                        std::to_string(t.bits) + "-bit tensor");
    const Const& scaleIn = cin(n, 1, "scale");
    if (scaleIn.hasVals) requireUsableScale(n, scaleIn.v);
    auto scale = channelParam(scaleIn, x);
    auto zero = channelParam(zp, x);
    if (!scale || !zero)
      qs.why = "the scale or zero point of '" + n.name() + "' varies along a non-channel axis";
    else if (std::any_of(scale->begin(), scale->end(), [](double v) { return !(v > 0) || !std::isfinite(v); }))
      qs.why = "'" + n.name() + "' has a scale that is not positive";
    else if (t.bits > 16)
      qs.why = "'" + n.name() + "' quantises to more than 16 bits";
    else {
      const int64_t qmin0 = t.valueMin(), qmax = t.valueMax();
      const int64_t qmin = qmin0 + (attrInt(n, "narrow", 0) != 0 && t.is_signed ? 1 : 0);
      const int64_t qmaxN = qmax - (attrInt(n, "narrow", 0) != 0 && !t.is_signed ? 1 : 0);
      auto sc = *scale, z = *zero;
      auto pick = [](const std::vector<double>& p, int64_t c) { return p.size() == 1 ? p[0] : p[size_t(c)]; };
      qs.steps = qmax - qmin0;
      qs.reached = [=](int64_t c, int64_t i, double v) {
        double q = std::clamp(roundMode(v / pick(sc, c) + pick(z, c), rm), double(qmin), double(qmaxN));
        return q >= double(qmin0 + i + 1);
      };
      qs.out = ValueChain::identity();
      std::vector<double> negZ = z;
      for (auto& v : negZ) v = -v;
      if (std::any_of(z.begin(), z.end(), [](double v) { return v != 0; })) qs.out.add(negZ);
      qs.out.mul(sc);
    }
  } else if (op == "BipolarQuant") {
    t = ActType::makeBipolar();
    const Const& scaleIn = cin(n, 1, "scale");
    if (scaleIn.hasVals) requireUsableScale(n, scaleIn.v);
    auto scale = channelParam(scaleIn, x);
    if (!scale)
      qs.why = "the scale of '" + n.name() + "' varies along a non-channel axis";
    else {
      qs.steps = 1;
      qs.reached = [](int64_t, int64_t, double v) { return v >= 0; };
      qs.out = ValueChain::identity();
      qs.out.mul(*scale);
    }
  } else {
    const Const& bw = cvals(n, 4, "output bit width");
    if (bw.v.size() != 1) failNode(n, "output bit width must be a scalar");
    double b = bw.v[0];
    if (!(b >= 1 && b <= 32) || b != std::floor(b))
      failNode(n, "output bit width " + std::to_string(b) + " is not an integer in 1..32");
    bool sgn = attr(n, "signed") ? attrInt(n, "signed", 0) != 0 : false;
    t = ActType{int(b), sgn};
    qs.why = "Trunc '" + n.name() + "' is not converted to integer parameters";
  }
  quantAct(n, x, t, op != "Trunc", op, qs);
}

void Importer::opMultiThreshold(const onnx::NodeProto& n, const std::string& op, bool finnHw) {
  const Dyn& x = din(n, 0);
  const Const& th = cin(n, 1, "thresholds");
  if (th.dims.size() != 2) failNode(n, "thresholds must be a 2-D tensor [channels, steps], got " + dimsStr(th.dims));
  std::string dts = attrStr(n, op == "MultiThreshold" ? "out_dtype" : "outputDataType", "");
  std::optional<DType> dt = dts.empty() ? std::nullopt : parseDType(dts);
  if (!dts.empty() && !dt) failNode(n, "output data type '" + dts + "' is not a supported integer type");
  ActType t;
  if (dt)
    t = actOf(*dt);
  else {
    int b = 1;
    while ((int64_t(1) << b) - 1 < th.dims[1] && b < 32) ++b;
    t = ActType{b, attrFloat(n, "out_bias", 0) < 0 || attrInt(n, "ActVal", 0) < 0};
  }
  if (finnHw) {
    markUsed(x);
    Layer& q = newLayer(n, LayerKind::Quantizer, {x.layer});
    q.out = t;
    m_quantSet.insert(q.name);
    std::string qname = q.name;
    finnThresholds(n, qname, x, attrInt(n, "ActVal", 0));
    Dyn y = x;
    y.layer = qname;
    y.pending.clear();
    y.rawInput = false;
    storedChain(y, t, ValueChain::identity());
    hint(qname, n, false);
    setDyn(n, y);
    return;
  }
  // FINN MultiThreshold: value = out_scale * (number of thresholds reached) + out_bias.
  QuantSpec qs;
  const int64_t C = canon(n, x).c, rows = th.dims[0];
  if (!th.hasVals)
    qs.why = "its thresholds have no values";
  else if (rows != 1 && rows != C)
    qs.why = "thresholds " + dimsStr(th.dims) + " do not match " + std::to_string(C) + " channels";
  else {
    const std::vector<double> f = th.floats();
    const int64_t T = th.dims[1];
    qs.steps = T;
    qs.reached = [f, T, rows](int64_t c, int64_t i, double v) { return v >= f[size_t((rows == 1 ? 0 : c) * T + i)]; };
    const double os = attrFloat(n, "out_scale", 1.0f), ob = attrFloat(n, "out_bias", 0.0f);
    const int64_t omin = t.valueMin();
    qs.out = ValueChain::identity();
    if (t.bipolar) { // count = (d + 1) / 2
      qs.out.mul({os / 2});
      qs.out.add({os / 2 + ob});
    } else {
      qs.out.mul({os});
      qs.out.add({ob - os * double(omin)});
    }
  }
  quantAct(n, x, t, false, op, qs);
}

} // namespace mpsim::io::onnx_import
