// ONNX importer (QONNX / FINN-ONNX) -> graph IR. See docs/onnx-import.md.
//
// The importer walks the ONNX nodes in topological order and keeps one Value per tensor name:
// a constant (initialisers, Constant nodes and everything computed only from them, such as the
// Shape -> Gather -> Concat -> Reshape chains of PyTorch exports and the quantised weights) or an
// activation stream produced by a graph layer. Float operators between a MAC layer and the next
// quantiser (scales, biases, BatchNorm, ReLU) are folded into that layer's requantiser.
//
// Values: quantised initialisers become integer weights, and the float operators between an integer
// (an accumulator or a stored activation) and the next quantiser are kept as a ValueChain, from
// which the quantiser's integer thresholds follow (ValueChain.hpp). When a chain cannot be followed
// the layer keeps its widths and a note says why; functional runs then generate its parameters.
#include "mpsim/io/OnnxImport.hpp"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <onnx/onnx_pb.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/func/Npy.hpp"
#include "ValueChain.hpp"

namespace mpsim::io {
namespace {

using graph::ActType;
using graph::Layer;
using graph::LayerKind;
using graph::Shape;
using graph::WeightType;
using detail::ValueChain;

constexpr int64_t kMaxDim = int64_t(1) << 31;
constexpr int64_t kMaxElements = int64_t(1) << 28;

const char* kSupportedOps =
    "Quant, BipolarQuant, Trunc, MultiThreshold, Conv, MatMul, Gemm, Add, Sub, Mul, Div, Pow, "
    "BatchNormalization, Relu, Clip, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape, Squeeze, "
    "Unsqueeze, Transpose, Concat, Identity, Dropout, Cast, Constant, Shape, Gather, Softmax, LogSoftmax, "
    "TopK, ArgMax, and the FINN fpgadataflow nodes MVAU (MatrixVectorActivation), VVAU "
    "(VectorVectorActivation), ConvolutionInputGenerator, FMPadding, StreamingMaxPool, AddStreams, "
    "DuplicateStreams, Thresholding, GlobalAccPool, LabelSelect, StreamingDataWidthConverter, StreamingFIFO";

// Weight quantisation attached to a constant.
struct QInfo {
  bool set = false;
  std::vector<int> bits; // one entry, or one per index of `axis`
  int axis = -1;
  bool isSigned = true;
  bool bipolar = false;
  // After Quant / BipolarQuant, Const::v holds the integers (bipolar: -1 / +1) and the float value
  // of element e is v[e] * scale[index of e along scaleAxis] (one scale: scaleAxis -1).
  bool scaled = false;
  std::vector<double> scale{1.0};
  int scaleAxis = -1;
  std::string noValues; // why integer weights cannot be derived (empty: they can)
};

struct Const {
  std::vector<int64_t> dims;
  std::vector<double> v;
  bool hasVals = false;
  QInfo q;
  int64_t elements() const {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
  }
  // Index of flat element e along axis a.
  int64_t indexAlong(int64_t e, int a) const {
    int64_t stride = 1;
    for (size_t i = dims.size(); i-- > size_t(a) + 1;) stride *= dims[i];
    return (e / stride) % dims[size_t(a)];
  }
  // The float values (quantised constants: integer times scale).
  std::vector<double> floats() const {
    if (!q.scaled) return v;
    std::vector<double> f(v.size());
    for (size_t e = 0; e < v.size(); ++e)
      f[e] = v[e] * (q.scaleAxis < 0 ? q.scale[0] : q.scale[size_t(indexAlong(int64_t(e), q.scaleAxis))]);
    return f;
  }
};

// Sliding-window state carried between FINN's FMPadding / ConvolutionInputGenerator and the MVAU.
struct Window {
  bool active = false;
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0;
  bool depthwise = false;
};

struct Dyn {
  std::string layer;             // producing graph layer
  std::vector<int64_t> dims;     // ONNX dims
  bool chLast = false;           // rank-4 dims are N,H,W,C
  std::string pending;           // requantising layer whose output type no quantiser has set yet
  bool rawInput = false;         // the graph input, untouched by any layer
  int padH = 0, padW = 0;        // FMPadding not yet consumed by a window generator
  Window win;                    // ConvolutionInputGenerator output
  // Float value as a function of the base integer: the accumulator of `pending` when set (the
  // input's integer when `pending` is the input layer), else the stored activation of `layer`.
  ValueChain chain = ValueChain::unknown("the values of this tensor are not tracked");
  int64_t lo = 0, hi = 0;        // range of the base integer
  int64_t hwcC = 0;              // >0: flattened from channels-last (H, W, C) order with C channels
};

struct Value {
  bool isConst = false;
  Const c;
  Dyn d;
};

// Saturating double -> int64 (constant values may be anything in a corrupt file).
int64_t toI64(double x) {
  if (!(x == x)) return 0;
  if (x >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (x <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return int64_t(x);
}

std::string dimsStr(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "x" : "") + std::to_string(d[i]);
  return s + "]";
}

std::string shapeStr(const Shape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

// FINN DataType strings.
struct DType {
  int bits = 0;
  bool isSigned = false;
  bool bipolar = false;
};
// QONNX rounding modes (ROUND and HALF_EVEN: half to even, as numpy.round).
double roundMode(double v, const std::string& m) {
  if (m == "CEIL") return std::ceil(v);
  if (m == "FLOOR") return std::floor(v);
  if (m == "ROUND_TO_ZERO" || m == "DOWN") return std::trunc(v);
  if (m == "UP") return v < 0 ? std::floor(v) : std::ceil(v);
  if (m == "HALF_UP") return std::round(v); // half away from zero
  if (m == "HALF_DOWN") {
    double f = std::floor(v);
    if (v - f != 0.5) return std::round(v);
    return v >= 0 ? f : f + 1; // a tie goes towards zero
  }
  return std::nearbyint(v); // default rounding mode: to nearest, ties to even
}

ActType actOf(const DType& d) { return d.bipolar ? ActType::makeBipolar() : ActType{d.bits, d.isSigned}; }

std::optional<DType> parseDType(std::string s) {
  auto num = [](const std::string& t) -> std::optional<int> {
    if (t.empty() || t.size() > 3) return std::nullopt;
    for (char ch : t)
      if (ch < '0' || ch > '9') return std::nullopt;
    int n = std::stoi(t);
    if (n < 1 || n > 64) return std::nullopt;
    return n;
  };
  if (s == "BIPOLAR") return DType{1, true, true};
  if (s == "BINARY") return DType{1, false, false};
  if (s == "TERNARY") return DType{2, true, false};
  if (s.rfind("UINT", 0) == 0) {
    if (auto n = num(s.substr(4))) return DType{*n, false, false};
  } else if (s.rfind("INT", 0) == 0) {
    if (auto n = num(s.substr(3))) return DType{*n, true, false};
  } else if (s.rfind("SCALEDINT<", 0) == 0 && s.back() == '>') {
    if (auto n = num(s.substr(10, s.size() - 11))) return DType{*n, true, false};
  } else if (s.rfind("FIXED<", 0) == 0 && s.back() == '>') {
    auto comma = s.find(',');
    if (comma != std::string::npos)
      if (auto n = num(s.substr(6, comma - 6))) return DType{*n, true, false};
  }
  return std::nullopt;
}

class Importer {
public:
  Importer(std::string name) : m_file(std::move(name)) {}
  OnnxImport run(const std::string& bytes);

private:
  // ---- errors ----
  [[noreturn]] void fail(const std::string& msg) const { throw LoadError(m_file + ": " + msg); }
  // Dims after Squeeze / Unsqueeze (axes from the attribute or, in newer opsets, input 1). A
  // dynamic tensor keeps its batch dimension when no axes are given, and only size-1 dims squeeze.
  std::vector<int64_t> squeezedDims(const onnx::NodeProto& n, std::vector<int64_t> nd, bool dynamic) {
    std::vector<int64_t> axes = attrInts(n, "axes", {});
    if (axes.empty() && hasIn(n, 1)) for (double v : cvals(n, 1, "axes").v) axes.push_back(toI64(v));
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
                                       std::count(axes.begin(), axes.end(), int64_t(i) - int64_t(nd.size())) > 0;
      if (dynamic && sq && nd[i] != 1) failNode(n, "cannot squeeze a dimension of size " + std::to_string(nd[i]));
      if (!sq) keep.push_back(nd[i]);
    }
    return keep;
  }

  [[noreturn]] void failNode(const onnx::NodeProto& n, const std::string& msg) const {
    throw LoadError(m_file + ": node '" + n.name() + "' (" + n.op_type() + "): " + msg);
  }

  // ---- attributes ----
  const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) const {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  int64_t attrInt(const onnx::NodeProto& n, const std::string& name, int64_t def) const {
    auto* a = attr(n, name);
    if (!a) return def;
    if (a->has_i() || a->type() == onnx::AttributeProto::INT) return a->i();
    if (a->ints_size() == 1) return a->ints(0);
    failNode(n, "attribute '" + name + "' must be an integer");
  }
  float attrFloat(const onnx::NodeProto& n, const std::string& name, float def) const {
    auto* a = attr(n, name);
    if (!a) return def;
    if (a->has_f() || a->type() == onnx::AttributeProto::FLOAT) return a->f();
    if (a->has_i()) return float(a->i());
    failNode(n, "attribute '" + name + "' must be a float");
  }
  std::string attrStr(const onnx::NodeProto& n, const std::string& name, const std::string& def) const {
    auto* a = attr(n, name);
    if (!a) return def;
    if (a->has_s() || a->type() == onnx::AttributeProto::STRING) return a->s();
    failNode(n, "attribute '" + name + "' must be a string");
  }
  std::vector<int64_t> attrInts(const onnx::NodeProto& n, const std::string& name, std::vector<int64_t> def) const {
    auto* a = attr(n, name);
    if (!a) return def;
    if (a->ints_size() > 0) return {a->ints().begin(), a->ints().end()};
    if (a->has_i() || a->type() == onnx::AttributeProto::INT) return {a->i()};
    if (a->type() == onnx::AttributeProto::INTS) return {};
    failNode(n, "attribute '" + name + "' must be a list of integers");
  }
  // An int attribute in a plausible range for geometry (kernel, stride, PE, ...).
  int smallInt(const onnx::NodeProto& n, const std::string& what, int64_t v, int64_t lo, int64_t hi) const {
    if (v < lo || v > hi)
      failNode(n, what + " = " + std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    return int(v);
  }
  // Two values (height, width) from an INTS attribute given as 1 or 2 (or 4 for pads) entries.
  std::pair<int, int> pairAttr(const onnx::NodeProto& n, const std::string& name, int def, int64_t lo, int64_t hi) const {
    auto v = attrInts(n, name, {});
    if (v.empty()) return {def, def};
    if (v.size() == 1) {
      int x = smallInt(n, name, v[0], lo, hi);
      return {x, x};
    }
    if (v.size() != 2) failNode(n, "attribute '" + name + "' has " + std::to_string(v.size()) + " entries, expected 1 or 2");
    return {smallInt(n, name, v[0], lo, hi), smallInt(n, name, v[1], lo, hi)};
  }

  // ---- values ----
  Const tensorToConst(const onnx::TensorProto& t, const std::string& what) const;
  const Value& in(const onnx::NodeProto& n, int i) const {
    if (i >= n.input_size() || n.input(i).empty()) failNode(n, "missing input #" + std::to_string(i));
    auto it = m_vals.find(n.input(i));
    if (it == m_vals.end())
      failNode(n, "input '" + n.input(i) + "' is neither a graph input, an initializer nor the output of another node");
    return it->second;
  }
  bool hasIn(const onnx::NodeProto& n, int i) const { return i < n.input_size() && !n.input(i).empty(); }
  const Const& cin(const onnx::NodeProto& n, int i, const std::string& role) const {
    const Value& v = in(n, i);
    if (!v.isConst)
      failNode(n, role + " '" + n.input(i) + "' must be a constant (initializer); it is computed from the network input");
    return v.c;
  }
  const Const& cvals(const onnx::NodeProto& n, int i, const std::string& role) const {
    const Const& c = cin(n, i, role);
    if (!c.hasVals) failNode(n, role + " '" + n.input(i) + "' has no known values");
    return c;
  }
  const Dyn& din(const onnx::NodeProto& n, int i) const {
    const Value& v = in(n, i);
    if (v.isConst) failNode(n, "input '" + n.input(i) + "' must be an activation tensor, got a constant");
    return v.d;
  }
  void setOut(const onnx::NodeProto& n, int i, Value v) {
    if (i >= n.output_size()) failNode(n, "has no output #" + std::to_string(i));
    m_vals[n.output(i)] = std::move(v);
  }
  void setDyn(const onnx::NodeProto& n, Dyn d, int i = 0) {
    Value v;
    v.d = std::move(d);
    setOut(n, i, std::move(v));
  }
  void setConst(const onnx::NodeProto& n, Const c, int i = 0) {
    Value v;
    v.isConst = true;
    v.c = std::move(c);
    setOut(n, i, std::move(v));
  }

  // ---- layers ----
  Layer& layer(const std::string& name) { return m_layers[m_index.at(name)]; }
  std::string uniqueName(const onnx::NodeProto& n);
  void requireUsableScale(const onnx::NodeProto& n, const std::vector<double>& scale) const;
  Layer& newLayer(const onnx::NodeProto& n, LayerKind kind, std::vector<std::string> inputs);
  Shape canon(const onnx::NodeProto& n, const Dyn& d) const;
  void markUsed(const Dyn& d) {
    if (d.rawInput) m_inputUsed = true;
  }

  // ---- operators ----
  void node(const onnx::NodeProto& n);
  void constFold(const onnx::NodeProto& n, const std::string& op);
  // A quantiser's integer function: whether value v of channel c reaches output step i (the output
  // is the lowest level plus the number of steps reached), and the float value of its output.
  struct QuantSpec {
    std::function<bool(int64_t c, int64_t i, double v)> reached;
    int64_t steps = 0;
    ValueChain out = ValueChain::unknown("the quantiser's output scale is not known");
    std::string why; // non-empty: the thresholds cannot be derived
  };
  void quantAct(const onnx::NodeProto& n, const Dyn& x, ActType t, bool setsInput, const std::string& what,
                const QuantSpec& qs);
  void deriveThresholds(const onnx::NodeProto& n, const std::string& target, const Dyn& x, const QuantSpec& qs);
  // Thresholds on the float network input for a quantiser that sets the input's type.
  void inputThresholds(const onnx::NodeProto& n, const Dyn& x, const QuantSpec& qs);
  // Integer thresholds given by a FINN node (MVAU input 2, Thresholding input 1) on base integers x.
  void finnThresholds(const onnx::NodeProto& n, const std::string& target, const Dyn& x, int64_t actVal);
  // Integer weights of a MAC layer from constant w: src(k, j) gives the flat index in w of mpsim's
  // weight (k, j) (j over dotLength()); scaleK receives the per-output-channel float scale.
  bool layerWeights(Layer& l, const Const& w, const std::function<int64_t(int64_t, int64_t)>& src,
                    std::vector<double>& scaleK);
  // The value chain of a new MAC layer's accumulator from its input x and weight scales.
  void macChain(Dyn& y, const Layer& l, const Dyn& x, const std::vector<double>& scaleK, bool padded);
  // One value per channel of x for constant c (numpy broadcasting), or nullopt when c varies along
  // another axis.
  std::optional<std::vector<double>> channelParam(const Const& c, const Dyn& x) const;
  void noValues(const std::string& layerName, const std::string& why) {
    if (!m_noValues.count(layerName)) m_noValues[layerName] = why;
  }
  // A stored activation of type t whose float value is scale * x + offset.
  static void storedChain(Dyn& y, const ActType& t, ValueChain c) {
    y.chain = std::move(c);
    y.lo = t.valueMin();
    y.hi = t.valueMax();
  }
  void weighted(const onnx::NodeProto& n, const Dyn& x, const Const& w, LayerKind kind, int outAxis,
                int64_t outCh, Layer proto);
  void reshapeDyn(const onnx::NodeProto& n, const Dyn& x, std::vector<int64_t> nd);
  void pool(const onnx::NodeProto& n, LayerKind kind);
  void finnMac(const onnx::NodeProto& n, bool vvau);
  void hint(const std::string& layerName, const onnx::NodeProto& n, bool simd);
  void applyWeightQuant(const onnx::NodeProto& n, Layer& l, const QInfo& q, int outAxis, int64_t outCh);
  // A quantised constant reshaped: a per-axis scale can no longer be located.
  void dropScaleAxis(QInfo& q, const std::string& op) {
    if (q.scaleAxis >= 0 && q.noValues.empty()) q.noValues = "its per-channel weight scale is reshaped by " + op;
    q.scaleAxis = -1;
  }
  // Axis along which parameter p (broadcast against dims) varies: -1 one value, -2 several axes.
  static int paramAxis(const Const& p, const std::vector<int64_t>& dims) {
    if (p.elements() == 1) return -1;
    if (p.dims.size() > dims.size()) return -2;
    const size_t off = dims.size() - p.dims.size();
    int axis = -1;
    for (size_t i = 0; i < p.dims.size(); ++i) {
      if (p.dims[i] == 1) continue;
      if (axis >= 0 || p.dims[i] != dims[i + off]) return -2;
      axis = int(i + off);
    }
    return axis;
  }
  void applyDType(Layer& l, const DType& t) {
    l.weight_bits = t.bits;
    l.weight_type = t.bipolar ? WeightType::Bipolar : (t.isSigned ? WeightType::Signed : WeightType::Unsigned);
  }

  std::string m_file;
  std::map<std::string, Value> m_vals;
  std::vector<Layer> m_layers;
  std::map<std::string, size_t> m_index;
  std::set<std::string> m_names;
  std::string m_inputName;
  bool m_inputUsed = false;
  bool m_finnHw = false;
  std::map<std::string, std::vector<std::string>> m_folded; // layer -> folded op types
  std::set<std::string> m_quantSet;                         // layers whose output a quantiser has set
  std::vector<OnnxMappingHint> m_hints;
  std::vector<std::string> m_notes;
  std::map<std::string, int> m_consumers;
  std::map<std::string, std::string> m_noValues; // layer -> why its parameters are not from the model
  std::set<std::string> m_graphOutputs;
  std::map<std::string, int> m_unnamed; // op type -> count of unnamed nodes // tensor -> number of node inputs reading it
};

Const Importer::tensorToConst(const onnx::TensorProto& t, const std::string& what) const {
  Const c;
  int64_t n = 1;
  for (auto d : t.dims()) {
    if (d < 0 || d > kMaxDim) fail(what + ": dimension " + std::to_string(d) + " is out of range");
    c.dims.push_back(d);
    n *= d;
    if (n > kMaxElements) fail(what + ": tensor is too large (more than 2^28 elements)");
  }
  if (t.has_data_location() && t.data_location() == onnx::TensorProto::EXTERNAL)
    fail(what + ": external tensor data is not supported (save the model with the data embedded)");
  const std::string& raw = t.raw_data();
  auto bad = [&](const std::string& why) { fail(what + ": " + why); };
  int dt = t.data_type();
  size_t esz = 0;
  switch (dt) {
  case onnx::TensorProto::FLOAT: case onnx::TensorProto::INT32: case onnx::TensorProto::UINT32: esz = 4; break;
  case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64: case onnx::TensorProto::UINT64: esz = 8; break;
  case onnx::TensorProto::INT16: case onnx::TensorProto::UINT16: case onnx::TensorProto::FLOAT16: esz = 2; break;
  case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8: case onnx::TensorProto::BOOL: esz = 1; break;
  default: bad("data type " + std::to_string(dt) + " is not supported (numeric tensors only)");
  }
  c.v.resize(size_t(n));
  if (!raw.empty()) {
    if (raw.size() != size_t(n) * esz)
      bad("raw_data holds " + std::to_string(raw.size()) + " bytes, dims " + dimsStr(c.dims) + " need " +
          std::to_string(size_t(n) * esz));
    const unsigned char* p = reinterpret_cast<const unsigned char*>(raw.data());
    for (int64_t i = 0; i < n; ++i, p += esz) {
      double x = 0;
      switch (dt) {
      case onnx::TensorProto::FLOAT: { float f; std::memcpy(&f, p, 4); x = f; break; }
      case onnx::TensorProto::DOUBLE: { double f; std::memcpy(&f, p, 8); x = f; break; }
      case onnx::TensorProto::INT32: { int32_t f; std::memcpy(&f, p, 4); x = f; break; }
      case onnx::TensorProto::UINT32: { uint32_t f; std::memcpy(&f, p, 4); x = f; break; }
      case onnx::TensorProto::INT64: { int64_t f; std::memcpy(&f, p, 8); x = double(f); break; }
      case onnx::TensorProto::UINT64: { uint64_t f; std::memcpy(&f, p, 8); x = double(f); break; }
      case onnx::TensorProto::INT16: { int16_t f; std::memcpy(&f, p, 2); x = f; break; }
      case onnx::TensorProto::UINT16: { uint16_t f; std::memcpy(&f, p, 2); x = f; break; }
      case onnx::TensorProto::FLOAT16: {
        uint16_t h; std::memcpy(&h, p, 2);
        int e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double mag = e == 0 ? std::ldexp(m, -24) : e == 31 ? std::numeric_limits<double>::infinity()
                                                            : std::ldexp(m + 1024, e - 25);
        x = (h & 0x8000) ? -mag : mag;
        break;
      }
      case onnx::TensorProto::INT8: x = int8_t(*p); break;
      default: x = *p; break;
      }
      c.v[size_t(i)] = x;
    }
  } else {
    int64_t have = 0;
    auto take = [&](auto&& field) {
      have = field.size();
      if (have == n)
        for (int64_t i = 0; i < n; ++i) c.v[size_t(i)] = double(field.Get(int(i)));
    };
    switch (dt) {
    case onnx::TensorProto::FLOAT: take(t.float_data()); break;
    case onnx::TensorProto::DOUBLE: take(t.double_data()); break;
    case onnx::TensorProto::INT64: take(t.int64_data()); break;
    case onnx::TensorProto::UINT32: case onnx::TensorProto::UINT64: take(t.uint64_data()); break;
    default: take(t.int32_data()); break; // int8/16/32, uint8/16, bool, float16 bits
    }
    if (dt == onnx::TensorProto::FLOAT16)
      bad("FLOAT16 tensors stored outside raw_data are not supported");
    if (have != n)
      bad("holds " + std::to_string(have) + " values, dims " + dimsStr(c.dims) + " need " + std::to_string(n));
  }
  c.hasVals = true;
  return c;
}

// A Quant scale of 0, NaN or infinity has no integer meaning (x / scale): the model is broken.
void Importer::requireUsableScale(const onnx::NodeProto& n, const std::vector<double>& scale) const {
  for (size_t i = 0; i < scale.size(); ++i)
    if (scale[i] == 0 || !std::isfinite(scale[i]))
      failNode(n, "scale element " + std::to_string(i) + " is " + std::to_string(scale[i]) +
                      "; a quantiser scale must be a finite non-zero number");
}

std::string Importer::uniqueName(const onnx::NodeProto& n) {
  std::string base = n.name();
  if (base.empty()) base = n.op_type() + "_" + std::to_string(m_unnamed[n.op_type()]++);
  std::string clean;
  for (char ch : base) {
    unsigned char u = static_cast<unsigned char>(ch);
    clean += (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\' || ch == ',') ? '_' : ch;
  }
  if (clean.empty()) clean = "layer";
  if (clean.size() > 120) clean.resize(120);
  // "input", "output" and "output<N>" name the network's ends (graph outputs are named so below);
  // a layer may not take them. Any name ending in "_<k>" is none of them, so the loop ends.
  auto reserved = [](const std::string& s) {
    if (s == "input") return true;
    if (s.rfind("output", 0) != 0) return false;
    return std::all_of(s.begin() + 6, s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::string name = clean;
  for (int k = 1; m_names.count(name) || reserved(name); ++k) name = clean + "_" + std::to_string(k);
  m_names.insert(name);
  return name;
}

Layer& Importer::newLayer(const onnx::NodeProto& n, LayerKind kind, std::vector<std::string> inputs) {
  Layer l;
  l.name = uniqueName(n);
  l.kind = kind;
  l.inputs = std::move(inputs);
  if (l.isWeighted()) l.weight_bits = 8;
  m_index[l.name] = m_layers.size();
  m_layers.push_back(std::move(l));
  return m_layers.back();
}

Shape Importer::canon(const onnx::NodeProto& n, const Dyn& d) const {
  const auto& v = d.dims;
  double total = 1;
  for (auto x : v) {
    if (x < 1) failNode(n, "activation tensor " + dimsStr(v) + " has an empty dimension");
    total *= double(x);
  }
  if (total > double(int64_t(1) << 32)) failNode(n, "activation tensor " + dimsStr(v) + " is too large (more than 2^32 elements)");
  switch (v.size()) {
  case 1: return Shape{1, v[0], 1, 1};
  case 2: return Shape{1, v[1], 1, 1};
  case 3: return Shape{1, v[1], v[2], 1};
  case 4: return d.chLast ? Shape{1, v[3], v[1], v[2]} : Shape{1, v[1], v[2], v[3]};
  default: failNode(n, "activation tensor of rank " + std::to_string(v.size()) + " " + dimsStr(v) +
                           " is not supported (ranks 2 to 4, batch 1)");
  }
}

void Importer::hint(const std::string& layerName, const onnx::NodeProto& n, bool simd) {
  OnnxMappingHint h;
  h.layer = layerName;
  if (attr(n, "PE")) h.pe = smallInt(n, "PE", attrInt(n, "PE", 1), 1, 1 << 20);
  if (simd && attr(n, "SIMD")) h.simd = smallInt(n, "SIMD", attrInt(n, "SIMD", 1), 1, 1 << 20);
  if (attr(n, "ram_style")) h.ram_style = attrStr(n, "ram_style", "auto");
  if (h.pe || h.simd || h.ram_style) m_hints.push_back(h);
}

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
                      ", not per output channel (axis " + std::to_string(outAxis) + "); only per-output-channel widths are supported");
    l.channel_bits = q.bits;
  }
}

void Importer::quantAct(const onnx::NodeProto& n, const Dyn& x, ActType t, bool setsInput, const std::string& what,
                        const QuantSpec& qs) {
  Dyn out = x;
  out.pending.clear();
  out.rawInput = false;
  std::string target;
  bool inputType = false; // the quantiser sets the network input's type: no thresholds
  if (!x.pending.empty() && !m_quantSet.count(x.pending) &&
      (layer(x.pending).kind != LayerKind::Input || setsInput)) {
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
  if (!inputType) deriveThresholds(n, target, x, qs);
  else inputThresholds(n, x, qs);
  storedChain(out, t, qs.out);
  setDyn(n, out);
}

void Importer::deriveThresholds(const onnx::NodeProto& n, const std::string& target, const Dyn& x, const QuantSpec& qs) {
  Layer& l = layer(target);
  if (!l.isWeighted() && l.kind != LayerKind::Quantizer)
    return noValues(target, "a " + std::string(graph::toString(l.kind)) + " layer does not requantise with thresholds");
  if (!qs.why.empty()) return noValues(target, qs.why);
  if (!x.chain.known()) return noValues(target, x.chain.why());
  const int64_t C = l.isWeighted() ? l.out_channels : canon(n, x).c;
  if (!x.chain.consistentWith(C)) return noValues(target, "per-channel parameters do not match its " + std::to_string(C) + " channels");
  if (l.isWeighted() && !l.weight_values) return noValues(target, "its weights have no integer values");
  const int64_t levels = l.out.thresholdCount();
  if (qs.steps > levels)
    failNode(n, std::to_string(qs.steps) + " thresholds per channel do not fit the " + l.out.str() + " output");
  if (double(C) * double(levels) > double(kMaxElements))
    return noValues(target, std::to_string(C) + " channels x " + std::to_string(levels) + " thresholds are too many to derive");
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
        if (l.weight_type == WeightType::Bipolar) v = 1 - v;
        else if (l.weight_type == WeightType::Signed && v > -(int64_t(1) << (l.maxWeightBits() - 1))) v = -v;
        else if (v != 0)
          return noValues(target, "channel " + std::to_string(c) + " has a negative scale and its weights cannot be negated within " +
                                      std::to_string(l.maxWeightBits()) + " bits");
      }
      std::tie(lo, hi) = std::make_pair(-x.hi, -x.lo);
    }
    const double sign = dec ? -1.0 : 1.0;
    int64_t* row = th.data() + c * levels;
    for (int64_t i = 0; i < levels; ++i)
      row[i] = i < qs.steps ? detail::firstReached(lo, hi, [&](int64_t a) { return qs.reached(c, i, x.chain.eval(c, sign * double(a))); })
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
    m_notes.push_back("the float network input cannot be quantised by mpsim (" + why + "); input .npy files must hold the integers of '" +
                      n.name() + "'");
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
      const int64_t k = detail::firstReached(lo, hi, [&](int64_t key) { return qs.reached(c, i, x.chain.eval(c, fromKey(key))); });
      th[size_t(c * levels + i)] = k == lo ? -std::numeric_limits<double>::infinity()
                                           : k > hi ? std::numeric_limits<double>::infinity() : fromKey(k);
    }
    std::sort(th.begin() + c * levels, th.begin() + (c + 1) * levels);
  }
  in.input_thresholds = std::make_shared<const std::vector<double>>(std::move(th));
  m_notes.push_back("input .npy files hold the model's float input values; mpsim quantises them to " + in.out.str() + " as '" +
                    n.name() + "' does (thresholds on the input values)");
}

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
  if (K * J != w.elements()) return no("its weight tensor does not hold " + std::to_string(K) + " x " + std::to_string(J) + " values");
  std::vector<int32_t> ints(size_t(K * J));
  scaleK.assign(size_t(K), 1.0);
  for (int64_t k = 0; k < K; ++k) {
    const int bits = l.channel_bits.empty() ? l.weight_bits : l.channel_bits[size_t(k)];
    int64_t lo = 0, hi = 1;
    if (l.weight_type == WeightType::Signed) lo = -(int64_t(1) << (bits - 1)), hi = (int64_t(1) << (bits - 1)) - 1;
    else if (l.weight_type == WeightType::Unsigned) hi = (int64_t(1) << bits) - 1;
    for (int64_t j = 0; j < J; ++j) {
      const int64_t e = src(k, j);
      if (j == 0 && w.q.scaled && w.q.scaleAxis >= 0) scaleK[size_t(k)] = w.q.scale[size_t(w.indexAlong(e, w.q.scaleAxis))];
      else if (j == 0 && w.q.scaled) scaleK[size_t(k)] = w.q.scale[0];
      const double v = w.v[size_t(e)];
      if (v != std::floor(v)) return no("weight " + std::to_string(e) + " (" + std::to_string(v) + ") is not an integer");
      int64_t iv = toI64(v);
      if (l.weight_type == WeightType::Bipolar) {
        if (iv != 1 && iv != -1) return no("bipolar weight " + std::to_string(e) + " is " + std::to_string(iv) + ", not -1 or +1");
        iv = iv > 0 ? 1 : 0;
      }
      if (iv < lo || iv > hi) return no("weight " + std::to_string(e) + " = " + std::to_string(iv) + " is outside its " + std::to_string(bits) + "-bit type");
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
      const double v = l.weight_type == WeightType::Bipolar ? 2.0 * w[size_t(k * J + j)] - 1 : double(w[size_t(k * J + j)]);
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
  if (outCh < 1 || outCh > (int64_t(1) << 24)) failNode(n, "output channel count " + std::to_string(outCh) + " is outside 1..2^24");
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
    if (outAxis == 0) src = [&](int64_t k, int64_t j) { return k * J + feature(j); };
    else src = [&](int64_t k, int64_t j) { return feature(j) * K + k; };
    std::vector<double> scaleK;
    if (layerWeights(tmp, w, src, scaleK)) l.weight_values = tmp.weight_values;
    macChain(out, tmp, x, scaleK, l.pad_h > 0 || l.pad_w > 0);
    // Bias (Conv input 2, Gemm C with alpha / beta).
    const bool gemm = n.op_type() == "Gemm";
    if (gemm && attrFloat(n, "alpha", 1.0f) != 1.0f) out.chain.mul({double(attrFloat(n, "alpha", 1.0f))});
    if ((gemm || n.op_type() == "Conv") && hasIn(n, 2)) {
      const Const& b = cin(n, 2, "bias");
      std::vector<double> bv = b.hasVals ? b.floats() : std::vector<double>{};
      if (bv.size() != 1 && int64_t(bv.size()) != K) out.chain.lose("its bias " + dimsStr(b.dims) + " is not one value per output channel");
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
    if (oh < 1 || ow < 1) failNode(n, "the " + std::to_string(l.kh) + "x" + std::to_string(l.kw) + " window does not fit the input " + shapeStr(s));
    out.dims = x.dims.size() == 3 ? std::vector<int64_t>{1, outCh, oh} : std::vector<int64_t>{1, outCh, oh, ow};
    if (x.chLast && x.dims.size() == 4) {
      out.dims = {1, oh, ow, outCh};
      out.chLast = true;
    }
  }
  setDyn(n, out);
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
    if (y.chain.channels() > 1 && t.c != s.c) y.chain.lose("per-channel input scaling before reshape '" + n.name() + "'");
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
                  " is not supported (only flattening to [1, C*H*W], shape-preserving reshapes and reshaping the network input)");
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
  if (pads.size() != 4 || pads[0] != pads[2] || pads[1] != pads[3] || pads[0] < 0 || pads[1] < 0 || pads[0] > 1024 || pads[1] > 1024)
    failNode(n, "only symmetric padding is supported, got pads " + dimsStr(pads));
  std::string ap = attrStr(n, "auto_pad", "NOTSET");
  if (ap != "NOTSET" && ap != "VALID") failNode(n, "auto_pad=" + ap + " is not supported for pooling (NOTSET, VALID)");
  if (n.output_size() > 1 && !n.output(1).empty()) failNode(n, "the Indices output is not supported");
  markUsed(x);
  Layer& l = newLayer(n, kind, {x.layer});
  l.kh = k.first; l.kw = k.second;
  l.stride_h = st.first; l.stride_w = st.second;
  l.pad_h = int(pads[0]); l.pad_w = int(pads[1]);
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

void Importer::finnMac(const onnx::NodeProto& n, bool vvau) {
  const Dyn& x = din(n, 0);
  const Const& w = cin(n, 1, "weight tensor");
  auto wdt = parseDType(attrStr(n, "weightDataType", ""));
  if (!wdt) failNode(n, "attribute 'weightDataType' is missing or not a FINN integer type ('" + attrStr(n, "weightDataType", "") + "')");
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
      failNode(n, "weights " + dimsStr(w.dims) + " do not match MW x MH = " + std::to_string(mw) + "x" + std::to_string(mh));
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
  if (double(outCh) * double(s.elements()) > 1e15) failNode(n, "the layer is implausibly large (more than 10^15 MACs per frame)");
  if (x.win.active) {
    proto.kh = x.win.kh; proto.kw = x.win.kw;
    proto.stride_h = x.win.sh; proto.stride_w = x.win.sw;
    proto.dil_h = x.win.dh; proto.dil_w = x.win.dw;
    proto.pad_h = x.win.ph; proto.pad_w = x.win.pw;
    if (vvau != x.win.depthwise && vvau)
      failNode(n, "expects a depthwise ConvolutionInputGenerator");
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
  if (kind == LayerKind::FullyConnected) y.dims = {1, outCh}, y.chLast = false;
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
    if (vvau) src = [&](int64_t k, int64_t j) { return k * J + j; };
    else if (x.win.active)
      src = [&](int64_t k, int64_t j) {
        const int64_t c = j / (int64_t(l.kh) * l.kw), ij = j % (int64_t(l.kh) * l.kw);
        return (ij * C + c) * K + k;
      };
    else src = [&](int64_t k, int64_t j) { return j * K + k; };
    Const wc = w;
    wc.q.set = true; // FINN weights are integers of weightDataType
    wc.q.bipolar = l.weight_type == WeightType::Bipolar;
    std::vector<double> scaleK;
    if (xnor) noValues(name, "binaryXnorMode weights and thresholds (popcount domain) are not converted");
    else if (layerWeights(tmp, wc, src, scaleK)) l.weight_values = tmp.weight_values;
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

void Importer::finnThresholds(const onnx::NodeProto& n, const std::string& target, const Dyn& x, int64_t actVal) {
  Layer& l = layer(target);
  const Const& th = cin(n, l.isWeighted() ? 2 : 1, "thresholds");
  if (th.dims.size() != 2 || !th.hasVals) failNode(n, "thresholds must be a 2-D tensor [channels, steps], got " + dimsStr(th.dims));
  const int64_t omin = l.out.valueMin();
  if (!l.out.bipolar && actVal != omin)
    return noValues(target, "its output offset ActVal = " + std::to_string(actVal) + " differs from the lowest " + l.out.str() +
                                " level " + std::to_string(omin));
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

void Importer::constFold(const onnx::NodeProto& n, const std::string& op) {
  auto broadcastDims = [&](const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::vector<int64_t> r(std::max(a.size(), b.size()), 1);
    for (size_t i = 0; i < r.size(); ++i) {
      int64_t da = i < r.size() - a.size() ? 1 : a[i - (r.size() - a.size())];
      int64_t db = i < r.size() - b.size() ? 1 : b[i - (r.size() - b.size())];
      if (da != db && da != 1 && db != 1) failNode(n, "cannot broadcast " + dimsStr(a) + " with " + dimsStr(b));
      r[i] = std::max(da, db);
    }
    return r;
  };
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow") {
    const Const& a = cin(n, 0, "operand");
    const Const& b = cin(n, 1, "operand");
    Const r;
    r.dims = broadcastDims(a.dims, b.dims);
    r.q = a.q.set ? a.q : b.q;
    auto f = [&](double x, double y) {
      if (op == "Add") return x + y;
      if (op == "Sub") return x - y;
      if (op == "Mul") return x * y;
      if (op == "Div") return y == 0 ? 0.0 : x / y;
      return std::pow(x, y);
    };
    r.q.scaled = false;
    r.q.scale = {1.0};
    r.q.scaleAxis = -1;
    if (a.q.scaled || b.q.scaled) r.q.noValues = "its quantised weights are changed by " + op + " '" + n.name() + "'";
    if (a.hasVals && b.hasVals && (a.elements() == 1 || b.elements() == 1 || a.dims == b.dims)) {
      const std::vector<double> fa = a.floats(), fb = b.floats();
      r.v.resize(size_t(r.elements()));
      for (size_t i = 0; i < r.v.size(); ++i)
        r.v[i] = f(fa[a.elements() == 1 ? 0 : i], fb[b.elements() == 1 ? 0 : i]);
      r.hasVals = true;
    }
    setConst(n, r);
  } else if (op == "Reshape") {
    Const r = cin(n, 0, "data");
    const Const& sh = cvals(n, 1, "shape");
    std::vector<int64_t> nd;
    int64_t known = 1, minus = -1;
    for (size_t i = 0; i < sh.v.size(); ++i) {
      int64_t d = toI64(sh.v[i]);
      if (d == 0 && i < r.dims.size()) d = r.dims[i];
      if (d == -1 && minus < 0) { minus = int64_t(i); nd.push_back(1); continue; }
      if (d < 1 || d > kMaxDim) failNode(n, "invalid target dimension " + std::to_string(d));
      known *= d;
      if (known > kMaxElements) failNode(n, "target shape is too large");
      nd.push_back(d);
    }
    if (minus >= 0) {
      if (known == 0 || r.elements() % known) failNode(n, "cannot infer the -1 dimension");
      nd[size_t(minus)] = r.elements() / known;
    }
    Const t = r;
    t.dims = nd;
    if (t.elements() != r.elements()) failNode(n, "reshape from " + dimsStr(r.dims) + " to " + dimsStr(nd) + " changes the number of elements");
    if (r.q.axis >= 0) t.q.axis = -1;
    dropScaleAxis(t.q, "Reshape");
    setConst(n, t);
  } else if (op == "Transpose") {
    const Const& a = cin(n, 0, "data");
    size_t rk = a.dims.size();
    std::vector<int64_t> perm = attrInts(n, "perm", {});
    if (perm.empty())
      for (size_t i = 0; i < rk; ++i) perm.push_back(int64_t(rk - 1 - i));
    if (perm.size() != rk) failNode(n, "perm has " + std::to_string(perm.size()) + " entries for a rank-" + std::to_string(rk) + " tensor");
    std::vector<bool> seen(rk, false);
    for (auto p : perm) {
      if (p < 0 || p >= int64_t(rk) || seen[size_t(p)]) failNode(n, "perm " + dimsStr(perm) + " is not a permutation");
      seen[size_t(p)] = true;
    }
    Const r;
    r.q = a.q;
    for (auto p : perm) r.dims.push_back(a.dims[size_t(p)]);
    if (a.q.axis >= 0)
      for (size_t i = 0; i < rk; ++i)
        if (perm[i] == a.q.axis) r.q.axis = int(i);
    if (a.q.scaleAxis >= 0)
      for (size_t i = 0; i < rk; ++i)
        if (perm[i] == a.q.scaleAxis) r.q.scaleAxis = int(i);
    if (a.hasVals && rk <= 6) {
      r.v.resize(a.v.size());
      std::vector<int64_t> strideA(rk, 1);
      for (size_t i = rk; i-- > 1;) strideA[i - 1] = strideA[i] * a.dims[i];
      std::vector<int64_t> idx(rk, 0);
      for (size_t o = 0; o < r.v.size(); ++o) {
        int64_t src = 0;
        for (size_t i = 0; i < rk; ++i) src += idx[i] * strideA[size_t(perm[i])];
        r.v[o] = a.v[size_t(src)];
        for (size_t i = rk; i-- > 0;) {
          if (++idx[i] < r.dims[i]) break;
          idx[i] = 0;
        }
      }
      r.hasVals = true;
    }
    setConst(n, r);
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    Const r = cin(n, 0, "data");
    std::vector<int64_t> nd = squeezedDims(n, r.dims, false);
    r.dims = nd;
    r.q.axis = -1;
    dropScaleAxis(r.q, op);
    setConst(n, r);
  } else if (op == "Flatten") {
    Const r = cin(n, 0, "data");
    int64_t axis = attrInt(n, "axis", 1);
    if (axis < 0) axis += int64_t(r.dims.size());
    if (axis < 0 || axis > int64_t(r.dims.size())) failNode(n, "axis out of range");
    int64_t a = 1, b = 1;
    for (size_t i = 0; i < r.dims.size(); ++i) (int64_t(i) < axis ? a : b) *= r.dims[i];
    r.dims = {a, b};
    r.q.axis = -1;
    dropScaleAxis(r.q, "Flatten");
    setConst(n, r);
  } else if (op == "Concat") {
    Const r;
    int64_t axis = attrInt(n, "axis", 0);
    for (int i = 0; i < n.input_size(); ++i) {
      const Const& c = cvals(n, i, "input");
      if (c.dims.size() > 1 || (axis != 0 && axis != -1)) failNode(n, "constant Concat is supported for 1-D tensors only");
      r.v.insert(r.v.end(), c.v.begin(), c.v.end());
      if (r.v.size() > size_t(kMaxElements)) failNode(n, "result is too large");
    }
    r.dims = {int64_t(r.v.size())};
    r.hasVals = true;
    setConst(n, r);
  } else if (op == "Gather") {
    const Const& d = cvals(n, 0, "data");
    const Const& ix = cvals(n, 1, "indices");
    int64_t axis = attrInt(n, "axis", 0);
    if (d.dims.size() != 1 || (axis != 0 && axis != -1) || ix.dims.size() > 1)
      failNode(n, "constant Gather is supported for 1-D data and scalar or 1-D indices only");
    Const r;
    r.dims = ix.dims;
    for (double v : ix.v) {
      int64_t i = toI64(v);
      if (i < 0) i += d.dims[0];
      if (i < 0 || i >= d.dims[0]) failNode(n, "index " + std::to_string(i) + " is out of range");
      r.v.push_back(d.v[size_t(i)]);
    }
    r.hasVals = true;
    setConst(n, r);
  } else if (op == "Identity" || op == "Cast" || op == "Dropout" || op == "Relu") {
    Const r = cin(n, 0, "data");
    if (op == "Relu" && r.hasVals)
      for (auto& v : r.v) v = std::max(v, 0.0);
    setConst(n, r);
  } else if (op == "Quant" || op == "BipolarQuant") {
    Const r = cin(n, 0, "weights");
    QInfo q;
    q.set = true;
    if (op == "BipolarQuant") {
      q.bits = {1};
      q.bipolar = true;
    } else {
      const Const& bw = cvals(n, 3, "bit width");
      q.isSigned = attrInt(n, "signed", 1) != 0;
      std::set<int> distinct;
      for (double b : bw.v) {
        if (!(b >= 1 && b <= 32) || b != std::floor(b))
          failNode(n, "bit width " + std::to_string(b) + " is not an integer in 1..32");
        q.bits.push_back(int(b));
        distinct.insert(int(b));
      }
      if (q.bits.empty()) failNode(n, "bit width tensor is empty");
      if (distinct.size() == 1) q.bits = {q.bits[0]};
      else {
        // Find the one axis of the weights the widths vary along.
        size_t off = r.dims.size() - std::min(r.dims.size(), bw.dims.size());
        for (size_t i = 0; i < bw.dims.size() && i + off < r.dims.size(); ++i)
          if (bw.dims[i] > 1) {
            if (q.axis >= 0 || bw.dims[i] != r.dims[i + off]) failNode(n, "per-element bit widths " + dimsStr(bw.dims) + " must vary along one axis of the weights " + dimsStr(r.dims));
            q.axis = int(i + off);
          }
        if (q.axis < 0) failNode(n, "bit width tensor " + dimsStr(bw.dims) + " does not match the weights " + dimsStr(r.dims));
      }
    }
    // The integers: QONNX Quant q = clamp(round(x / scale + zero_point)); BipolarQuant sign(x).
    const Const& sc = cin(n, 1, "scale");
    const int sAxis = paramAxis(sc, r.dims);
    q.scaled = true;
    if (sc.hasVals) requireUsableScale(n, sc.v);
    if (!sc.hasVals || sAxis == -2) q.noValues = "the scale of '" + n.name() + "' varies along more than one axis";
    else if (std::any_of(sc.v.begin(), sc.v.end(), [](double v) { return !(v > 0) || !std::isfinite(v); }))
      q.noValues = "'" + n.name() + "' has a scale that is not positive";
    else {
      q.scale = sc.v;
      q.scaleAxis = sAxis;
    }
    if (op == "Quant") {
      const Const& zp = cin(n, 2, "zero point");
      if (!zp.hasVals || std::any_of(zp.v.begin(), zp.v.end(), [](double z) { return z != 0; }))
        q.noValues = "'" + n.name() + "' has a non-zero weight zero point";
    }
    if (q.noValues.empty() && r.hasVals) {
      const std::string rm = attrStr(n, "rounding_mode", "ROUND");
      const bool narrow = attrInt(n, "narrow", 0) != 0;
      for (size_t e = 0; e < r.v.size(); ++e) {
        const double s = q.scale[q.scaleAxis < 0 ? 0 : size_t(r.indexAlong(int64_t(e), q.scaleAxis))];
        if (q.bipolar) {
          r.v[e] = r.v[e] / s >= 0 ? 1 : -1;
          continue;
        }
        const int bits = q.bits.size() == 1 ? q.bits[0] : q.bits[size_t(r.indexAlong(int64_t(e), q.axis))];
        double lo = q.isSigned ? -std::ldexp(1.0, bits - 1) + (narrow ? 1 : 0) : 0;
        double hi = q.isSigned ? std::ldexp(1.0, bits - 1) - 1 : std::ldexp(1.0, bits) - 1 - (narrow ? 1 : 0);
        r.v[e] = std::clamp(roundMode(r.v[e] / s, rm), lo, hi);
      }
    }
    r.q = q;
    setConst(n, r);
  } else {
    failNode(n, "unsupported on constant inputs; supported: " + std::string(kSupportedOps));
  }
}

void Importer::node(const onnx::NodeProto& n) {
  std::string op = n.op_type();
  const std::string& dom = n.domain();
  bool finnHw = dom.find("fpgadataflow") != std::string::npos;
  // FINN node names carry a backend/batch suffix.
  for (const char* suf : {"_hls", "_rtl", "_Batch"}) {
    std::string s(suf);
    if (op.size() > s.size() && op.compare(op.size() - s.size(), s.size(), s) == 0) op = op.substr(0, op.size() - s.size());
  }
  if (n.output_size() < 1) failNode(n, "has no outputs");

  if (op == "Constant") {
    Const c;
    if (auto* a = attr(n, "value")) c = tensorToConst(a->t(), "node '" + n.name() + "' (Constant)");
    else if (auto* a2 = attr(n, "value_float")) c.v = {a2->f()}, c.hasVals = true;
    else if (auto* a3 = attr(n, "value_int")) c.v = {double(a3->i())}, c.hasVals = true;
    else if (auto* a4 = attr(n, "value_ints")) {
      for (auto v : a4->ints()) c.v.push_back(double(v));
      c.dims = {int64_t(c.v.size())};
      c.hasVals = true;
    } else if (auto* a5 = attr(n, "value_floats")) {
      for (auto v : a5->floats()) c.v.push_back(v);
      c.dims = {int64_t(c.v.size())};
      c.hasVals = true;
    } else failNode(n, "needs a 'value' attribute");
    setConst(n, c);
    return;
  }
  if (op == "Shape") {
    const Value& v = in(n, 0);
    Const c;
    const auto& d = v.isConst ? v.c.dims : v.d.dims;
    for (auto x : d) c.v.push_back(double(x));
    c.dims = {int64_t(d.size())};
    c.hasVals = true;
    setConst(n, c);
    return;
  }
  // All inputs constant: fold.
  bool allConst = n.input_size() > 0;
  for (int i = 0; i < n.input_size(); ++i)
    if (!n.input(i).empty() && !in(n, i).isConst) allConst = false;
  if (allConst && !finnHw && op != "MultiThreshold") {
    constFold(n, op);
    return;
  }

  // ---- QONNX quantisers ----
  if (op == "Quant" || op == "BipolarQuant" || op == "Trunc") {
    const Dyn& x = din(n, 0);
    ActType t;
    QuantSpec qs;
    if (op == "Quant") {
      const Const& bw = cvals(n, 3, "bit width");
      if (bw.v.size() != 1) failNode(n, "per-channel bit widths on activations are not supported");
      double b = bw.v[0];
      if (!(b >= 1 && b <= 32) || b != std::floor(b)) failNode(n, "bit width " + std::to_string(b) + " is not an integer in 1..32");
      std::string rm = attrStr(n, "rounding_mode", "ROUND");
      static const std::set<std::string> modes{"ROUND", "CEIL", "FLOOR", "ROUND_TO_ZERO", "HALF_EVEN", "HALF_UP", "HALF_DOWN", "UP", "DOWN"};
      if (!modes.count(rm)) failNode(n, "rounding_mode '" + rm + "' is not supported");
      t = ActType{int(b), attrInt(n, "signed", 1) != 0};
      const Const& zp = cin(n, 2, "zero point");
      if (zp.hasVals && std::any_of(zp.v.begin(), zp.v.end(), [](double z) { return z != 0; }))
        m_notes.push_back("node '" + n.name() + "': non-zero zero point (asymmetric quantisation) kept as a " + std::to_string(t.bits) + "-bit tensor");
      const Const& scaleIn = cin(n, 1, "scale");
      if (scaleIn.hasVals) requireUsableScale(n, scaleIn.v);
      auto scale = channelParam(scaleIn, x);
      auto zero = channelParam(zp, x);
      if (!scale || !zero) qs.why = "the scale or zero point of '" + n.name() + "' varies along a non-channel axis";
      else if (std::any_of(scale->begin(), scale->end(), [](double v) { return !(v > 0) || !std::isfinite(v); }))
        qs.why = "'" + n.name() + "' has a scale that is not positive";
      else if (t.bits > 16) qs.why = "'" + n.name() + "' quantises to more than 16 bits";
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
      if (!scale) qs.why = "the scale of '" + n.name() + "' varies along a non-channel axis";
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
      if (!(b >= 1 && b <= 32) || b != std::floor(b)) failNode(n, "output bit width " + std::to_string(b) + " is not an integer in 1..32");
      bool sgn = attr(n, "signed") ? attrInt(n, "signed", 0) != 0 : false;
      t = ActType{int(b), sgn};
      qs.why = "Trunc '" + n.name() + "' is not converted to integer parameters";
    }
    quantAct(n, x, t, op != "Trunc", op, qs);
    return;
  }
  if (op == "MultiThreshold" || (finnHw && op == "Thresholding")) {
    const Dyn& x = din(n, 0);
    const Const& th = cin(n, 1, "thresholds");
    if (th.dims.size() != 2) failNode(n, "thresholds must be a 2-D tensor [channels, steps], got " + dimsStr(th.dims));
    std::string dts = attrStr(n, op == "MultiThreshold" ? "out_dtype" : "outputDataType", "");
    std::optional<DType> dt = dts.empty() ? std::nullopt : parseDType(dts);
    if (!dts.empty() && !dt) failNode(n, "output data type '" + dts + "' is not a supported integer type");
    ActType t;
    if (dt) t = actOf(*dt);
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
    if (!th.hasVals) qs.why = "its thresholds have no values";
    else if (rows != 1 && rows != C) qs.why = "thresholds " + dimsStr(th.dims) + " do not match " + std::to_string(C) + " channels";
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
    return;
  }

  // ---- MAC layers ----
  if (op == "Conv") {
    const Dyn& x = din(n, 0);
    const Const& w = cin(n, 1, "weights");
    if (x.chLast) failNode(n, "expects an NCHW tensor, got channels-last " + dimsStr(x.dims) + " (add a Transpose)");
    if (x.dims.size() != 4 && x.dims.size() != 3) failNode(n, "expects a 3-D or 4-D input, got " + dimsStr(x.dims));
    if (w.dims.size() != x.dims.size()) failNode(n, "weights " + dimsStr(w.dims) + " do not match the input rank " + dimsStr(x.dims));
    Shape s = canon(n, x);
    Layer p;
    p.groups = smallInt(n, "group", attrInt(n, "group", 1), 1, 1 << 24);
    if (w.dims[1] * p.groups != s.c)
      failNode(n, "weights " + dimsStr(w.dims) + " with group=" + std::to_string(p.groups) + " do not match " + std::to_string(s.c) + " input channels");
    bool oneD = x.dims.size() == 3;
    p.kh = smallInt(n, "kernel height", w.dims[2], 1, 1 << 16);
    p.kw = oneD ? 1 : smallInt(n, "kernel width", w.dims[3], 1, 1 << 16);
    auto st = pairAttr(n, "strides", 1, 1, 1 << 16);
    auto dl = pairAttr(n, "dilations", 1, 1, 1 << 16);
    p.stride_h = st.first; p.stride_w = oneD ? 1 : st.second;
    p.dil_h = dl.first; p.dil_w = oneD ? 1 : dl.second;
    std::string ap = attrStr(n, "auto_pad", "NOTSET");
    auto pads = attrInts(n, "pads", {});
    if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      auto need = [](int64_t in, int k, int st2, int d) {
        int64_t outd = (in + st2 - 1) / st2;
        return std::max<int64_t>(0, (outd - 1) * st2 + int64_t(d) * (k - 1) + 1 - in);
      };
      int64_t th = need(s.h, p.kh, p.stride_h, p.dil_h), tw = need(s.w, p.kw, p.stride_w, p.dil_w);
      if (th % 2 || tw % 2) failNode(n, "auto_pad=" + ap + " needs asymmetric padding, which is not supported");
      p.pad_h = int(th / 2); p.pad_w = int(tw / 2);
    } else if (ap == "NOTSET" || ap == "VALID") {
      if (pads.empty()) pads = std::vector<int64_t>(oneD ? 2 : 4, 0);
      size_t half = pads.size() / 2;
      if ((pads.size() != 4 && !(oneD && pads.size() == 2)) || pads[0] != pads[half] || (half == 2 && pads[1] != pads[3]))
        failNode(n, "only symmetric padding is supported, got pads " + dimsStr(pads));
      p.pad_h = smallInt(n, "padding", pads[0], 0, 1 << 16);
      p.pad_w = oneD ? 0 : smallInt(n, "padding", pads[1], 0, 1 << 16);
    } else failNode(n, "auto_pad='" + ap + "' is not supported");
    weighted(n, x, w, LayerKind::Conv, 0, w.dims[0], p);
    return;
  }
  if (op == "MatMul" || op == "Gemm") {
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
      failNode(n, "weights " + dimsStr(w.dims) + " do not match the " + std::to_string(s.elements()) + " input features of " + dimsStr(x.dims));
    if (hasIn(n, 2) && !in(n, 2).isConst) failNode(n, "the bias must be a constant");
    weighted(n, x, w, LayerKind::FullyConnected, transB ? 0 : 1, outF, p);
    return;
  }

  // ---- element-wise ----
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
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
      if (op == "Mul") y.chain.mul(*p);
      else if (op == "Div") y.chain.div(*p);
      else if (op == "Add") y.chain.add(*p);
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
    return;
  }
  if (op == "TopK" || op == "ArgMax" || op == "LabelSelect") {
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
      if (n.output_size() > 0 && !n.output(0).empty() && (m_consumers[n.output(0)] > 0 || m_graphOutputs.count(n.output(0))))
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
      if (axis != classAxis && s.c > 1) failNode(n, "axis " + std::to_string(axis) + " is not the class axis of " + dimsStr(x.dims));
    }
    if (s.h * s.w != 1) failNode(n, "expects one score per class, got " + dimsStr(x.dims) + " (flatten or pool first)");
    if (k < 1 || k > s.c) failNode(n, "k = " + std::to_string(k) + " is outside 1.." + std::to_string(s.c) + " (the classes)");
    markUsed(x);
    Layer& l = newLayer(n, LayerKind::LabelSelect, {x.layer});
    l.topk = int(k);
    const std::string name = l.name;
    double sc = 0, off = 0;
    if (x.chain.perTensorAffine(sc, off) && sc > 0)
      m_notes.push_back("layer '" + name + "': the scores are the model's up to a common positive scale, so the classes are the model's");
    else
      m_notes.push_back("layer '" + name + "': the model's scores are not a common positive scale of the integers it ranks" +
                        (x.chain.known() ? std::string() : " (" + x.chain.why() + ")") + "; its classes may differ from the model's");
    if (finnHw) hint(name, n, false);
    Dyn y;
    y.layer = name;
    y.dims = {1, k};
    storedChain(y, ActType{32, false}, ValueChain::identity());
    y.lo = 0;
    y.hi = s.c - 1;
    setDyn(n, y, idxOut);
    return;
  }
  if (op == "BatchNormalization" || op == "Relu" || op == "Clip" || op == "Identity" || op == "Dropout" ||
      op == "Cast" || op == "Softmax" || op == "LogSoftmax" || op == "StreamingDataWidthConverter" || op == "StreamingFIFO" || op == "ChannelwiseOp" ||
      op == "TLastMarker" || op == "IODMA" || op == "LeakyRelu" || op == "Sigmoid" || op == "HardTanh") {
    const Dyn& x = din(n, 0);
    Dyn y = x;
    if (op == "BatchNormalization") {
      // y = (x - mean) / sqrt(var + epsilon) * scale + B
      std::optional<std::vector<double>> p[4];
      const int64_t C = canon(n, x).c;
      for (int i = 1; i < 5; ++i) { // one value per channel (axis 1) by definition, not broadcast
        const Const& c = cin(n, i, "BatchNormalization parameter");
        if (c.hasVals && (c.elements() == 1 || (c.elements() == C && !x.chLast))) p[i - 1] = c.floats();
        else p[i - 1] = channelParam(c, x);
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
      m_notes.push_back("node '" + n.name() + "' (" + n.op_type() + "): classification head outside the dataflow pipeline; the output is taken before it");
    else if (!x.pending.empty() && op != "Identity" && op != "Dropout" && op != "StreamingDataWidthConverter" &&
             op != "StreamingFIFO" && op != "TLastMarker" && op != "IODMA")
      m_folded[x.pending].push_back(op);
    const bool head = op == "Softmax" || op == "LogSoftmax";
    setDyn(n, head ? x : y);
    for (int i = 1; i < n.output_size(); ++i)
      if (!n.output(i).empty()) failNode(n, "output #" + std::to_string(i) + " is not supported");
    return;
  }

  // ---- shapes ----
  if (op == "Reshape") {
    const Dyn& x = din(n, 0);
    const Const& sh = cvals(n, 1, "shape");
    std::vector<int64_t> nd;
    int64_t known = 1, minus = -1, total = 1;
    for (auto d : x.dims) total *= d;
    for (size_t i = 0; i < sh.v.size(); ++i) {
      int64_t d = toI64(sh.v[i]);
      if (d == 0 && i < x.dims.size()) d = x.dims[i];
      if (d == -1 && minus < 0) { minus = int64_t(i); nd.push_back(1); continue; }
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
    return;
  }
  if (op == "Flatten") {
    const Dyn& x = din(n, 0);
    int64_t axis = attrInt(n, "axis", 1);
    if (axis < 0) axis += int64_t(x.dims.size());
    if (axis != 1) failNode(n, "only axis=1 is supported, got " + std::to_string(axis));
    int64_t f = 1;
    for (size_t i = 1; i < x.dims.size(); ++i) f *= x.dims[i];
    reshapeDyn(n, x, {x.dims.empty() ? 1 : x.dims[0], f});
    return;
  }
  if (op == "Squeeze" || op == "Unsqueeze") {
    const Dyn& x = din(n, 0);
    std::vector<int64_t> nd = squeezedDims(n, x.dims, true);
    if (x.chLast) failNode(n, "squeezing a channels-last tensor is not supported");
    reshapeDyn(n, x, nd);
    return;
  }
  if (op == "Transpose") {
    const Dyn& x = din(n, 0);
    std::vector<int64_t> perm = attrInts(n, "perm", {});
    Dyn y = x;
    auto is = [&](std::vector<int64_t> p) { return perm == p; };
    if (x.dims.size() == 4 && is({0, 2, 3, 1}) && !x.chLast) {
      y.dims = {x.dims[0], x.dims[2], x.dims[3], x.dims[1]};
      y.chLast = true;
    } else if (x.dims.size() == 4 && is({0, 3, 1, 2})) {
      y.dims = {x.dims[0], x.dims[3], x.dims[1], x.dims[2]};
      if (x.chLast) y.chLast = false;
      else if (x.rawInput) {
        // The network input was channels-last all along.
        layer(m_inputName).out_shape = Shape{1, x.dims[3], x.dims[1], x.dims[2]};
        m_notes.push_back("the network input is channels-last " + dimsStr(x.dims) + "; imported as C x H x W = " + shapeStr(layer(m_inputName).out_shape));
      } else failNode(n, "perm [0,3,1,2] on a tensor that is already NCHW is not supported");
    } else if (perm.size() == x.dims.size() && std::is_sorted(perm.begin(), perm.end()) && perm.front() == 0 &&
               std::adjacent_find(perm.begin(), perm.end()) == perm.end() && perm.back() == int64_t(perm.size()) - 1) {
      // identity permutation
    } else {
      failNode(n, "perm " + dimsStr(perm) + " on " + dimsStr(x.dims) + " is not supported (NCHW <-> NHWC only)");
    }
    setDyn(n, y);
    return;
  }
  if (op == "Concat") {
    std::vector<std::string> ins;
    Dyn y;
    int64_t cTot = 0;
    for (int i = 0; i < n.input_size(); ++i) {
      const Dyn& x = din(n, i);
      int64_t axis = attrInt(n, "axis", 1);
      if (axis < 0) axis += int64_t(x.dims.size());
      int64_t chAxis = x.chLast ? 3 : 1;
      if (axis != chAxis) failNode(n, "concatenation along axis " + std::to_string(axis) + " is not supported (channels only)");
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
    return;
  }
  if (op == "MaxPool") { pool(n, LayerKind::MaxPool); return; }
  if (op == "AveragePool") { pool(n, LayerKind::AvgPool); return; }
  if (op == "GlobalAveragePool" || (finnHw && op == "GlobalAccPool")) {
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
    return;
  }

  // ---- FINN hardware nodes ----
  if (finnHw) {
    if (op == "MVAU" || op == "MatrixVectorActivation" || op == "StreamingFCLayer") { finnMac(n, false); return; }
    if (op == "VVAU" || op == "VectorVectorActivation") { finnMac(n, true); return; }
    if (op == "FMPadding") {
      const Dyn& x = din(n, 0);
      auto pad = attrInts(n, "Padding", {});
      if (pad.size() == 4) {
        if (pad[0] != pad[2] || pad[1] != pad[3]) failNode(n, "asymmetric padding " + dimsStr(pad) + " is not supported");
      } else if (pad.size() != 1 && pad.size() != 2) failNode(n, "attribute 'Padding' must have 1, 2 or 4 entries");
      Dyn y = x;
      int ph = smallInt(n, "Padding", pad.size() == 1 ? pad[0] / 2 : pad[0], 0, 1 << 16);
      int pw = smallInt(n, "Padding", pad.size() == 1 ? pad[0] / 2 : pad.size() == 2 ? pad[1] : pad[1], 0, 1 << 16);
      y.padH += ph;
      y.padW += pw;
      if (y.dims.size() == 4) { y.dims[1] += 2 * ph; y.dims[2] += 2 * pw; }
      m_notes.push_back("node '" + n.name() + "' (FMPadding) folded into the padding of the next convolution");
      setDyn(n, y);
      return;
    }
    if (op == "ConvolutionInputGenerator" || op == "ConvolutionInputGenerator1D") {
      const Dyn& x = din(n, 0);
      if (x.dims.size() != 4) failNode(n, "expects an NHWC tensor, got " + dimsStr(x.dims));
      Dyn y = x;
      y.win.active = true;
      auto k = pairAttr(n, "ConvKernelDim", 0, 1, 1 << 16);
      if (k.first == 0) failNode(n, "missing attribute 'ConvKernelDim'");
      auto st = pairAttr(n, "Stride", 1, 1, 1 << 16);
      auto dl = pairAttr(n, "Dilation", 1, 1, 1 << 16);
      y.win.kh = k.first; y.win.kw = k.second;
      y.win.sh = st.first; y.win.sw = st.second;
      y.win.dh = dl.first; y.win.dw = dl.second;
      y.win.ph = x.padH; y.win.pw = x.padW;
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
                        (attr(n, "SIMD") ? " (SIMD " + std::to_string(attrInt(n, "SIMD", 1)) + (rs.empty() ? "" : ", ram_style " + rs) + ")" : ""));
      setDyn(n, y);
      return;
    }
    if (op == "StreamingMaxPool") {
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
      return;
    }
    if (op == "AddStreams") {
      const Dyn& a = din(n, 0);
      const Dyn& b = din(n, 1);
      if (canon(n, a) != canon(n, b)) failNode(n, "inputs have different shapes " + dimsStr(a.dims) + " and " + dimsStr(b.dims));
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
      return;
    }
    if (op == "DuplicateStreams") {
      const Dyn& x = din(n, 0);
      markUsed(x);
      Layer& l = newLayer(n, LayerKind::Fork, {x.layer});
      Dyn y = x;
      y.layer = l.name;
      y.rawInput = false;
      y.pending.clear();
      hint(l.name, n, false);
      for (int i = 0; i < n.output_size(); ++i) setDyn(n, y, i);
      return;
    }
  }
  failNode(n, "unsupported operator" + (dom.empty() ? std::string() : " (domain " + dom + ")") + "; supported: " + kSupportedOps);
}

OnnxImport Importer::run(const std::string& bytes) {
  onnx::ModelProto model;
  if (bytes.empty()) fail("the file is empty");
  if (bytes.size() > (size_t(1) << 31)) fail("the file is larger than 2 GB");
  if (!model.ParseFromString(bytes)) fail("not a valid ONNX model (protobuf parse error: truncated or corrupt file)");
  if (!model.has_graph()) fail("the model has no graph");
  const onnx::GraphProto& g = model.graph();
  if (g.node_size() == 0) fail("the graph has no nodes");

  // FINN / QONNX datatype annotations (graph.quantization_annotation: tensor -> finn_datatype).
  std::map<std::string, DType> annot;
  for (const auto& a : g.quantization_annotation())
    for (const auto& kv : a.quant_parameter_tensor_names())
      if (kv.key() == "finn_datatype")
        if (auto dt = parseDType(kv.value())) annot[a.tensor_name()] = *dt;
  for (const auto& t : g.initializer()) {
    Value v;
    v.isConst = true;
    v.c = tensorToConst(t, "initializer '" + t.name() + "'");
    auto it = annot.find(t.name());
    if (it != annot.end()) {
      v.c.q.set = true;
      v.c.q.bits = {it->second.bits};
      v.c.q.isSigned = it->second.isSigned;
      v.c.q.bipolar = it->second.bipolar;
    }
    m_vals[t.name()] = std::move(v);
  }
  for (const auto& n : g.node())
    if (n.domain().find("fpgadataflow") != std::string::npos) m_finnHw = true;

  // The one network input (graph inputs that are not initializers).
  const onnx::ValueInfoProto* input = nullptr;
  for (const auto& i : g.input()) {
    if (m_vals.count(i.name())) continue;
    if (input) fail("the graph has more than one non-constant input ('" + input->name() + "', '" + i.name() + "'); mpsim networks have one input");
    input = &i;
  }
  if (!input) fail("the graph has no non-constant input");
  std::string in = input->name();
  if (!input->type().has_tensor_type() || !input->type().tensor_type().has_shape())
    fail("graph input '" + in + "' has no tensor shape");
  std::vector<int64_t> dims;
  const auto& shp = input->type().tensor_type().shape();
  for (int i = 0; i < shp.dim_size(); ++i) {
    const auto& d = shp.dim(i);
    if (d.has_dim_value()) {
      if (d.dim_value() < 1 || d.dim_value() > kMaxDim) fail("graph input '" + in + "' has an invalid dimension " + std::to_string(d.dim_value()));
      dims.push_back(d.dim_value());
    } else if (i == 0) {
      dims.push_back(1);
      m_notes.push_back("symbolic batch dimension of input '" + in + "' set to 1");
    } else {
      fail("graph input '" + in + "' has dynamic dimension #" + std::to_string(i) + " ('" + d.dim_param() +
           "'); dynamic shapes are not supported: export the model with a fixed input shape");
    }
  }
  if (dims.size() < 2 || dims.size() > 4) fail("graph input '" + in + "' has shape " + dimsStr(dims) + "; expected [N, C, H, W], [N, C, L] or [N, features]");
  if (dims[0] != 1) fail("graph input '" + in + "' has batch " + std::to_string(dims[0]) + "; mpsim streams single frames (batch 1)");
  {
    Dyn d;
    d.dims = dims;
    d.chLast = m_finnHw && dims.size() == 4;
    onnx::NodeProto dummy;
    dummy.set_name(in);
    dummy.set_op_type("input");
    Shape s = canon(dummy, d);
    Layer l;
    l.name = m_inputName = "input";
    l.kind = LayerKind::Input;
    l.out_shape = s;
    l.out = ActType{8, false};
    m_names.insert(l.name);
    m_index[l.name] = 0;
    m_layers.push_back(l);
    d.layer = d.pending = l.name;
    d.rawInput = true;
    Value v;
    v.d = d;
    m_vals[in] = v;
    if (auto it = annot.find(in); it != annot.end()) {
      m_layers[0].out = actOf(it->second);
      m_quantSet.insert("input");
      m_notes.push_back("the network input type comes from its datatype annotation");
    }
    // FINN hardware graphs declare the input type on the first node.
    if (m_finnHw)
      for (const auto& n : g.node())
        for (int k = 0; k < n.input_size(); ++k)
          if (n.input(k) == in)
            for (const auto& a : n.attribute())
              if (a.name() == "inputDataType")
                if (auto dt = parseDType(a.s())) {
                  m_layers[0].out = actOf(*dt);
                  m_quantSet.insert("input");
                }
    // The input's integers are its values (a float input is assumed to hold integers).
    storedChain(m_vals[in].d, m_layers[0].out, ValueChain::identity());
  }

  for (const auto& o : g.output()) m_graphOutputs.insert(o.name());
  // Topological order of the nodes (ONNX requires it, but do not rely on it).
  size_t nn = size_t(g.node_size());
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < nn; ++i)
    for (const auto& o : g.node(int(i)).output()) {
      if (o.empty()) continue;
      if (producer.count(o) || m_vals.count(o))
        fail("tensor '" + o + "' is produced more than once (node '" + g.node(int(i)).name() + "')");
      producer[o] = i;
    }
  std::vector<std::vector<size_t>> succ(nn);
  std::vector<int> indeg(nn, 0);
  for (size_t i = 0; i < nn; ++i)
    for (const auto& x : g.node(int(i)).input()) {
      if (x.empty()) continue;
      ++m_consumers[x];
      auto it = producer.find(x);
      if (it != producer.end()) {
        succ[it->second].push_back(i);
        ++indeg[i];
      } else if (!m_vals.count(x)) {
        const auto& n = g.node(int(i));
        failNode(n, "input '" + x + "' is neither a graph input, an initializer nor the output of another node (missing initializer?)");
      }
    }
  std::vector<size_t> order, ready;
  for (size_t i = nn; i-- > 0;)
    if (indeg[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    size_t i = ready.back();
    ready.pop_back();
    order.push_back(i);
    for (size_t j = succ[i].size(); j-- > 0;)
      if (--indeg[succ[i][j]] == 0) ready.push_back(succ[i][j]);
  }
  if (order.size() != nn) {
    for (size_t i = 0; i < nn; ++i)
      if (indeg[i] > 0) failNode(g.node(int(i)), "is part of a cycle");
  }
  // Keep the file's order where it is valid: stable when nodes are already sorted.
  for (size_t i : order) node(g.node(int(i)));

  // Outputs.
  std::vector<std::string> outs;
  for (const auto& o : g.output()) {
    auto it = m_vals.find(o.name());
    if (it == m_vals.end()) fail("graph output '" + o.name() + "' is not produced by any node");
    if (it->second.isConst) fail("graph output '" + o.name() + "' is a constant");
    outs.push_back(it->second.d.layer);
    double sc = 0, off = 0;
    if (it->second.d.chain.perTensorAffine(sc, off) && (sc != 1 || off != 0))
      m_notes.push_back("graph output '" + o.name() + "' = " + std::to_string(sc) + " x (the integer output of '" +
                        it->second.d.layer + "')" + (off != 0 ? " + " + std::to_string(off) : std::string()) +
                        (sc > 0 ? "; order-preserving, so top-k classes are the model's" : ""));
    else if (!it->second.d.chain.known() || it->second.d.chain.channels() > 1)
      m_notes.push_back("graph output '" + o.name() + "': the model's float scores are not a common scale of the integer output of '" +
                        it->second.d.layer + "'" + (it->second.d.chain.known() ? "" : " (" + it->second.d.chain.why() + ")"));
  }
  if (outs.empty()) fail("the graph has no outputs");
  for (size_t i = 0; i < outs.size(); ++i) {
    Layer o;
    o.kind = LayerKind::Output;
    o.name = outs.size() == 1 ? "output" : "output" + std::to_string(i);
    o.inputs = {outs[i]};
    m_layers.push_back(o);
  }

  // Notes on folded float operators.
  for (const auto& [name, ops] : m_folded) {
    std::map<std::string, int> cnt;
    for (const auto& o : ops) ++cnt[o];
    std::string s;
    for (const auto& [o, c] : cnt) s += (s.empty() ? "" : ", ") + o + (c > 1 ? " x" + std::to_string(c) : "");
    m_notes.push_back("layer '" + name + "': folded into its requantiser: " + s);
  }

  // Where functional parameters come from.
  {
    int withValues = 0, weighted = 0;
    for (const auto& l : m_layers) {
      if (!l.isWeighted() && l.kind != LayerKind::Quantizer) continue;
      weighted += l.isWeighted() ? 1 : 0;
      bool complete = (!l.isWeighted() || l.weight_values) &&
                      (l.threshold_values || (l.isWeighted() && !m_quantSet.count(l.name)));
      if (l.isWeighted() && complete) ++withValues;
      if (!complete && !m_noValues.count(l.name)) m_noValues[l.name] = "no quantiser parameters were found";
    }
    for (const auto& [name, why] : m_noValues)
      m_notes.push_back("layer '" + name + "': functional parameters are generated from the seed, not taken from the model: " + why);
    m_notes.push_back(std::to_string(withValues) + " of " + std::to_string(weighted) +
                      " MAC layers take their integer weights and thresholds from the model's initialisers");
  }

  std::string gname = g.name().empty() ? "onnx" : g.name();
  graph::Graph graph(gname);
  graph.setSource(m_file);
  std::vector<std::string> unquantised;
  for (auto& l : m_layers) {
    bool requantises = l.kind == LayerKind::Conv || l.kind == LayerKind::FullyConnected || l.kind == LayerKind::Add ||
                       l.kind == LayerKind::AvgPool || l.kind == LayerKind::GlobalAvgPool;
    if (requantises && !m_quantSet.count(l.name)) {
      l.requant = graph::Requant::None;
      unquantised.push_back(l.name);
    }
    graph.add(l);
  }
  if (!m_quantSet.count("input"))
    m_notes.push_back("no quantiser on the network input; assumed " + std::to_string(m_layers[0].out.bits) + "-bit unsigned");
  graph.finalize();
  // Layers without an output quantiser keep their accumulator (requant none): the output width is
  // the accumulator width (at most 32 bits), set in topological order since widths propagate.
  if (!unquantised.empty()) {
    for (size_t pass = 0; pass < unquantised.size() + 1; ++pass) {
      bool changed = false;
      for (auto& l : graph.layers()) {
        if (std::find(unquantised.begin(), unquantised.end(), l.name) == unquantised.end()) continue;
        int b = l.isWeighted() ? std::min(32, l.accBits())
                               : std::min(32, l.in.bits + (l.kind == LayerKind::Add ? 1 : 0));
        ActType t{b, true};
        if (l.out.bits != t.bits || l.out.is_signed != t.is_signed) {
          l.out = t;
          changed = true;
          break;
        }
      }
      graph.finalize();
      if (!changed) break;
    }
    std::string s;
    for (const auto& u : unquantised) s += (s.empty() ? "" : ", ") + u;
    m_notes.push_back("no activation quantiser after: " + s + "; these keep their accumulator (requant none)");
  }
  OnnxImport r{std::move(graph), std::move(m_hints), std::move(m_notes)};
  return r;
}

void yamlStr(std::ostream& os, const std::string& s) {
  os << '"';
  for (char ch : s) {
    if (ch == '"' || ch == '\\') os << '\\';
    os << ch;
  }
  os << '"';
}

} // namespace

OnnxImport importOnnxBytes(const std::string& bytes, const std::string& name) {
  Importer imp(name);
  try {
    return imp.run(bytes);
  } catch (const LoadError&) {
    throw;
  } catch (const std::exception& e) {
    throw LoadError(name + ": " + e.what());
  }
}

OnnxImport importOnnx(const std::string& path) {
  return importOnnxBytes(readFileLimited(path, kMaxModelBytes, "ONNX model"), path);
}

std::map<std::string, LayerParamFiles> writeLayerParams(const graph::Graph& g, const std::string& yamlPath) {
  namespace fs = std::filesystem;
  std::map<std::string, LayerParamFiles> files;
  const fs::path yp(yamlPath);
  const std::string dirName = yp.stem().string() + ".params";
  const fs::path dir = yp.parent_path() / dirName;
  FileNamer fileName; // layer names are not paths: "a/b" or "../x" become safe, distinct file names
  for (const auto& l : g.layers()) {
    if (!l.weight_values && !l.threshold_values && !l.input_thresholds) continue;
    if (files.empty()) {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec) throw LoadError(dir.string() + ": cannot create the directory (" + ec.message() + ")");
    }
    LayerParamFiles f;
    if (l.weight_values) {
      const int64_t K = l.out_channels;
      std::vector<int64_t> shape = l.kind == LayerKind::Conv
                                       ? std::vector<int64_t>{K, l.in_shapes[0].c / l.groups, l.kh, l.kw}
                                       : std::vector<int64_t>{K, l.dotLength()};
      f.weights = dirName + "/" + fileName(l.name, ".weights.npy");
      func::writeNpy((yp.parent_path() / f.weights).string(), func::NpyType::Int32, shape, l.weight_values->data());
    }
    if (l.threshold_values) {
      const int64_t C = l.isWeighted() ? l.out_channels : l.out_shape.c;
      const int64_t T = C > 0 ? int64_t(l.threshold_values->size()) / C : 0;
      f.thresholds = dirName + "/" + fileName(l.name, ".thresholds.npy");
      func::writeNpy((yp.parent_path() / f.thresholds).string(), func::NpyType::Int64, {C, T}, l.threshold_values->data());
    }
    if (l.input_thresholds) {
      const int64_t T = l.out.thresholdCount();
      f.thresholds = dirName + "/" + fileName(l.name, ".thresholds.npy");
      func::writeNpy((yp.parent_path() / f.thresholds).string(), func::NpyType::Float64,
                     {int64_t(l.input_thresholds->size()) / T, T}, l.input_thresholds->data());
    }
    files[l.name] = f;
  }
  return files;
}

void writeNetworkYaml(const graph::Graph& g, std::ostream& os, const std::map<std::string, LayerParamFiles>& params) {
  os << "# Generated by mpsim from " << g.source() << " (docs/network-format.md)\n";
  os << "name: ";
  yamlStr(os, g.name());
  os << "\n";
  const Layer* in = nullptr;
  std::vector<const Layer*> outs;
  for (const auto& l : g.layers()) {
    if (l.kind == LayerKind::Input && !in) in = &l;
    if (l.kind == LayerKind::Output) outs.push_back(&l);
  }
  if (in) {
    os << "input:\n  name: ";
    yamlStr(os, in->name);
    os << "\n  shape: [" << in->out_shape.c << ", " << in->out_shape.h << ", " << in->out_shape.w << "]\n";
    if (in->out.bipolar) os << "  bits: 1\n  type: bipolar\n";
    else os << "  bits: " << in->out.bits << "\n  signed: " << (in->out.is_signed ? "true" : "false") << "\n";
    if (auto it = params.find(in->name); it != params.end() && !it->second.thresholds.empty()) {
      os << "  thresholds_file: ";
      yamlStr(os, it->second.thresholds);
      os << "  # quantises float input values\n";
    }
  }
  auto pair = [&](const char* key, int a, int b) { os << ", " << key << ": [" << a << ", " << b << "]"; };
  os << "layers:\n";
  for (const auto& l : g.layers()) {
    if (l.kind == LayerKind::Input || l.kind == LayerKind::Output) continue;
    os << "  - {name: ";
    yamlStr(os, l.name);
    os << ", type: " << graph::toString(l.kind) << ", inputs: [";
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      if (i) os << ", ";
      yamlStr(os, l.inputs[i]);
    }
    os << "]";
    switch (l.kind) {
    case LayerKind::Conv:
      os << ", out_channels: " << l.out_channels;
      pair("kernel", l.kh, l.kw);
      pair("stride", l.stride_h, l.stride_w);
      pair("padding", l.pad_h, l.pad_w);
      pair("dilation", l.dil_h, l.dil_w);
      os << ", groups: " << l.groups;
      break;
    case LayerKind::FullyConnected: os << ", out_features: " << l.out_channels; break;
    case LayerKind::LabelSelect: os << ", k: " << l.topk; break;
    case LayerKind::MaxPool:
    case LayerKind::AvgPool:
      pair("kernel", l.kh, l.kw);
      pair("stride", l.stride_h, l.stride_w);
      pair("padding", l.pad_h, l.pad_w);
      break;
    default: break;
    }
    if (l.isWeighted()) {
      os << ", weights: " << l.weight_bits << ", weight_type: " << graph::toString(l.weight_type);
      if (!l.channel_bits.empty()) {
        os << ", channels: [";
        for (size_t i = 0; i < l.channel_bits.size(); ++i) os << (i ? ", " : "") << l.channel_bits[i];
        os << "]";
      }
      if (l.acc_bits_given) os << ", acc_bits: " << l.acc_bits_given;
    }
    bool requantises = l.kind == LayerKind::Conv || l.kind == LayerKind::FullyConnected || l.kind == LayerKind::Add ||
                       l.kind == LayerKind::AvgPool || l.kind == LayerKind::GlobalAvgPool || l.kind == LayerKind::Quantizer;
    if (requantises && l.out.bipolar)
      os << ", activation_type: bipolar, requant: " << graph::toString(l.requant);
    else if (requantises)
      os << ", activations: " << l.out.bits << ", activations_signed: " << (l.out.is_signed ? "true" : "false")
         << ", requant: " << graph::toString(l.requant);
    if (auto it = params.find(l.name); it != params.end()) {
      if (!it->second.weights.empty()) {
        os << ", weights_file: ";
        yamlStr(os, it->second.weights);
      }
      if (!it->second.thresholds.empty()) {
        os << ", thresholds_file: ";
        yamlStr(os, it->second.thresholds);
      }
    }
    os << "}\n";
  }
  os << "outputs: [";
  for (size_t i = 0; i < outs.size(); ++i) {
    if (i) os << ", ";
    yamlStr(os, outs[i]->inputs.empty() ? std::string() : outs[i]->inputs[0]);
  }
  os << "]\n";
}

} // namespace mpsim::io
