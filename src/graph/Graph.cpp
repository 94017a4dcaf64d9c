#include "mpsim/graph/Graph.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <queue>
#include <set>
#include <stdexcept>

#include "mpsim/common/Error.hpp"

namespace mpsim::graph {

Layer& Graph::add(Layer layer) {
  m_finalized = false;
  m_layers.push_back(std::move(layer));
  return m_layers.back();
}

const Layer* Graph::find(const std::string& name) const {
  auto it = m_index.find(name);
  if (it != m_index.end()) return &m_layers[it->second];
  for (const auto& l : m_layers)
    if (l.name == name) return &l;
  return nullptr;
}

Layer* Graph::find(const std::string& name) { return const_cast<Layer*>(static_cast<const Graph*>(this)->find(name)); }

const Layer& Graph::at(const std::string& name) const {
  const Layer* l = find(name);
  if (!l) throw std::out_of_range("no layer named '" + name + "' in " + m_name);
  return *l;
}

int Graph::indexOf(const std::string& name) const {
  auto it = m_index.find(name);
  return it == m_index.end() ? -1 : it->second;
}

std::vector<std::string> Graph::consumers(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& l : m_layers)
    for (const auto& i : l.inputs)
      if (i == name) {
        out.push_back(l.name);
        break;
      }
  return out;
}

std::vector<const Layer*> Graph::weightedLayers() const {
  std::vector<const Layer*> out;
  for (const auto& l : m_layers)
    if (l.isWeighted()) out.push_back(&l);
  return out;
}

namespace {
constexpr int kMaxActivationBits = 32; // widest activation type a network may declare

std::string where(const Graph& g, const Layer& l) {
  std::string s = g.source();
  if (l.line > 0) s += ":" + std::to_string(l.line);
  return s + ": layer '" + l.name + "' (" + toString(l.kind) + ")";
}

std::string numText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

int64_t windowOut(int64_t in, int k, int stride, int pad, int dil) {
  int64_t eff = int64_t(dil) * (k - 1) + 1;
  if (in + 2 * pad < eff) return 0;
  return (in + 2 * pad - eff) / stride + 1;
}

size_t expectedInputs(LayerKind k) {
  switch (k) {
  case LayerKind::Input: return 0;
  case LayerKind::Add: return 2;
  case LayerKind::Concat: return SIZE_MAX; // two or more
  default: return 1;
  }
}
} // namespace

namespace {
// Sizes and geometry within the limits of Layer.hpp; products in double so that nothing overflows
// before it is checked. Returns false (after reporting) when the layer cannot be sized.
bool sizesOk(const Shape& s, const std::function<void(const std::string&)>& err, const char* what) {
  for (int64_t d : {s.c, s.h, s.w})
    if (d > kMaxDim) {
      err(std::string(what) + " " + s.str() + " has a dimension above the limit of " + std::to_string(kMaxDim));
      return false;
    }
  const double elems = double(s.c) * double(s.h) * double(s.w);
  if (elems > double(kMaxTensorElements)) {
    err(std::string(what) + " " + s.str() + " has " + numText(elems) + " elements, above the limit of " +
        std::to_string(kMaxTensorElements));
    return false;
  }
  return true;
}

bool geometryOk(const Layer& l, const std::function<void(const std::string&)>& err) {
  if (l.kh > kMaxDim || l.kw > kMaxDim) {
    err("kernel " + std::to_string(l.kh) + "x" + std::to_string(l.kw) + " is above the limit of " +
        std::to_string(kMaxDim));
    return false;
  }
  if (l.stride_h > kMaxStrideOrDilation || l.stride_w > kMaxStrideOrDilation || l.dil_h > kMaxStrideOrDilation ||
      l.dil_w > kMaxStrideOrDilation) {
    err("stride and dilation must be at most " + std::to_string(kMaxStrideOrDilation));
    return false;
  }
  // Padding beyond the window's extent makes outputs that see only padding: never meant.
  const int64_t effH = int64_t(l.dil_h) * (l.kh - 1) + 1, effW = int64_t(l.dil_w) * (l.kw - 1) + 1;
  if (l.pad_h > effH - 1 || l.pad_w > effW - 1) {
    err("padding " + std::to_string(l.pad_h) + "x" + std::to_string(l.pad_w) + " exceeds the window extent - 1 (" +
        std::to_string(effH - 1) + "x" + std::to_string(effW - 1) + "): outputs would see only padding");
    return false;
  }
  return true;
}
} // namespace

