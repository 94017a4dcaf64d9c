#include "mpsim/sim/Functional.hpp"

#include "mpsim/common/Progress.hpp"
#include "mpsim/sched/Engines.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/func/Npy.hpp"

namespace mpsim::sim {
using graph::Layer;
using graph::LayerKind;
using graph::Shape;
using sched::EngineKind;

namespace {

// splitmix64: small, portable and deterministic (the same seed gives the same weights everywhere).
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  int64_t uniform(int64_t lo, int64_t hi) { return lo + int64_t(next() % uint64_t(hi - lo + 1)); }
  double unit() { return double(next() >> 11) * 0x1.0p-53; }
};

constexpr int64_t kCalibrationFrames = 8;

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

Rng layerRng(uint64_t seed, const std::string& name) { return Rng(seed * 0x2545F4914F6CDD1Dull ^ fnv1a(name)); }

// Per-channel values of a (N, C, H, W) tensor (all frames and pixels of each channel), unsorted.
template <typename T> std::vector<std::vector<int64_t>> channelValues(const func::BasicTensor<T>& t) {
  const Shape& s = t.shape();
  std::vector<std::vector<int64_t>> v(static_cast<size_t>(s.c));
  const int64_t plane = s.h * s.w;
  for (auto& x : v) x.reserve(size_t(s.n * plane));
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t i = 0; i < plane; ++i) v[size_t(c)].push_back(int64_t(t.data()[(n * s.c + c) * plane + i]));
  return v;
}

// The values at the given ranks (ascending, repeats allowed) of v as if v were sorted: order
// statistics by recursive selection (nth_element at the middle rank, then each side), O(n log k)
// instead of a full sort.
void selectRanks(std::vector<int64_t>& v, size_t first, size_t last, const std::vector<size_t>& ranks, size_t lo,
                 size_t hi, std::vector<int64_t>& out) {
  if (lo >= hi) return;
  const size_t mid = lo + (hi - lo) / 2, r = ranks[mid];
  std::nth_element(v.begin() + std::ptrdiff_t(first), v.begin() + std::ptrdiff_t(r), v.begin() + std::ptrdiff_t(last));
  size_t a = mid, b = mid + 1; // ranks equal to r
  while (a > lo && ranks[a - 1] == r) --a;
  while (b < hi && ranks[b] == r) ++b;
  for (size_t k = a; k < b; ++k) out[k] = v[r];
  selectRanks(v, first, r, ranks, lo, a, out);
  selectRanks(v, r + 1, last, ranks, b, hi, out);
}

std::vector<int64_t> orderStatistics(std::vector<int64_t>& v, const std::vector<size_t>& ranks) {
  std::vector<int64_t> out(ranks.size());
  selectRanks(v, 0, v.size(), ranks, 0, ranks.size(), out);
  return out;
}

// T sorted thresholds per channel at random quantiles of the values the channel takes on the
// calibration frames, so that every output level occurs; clamped into [minV, maxV].
func::AccTensor quantileThresholds(Rng& rng, std::vector<std::vector<int64_t>> vals, int64_t T, int64_t minV,
                                   int64_t maxV) {
  const int64_t rows = int64_t(vals.size());
  func::AccTensor t(Shape{1, 1, rows, T});
  std::vector<size_t> ranks(static_cast<size_t>(T));
  std::vector<int> bump(static_cast<size_t>(T));
  for (int64_t r = 0; r < rows; ++r) {
    auto& v = vals[size_t(r)];
    int64_t* row = t.data() + r * T;
    for (int64_t i = 0; i < T; ++i) {
      // Stratified: threshold i falls in the i-th of T slices of the value distribution.
      double q = (double(i) + rng.unit()) / double(T);
      ranks[size_t(i)] = v.empty() ? 0 : std::min(v.size() - 1, size_t(q * double(v.size())));
      bump[size_t(i)] = int(rng.uniform(0, 1)); // ties: a threshold equal to a value counts it as reached
    }
    // ranks ascend with i (slice i lies below slice i + 1)
    const std::vector<int64_t> at = v.empty() ? std::vector<int64_t>(size_t(T), 0) : orderStatistics(v, ranks);
    for (int64_t i = 0; i < T; ++i) row[i] = std::clamp(at[size_t(i)] + bump[size_t(i)], minV, maxV);
    std::sort(row, row + T);
  }
  return t;
}

