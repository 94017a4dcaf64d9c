#include "mpsim/graph/Layer.hpp"

#include <algorithm>
#include <cmath>

namespace mpsim::graph {

std::string Shape::str() const {
  return std::to_string(n) + "x" + std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

std::string ActType::str() const {
  if (bipolar) return "bipolar";
  return (is_signed ? "int" : "uint") + std::to_string(bits);
}
int64_t ActType::valueMin() const {
  if (bipolar) return -1;
  return is_signed ? -(int64_t{1} << (bits - 1)) : 0;
}
int64_t ActType::valueMax() const {
  if (bipolar) return 1;
  return is_signed ? (int64_t{1} << (bits - 1)) - 1 : (int64_t{1} << bits) - 1;
}

namespace {
struct KindName {
  LayerKind kind;
  const char* name;
};
constexpr KindName kKindNames[] = {
    {LayerKind::Input, "input"},
    {LayerKind::Output, "output"},
    {LayerKind::Conv, "conv"},
    {LayerKind::FullyConnected, "fc"},
    {LayerKind::MaxPool, "maxpool"},
    {LayerKind::AvgPool, "avgpool"},
    {LayerKind::GlobalAvgPool, "global_avgpool"},
    {LayerKind::Add, "add"},
    {LayerKind::Fork, "fork"},
    {LayerKind::Concat, "concat"},
    {LayerKind::Flatten, "flatten"},
    {LayerKind::Quantizer, "quantizer"},
    {LayerKind::LabelSelect, "labelselect"},
    {LayerKind::LabelSelect, "topk"}, // alias (ONNX TopK); toString gives the first spelling
};
} // namespace

const char* toString(LayerKind k) {
  for (const auto& kn : kKindNames)
    if (kn.kind == k) return kn.name;
  return "?";
}

std::optional<LayerKind> parseLayerKind(const std::string& s) {
  for (const auto& kn : kKindNames)
    if (s == kn.name) return kn.kind;
  return std::nullopt;
}

std::string layerKindSpellings() {
  std::string out;
  for (const auto& kn : kKindNames) {
    if (!out.empty()) out += ", ";
    out += kn.name;
  }
  return out;
}

Window Window::of(const Layer& l) {
  return Window{l.kh, l.kw, l.stride_h, l.stride_w, l.pad_h, l.pad_w, l.dil_h, l.dil_w};
}

bool Layer::isDepthwise() const {
  return kind == LayerKind::Conv && groups > 1 && !in_shapes.empty() && groups == in_shapes[0].c &&
         out_channels == in_shapes[0].c;
}

int64_t Layer::dotLength() const {
  if (in_shapes.empty()) return 0;
  const Shape& i = in_shapes[0];
  if (kind == LayerKind::Conv) return int64_t(kh) * kw * (i.c / groups);
  if (kind == LayerKind::FullyConnected) return i.c * i.h * i.w;
  return 0;
}

int64_t Layer::macs() const {
  if (!isWeighted()) return 0;
  return dotLength() * out_channels * out_shape.h * out_shape.w;
}

int64_t Layer::weightCount() const {
  if (!isWeighted()) return 0;
  return dotLength() * out_channels;
}

int64_t Layer::weightMemoryBits() const {
  if (!isWeighted()) return 0;
  if (channel_bits.empty()) return weightCount() * weight_bits;
  int64_t bits = 0;
  for (int b : channel_bits) bits += b;
  return bits * dotLength();
}

int Layer::maxWeightBits() const {
  if (channel_bits.empty()) return weight_bits;
  return *std::max_element(channel_bits.begin(), channel_bits.end());
}

std::vector<int64_t> Layer::hardwareKey() const {
  std::vector<int64_t> k = {int64_t(kind), kh,        kw,           stride_h,         stride_w,          pad_h,
                            pad_w,         dil_h,     dil_w,        groups,           out_channels,      concat_axis,
                            topk,          weight_bits, int64_t(weight_type), int64_t(requant), int64_t(requant_auto), acc_bits_given,
                            int64_t(channel_bits.size())};
  k.insert(k.end(), channel_bits.begin(), channel_bits.end());
  auto shape = [&](const Shape& s) { k.insert(k.end(), {s.n, s.c, s.h, s.w}); };
  auto act = [&](const ActType& a) { k.insert(k.end(), {a.bits, int64_t(a.is_signed), int64_t(a.bipolar)}); };
  act(out);
  shape(out_shape);
  shape(stream_in);
  k.push_back(int64_t(in_shapes.size()));
  for (const Shape& s : in_shapes) shape(s);
  k.push_back(int64_t(in_types.size()));
  for (const ActType& a : in_types) act(a);
  act(in);
  return k;
}

int Layer::accBits() const {
  if (acc_bits_given > 0) return acc_bits_given;
  if (!isWeighted()) return 0;
  // |w| < 2^(W-1) (signed) or 2^W (unsigned), bipolar |w| = 1; |a| < 2^(A-signed(A)).
  int wmag = weight_type == WeightType::Bipolar
                 ? 1
                 : (weight_type == WeightType::Signed ? maxWeightBits() - 1 : maxWeightBits());
  int amag = in.bits - (in.is_signed ? 1 : 0);
  int64_t mw = std::max<int64_t>(1, dotLength());
  int sumBits = int(std::ceil(std::log2(double(mw))));
  if (weight_type == WeightType::Bipolar) wmag = 0; // |w| = 1 = 2^0
  bool resultSigned = weight_type != WeightType::Unsigned || in.is_signed;
  return wmag + amag + sumBits + (resultSigned ? 1 : 0);
}

} // namespace mpsim::graph