void Graph::inferLayer(Layer& l, std::vector<std::string>& errors) const {
  auto err = [&](const std::string& m) { errors.push_back(where(*this, l) + ": " + m); };
  const auto& in = l.in_shapes;
  Shape out;
  if ((l.kind == LayerKind::Conv || l.kind == LayerKind::MaxPool || l.kind == LayerKind::AvgPool) && l.kh >= 1 &&
      l.kw >= 1 && l.stride_h >= 1 && l.stride_w >= 1 && l.dil_h >= 1 && l.dil_w >= 1 && l.pad_h >= 0 && l.pad_w >= 0 &&
      !geometryOk(l, err))
    return;
  if ((l.kind == LayerKind::Conv || l.kind == LayerKind::FullyConnected) && l.out_channels > kMaxDim) {
    err("out_channels " + std::to_string(l.out_channels) + " is above the limit of " + std::to_string(kMaxDim));
    return;
  }
  switch (l.kind) {
  case LayerKind::Input:
    out = l.out_shape;
    if (out.c <= 0 || out.h <= 0 || out.w <= 0)
      err("input shape must be positive (C, H, W), got " + out.str());
    else if (!sizesOk(out, err, "input shape")) {
      l.out_shape = Shape{1, 0, 0, 0};
      return;
    }
    break;
  case LayerKind::Output:
  case LayerKind::Fork:
  case LayerKind::Quantizer: out = in[0]; break;
  case LayerKind::Flatten: out = Shape{1, in[0].c * in[0].h * in[0].w, 1, 1}; break;
  case LayerKind::Conv: {
    if (l.kh < 1 || l.kw < 1 || l.stride_h < 1 || l.stride_w < 1 || l.dil_h < 1 || l.dil_w < 1 || l.pad_h < 0 ||
        l.pad_w < 0) {
      err("kernel, stride and dilation must be >= 1 and padding >= 0");
      return;
    }
    if (l.out_channels <= 0) {
      err("out_channels must be positive");
      return;
    }
    if (l.groups < 1 || in[0].c % l.groups != 0 || l.out_channels % l.groups != 0) {
      err("groups=" + std::to_string(l.groups) + " must divide both input channels (" + std::to_string(in[0].c) +
          ") and out_channels (" + std::to_string(l.out_channels) + ")");
      return;
    }
    out = Shape{1, l.out_channels, windowOut(in[0].h, l.kh, l.stride_h, l.pad_h, l.dil_h),
                windowOut(in[0].w, l.kw, l.stride_w, l.pad_w, l.dil_w)};
    if (out.h <= 0 || out.w <= 0)
      err("kernel " + std::to_string(l.kh) + "x" + std::to_string(l.kw) + " does not fit the input " + in[0].str());
    break;
  }
  case LayerKind::FullyConnected:
    if (l.out_channels <= 0) {
      err("out_features must be positive");
      return;
    }
    out = Shape{1, l.out_channels, 1, 1};
    break;
  case LayerKind::MaxPool:
  case LayerKind::AvgPool:
    if (l.kh < 1 || l.kw < 1 || l.stride_h < 1 || l.stride_w < 1 || l.pad_h < 0 || l.pad_w < 0) {
      err("kernel and stride must be >= 1 and padding >= 0");
      return;
    }
    out = Shape{1, in[0].c, windowOut(in[0].h, l.kh, l.stride_h, l.pad_h, l.dil_h),
                windowOut(in[0].w, l.kw, l.stride_w, l.pad_w, l.dil_w)};
    if (out.h <= 0 || out.w <= 0) err("pooling window does not fit the input " + in[0].str());
    break;
  case LayerKind::GlobalAvgPool: out = Shape{1, in[0].c, 1, 1}; break;
  case LayerKind::Add:
    if (in[0] != in[1]) err("inputs have different shapes: " + in[0].str() + " and " + in[1].str());
    out = in[0];
    break;
  case LayerKind::LabelSelect: {
    // Top-k over C class scores: one score vector per frame. The output is the k class indices,
    // unsigned, wide enough for index C - 1.
    const Shape& x = in[0];
    if (x.h != 1 || x.w != 1) {
      err("input " + x.str() +
          " is not a vector of class scores (C x 1 x 1); put a flatten (or a "
          "global_avgpool) before it");
      return;
    }
    if (l.topk < 1 || l.topk > x.c) {
      err("k = " + std::to_string(l.topk) + " is outside 1.." + std::to_string(x.c) + " (the " + std::to_string(x.c) +
          " class scores of its input)");
      return;
    }
    int bits = 0;
    while ((int64_t(1) << bits) < x.c) ++bits;
    l.out = ActType{std::max(1, bits), false};
    out = Shape{1, l.topk, 1, 1};
    break;
  }
  case LayerKind::Concat: {
    out = in[0];
    for (size_t i = 1; i < in.size(); ++i) {
      if (in[i].h != in[0].h || in[i].w != in[0].w)
        err("concat inputs must agree in H and W: " + in[0].str() + " vs " + in[i].str());
      out.c += in[i].c;
    }
    break;
  }
  }
  if (out.elements() > 0 && !sizesOk(out, err, "output shape")) {
    l.out_shape = Shape{1, 0, 0, 0};
    return;
  }
  if (l.isWeighted() && out.elements() > 0 && !in.empty()) {
    const Shape& x = in[0];
    const double dot = l.kind == LayerKind::Conv ? double(l.kh) * double(l.kw) * double(x.c / std::max(1, l.groups))
                                                 : double(x.c) * double(x.h) * double(x.w);
    const double weights = dot * double(l.out_channels), macs = weights * double(out.h) * double(out.w);
    if (weights > double(kMaxLayerWeights)) {
      err(std::to_string(int64_t(weights)) + " weights exceed the limit of " + std::to_string(kMaxLayerWeights) +
          " per layer");
      l.out_shape = Shape{1, 0, 0, 0};
      return;
    }
    if (macs > double(kMaxLayerMacs)) {
      err(numText(macs) + " MACs per frame exceed the limit of " + std::to_string(kMaxLayerMacs) + " per layer");
      l.out_shape = Shape{1, 0, 0, 0};
      return;
    }
  }
  l.out_shape = out;
}