func::Tensor randomWeights(const Layer& l, Rng& rng) {
  const auto wts = func::weightTypes(l);
  const int64_t K = l.out_channels, per = l.dotLength();
  Shape ws = l.kind == LayerKind::Conv ? Shape{K, l.in_shapes[0].c / l.groups, l.kh, l.kw} : Shape{K, per, 1, 1};
  func::Tensor w(ws);
  for (int64_t k = 0; k < K; ++k) {
    const func::Operand& t = wts.size() == 1 ? wts[0] : wts[size_t(k)];
    for (int64_t i = 0; i < per; ++i) w[size_t(k * per + i)] = int32_t(rng.uniform(t.storedMin(), t.storedMax()));
  }
  return w;
}

// A parameter file of layer `l` named by `key` (weights_file, thresholds_file): its shape must be
// exactly `want` (no reinterpretation of the dimensions, unit dimensions included).
func::NpyArray readParamFile(const Layer& l, const std::string& key, const std::string& path,
                             const func::ParamShape& want, const std::string& extra = "") {
  func::NpyArray a = func::readNpy(path);
  if (a.shape != want.dims)
    throw LoadError(path + ": " + key + " of layer '" + l.name + "' (" + graph::toString(l.kind) + "): shape " +
                    func::npyShapeStr(a.shape) + ", expected " + func::npyShapeStr(want.dims) + " " + want.layout +
                    extra);
  return a;
}

// Weights given in memory (l.weight_values) or in l.weights_file: shape and the declared range per
// channel checked.
func::Tensor givenWeights(const Layer& l) {
  const std::string src = l.weight_values ? "layer '" + l.name + "' (weights from the model)" : l.weights_file;
  const int64_t K = l.out_channels, per = l.dotLength();
  func::Tensor w = l.weight_values
                       ? func::Tensor(Shape{1, 1, 1, int64_t(l.weight_values->size())}, *l.weight_values)
                       : func::toTensor(readParamFile(l, "weights_file", l.weights_file, func::weightsFileShape(l)));
  if (int64_t(w.size()) != K * per)
    throw LoadError(src + ": layer '" + l.name + "' needs " + std::to_string(K) + " x " + std::to_string(per) +
                    " weights (K, C/groups, K_h, K_w) or (K, MW); it has " + std::to_string(w.size()));
  w.reshape(l.kind == LayerKind::Conv ? Shape{K, l.in_shapes[0].c / l.groups, l.kh, l.kw} : Shape{K, per, 1, 1});
  const auto wts = func::weightTypes(l);
  for (int64_t k = 0; k < K; ++k) {
    const func::Operand& t = wts.size() == 1 ? wts[0] : wts[size_t(k)];
    for (int64_t i = 0; i < per; ++i) {
      const int64_t v = w[size_t(k * per + i)];
      if (v < t.storedMin() || v > t.storedMax())
        throw LoadError(src + ": weight [" + std::to_string(k) + ", " + std::to_string(i) + "] = " + std::to_string(v) +
                        " is outside " + t.str() + " (" + std::to_string(t.storedMin()) + ".." +
                        std::to_string(t.storedMax()) + ") of layer '" + l.name + "' channel " + std::to_string(k));
    }
  }
  return w;
}

// Thresholds given in memory or in a file: (channels, 2^B - 1) sorted per channel.
func::AccTensor givenThresholds(const Layer& l, int64_t channels) {
  const std::string src = l.threshold_values ? "layer '" + l.name + "' (thresholds from the model)" : l.thresholds_file;
  const int64_t T = func::actMax(l.out) - func::actMin(l.out);
  const std::string hint =
      " for its " + l.out.str() + " output (do network.quant rules in the run config change this layer's width?)";
  func::AccTensor t =
      l.threshold_values
          ? func::AccTensor(Shape{1, 1, 1, int64_t(l.threshold_values->size())}, *l.threshold_values)
          : func::toAccTensor(readParamFile(l, "thresholds_file", l.thresholds_file,
                                            func::ParamShape{{channels, T}, "(channels, 2^B - 1)"}, hint));
  if (int64_t(t.size()) != channels * T)
    throw LoadError(src + ": layer '" + l.name + "' needs " + std::to_string(channels) + " x " + std::to_string(T) +
                    " thresholds (channels, 2^B - 1)" + hint + "; it has " + std::to_string(t.size()));
  t.reshape(Shape{1, 1, channels, T});
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 1; i < T; ++i)
      if (t.data()[c * T + i] < t.data()[c * T + i - 1])
        throw LoadError(src + ": thresholds of channel " + std::to_string(c) + " of layer '" + l.name +
                        "' are not sorted (entry " + std::to_string(i) + ")");
  return t;
}

