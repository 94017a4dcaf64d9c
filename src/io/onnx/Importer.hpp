#pragma once
// ONNX importer (QONNX / FINN-ONNX) -> graph IR, internal to src/io/onnx/. See docs/onnx-import.md.
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
//
// Each node is handled by the function the dispatch table (OpTable.cpp) names for its op type; the
// handlers live in files by topic (Constants, Quantisers, MacOps, Elementwise, ShapeOps, FinnNodes),
// the graph as a whole in Run.cpp.
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "../ValueChain.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/io/OnnxImport.hpp"

namespace mpsim::io::onnx_import {

using detail::ValueChain;
using graph::ActType;
using graph::Layer;
using graph::LayerKind;
using graph::Shape;
using graph::WeightType;

inline constexpr int64_t kMaxDim = int64_t(1) << 31;
inline constexpr int64_t kMaxElements = int64_t(1) << 28;

// Flags of a dispatch table row (Importer::OpEntry).
enum OpFlag : unsigned {
  kFinnDomain = 1u << 0, // only in a FINN fpgadataflow domain (elsewhere the op type is unsupported)
  kAnyInputs = 1u << 1,  // handled before constant folding, whatever the inputs (Constant, Shape)
  kNoFold = 1u << 2,     // constant inputs are not folded: the handler runs (and rejects them)
  kFinnList = 1u << 3,   // listed among "the FINN fpgadataflow nodes" in the unsupported-operator error
  kAlias = 1u << 4,      // listed in parentheses after the row before it
  kUnlisted = 1u << 5,   // handled, but not named in the unsupported-operator error
};

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
  std::string layer;         // producing graph layer
  std::vector<int64_t> dims; // ONNX dims
  bool chLast = false;       // rank-4 dims are N,H,W,C
  std::string pending;       // requantising layer whose output type no quantiser has set yet
  bool rawInput = false;     // the graph input, untouched by any layer
  int padH = 0, padW = 0;    // FMPadding not yet consumed by a window generator
  Window win;                // ConvolutionInputGenerator output
  // Float value as a function of the base integer: the accumulator of `pending` when set (the
  // input's integer when `pending` is the input layer), else the stored activation of `layer`.
  ValueChain chain = ValueChain::unknown("the values of this tensor are not tracked");
  int64_t lo = 0, hi = 0; // range of the base integer
  int64_t hwcC = 0;       // >0: flattened from channels-last (H, W, C) order with C channels
};

struct Value {
  bool isConst = false;
  Const c;
  Dyn d;
};

// Saturating double -> int64 (constant values may be anything in a corrupt file).
inline int64_t toI64(double x) {
  if (!(x == x)) return 0;
  if (x >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (x <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return int64_t(x);
}

inline std::string dimsStr(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "x" : "") + std::to_string(d[i]);
  return s + "]";
}

inline std::string shapeStr(const Shape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

// FINN DataType strings.
struct DType {
  int bits = 0;
  bool isSigned = false;
  bool bipolar = false;
};
// QONNX rounding modes (ROUND and HALF_EVEN: half to even, as numpy.round).
double roundMode(double v, const std::string& m);

inline ActType actOf(const DType& d) { return d.bipolar ? ActType::makeBipolar() : ActType{d.bits, d.isSigned}; }

std::optional<DType> parseDType(std::string s);

class Importer {
public:
  Importer(std::string name) : m_file(std::move(name)) {}
  OnnxImport run(const std::string& bytes);

  // A node handler: `op` is the node's op type without FINN's backend suffix, `finnHw` whether the
  // node is in a FINN fpgadataflow domain.
  using Handler = void (Importer::*)(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  // One row of the dispatch table: an op type and its handlers.
  struct OpEntry {
    const char* op;
    Handler onStream; // the node on activation inputs (nullptr: constant inputs only)
    Handler onConst;  // every input a constant: evaluated (nullptr: not supported on constants)
    unsigned flags;   // OpFlag bits
  };
  // The dispatch table (OpTable.cpp): the single list of supported op types.
  static const std::vector<OpEntry>& opTable();

private:
  // ---- errors ----
  [[noreturn]] void fail(const std::string& msg) const { throw LoadError(m_file + ": " + msg); }
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
  std::pair<int, int> pairAttr(const onnx::NodeProto& n, const std::string& name, int def, int64_t lo,
                               int64_t hi) const {
    auto v = attrInts(n, name, {});
    if (v.empty()) return {def, def};
    if (v.size() == 1) {
      int x = smallInt(n, name, v[0], lo, hi);
      return {x, x};
    }
    if (v.size() != 2)
      failNode(n, "attribute '" + name + "' has " + std::to_string(v.size()) + " entries, expected 1 or 2");
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
      failNode(n,
               role + " '" + n.input(i) + "' must be a constant (initializer); it is computed from the network input");
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
  // One ONNX node, dispatched by op type through opTable() (OpTable.cpp).
  void node(const onnx::NodeProto& n);
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
  void weighted(const onnx::NodeProto& n, const Dyn& x, const Const& w, LayerKind kind, int outAxis, int64_t outCh,
                Layer proto);
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
  // Dims after Squeeze / Unsqueeze (axes from the attribute or, in newer opsets, input 1). A
  // dynamic tensor keeps its batch dimension when no axes are given, and only size-1 dims squeeze.
  std::vector<int64_t> squeezedDims(const onnx::NodeProto& n, std::vector<int64_t> nd, bool dynamic);

  // ---- node handlers (Handler), by file ----
  // Constants.cpp: constants and constant folding.
  void opConstant(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opShape(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldArith(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldReshape(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldTranspose(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldSqueeze(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldFlatten(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldConcat(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldGather(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldUnary(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void foldQuant(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  // Quantisers.cpp: activation quantisers.
  void opQuant(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opMultiThreshold(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  // MacOps.cpp: MAC layers.
  void opConv(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opMatMul(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opMvau(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opVvau(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  // Elementwise.cpp: element-wise operators and classification heads.
  void opElementwise(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opFloat(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opLabelSelect(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  // ShapeOps.cpp: shapes and pooling.
  void opReshape(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opFlatten(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opSqueeze(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opTranspose(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opConcat(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opMaxPool(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opAveragePool(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opGlobalPool(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  // FinnNodes.cpp: FINN fpgadataflow nodes other than MVAU / VVAU / Thresholding.
  void opFmPadding(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opConvInputGen(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opStreamingMaxPool(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opAddStreams(const onnx::NodeProto& n, const std::string& op, bool finnHw);
  void opDuplicateStreams(const onnx::NodeProto& n, const std::string& op, bool finnHw);

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
  std::map<std::string, int> m_consumers;        // tensor -> number of node inputs reading it
  std::map<std::string, std::string> m_noValues; // layer -> why its parameters are not from the model
  std::set<std::string> m_graphOutputs;
  std::map<std::string, int> m_unnamed; // op type -> count of unnamed nodes
};

} // namespace mpsim::io::onnx_import