void Graph::finalize() {
  std::vector<std::string> errors;
  // Unique names.
  std::map<std::string, int> index;
  for (size_t i = 0; i < m_layers.size(); ++i) {
    const Layer& l = m_layers[i];
    if (l.name.empty())
      errors.push_back(m_source + ": layer #" + std::to_string(i) + " has no name");
    else if (!index.emplace(l.name, int(i)).second)
      errors.push_back(where(*this, l) + ": duplicate layer name");
  }
  // Edges and arity.
  for (const auto& l : m_layers) {
    size_t want = expectedInputs(l.kind);
    if (want == SIZE_MAX) {
      if (l.inputs.size() < 2) errors.push_back(where(*this, l) + ": needs at least two inputs");
    } else if (l.inputs.size() != want) {
      errors.push_back(where(*this, l) + ": needs " + std::to_string(want) + " input(s), has " +
                       std::to_string(l.inputs.size()));
    }
    for (const auto& i : l.inputs) {
      if (!index.count(i))
        errors.push_back(where(*this, l) + ": input '" + i + "' is not a layer of this network (dangling edge)");
      else if (i == l.name)
        errors.push_back(where(*this, l) + ": reads its own output (cycle)");
    }
  }
  if (!errors.empty()) throw LoadError(errors);

  // Kahn's algorithm; ties broken by insertion order so the order is deterministic.
  size_t n = m_layers.size();
  std::vector<int> indeg(n, 0);
  std::vector<std::vector<int>> succ(n);
  for (size_t i = 0; i < n; ++i)
    for (const auto& in : m_layers[i].inputs) {
      succ[index[in]].push_back(int(i));
      ++indeg[i];
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i)
    if (indeg[i] == 0) ready.push(int(i));
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int s : succ[i])
      if (--indeg[s] == 0) ready.push(s);
  }
  if (order.size() != n) {
    std::string names;
    for (size_t i = 0; i < n; ++i)
      if (indeg[i] > 0) names += (names.empty() ? "" : ", ") + m_layers[i].name;
    throw LoadError(m_source + ": the network has a cycle through layers: " + names);
  }
  std::vector<Layer> sorted;
  sorted.reserve(n);
  for (int i : order) sorted.push_back(std::move(m_layers[i]));
  m_layers = std::move(sorted);
  m_index.clear();
  for (size_t i = 0; i < n; ++i) m_index[m_layers[i].name] = int(i);

  // An input read only by flattens is written by the host already flattened (FINN's driver moves
  // that reshape to the host): the input DMA streams it as one token of C*H*W values.
  for (auto& l : m_layers) {
    if (l.kind != LayerKind::Input) continue;
    const std::vector<std::string> readers = consumers(l.name);
    l.host_flattened = !readers.empty() && std::all_of(readers.begin(), readers.end(), [&](const std::string& r) {
      return m_layers[size_t(m_index.at(r))].kind == LayerKind::Flatten;
    });
  }

  bool hasInput = false;
  for (auto& l : m_layers) {
    if (l.kind == LayerKind::Input) hasInput = true;
    l.in_shapes.clear();
    l.in_types.clear();
    bool inputsOk = true;
    for (const auto& i : l.inputs) {
      const Layer& p = m_layers[m_index[i]];
      if (p.out_shape.elements() <= 0) inputsOk = false;
      l.in_shapes.push_back(p.out_shape);
      l.in_types.push_back(p.out);
    }
    if (!l.inputs.empty()) {
      const Layer& p0 = m_layers[m_index[l.inputs[0]]];
      l.in = p0.out;
      const Layer* src = &p0;
      while (src->kind == LayerKind::Flatten && !src->inputs.empty()) src = &m_layers[m_index[src->inputs[0]]];
      l.stream_in = src->kind == LayerKind::Input && src->host_flattened ? p0.out_shape : src->out_shape;
      // Layers that do not requantise pass their input type through.
      if (l.kind == LayerKind::MaxPool || l.kind == LayerKind::Fork || l.kind == LayerKind::Flatten ||
          l.kind == LayerKind::Output)
        l.out = l.in;
      if (l.kind == LayerKind::Concat) {
        // The narrowest type that holds every input's values, computed from the inputs only (not
        // from the layer's own stored width), so re-finalizing after quant rules is exact:
        // bipolar if all inputs are; else signed if any input is signed or bipolar, with
        // bits = max(signed bits, unsigned bits + 1, 2 for bipolar {-1, +1}); else unsigned.
        bool allBipolar = true, anySigned = false;
        int ubits = 0, sbits = 0;
        std::string types;
        for (const auto& i : l.inputs) {
          const Layer& p = m_layers[m_index[i]];
          types += (types.empty() ? "" : ", ") + p.out.str() + " ('" + p.name + "')";
          allBipolar = allBipolar && p.out.bipolar;
          if (p.out.bipolar)
            sbits = std::max(sbits, 2);
          else if (p.out.is_signed)
            sbits = std::max(sbits, p.out.bits);
          else
            ubits = std::max(ubits, p.out.bits);
          anySigned = anySigned || p.out.is_signed;
        }
        if (allBipolar)
          l.out = ActType::makeBipolar();
        else if (anySigned)
          l.out = ActType{std::max(sbits, ubits + (ubits > 0 ? 1 : 0)), true};
        else
          l.out = ActType{ubits, false};
        if (l.out.bits > kMaxActivationBits) {
          errors.push_back(where(*this, l) + ": no activation type of at most " + std::to_string(kMaxActivationBits) +
                           " bits holds the values of all inputs (" + types + "): their concatenation needs " +
                           l.out.str() + "; narrow the unsigned inputs or make them signed");
          l.out = ActType{kMaxActivationBits, true};
        }
      }
    }
    if (!inputsOk) {
      l.out_shape = Shape{1, 0, 0, 0};
      continue;
    } // error already reported upstream
    inferLayer(l, errors);
    // Bit-width checks.
    auto checkBits = [&](int b, const std::string& what) {
      if (b < 1 || b > kMaxActivationBits)
        errors.push_back(where(*this, l) + ": " + what + " = " + std::to_string(b) + " is outside 1.." +
                         std::to_string(kMaxActivationBits));
    };
    checkBits(l.out.bits, "output activation bits");
    if (l.out.bipolar && (l.out.bits != 1 || !l.out.is_signed))
      errors.push_back(where(*this, l) + ": bipolar activations are 1 bit (values -1 and +1), got " + l.out.str());
    // Bipolar values are stored as bits (1 = +1): only layers that decode them (conv, fc, a concat
    // with a signed output) or move them unchanged (max, fork, concat of bipolar tensors, flatten)
    // may read them.
    for (size_t p = 0; p < l.inputs.size(); ++p) {
      const Layer& src = m_layers[m_index[l.inputs[p]]];
      if (!src.out.bipolar) continue;
      bool ok = l.isWeighted() || l.kind == LayerKind::MaxPool || l.kind == LayerKind::Fork ||
                l.kind == LayerKind::Flatten || l.kind == LayerKind::Output || l.kind == LayerKind::Concat;
      if (!ok) {
        errors.push_back(where(*this, l) + ": input '" + src.name + "' carries bipolar activations, which a " +
                         toString(l.kind) + " layer cannot read (conv, fc, maxpool, fork, flatten and concat can)");
        break;
      }
    }
    if (l.out.bipolar && l.isWeighted() && l.requant != Requant::Thresholds)
      errors.push_back(where(*this, l) +
                       ": bipolar outputs need requant: thresholds (one threshold per channel), not " +
                       toString(l.requant));
    if (l.isWeighted()) {
      checkBits(l.weight_bits, "weight bits");
      if (!l.channel_bits.empty()) {
        if (int64_t(l.channel_bits.size()) != l.out_channels)
          errors.push_back(where(*this, l) + ": per-channel weight bits list has " +
                           std::to_string(l.channel_bits.size()) + " entries, the layer has " +
                           std::to_string(l.out_channels) + " output channels");
        for (size_t c = 0; c < l.channel_bits.size(); ++c)
          if (l.channel_bits[c] < 1 || l.channel_bits[c] > 32) {
            checkBits(l.channel_bits[c], "weight bits of channel " + std::to_string(c));
            break;
          }
      }
      if (l.weight_type == WeightType::Bipolar && l.maxWeightBits() != 1)
        errors.push_back(where(*this, l) + ": bipolar weights must be 1 bit, got " + std::to_string(l.maxWeightBits()));
      if (l.acc_bits_given != 0 && (l.acc_bits_given < 1 || l.acc_bits_given > 64))
        errors.push_back(where(*this, l) + ": acc_bits = " + std::to_string(l.acc_bits_given) + " is outside 1..64");
    }
  }
  if (!hasInput) errors.push_back(m_source + ": the network has no input layer");
  if (!errors.empty()) throw LoadError(errors);
  m_finalized = true;
}