// Weights from the seed (or l.weights_file); thresholds (or l.thresholds_file) or scale/shift
// calibrated on the accumulators of x.
func::LayerParams weightedParams(const Layer& l, uint64_t seed, const func::Tensor& x) {
  Rng rng = layerRng(seed, l.name);
  func::LayerParams p;
  p.weights = l.weights_file.empty() && !l.weight_values ? randomWeights(l, rng) : givenWeights(l);
  if (l.requant == graph::Requant::Thresholds && (!l.thresholds_file.empty() || l.threshold_values)) {
    p.thresholds = givenThresholds(l, l.out_channels);
    return p;
  }
  const int64_t K = l.out_channels;
  int64_t bound = 0;
  const func::Operand xt = func::Operand::activation(l.in);
  for (const auto& t : func::weightTypes(l))
    bound = std::max<int64_t>(bound, int64_t(func::accumulatorBound(xt, t, l.dotLength())));
  if (l.requant == graph::Requant::None) return p;
  auto vals = channelValues(func::weightedLayer(l, x, p.weights));
  const int64_t levels = func::actMax(l.out) - func::actMin(l.out);
  if (l.requant == graph::Requant::Thresholds) {
    p.thresholds = quantileThresholds(rng, std::move(vals), levels, -bound, bound);
  } else if (l.requant == graph::Requant::ScaleShift) {
    // y = (acc * scale + bias) >> shift maps the channel's calibration range onto the output range.
    p.scale.scale.assign(size_t(K), 1);
    p.scale.bias.assign(size_t(K), 0);
    p.scale.shift.assign(size_t(K), 0);
    for (int64_t k = 0; k < K; ++k) {
      const auto& v = vals[size_t(k)];
      const auto mm = std::minmax_element(v.begin(), v.end());
      const double lo = double(*mm.first), span = std::max(1.0, double(*mm.second - *mm.first));
      int64_t scale = rng.uniform(1, 7);
      int shift =
          std::clamp(int(std::ceil(std::log2(std::max(1.0, span * double(scale) / double(levels + 1))))), 0, 30);
      double bias = double(func::actMin(l.out)) * std::ldexp(1.0, shift) - lo * double(scale);
      p.scale.scale[size_t(k)] = scale;
      p.scale.shift[size_t(k)] = shift;
      p.scale.bias[size_t(k)] = int64_t(std::llround(bias));
    }
  }
  return p;
}

// The model's float input values quantised by the input layer's thresholds (ONNX import).
func::Tensor quantiseInput(const Layer& in, const std::string& path) {
  const func::NpyArray a = func::readNpy(path);
  const Shape& s = in.out_shape;
  const int64_t per = s.c * s.h * s.w;
  if (a.elements() < 1 || a.elements() % per != 0)
    throw LoadError(path + ": " + std::to_string(a.elements()) + " values do not hold frames of the input layer's " +
                    std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + " values");
  const std::vector<double> v = a.toDouble();
  const auto& th = *in.input_thresholds;
  const int64_t T = func::actMax(in.out) - func::actMin(in.out);
  const int64_t rows = T > 0 ? int64_t(th.size()) / T : 0;
  if (rows != 1 && rows != s.c)
    throw LoadError("input layer '" + in.name + "': " + std::to_string(th.size()) + " input thresholds are not 1 or " +
                    std::to_string(s.c) + " rows of " + std::to_string(T));
  func::Tensor x(Shape{a.elements() / per, s.c, s.h, s.w});
  const int64_t plane = s.h * s.w, base = func::actMin(in.out);
  for (size_t e = 0; e < v.size(); ++e) {
    if (std::isnan(v[e])) throw LoadError(path + ": element " + std::to_string(e) + " is NaN");
    const int64_t c = (int64_t(e) / plane) % s.c;
    const double* row = th.data() + (rows == 1 ? 0 : c) * T;
    x[e] = int32_t(base + (std::upper_bound(row, row + T, v[e]) - row));
  }
  return x;
}

} // namespace

