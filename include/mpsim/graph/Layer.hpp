#pragma once
// Layers of the quantized graph IR. Dimension names follow the usual CNN convention:
// C input channels, K output channels (out_channels), R x S kernel (kh x kw), P x Q output (h x w).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mpsim/common/EnumNames.hpp"

namespace mpsim::graph {

/// Size limits of a network, checked by Graph::finalize() so that every size computed from a shape
/// fits 64-bit integers (docs/network-format.md, "Limits"). One home: importers and readers rely
/// on finalize() for these.
inline constexpr int64_t kMaxDim = int64_t(1) << 24;            // C, H, W of any tensor; K; kernel side
inline constexpr int64_t kMaxTensorElements = int64_t(1) << 32; // C*H*W of any tensor
inline constexpr int64_t kMaxLayerWeights = int64_t(1) << 32;   // weights of one layer
inline constexpr int64_t kMaxLayerMacs = int64_t(1) << 48;      // MACs of one layer per frame
inline constexpr int kMaxStrideOrDilation = 1 << 12;

/// Tensor shape (N, C, H, W). N is the batch and is 1 throughout mpsim: frames stream one after another.
struct Shape {
  int64_t n = 1, c = 0, h = 0, w = 0;
  int64_t elements() const { return n * c * h * w; }
  int64_t pixels() const { return h * w; }
  bool operator==(const Shape& o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::string str() const; // "1x64x56x56"
};

enum class LayerKind {
  Input,
  Output,
  Conv,
  FullyConnected,
  MaxPool,
  AvgPool,
  GlobalAvgPool,
  Add,
  Fork,
  Concat,
  Flatten,
  Quantizer,
  LabelSelect
};
const char* toString(LayerKind k);
/// Parses the YAML/CLI spelling ("conv", "fc", "maxpool", ...; "topk" is another spelling of
/// "labelselect"). Returns nullopt when unknown.
std::optional<LayerKind> parseLayerKind(const std::string& s);
/// Every spelling parseLayerKind accepts, comma separated (for error messages).
std::string layerKindSpellings();

enum class WeightType { Signed, Unsigned, Bipolar };
inline constexpr EnumName<WeightType> kWeightTypeNames[] = {
    {WeightType::Signed, "signed"}, {WeightType::Unsigned, "unsigned"}, {WeightType::Bipolar, "bipolar"}};
inline const char* toString(WeightType t) { return enumName(kWeightTypeNames, t); }
inline std::optional<WeightType> parseWeightType(const std::string& s) { return parseEnum(kWeightTypeNames, s); }

/// How a layer turns its wide accumulator back into narrow activations.
enum class Requant { None, Thresholds, ScaleShift };
inline constexpr EnumName<Requant> kRequantNames[] = {
    {Requant::None, "none"}, {Requant::Thresholds, "thresholds"}, {Requant::ScaleShift, "scale_shift"}};
inline const char* toString(Requant r) { return enumName(kRequantNames, r); }
inline std::optional<Requant> parseRequant(const std::string& s) { return parseEnum(kRequantNames, s); }

/// Bits and signedness of an activation tensor. Bipolar activations (FINN's BIPOLAR: values -1 and
/// +1, stored as one bit, 1 = +1) have bits 1 and is_signed true.
struct ActType {
  int bits = 8;
  bool is_signed = false;
  bool bipolar = false;
  static ActType makeBipolar() { return ActType{1, true, true}; }
  bool operator==(const ActType& o) const { return bits == o.bits && is_signed == o.is_signed && bipolar == o.bipolar; }
  bool operator!=(const ActType& o) const { return !(*this == o); }
  std::string str() const; // "uint4", "int8", "bipolar"
  /// Range of the values (bipolar: -1 and +1), for any width 1..32.
  int64_t valueMin() const;
  int64_t valueMax() const;
  /// Thresholds per channel of a thresholds requantiser producing this type: 2^bits - 1 (bipolar: 1).
  int64_t thresholdCount() const { return bipolar ? 1 : valueMax() - valueMin(); }
};

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::Conv;
  std::vector<std::string> inputs; // producer layer names, in port order