// ---- GraphBuilder ----

Layer& GraphBuilder::layer(const std::string& name, LayerKind kind, std::vector<std::string> ins) {
  Layer l;
  l.name = name;
  l.kind = kind;
  l.inputs = std::move(ins);
  if (l.isWeighted()) l.weight_bits = 8;
  return m_g.add(std::move(l));
}

std::string GraphBuilder::input(const std::string& name, int64_t c, int64_t h, int64_t w, int bits, bool isSigned) {
  Layer& l = layer(name, LayerKind::Input, {});
  l.out_shape = Shape{1, c, h, w};
  l.out = ActType{bits, isSigned};
  return name;
}

std::string GraphBuilder::conv(const std::string& name, const std::string& in, int64_t k, int kernel, int stride,
                               int pad, int groups, int dilation) {
  Layer& l = layer(name, LayerKind::Conv, {in});
  l.out_channels = k;
  l.weight_bits = 8;
  l.kh = l.kw = kernel;
  l.stride_h = l.stride_w = stride;
  l.pad_h = l.pad_w = pad;
  l.groups = groups;
  l.dil_h = l.dil_w = dilation;
  return name;
}

std::string GraphBuilder::fc(const std::string& name, const std::string& in, int64_t outFeatures) {
  Layer& l = layer(name, LayerKind::FullyConnected, {in});
  l.out_channels = outFeatures;
  l.weight_bits = 8;
  return name;
}