FunctionalData makeFunctionalData(const graph::Graph& g, uint64_t seed, const std::string& inputNpy, int frames) {
  FunctionalData d;
  d.graph = &g;
  d.seed = seed;
  const Layer* input = nullptr;
  // Parameters are generated layer by layer while seeded calibration frames run through the
  // network (whole-tensor kernels), so that thresholds sit where the accumulators actually are.
  // A layer's calibration output is dropped once its last consumer has run (the frames of every
  // layer at once would be gigabytes for ResNet-152).
  std::map<std::string, func::Tensor> calib;
  std::map<std::string, size_t> readers;
  for (const auto& l : g.layers())
    for (const auto& i : l.inputs) ++readers[i];
  std::vector<std::string> done; // inputs whose last reader is the current layer
  Progress progress("functional: generating parameters and calibrating", g.layers().size(), "layers");
  size_t layersDone = 0;
  for (const auto& l : g.layers()) {
    progress.update(layersDone++);
    for (const auto& i : done) calib.erase(i);
    done.clear();
    std::vector<const func::Tensor*> ins;
    for (const auto& i : l.inputs) {
      ins.push_back(&calib.at(i));
      if (--readers[i] == 0) done.push_back(i);
    }
    if (l.kind == LayerKind::Input) {
      if (input) throw LoadError(g.source() + ": functional simulation supports one input layer");
      input = &l;
      Rng rng = layerRng(seed, "\x01"
                               "calibration");
      const func::Operand t = func::Operand::activation(l.out);
      func::Tensor x(Shape{kCalibrationFrames, l.out_shape.c, l.out_shape.h, l.out_shape.w});
      for (auto& v : x.values()) v = int32_t(rng.uniform(t.storedMin(), t.storedMax()));
      calib[l.name] = std::move(x);
      continue;
    }
    if (l.isWeighted()) {
      d.params[l.name] = weightedParams(l, seed, *ins.at(0));
    } else if (l.kind == LayerKind::Quantizer && (!l.thresholds_file.empty() || l.threshold_values)) {
      func::LayerParams p;
      p.thresholds = givenThresholds(l, l.out_shape.c);
      d.params[l.name] = p;
    } else if (l.kind == LayerKind::Quantizer) {
      Rng rng = layerRng(seed, l.name);
      func::LayerParams p;
      const func::Operand it = func::Operand::activation(l.in);
      p.thresholds = quantileThresholds(rng, channelValues(*ins.at(0)), func::actMax(l.out) - func::actMin(l.out),
                                        it.storedMin(), it.storedMax() + 1);
      d.params[l.name] = p;
    } else if (l.kind == LayerKind::Add) {
      d.params[l.name] = func::LayerParams{}; // scale 1, no bias, no shift: a saturating sum
    }
    if (l.kind == LayerKind::Output) continue;
    auto it = d.params.find(l.name);
    calib[l.name] = func::runLayer(l, ins, it == d.params.end() ? func::LayerParams{} : it->second);
  }
  if (!input) throw LoadError(g.source() + ": the network has no input layer");
  const Shape& s = input->out_shape;
  const func::Operand t = func::Operand::activation(input->out);
  const int64_t per = s.c * s.h * s.w;
  if (!inputNpy.empty() && input->input_thresholds) {
    d.input = quantiseInput(*input, inputNpy);
  } else if (!inputNpy.empty()) {
    func::Tensor x = func::readTensor(inputNpy);
    const Shape& xs = x.shape();
    if (xs.c * xs.h * xs.w != per || xs.n < 1)
      throw LoadError(inputNpy + ": shape " + xs.str() + " does not hold frames of the input layer's " +
                      std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) +
                      " values (give (N, C, H, W) or (C, H, W))");
    x.reshape(Shape{xs.n, s.c, s.h, s.w});
    if (input->out.bipolar) { // a bipolar input holds the values -1 and +1
      for (size_t e = 0; e < x.size(); ++e) {
        if (x[e] != -1 && x[e] != 1)
          throw LoadError(inputNpy + ": element " + std::to_string(e) + " is " + std::to_string(x[e]) +
                          "; the input layer is bipolar (values -1 and +1)");
        x[e] = x[e] > 0 ? 1 : 0;
      }
    }
    try {
      func::checkRange(x, t, inputNpy);
    } catch (const func::KernelError& e) {
      throw LoadError(std::string(e.what()) + " (the input layer is " + t.str() + ")");
    }
    d.input = std::move(x);
  } else {
    Rng rng = layerRng(seed, "\x01"
                             "input");
    d.input = func::Tensor(Shape{std::max(1, frames), s.c, s.h, s.w});
    for (auto& v : d.input.values()) v = int32_t(rng.uniform(t.storedMin(), t.storedMax()));
  }
  return d;
}

