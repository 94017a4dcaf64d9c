#pragma once
// Bit-exact integer reference kernels of the functional mode. Semantics (rounding, saturation,
// bipolar encoding, thresholds, accumulator widths) are specified in docs/functional.md.
//
// Conventions:
//  * Tensors are NCHW (func::Tensor); conv weights are (K, C/groups, kh, kw), fully-connected
//    weights (K, C*H*W) in any 4-D shape with that element count and order.
//  * Bipolar operands are stored as bits: 1 means +1, 0 means -1.
//  * Every operand is checked against its declared type before use; the accumulator width is
//    chosen from the operand ranges (int32 when it provably cannot overflow, int64 otherwise,
//    KernelError when even int64 could overflow). Nothing wraps silently.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpsim/func/Tensor.hpp"
#include "mpsim/graph/Layer.hpp"

namespace mpsim::func {

/// Invalid operands, shapes or parameters, or a computation that could overflow.
class KernelError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

enum class OperandKind { Signed, Unsigned, Bipolar };

/// Numeric type of an operand: 1..16 bits, signed (two's complement), unsigned or bipolar (bits 1).
struct Operand {
  int bits = 8;
  OperandKind kind = OperandKind::Signed;

  static Operand activation(const graph::ActType& t) {
    if (t.bipolar) return {1, OperandKind::Bipolar};
    return {t.bits, t.is_signed ? OperandKind::Signed : OperandKind::Unsigned};
  }
  static Operand weight(graph::WeightType t, int bits);
  /// Range of the stored encoding (bipolar: 0..1).
  int64_t storedMin() const;
  int64_t storedMax() const;
  /// Range of the value it stands for (bipolar: -1..+1).
  int64_t valueMin() const;
  int64_t valueMax() const;
  int64_t decode(int64_t stored) const { return kind == OperandKind::Bipolar ? 2 * stored - 1 : stored; }
  std::string str() const; // "int4", "uint8", "bipolar"
};

/// Throws KernelError naming `what` and the first flat index whose value is outside `t`'s stored range.
void checkRange(const Tensor& x, const Operand& t, const std::string& what);

enum class AccWidth { Int32, Int64 };
/// Largest |accumulator| a dot product of `length` terms can reach; KernelError when above INT64_MAX.
uint64_t accumulatorBound(const Operand& x, const Operand& w, int64_t length);
AccWidth accumulatorWidth(const Operand& x, const Operand& w, int64_t length);

/// Pooling uses the layer's window (graph::Window) as is.
using PoolGeometry = graph::Window;

/// A convolution's window (padding adds zeros of the decoded value: no contribution), groups and
/// output channels.
struct ConvGeometry : PoolGeometry {
  int groups = 1;
  int64_t out_channels = 0;
  static ConvGeometry of(const graph::Layer& l);
};

/// A convolution's weights checked (types, ranges), decoded and laid out once; run() convolves any
/// input with `inChannels` channels exactly as conv2d does. For running many inputs through one
/// layer (the functional simulation computes one window per output pixel).
class PreparedConv {
public:
  PreparedConv(const Tensor& w, const std::vector<Operand>& wTypes, const Operand& xType, const ConvGeometry& g,
               int64_t inChannels);
  AccTensor run(const Tensor& x) const;
  /// How runWindows' inputs are ordered: (C, kh, kw) as a (1, C, kh, kw) tensor, or channel-last
  /// (kh, kw, C), the functional simulation's SWU windows.
  enum class WindowOrder { ChannelMajor, ChannelLast };
  /// `count` inputs that are each exactly one window (the whole (inChannels, kh, kw) input of one
  /// output pixel; the geometry must have stride 1, no padding and no dilation): rows[b] points at
  /// input b's inChannels*kh*kw values in `order`. Writes the K accumulators of input b to
  /// out[b * K + k]: the same values as run() of each input alone (as a (1, C, kh, kw) tensor),
  /// computed as one GEMM-like pass (blocks of inputs share each weight row while it is in cache).
  void runWindows(const int32_t* const* rows, int64_t count, int64_t* out,
                  WindowOrder order = WindowOrder::ChannelMajor) const;
  int64_t inChannels() const { return m_C; }
  int64_t outChannels() const { return m_K; }
  /// Values per window: inChannels * kh * kw.
  int64_t windowLength() const { return m_C * m_g.kh * m_g.kw; }

private:
  ConvGeometry m_g;
  Operand m_x;
  int64_t m_C = 0, m_K = 0, m_Cg = 0;
  bool m_narrow = false; // int16 operands, int32 accumulators
  std::vector<int8_t> m_w8;   // narrow, weights fit int8
  std::vector<int16_t> m_w16; // narrow, wider weights
  std::vector<int32_t> m_w32;
};

/// Raw convolution accumulators (no bias, no requantisation), shape (N, K, P, Q).
/// `wTypes` holds one type for all output channels or one per output channel.
AccTensor conv2d(const Tensor& x, const Operand& xType, const Tensor& w, const std::vector<Operand>& wTypes,
                 const ConvGeometry& g);
/// Fully connected: x (N, C, H, W) is flattened in C order to N vectors of C*H*W; w holds K rows.
/// Result (N, K, 1, 1).
AccTensor fullyConnected(const Tensor& x, const Operand& xType, const Tensor& w, const std::vector<Operand>& wTypes,
                         int64_t outFeatures);
/// Conv or fully-connected accumulators for a graph layer (types from l.in, l.weight_type,
/// l.weight_bits and l.channel_bits).
AccTensor weightedLayer(const graph::Layer& l, const Tensor& x, const Tensor& w);
/// The weight types a layer declares (one per output channel when channel_bits is set).
std::vector<Operand> weightTypes(const graph::Layer& l);

/// Exact shapes of a layer's parameter files (.npy, docs/network-format.md), for a finalized layer:
/// weights conv (K, C/groups, K_h, K_w), fully connected (K, MW); thresholds (channels, T) with T
/// thresholds per channel for the output type (2^B - 1; bipolar 1). `layout` names the dimensions
/// for messages.
struct ParamShape {
  std::vector<int64_t> dims;
  std::string layout;
};
ParamShape weightsFileShape(const graph::Layer& l);
ParamShape thresholdsFileShape(const graph::Layer& l);

/// weightedLayer with the weights prepared once (PreparedConv): a conv layer's geometry, or a
/// fully-connected layer over inputs of w.size() / out_channels features.
class WeightedKernel {
public:
  WeightedKernel(const graph::Layer& l, const Tensor& w);
  AccTensor accumulate(const Tensor& x) const;
  /// PreparedConv::runWindows: conv windows or fully-connected input vectors.
  void accumulateWindows(const int32_t* const* rows, int64_t count, int64_t* out,
                         PreparedConv::WindowOrder order = PreparedConv::WindowOrder::ChannelMajor) const {
    m_conv.runWindows(rows, count, out, order);
  }
  int64_t windowLength() const { return m_conv.windowLength(); }
  int64_t outChannels() const { return m_conv.outChannels(); }

private:
  bool m_fc;
  PreparedConv m_conv;
};

// ---- requantisation ----
int64_t actMin(const graph::ActType& t);
int64_t actMax(const graph::ActType& t);
/// Clamps every value into the range of `out`.
Tensor saturate(const AccTensor& acc, const graph::ActType& out);

/// FINN MultiThreshold: y = (number of thresholds t of the channel with acc >= t) + bias, where
/// bias is 0 for unsigned outputs and -2^(bits-1) for signed ones. `thresholds` holds T = shape.w
/// thresholds per row and either one row shared by all channels or one row per channel (C rows).
/// T must not exceed 2^bits - 1.
Tensor multiThreshold(const AccTensor& acc, const AccTensor& thresholds, const graph::ActType& out);

/// Integer scale/shift: y = sat(round((acc * scale[c] + bias[c]) / 2^shift[c])), rounding half
/// towards +infinity (add 2^(shift-1), then floor). Each vector holds one value or one per channel;
/// bias may be empty (zero). Intermediate overflow of int64 throws.
struct ScaleShift {
  std::vector<int64_t> scale{1};
  std::vector<int64_t> bias;
  std::vector<int> shift{0};
};
Tensor scaleShift(const AccTensor& acc, const ScaleShift& p, const graph::ActType& out);

/// ONNX QLinear* output stage: y = sat(roundHalfEven(acc * multiplier[c]) + zeroPoint), the
/// multiplier being x_scale * w_scale / y_scale (one value or one per channel).
Tensor requantizeFloat(const AccTensor& acc, const std::vector<double>& multiplier, int64_t zeroPoint,
                       const graph::ActType& out);

// ---- pooling and element-wise ----
/// Max over each window; padded positions are ignored.
Tensor maxPool(const Tensor& x, const PoolGeometry& g);
/// Average over each window, divisor kh*kw (padded positions count as zeros when countPad, else
/// the divisor is the number of in-bounds positions), rounded half towards +infinity.
Tensor avgPool(const Tensor& x, const PoolGeometry& g, bool countPad = true);
/// Average over each channel's H*W pixels, rounded half towards +infinity; result (N, C, 1, 1).
Tensor globalAvgPool(const Tensor& x);

/// Element-wise add with both inputs rescaled to a common scale:
/// y = sat(round((a * scale_a + b * scale_b + bias) / 2^shift)), same rounding as ScaleShift.
struct AddParams {
  int64_t scale_a = 1, scale_b = 1, bias = 0;
  int shift = 0;
};
Tensor add(const Tensor& a, const Tensor& b, const AddParams& p, const graph::ActType& out);

/// Top-k class selection (FINN LabelSelect, ONNX TopK with largest=1, sorted=1 and only the
/// indices): for each frame of x (N, C, H, W), flattened in C order to C*H*W scores, the indices of
/// the k largest scores in descending order of score; equal scores go to the lower index first.
/// Result (N, k, 1, 1). KernelError unless 1 <= k <= C*H*W.
Tensor labelSelect(const Tensor& x, int64_t k);

/// Rounded division helpers (exposed for tests): floor(v / 2^s + 1/2) and floor(num / den + 1/2).
int64_t roundShift(int64_t v, int s);
int64_t roundDiv(int64_t num, int64_t den);

// ---- whole layers ----
/// Parameters of one layer beyond its graph description.
struct LayerParams {
  Tensor weights;       // conv / fc
  AccTensor thresholds; // requant == Thresholds, and Quantizer layers
  ScaleShift scale;     // requant == ScaleShift
  AddParams add;        // Add layers
  bool avgCountPad = true;
};
/// A weighted layer's requantiser (Requant::None saturates the accumulator into l.out).
Tensor requantize(const graph::Layer& l, const AccTensor& acc, const LayerParams& p);

/// A requantiser checked once (shapes, widths, parameter counts, which threshold rows are sorted)
/// and then applied to one token's `channels` accumulators at a time, exactly as requantize() /
/// multiThreshold() / scaleShift() / saturate() compute a (1, channels, 1, 1) accumulator (they
/// use it themselves). For the functional simulation, which requantises every token of a layer.
class PreparedRequant {
public:
  /// The requantiser of weighted layer `l` (l.requant, l.out) with parameters `p`.
  PreparedRequant(const graph::Layer& l, const LayerParams& p, int64_t channels);
  /// multiThreshold with `thresholds` into `out` (quantizer layers).
  PreparedRequant(const AccTensor& thresholds, const graph::ActType& out, int64_t channels);
  /// y[c] = requantised acc[c] for c < channels.
  void apply(const int64_t* acc, int32_t* y) const;
  /// `count` rows of `channels` accumulators (row-major) at once: y[b * channels + c].
  void apply(const int64_t* acc, int64_t count, int32_t* y) const;
  /// One value of channel c.
  int32_t value(int64_t c, int64_t acc) const;
  int64_t channels() const { return m_C; }

private:
  enum class Mode { Saturate, Thresholds, ScaleShift };
  void prepareThresholds(const AccTensor& thresholds, const graph::ActType& out);
  void prepareScaleShift(const ScaleShift& p, const graph::ActType& out);
  int32_t level(int64_t c, int64_t acc) const; // Thresholds
  Mode m_mode = Mode::Saturate;
  int64_t m_C = 0, m_lo = 0, m_hi = 0;
  int64_t m_T = 0, m_bias = 0;
  bool m_sharedRow = false;
  bool m_allSorted = false;
  std::vector<int64_t> m_th;   // rows of m_T thresholds
  std::vector<char> m_search;  // per row: sorted (binary search) or not (counted)
  std::vector<int64_t> m_scale, m_add; // per channel (ScaleShift)
  std::vector<int> m_shift;
};

/// Runs one layer of the graph IR bit-exactly: inputs in port order. Weighted layers apply their
/// requantiser (Requant::None saturates the accumulator into l.out).
Tensor runLayer(const graph::Layer& l, const std::vector<const Tensor*>& inputs, const LayerParams& p);

} // namespace mpsim::func