std::string GraphBuilder::maxPool(const std::string& name, const std::string& in, int kernel, int stride, int pad) {
  Layer& l = layer(name, LayerKind::MaxPool, {in});
  l.kh = l.kw = kernel;
  l.stride_h = l.stride_w = stride;
  l.pad_h = l.pad_w = pad;
  return name;
}

std::string GraphBuilder::avgPool(const std::string& name, const std::string& in, int kernel, int stride, int pad) {
  Layer& l = layer(name, LayerKind::AvgPool, {in});
  l.kh = l.kw = kernel;
  l.stride_h = l.stride_w = stride;
  l.pad_h = l.pad_w = pad;
  return name;
}

std::string GraphBuilder::globalAvgPool(const std::string& name, const std::string& in) {
  layer(name, LayerKind::GlobalAvgPool, {in});
  return name;
}

std::string GraphBuilder::add(const std::string& name, const std::string& a, const std::string& b) {
  layer(name, LayerKind::Add, {a, b});
  return name;
}

std::string GraphBuilder::fork(const std::string& name, const std::string& in) {
  layer(name, LayerKind::Fork, {in});
  return name;
}

std::string GraphBuilder::concat(const std::string& name, const std::vector<std::string>& ins) {
  layer(name, LayerKind::Concat, ins);
  return name;
}

std::string GraphBuilder::flatten(const std::string& name, const std::string& in) {
  layer(name, LayerKind::Flatten, {in});
  return name;
}

std::string GraphBuilder::quantizer(const std::string& name, const std::string& in, int bits) {
  layer(name, LayerKind::Quantizer, {in}).out.bits = bits;
  return name;
}

std::string GraphBuilder::labelSelect(const std::string& name, const std::string& in, int k) {
  layer(name, LayerKind::LabelSelect, {in}).topk = k;
  return name;
}

std::string GraphBuilder::output(const std::string& name, const std::string& in) {
  layer(name, LayerKind::Output, {in});
  return name;
}

} // namespace mpsim::graph