void writeFunctionalData(const FunctionalData& d, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "weights", ec);
  if (ec) throw LoadError(dir + ": cannot create the directory (" + ec.message() + ")");
  func::writeNpy((fs::path(dir) / "input.npy").string(), d.input);
  nlohmann::ordered_json net;
  net["seed"] = d.seed;
  net["input"] = "input.npy";
  auto& layers = net["layers"] = nlohmann::ordered_json::array();
  FileNamer fileName; // layer names are not paths: "a/b" or "../x" become safe, distinct file names
  for (const auto& l : d.graph->layers()) {
    const std::string weightFile = "weights/" + fileName(l.name, ".npy");
    const std::string thresholdFile = "weights/" + fileName(l.name, ".thresholds.npy");
    nlohmann::ordered_json j;
    j["name"] = l.name;
    j["kind"] = graph::toString(l.kind);
    j["inputs"] = l.inputs;
    j["in_type"] = func::Operand::activation(l.in).str();
    if (l.in_types.size() > 1) {
      auto& t = j["in_types"] = nlohmann::ordered_json::array();
      for (const auto& a : l.in_types) t.push_back(func::Operand::activation(a).str());
    }
    j["out_type"] = func::Operand::activation(l.out).str();
    if (l.kind == LayerKind::Conv || l.kind == LayerKind::MaxPool || l.kind == LayerKind::AvgPool) {
      j["kernel"] = {l.kh, l.kw};
      j["stride"] = {l.stride_h, l.stride_w};
      j["pad"] = {l.pad_h, l.pad_w};
      j["dil"] = {l.dil_h, l.dil_w};
      j["groups"] = l.groups;
    }
    if (l.kind == LayerKind::LabelSelect) j["k"] = l.topk;
    auto it = d.params.find(l.name);
    if (l.isWeighted() && it != d.params.end()) {
      const auto& p = it->second;
      j["out_channels"] = l.out_channels;
      std::vector<std::string> wt;
      for (const auto& t : func::weightTypes(l)) wt.push_back(t.str());
      j["weight_types"] = wt;
      j["weights"] = weightFile;
      const Shape& ws = p.weights.shape();
      func::writeNarrowNpy((fs::path(dir) / weightFile).string(), p.weights,
                     l.kind == LayerKind::Conv ? std::vector<int64_t>{ws.n, ws.c, ws.h, ws.w}
                                               : std::vector<int64_t>{ws.n, ws.c});
      j["requant"] = graph::toString(l.requant);
      if (l.requant == graph::Requant::ScaleShift) {
        j["scale"] = p.scale.scale;
        j["bias"] = p.scale.bias;
        j["shift"] = p.scale.shift;
      }
    }
    if (it != d.params.end() && !it->second.thresholds.empty()) {
      const Shape& ts = it->second.thresholds.shape();
      j["thresholds"] = thresholdFile;
      func::writeNarrowNpy((fs::path(dir) / thresholdFile).string(), it->second.thresholds,
                           std::vector<int64_t>{ts.h, ts.w});
    }
    if (l.kind == LayerKind::Add && it != d.params.end()) {
      const auto& a = it->second.add;
      j["add"] = {{"scale_a", a.scale_a}, {"scale_b", a.scale_b}, {"bias", a.bias}, {"shift", a.shift}};
    }
    layers.push_back(j);
  }
  writeFileAtomic((fs::path(dir) / "network.json").string(), net.dump(1) + "\n");
}

// ---------------------------------------------------------------------------------------------

struct TokenFunction::Owner {
  TokenFunction* fn = nullptr;
};

namespace {
// The deleter in a payload's control block carries its pending state, so that std::get_deleter
// finds it from any copy of the payload (streams, buffers, forks pass copies on).
struct PendingSlot {
  std::shared_ptr<TokenFunction::Owner> owner; // the engine that will compute it; null once computed
  void operator()(std::vector<int32_t>* p) const { delete p; }
};
PendingSlot* slotOf(const Payload& p) { return p ? std::get_deleter<PendingSlot>(p) : nullptr; }

Payload payloadOf(func::Tensor&& t) { return std::make_shared<const std::vector<int32_t>>(std::move(t.values())); }

// Whether the values of layer `name` reach the network output (through forks and flattens): the
// output DMA collects those payloads and writeOutput reads them, so they must be computed at once.
bool feedsOutput(const graph::Graph& g, const std::string& name) {
  std::vector<std::string> todo{name};
  for (size_t i = 0; i < todo.size() && i < g.layers().size() + 1; ++i)
    for (const auto& c : g.consumers(todo[i])) {
      const Layer* l = g.find(c);
      if (!l) continue;
      if (l->kind == LayerKind::Output) return true;
      if (l->kind == LayerKind::Fork || l->kind == LayerKind::Flatten) todo.push_back(c);
    }
  return false;
}
} // namespace