  // Geometry (conv and pooling windows).
  int kh = 1, kw = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0; // symmetric padding, each side
  int dil_h = 1, dil_w = 1;
  int groups = 1;           // conv: groups == C == K means depthwise
  int64_t out_channels = 0; // conv: K; fully connected: output features
  int concat_axis = 1;      // concat: channels (only C is supported)
  int topk = 1;             // labelselect: k, the number of class indices per frame (1..C)

  // Quantisation. Weighted layers: weight bits/type, optional per-output-channel widths.
  int weight_bits = 0;
  WeightType weight_type = WeightType::Signed;
  std::vector<int> channel_bits; // empty, or one width per output channel (channel-wise quantisation)
  ActType out;                   // output activation type (what the fused requantiser produces)
  Requant requant = Requant::Thresholds;
  // conv / fc: the scheduler chooses thresholds or scale_shift (network.quant `requant: auto`);
  // `requant` holds the choice once mapped (flow::map), thresholds before.
  bool requant_auto = false;
  int acc_bits_given = 0; // 0: derived

  // Quantizer layers (thresholds): number of thresholds per channel is 2^out.bits - 1.

  // Functional simulation: integer parameters from .npy files (paths resolved when loaded); empty:
  // generated from the seed. Weights (K, C/groups, K_h, K_w) or (K, MW) as stored integers
  // (bipolar: 1 = +1, 0 = -1); thresholds (K, 2^B - 1), sorted per channel.
  std::string weights_file, thresholds_file;
  // The same parameters held in memory (ONNX import: initialiser values); they take precedence over
  // the files. Weights in the layout above; thresholds row-major (channels, 2^B - 1). Shared and
  // immutable, so copying a graph stays cheap.
  std::shared_ptr<const std::vector<int32_t>> weight_values;
  std::shared_ptr<const std::vector<int64_t>> threshold_values;
  // Input layers: quantiser of a float network input (ONNX import, or `input.thresholds_file`): rows
  // of 2^B - 1 sorted thresholds on the float input values, one row for all channels or one per
  // channel; the integer is the lowest level plus the number of thresholds reached.
  std::shared_ptr<const std::vector<double>> input_thresholds;

  // Filled in by Graph::finalize().
  Shape out_shape;
  std::vector<Shape> in_shapes;
  Shape stream_in;               // shape of port 0's stream: in_shapes[0] before any flatten (flatten only re-indexes),
                                 // except behind a host-flattened input (its flattened shape)
  bool host_flattened = false;   // input layers read only by flattens: the host writes the flattened tensor
  ActType in;                    // activation type of input port 0
  std::vector<ActType> in_types; // activation type of every input port (in_types[0] == in)
  int line = 0;                  // source line in a network YAML (0: built in)

  bool isWeighted() const { return kind == LayerKind::Conv || kind == LayerKind::FullyConnected; }
  bool isDepthwise() const;
  /// MW: length of one dot product (K_h*K_w*C/groups, or input features).
  int64_t dotLength() const;
  /// MACs per frame.
  int64_t macs() const;
  /// Weight count (no bias).
  int64_t weightCount() const;
  /// Parameter memory in bits, honouring per-channel widths.
  int64_t weightMemoryBits() const;
  /// Widest weight in the layer (the datapath width).
  int maxWeightBits() const;
  /// Accumulator width: given, or derived so that a full dot product cannot overflow.
  int accBits() const;
  /// Every field that decides how the layer is built in hardware: all but the name, the inputs'
  /// names, the parameter values and files, and the source line. Layers with equal keys have the
  /// same engines, cycles and resources for the same mapping (the scheduler builds their options
  /// once). A field added above that changes hardware belongs in it.
  std::vector<int64_t> hardwareKey() const;
};

/// A sliding window: kernel, stride, padding (each side) and dilation. The one window-geometry type
/// of the model: the pooling and convolution kernels (func/) and the engines' need functions
/// (sched::WindowGeom adds the image sizes) use it.
struct Window {
  int kh = 1, kw = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  static Window of(const Layer& l);
};

} // namespace mpsim::graph