TokenFunction::TokenFunction(const FunctionalData& d, const sched::EngineSpec& spec)
    : m_spec(spec), m_owner(std::make_shared<Owner>()) {
  m_owner->fn = this;
  if (spec.kind == EngineKind::InputDma || spec.kind == EngineKind::OutputDma ||
      spec.kind == EngineKind::WeightStreamer)
    return;
  m_layer = d.graph->find(spec.layer);
  if (!m_layer) throw std::runtime_error("functional simulation: engine " + spec.name + " has no layer " + spec.layer);
  m_local = *m_layer;
  m_local.stride_h = m_local.stride_w = 1;
  m_local.pad_h = m_local.pad_w = 0;
  m_local.dil_h = m_local.dil_w = 1;
  auto it = d.params.find(spec.layer);
  m_params = it == d.params.end() ? &m_none : &it->second;
  m_channels = m_layer->in_shapes.empty() ? 0 : m_layer->stream_in.c;
  // Bipolar activations are stored as bits (0 = -1), so no stored value means "nothing": the SWU of
  // a layer reading bipolar activations emits decoded windows (-1 / +1, and 0 at padded
  // positions), which its MVU/VVU reads as 2-bit signed operands. A padded position adds nothing.
  m_decodeBipolar =
      m_layer->in.bipolar && sched::swu::needed(*m_layer) &&
      (spec.kind == EngineKind::Swu || spec.kind == EngineKind::MatrixVector || spec.kind == EngineKind::Vector);
  if (m_decodeBipolar) m_local.in = graph::ActType{2, true};
  const bool all = !spec.in.empty() && spec.in[0].need == sched::NeedKind::All;
  if (spec.kind == EngineKind::MatrixVector || spec.kind == EngineKind::Vector) {
    m_kernel.emplace(all ? *m_layer : m_local, m_params->weights);
    if (!all) m_requant.emplace(m_local, *m_params, m_kernel->outChannels());
  }
  if (spec.kind == EngineKind::Quantizer) m_requant.emplace(m_params->thresholds, m_layer->out, m_layer->out_shape.c);
  m_eager = all || spec.kind == EngineKind::GlobalPool || spec.kind == EngineKind::LabelSelect ||
            (spec.kind != EngineKind::Swu && feedsOutput(*d.graph, m_layer->name));
}

TokenFunction::~TokenFunction() { m_owner->fn = nullptr; }

void TokenFunction::force(const Payload& p) {
  if (PendingSlot* s = slotOf(p))
    if (s->owner && s->owner->fn) s->owner->fn->flush();
}

void TokenFunction::captureWindow(uint64_t k, const TokenGetter& in) {
  const sched::WindowGeom& g = m_spec.geom;
  const size_t base = m_inputs.size();
  m_inputs.resize(base + size_t(g.kh) * size_t(g.kw));
  Payload* into = m_inputs.data() + base;
  const int64_t oy = int64_t(k) / g.ow, ox = int64_t(k) % g.ow;
  for (int r = 0; r < g.kh; ++r) {
    const int64_t y = oy * g.stride_h - g.pad_h + int64_t(r) * g.dil_h;
    if (y < 0 || y >= g.ih) continue;
    for (int s = 0; s < g.kw; ++s) {
      const int64_t x = ox * g.stride_w - g.pad_w + int64_t(s) * g.dil_w;
      if (x < 0 || x >= g.iw) continue;
      into[size_t(r * g.kw + s)] = in(0, uint64_t(y * g.iw + x));
    }
  }
}

// The windows of the pending outputs (padded positions `fill`): an SWU's into their payloads in
// (kh, kw, C) order; pooling's into one (B, C, kh, kw) tensor pooled at once.
void TokenFunction::computeWindows(std::vector<Pending>& batch, int32_t fill) const {
  const sched::WindowGeom& g = m_spec.geom;
  const int64_t C = m_channels, kk = int64_t(g.kh) * g.kw;
  const auto pixelOf = [&](const Pending& p, int64_t t) -> const int32_t* {
    const Payload& v = input(p, size_t(t));
    if (v && int64_t(v->size()) < C)
      throw std::logic_error(m_spec.name + ": functional simulation: a pixel of " + std::to_string(v->size()) +
                             " values, expected " + std::to_string(C));
    return v ? v->data() : nullptr;
  };
  if (m_spec.kind == EngineKind::Swu) { // (kh, kw, C): each position's pixel copied as it is
    for (auto& p : batch) {
      p.out->resize(size_t(C * kk));
      int32_t* out = p.out->data();
      for (int64_t t = 0; t < kk; ++t) {
        const int32_t* v = pixelOf(p, t);
        int32_t* o = out + t * C;
        if (!v)
          std::fill(o, o + C, fill);
        else if (m_decodeBipolar)
          for (int64_t c = 0; c < C; ++c) o[c] = 2 * v[c] - 1;
        else
          std::copy(v, v + C, o);
      }
    }
    return;
  }
  const auto assemble = [&](const Pending& p, int32_t* out) { // (C, kh, kw)
    for (int64_t t = 0; t < kk; ++t) {
      const int32_t* v = pixelOf(p, t);
      for (int64_t c = 0; c < C; ++c) out[c * kk + t] = v ? v[c] : fill;
    }
  };
  const Layer& l = *m_layer;
  const int64_t B = int64_t(batch.size());
  func::Tensor x(Shape{B, C, l.kh, l.kw});
  if (int64_t(l.kh) * l.kw != kk)
    throw std::logic_error(m_spec.name + ": functional simulation: window geometry differs from the layer's");
  for (int64_t b = 0; b < B; ++b) assemble(batch[size_t(b)], x.data() + b * C * kk);
  const func::Tensor y = func::runLayer(m_local, {&x}, *m_params); // (B, C', 1, 1)
  const int64_t per = int64_t(y.size()) / std::max<int64_t>(1, B);
  for (int64_t b = 0; b < B; ++b) batch[size_t(b)].out->assign(y.data() + b * per, y.data() + (b + 1) * per);
}

void TokenFunction::compute() {
  if (m_pending.empty()) return;
  const Layer& l = *m_layer;
  const int64_t B = int64_t(m_pending.size());
  switch (m_spec.kind) {
  case EngineKind::Swu: computeWindows(m_pending, 0); break;
  case EngineKind::Pool: computeWindows(m_pending, l.kind == LayerKind::MaxPool ? INT32_MIN : 0); break;
  case EngineKind::MatrixVector:
  case EngineKind::Vector: {
    const int64_t L = m_kernel->windowLength(), K = m_kernel->outChannels();
    std::vector<const int32_t*> rows(size_t(B), nullptr);
    for (int64_t b = 0; b < B; ++b) {
      const Payload& v = input(m_pending[size_t(b)], 0);
      if (int64_t(v->size()) != L)
        throw func::KernelError(m_spec.name + ": a window of " + std::to_string(v->size()) + " values, the weights expect " +
                                std::to_string(L));
      rows[size_t(b)] = v->data();
    }
    std::vector<int64_t> acc(size_t(B * K));
    // Windows from the layer's SWU are channel-last (kh, kw, C); a pixel is both orders.
    m_kernel->accumulateWindows(rows.data(), B, acc.data(), func::PreparedConv::WindowOrder::ChannelLast);
    std::vector<int32_t> y(size_t(B * K));
    m_requant->apply(acc.data(), B, y.data());
    for (int64_t b = 0; b < B; ++b) m_pending[size_t(b)].out->assign(y.data() + b * K, y.data() + (b + 1) * K);
    break;
  }
  case EngineKind::Quantizer: {
    const int64_t C = m_requant->channels();
    for (auto& p : m_pending) {
      const auto& v = *input(p, 0);
      if (int64_t(v.size()) != C)
        throw func::KernelError(m_spec.name + ": a pixel of " + std::to_string(v.size()) + " values, the thresholds have " +
                                std::to_string(C) + " channels");
      p.out->resize(size_t(C));
      for (int64_t c = 0; c < C; ++c) (*p.out)[size_t(c)] = m_requant->value(c, v[size_t(c)]);
    }
    break;
  }
  case EngineKind::Add:
  case EngineKind::Concat: { // one (B, C_i, 1, 1) tensor per port, the layer run once
    std::vector<func::Tensor> xs;
    for (std::size_t i = 0; i < m_spec.in.size(); ++i) {
      const int64_t C = int64_t(input(m_pending[0], i)->size());
      func::Tensor x(Shape{B, C, 1, 1});
      for (int64_t b = 0; b < B; ++b) {
        const auto& v = *input(m_pending[size_t(b)], i);
        if (int64_t(v.size()) != C)
          throw std::logic_error(m_spec.name + ": functional simulation: pixels of different sizes on one port");
        std::copy(v.begin(), v.end(), x.data() + b * C);
      }
      xs.push_back(std::move(x));
    }
    std::vector<const func::Tensor*> ptrs;
    for (const auto& x : xs) ptrs.push_back(&x);
    const func::Tensor y = func::runLayer(l, ptrs, *m_params);
    const int64_t per = int64_t(y.size()) / B;
    for (int64_t b = 0; b < B; ++b) m_pending[size_t(b)].out->assign(y.data() + b * per, y.data() + (b + 1) * per);
    break;
  }
  default: throw std::logic_error("functional simulation: engine " + m_spec.name + " has nothing to compute");
  }
  for (auto& p : m_pending) slotOf(Payload(p.out))->owner.reset();
  m_pending.clear();
  m_inputs.clear();
}

std::vector<TokenFunction*> TokenFunction::pendingProducers() const {
  std::vector<TokenFunction*> r;
  for (const auto& v : m_inputs)
    if (PendingSlot* s = slotOf(v))
      if (s->owner && s->owner->fn && s->owner->fn != this && std::find(r.begin(), r.end(), s->owner->fn) == r.end())
        r.push_back(s->owner->fn);
  return r;
}

void TokenFunction::flush() {
  if (m_pending.empty()) return;
  // The engines whose pending outputs these need, producers first (a depth-first post-order,
  // iterative: the chain of pending engines can be as long as the pipeline, deeper than the
  // stack of a SystemC thread would like).
  static thread_local uint64_t epoch = 0;
  const uint64_t mark = ++epoch;
  struct Visit {
    TokenFunction* fn;
    std::vector<TokenFunction*> deps;
    size_t next;
  };
  std::vector<TokenFunction*> order;
  std::vector<Visit> stack;
  m_mark = mark;
  stack.push_back(Visit{this, pendingProducers(), 0});
  while (!stack.empty()) {
    Visit& v = stack.back();
    if (v.next < v.deps.size()) {
      TokenFunction* d = v.deps[v.next++];
      if (d->m_mark != mark && !d->m_pending.empty()) {
        d->m_mark = mark;
        stack.push_back(Visit{d, d->pendingProducers(), 0}); // v is not used after this
      }
      continue;
    }
    order.push_back(v.fn);
    stack.pop_back();
  }
  for (TokenFunction* fn : order) fn->compute();
}

// All tokens of the frame as a (1, C, tokens, 1) tensor: flattened in C order it is the (C, H, W)
// order of the image the tokens are the pixels of.
func::Tensor TokenFunction::gatherAll(std::size_t port, const TokenGetter& in) const {
  const int64_t T = m_spec.in[port].tokens_per_frame;
  for (int64_t j = 0; j < T; ++j) force(in(port, uint64_t(j)));
  const int64_t C = int64_t(in(port, 0)->size());
  func::Tensor x(Shape{1, C, T, 1});
  for (int64_t j = 0; j < T; ++j) {
    const auto& px = *in(port, uint64_t(j));
    for (int64_t c = 0; c < C; ++c) x[size_t(c * T + j)] = px[size_t(c)];
  }
  return x;
}

Payload TokenFunction::operator()(uint64_t k, const TokenGetter& in) {
  const Layer& l = *m_layer;
  Pending p;
  p.first = m_inputs.size();
  switch (m_spec.kind) {
  case EngineKind::Fork: return in(0, k); // passed on as it is (computed or still pending)
  case EngineKind::GlobalPool:
  case EngineKind::LabelSelect: {
    func::Tensor x = gatherAll(0, in);
    return payloadOf(func::runLayer(l, {&x}, *m_params));
  }
  case EngineKind::Swu:
  case EngineKind::Pool: captureWindow(k, in); break;
  case EngineKind::MatrixVector:
  case EngineKind::Vector:
    if (m_spec.in[0].need == sched::NeedKind::All) {
      func::Tensor x = gatherAll(0, in);
      return payloadOf(func::requantize(l, m_kernel->accumulate(x), *m_params));
    }
    m_inputs.push_back(in(0, k)); // a window (kh, kw, C), or a pixel
    break;
  case EngineKind::Add:
  case EngineKind::Concat:
  case EngineKind::Quantizer:
    for (std::size_t i = 0; i < m_spec.in.size(); ++i) m_inputs.push_back(in(i, k));
    break;
  default: throw std::runtime_error("functional simulation: engine " + m_spec.name + " computes nothing");
  }
  p.out = std::shared_ptr<std::vector<int32_t>>(new std::vector<int32_t>(), PendingSlot{m_owner});
  Payload result = p.out;
  m_pending.push_back(std::move(p));
  if (m_eager || m_pending.size() >= kBatch || k + 1 >= uint64_t(m_spec.out_tokens_per_frame)) flush();
  return result;
}

Payload inputToken(const FunctionalData& d, const std::string& inputLayer, uint64_t f, uint64_t k,
                   int64_t tokensPerFrame) {
  const auto named = d.inputs.find(inputLayer);
  const func::Tensor& x = named != d.inputs.end() ? named->second : d.input;
  const Shape& s = x.shape();
  const int64_t n = int64_t(f % uint64_t(s.n)), hw = s.h * s.w;
  if (tokensPerFrame != hw) { // a host-flattened input: one token of the frame in C, H, W order
    const int32_t* frame = x.data() + n * s.c * hw;
    return std::make_shared<std::vector<int32_t>>(frame, frame + s.c * hw);
  }
  auto out = std::make_shared<std::vector<int32_t>>(size_t(s.c));
  const int32_t* base = x.data() + n * s.c * hw + int64_t(k);
  for (int64_t c = 0; c < s.c; ++c) (*out)[size_t(c)] = base[c * hw];
  return out;
}

} // namespace mpsim::sim
