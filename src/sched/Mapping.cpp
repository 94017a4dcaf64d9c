#include "mpsim/sched/Mapping.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Folding.hpp"

namespace mpsim::sched {
using graph::Layer;
using graph::LayerKind;

const char* toString(EngineKind k) {
  switch (k) {
  case EngineKind::InputDma: return "input_dma";
  case EngineKind::OutputDma: return "output_dma";
  case EngineKind::Swu: return "swu";
  case EngineKind::MatrixVector: return "mvu";
  case EngineKind::Vector: return "vvu";
  case EngineKind::Pool: return "pool";
  case EngineKind::GlobalPool: return "global_pool";
  case EngineKind::Add: return "add";
  case EngineKind::Fork: return "fork";
  case EngineKind::Concat: return "concat";
  case EngineKind::Quantizer: return "quantizer";
  case EngineKind::LabelSelect: return "label_select";
  case EngineKind::WeightStreamer: return "weight_streamer";
  }
  return "?";
}

int Mapping::indexOf(const std::string& engine) const {
  for (size_t i = 0; i < engines.size(); ++i)
    if (engines[i].name == engine) return int(i);
  return -1;
}

namespace {
// Line buffer in pixels: the (K_h-1) dilated rows plus K_w pixels that one window spans (the
// minimum with which every window can form), plus one more row so that reading the next pixels
// overlaps the emission of the current window (FINN's sliding-window units keep ceil(K/S)+1 row
// blocks for the same reason). With only the minimum, each window waits for its own release.
int64_t lineBufferPixels(const Layer& l, const graph::Shape& in) {
  return int64_t((l.kh - 1) * l.dil_h) * in.w + int64_t((l.kw - 1) * l.dil_w) + 1 + in.w;
}
} // namespace

Need needOf(const EngineSpec& e, const PortSpec& p, int64_t k) {
  switch (p.need) {
  case NeedKind::OneToOne: return {k, k};
  case NeedKind::All: return {0, p.tokens_per_frame - 1};
  case NeedKind::Pass: return {k / p.reuse, k / p.reuse};
  case NeedKind::Window: {
    const WindowGeom& g = e.geom;
    int64_t oy = k / g.ow, ox = k % g.ow;
    int64_t r0 = oy * g.sh - g.ph, c0 = ox * g.sw - g.pw;
    int64_t r1 = r0 + int64_t(g.kh - 1) * g.dh, c1 = c0 + int64_t(g.kw - 1) * g.dw;
    r0 = clampTo(r0, 0, g.ih - 1);
    c0 = clampTo(c0, 0, g.iw - 1);
    r1 = clampTo(r1, 0, g.ih - 1);
    c1 = clampTo(c1, 0, g.iw - 1);
    return {r0 * g.iw + c0, r1 * g.iw + c1};
  }
  }
  return {k, k};
}

namespace {

struct Builder {
  const graph::Graph& g;
  const config::RunConfig& cfg;
  const Plan& plan;
  Mapping m;
  std::vector<std::string> errors;
  // For each graph tensor (producer layer name): the engine producing its tokens.
  std::map<std::string, int> producerEngine;
  // Pending consumers per tensor: (engine, port).
  std::map<std::string, std::vector<std::pair<int, int>>> consumersOf;

  const config::LayerMapping* lm(const std::string& layer) const {
    auto it = plan.layers.find(layer);
    return it == plan.layers.end() ? nullptr : &it->second;
  }

  int addEngine(EngineSpec e) {
    m.engines.push_back(std::move(e));
    return int(m.engines.size()) - 1;
  }

  /// Resolves flatten layers: tokens of a flatten are the tokens of its producer.
  std::string source(const std::string& layer) const {
    const Layer* l = g.find(layer);
    while (l && l->kind == LayerKind::Flatten) l = g.find(l->inputs[0]);
    return l ? l->name : layer;
  }

  void connect(const std::string& tensor, int engine, int port) { consumersOf[source(tensor)].push_back({engine, port}); }

  int64_t folding(const Layer& l, const char* what, std::optional<int> v, int64_t def, int64_t max) {
    int64_t x = v ? *v : def;
    if (x > max) {
      const auto* e = lm(l.name);
      errors.push_back((e ? e->where : cfg.file) + ": mapping.layers." + l.name + "." + what + " = " +
                       std::to_string(x) + " exceeds " + std::to_string(max) + " (the layer's " +
                       (std::string(what) == "pe" ? "output channels" : "dot-product length") + ")");
      x = max;
    }
    return std::max<int64_t>(1, x);
  }

  void build();
  void layerEngines(const Layer& l);
  void addStreams();
  void closedForms();
  void shortcutDepths();
};

void Builder::layerEngines(const Layer& l) {
  const auto* map = lm(l.name);
  const auto& io = cfg.hardware.io;
  // Tokens arrive in the shape of the stream (a flatten in front only re-indexes them).
  auto inShape = l.in_shapes.empty() ? graph::Shape{} : l.stream_in;
  switch (l.kind) {
  case LayerKind::Input: {
    EngineSpec e;
    e.name = l.name;
    e.layer = l.name;
    e.kind = EngineKind::InputDma;
    e.out_tokens_per_frame = l.out_shape.pixels();
    int64_t bitsPerToken = l.out_shape.c * l.out.bits;
    e.out_cost = ceilDiv(bitsPerToken, io.in_bits_per_cycle);
    e.bytes_per_token = ceilDiv(bitsPerToken, 8);
    e.bytes_per_frame = ceilDiv(bitsPerToken * l.out_shape.pixels(), 8);
    e.latency = 1;
    e.pe = io.in_bits_per_cycle;
    producerEngine[l.name] = addEngine(e);
    return;
  }
  case LayerKind::Output: {
    EngineSpec e;
    e.name = l.name;
    e.layer = l.name;
    e.kind = EngineKind::OutputDma;
    int64_t bitsPerToken = inShape.c * l.in.bits;
    PortSpec p;
    p.tokens_per_frame = inShape.pixels();
    p.read_cost = ceilDiv(bitsPerToken, io.out_bits_per_cycle);
    e.in.push_back(p);
    e.out_tokens_per_frame = 1;
    e.bytes_per_token = ceilDiv(bitsPerToken, 8);
    e.bytes_per_frame = ceilDiv(bitsPerToken * inShape.pixels(), 8);
    e.pe = io.out_bits_per_cycle;
    int id = addEngine(e);
    connect(l.inputs[0], id, 0);
    return;
  }
  case LayerKind::Flatten:
    return; // transparent: consumers read the producer's tokens
  default: break;
  }

  if (l.isWeighted()) {
    bool dw = l.isDepthwise();
    int64_t mh = l.out_channels, mw = l.dotLength();
    EngineSpec e;
    e.name = l.name;
    e.layer = l.name;
    e.macs = l.macs();
    e.weight_bits = l.weightMemoryBits();
    int64_t kk = int64_t(l.kh) * l.kw;
    e.kind = dw ? EngineKind::Vector : EngineKind::MatrixVector;
    e.pe = folding(l, "pe", map ? map->pe : std::nullopt, 1, mh);
    e.simd = folding(l, "simd", map ? map->simd : std::nullopt, 1, dw ? kk : mw);
    e.pe_kind = map && map->pe_kind ? *map->pe_kind : defaultPeKind(l);
    const config::RamStyle ram = map && map->ram_style ? *map->ram_style : config::RamStyle::Auto;
    if (map && map->weights && *map->weights == config::WeightPlacement::Dram) e.weight_mem = hw::MemKind::Dram;
    else if (ram == config::RamStyle::Lutram) e.weight_mem = hw::MemKind::Lutram;
    else if (ram == config::RamStyle::Bram) e.weight_mem = hw::MemKind::Bram;
    else if (ram == config::RamStyle::Uram) e.weight_mem = hw::MemKind::Uram;
    else e.weight_mem = autoWeightMemory(l, e.pe, e.simd, e.pe_kind, cfg.hardware.cost);
    e.out_cost = hw::macCyclesPerPixel(hw::macUnitOf(l, e.pe, e.simd, e.pe_kind, e.weight_mem));
    if (!dw && (mh % e.pe != 0 || mw % e.simd != 0))
      spdlog::warn("{}: pe={} / simd={} do not divide {} outputs / {} inputs; cycles use the ceiling", l.name, e.pe,
                   e.simd, mh, mw);
    e.latency = 3 + log2Ceil(e.simd);
    e.out_tokens_per_frame = l.out_shape.pixels();
    bool isConvWindow = hasSlidingWindow(l);
    int64_t swuSimd = dw ? e.pe * e.simd : e.simd;
    PortSpec data;
    if (isConvWindow) {
      // Sliding-window unit in front: it turns pixels into windows of K_h*K_w*C elements.
      EngineSpec s;
      s.name = l.name + ".swu";
      s.layer = l.name;
      s.kind = EngineKind::Swu;
      // Window elements per cycle: the consumer's SIMD; beyond C it emits several pixels of the
      // window per cycle (FINN's parallel-window mode), up to the whole window.
      s.simd = std::min<int64_t>(swuSimd, kk * inShape.c);
      s.geom = WindowGeom{inShape.h, inShape.w, l.out_shape.h, l.out_shape.w, l.kh, l.kw, l.stride_h, l.stride_w,
                          l.pad_h, l.pad_w, l.dil_h, l.dil_w};
      PortSpec p;
      p.tokens_per_frame = inShape.pixels();
      p.read_cost = ceilDiv(inShape.c, std::min<int64_t>(s.simd, inShape.c));
      p.need = NeedKind::Window;
      p.capacity = lineBufferPixels(l, inShape);
      s.in.push_back(p);
      s.out_tokens_per_frame = l.out_shape.pixels();
      s.out_cost = ceilDiv(kk * inShape.c, s.simd);
      s.tail = s.out_cost;
      s.latency = 1;
      s.closed_form_cycles = std::max(p.tokens_per_frame * p.read_cost, s.out_tokens_per_frame * s.out_cost);
      int sid = addEngine(s);
      connect(l.inputs[0], sid, 0);
      producerEngine[l.name + ".swu"] = sid;
      data.stream = -1;
      data.tokens_per_frame = l.out_shape.pixels();
      data.read_cost = dw ? e.out_cost : ceilDiv(mw, e.simd);
      data.capacity = 1;
      data.need = NeedKind::OneToOne;
    } else {
      // 1x1 stride-1 conv reads pixels; fc reads the (flattened) input tensor's tokens.
      data.tokens_per_frame = inShape.pixels();
      data.read_cost = ceilDiv(inShape.c, e.simd);
      if (l.kind == LayerKind::FullyConnected) {
        data.need = NeedKind::All;
        data.capacity = inShape.pixels();
      } else {
        data.need = NeedKind::OneToOne;
        data.capacity = 1;
      }
    }
    int64_t readTotal = data.read_cost * (data.need == NeedKind::All ? data.tokens_per_frame : 1);
    e.tail = std::max<int64_t>(0, e.out_cost - readTotal);
    e.in.push_back(data);
    e.closed_form_cycles = mvCycles(l, e.pe, e.simd, e.pe_kind);
    if (map && map->weights && *map->weights == config::WeightPlacement::Dram) {
      e.weights_in_dram = true;
      PortSpec wp;
      wp.need = NeedKind::Pass;
      wp.reuse = std::min<int64_t>(map->weight_reuse.value_or(1), e.out_tokens_per_frame);
      wp.tokens_per_frame = ceilDiv(e.out_tokens_per_frame, wp.reuse);
      wp.read_cost = 0;
      wp.capacity = 1;
      e.in.push_back(wp);
    }
    int id = addEngine(e);
    if (isConvWindow) {
      consumersOf["\x01" + l.name + ".swu"].push_back({id, 0}); // swu -> engine, resolved in addStreams
    } else {
      connect(l.inputs[0], id, 0);
    }
    if (m.engines[size_t(id)].weights_in_dram) {
      EngineSpec w;
      w.name = l.name + ".weights";
      w.layer = l.name;
      w.kind = EngineKind::WeightStreamer;
      w.out_tokens_per_frame = m.engines[size_t(id)].in[1].tokens_per_frame;
      w.bytes_per_token = ceilDiv(e.weight_bits, 8);
      w.bytes_per_frame = w.bytes_per_token * w.out_tokens_per_frame;
      w.out_cost = 0;
      w.latency = 0;
      int wid = addEngine(w);
      producerEngine[l.name + ".weights"] = wid;
      consumersOf["\x01" + l.name + ".weights"].push_back({id, 1});
    }
    producerEngine[l.name] = id;
    return;
  }

  EngineSpec e;
  e.name = l.name;
  e.layer = l.name;
  int64_t c = l.out_shape.c;
  // Non-MAC engines default to one pixel per cycle. LabelSelect folds over its input's class
  // scores instead and defaults to one score per cycle (PE = 1, as FINN's LabelSelect).
  const bool topk = l.kind == LayerKind::LabelSelect;
  const int64_t peMax = topk ? l.in_shapes[0].c : c;
  e.pe = map && map->pe ? *map->pe : (topk ? 1 : c);
  if (e.pe > peMax) {
    errors.push_back((map ? map->where : cfg.file) + ": mapping.layers." + l.name + ".pe = " + std::to_string(e.pe) +
                     " exceeds the layer's " + std::to_string(peMax) + (topk ? " class scores" : " channels"));
    e.pe = peMax;
  }
  if (map && map->simd)
    errors.push_back(map->where + ": mapping.layers." + l.name + ".simd: layer '" + l.name + "' (" +
                     toString(l.kind) + ") has no SIMD folding; only pe applies");
  e.out_tokens_per_frame = l.out_shape.pixels();
  e.latency = 1;
  switch (l.kind) {
  case LayerKind::MaxPool:
  case LayerKind::AvgPool: {
    e.kind = EngineKind::Pool;
    e.geom = WindowGeom{inShape.h, inShape.w, l.out_shape.h, l.out_shape.w, l.kh, l.kw, l.stride_h, l.stride_w,
                        l.pad_h, l.pad_w, l.dil_h, l.dil_w};
    PortSpec p;
    p.tokens_per_frame = inShape.pixels();
    p.read_cost = ceilDiv(inShape.c, e.pe);
    p.need = NeedKind::Window;
    p.capacity = lineBufferPixels(l, inShape);
    e.in.push_back(p);
    e.out_cost = ceilDiv(c, e.pe);
    e.tail = 0;
    e.closed_form_cycles = std::max(p.tokens_per_frame * p.read_cost, e.out_tokens_per_frame * e.out_cost);
    break;
  }
  case LayerKind::GlobalAvgPool: {
    e.kind = EngineKind::GlobalPool;
    PortSpec p;
    p.tokens_per_frame = inShape.pixels();
    p.read_cost = ceilDiv(inShape.c, e.pe);
    p.need = NeedKind::All;
    p.capacity = inShape.pixels(); // accumulates; holds no pixels, but cannot start a frame before emitting
    e.in.push_back(p);
    e.out_cost = ceilDiv(c, e.pe);
    e.tail = e.out_cost;
    e.closed_form_cycles = p.tokens_per_frame * p.read_cost + e.out_cost;
    break;
  }
  case LayerKind::LabelSelect: {
    e.kind = EngineKind::LabelSelect;
    PortSpec p;
    p.tokens_per_frame = inShape.pixels();
    p.read_cost = ceilDiv(inShape.c, e.pe);
    p.need = NeedKind::All;
    p.capacity = inShape.pixels(); // keeps only the running top k, but emits before the next frame
    e.in.push_back(p);
    // After the scan, the k indices leave one per cycle (highest score first); the next frame's
    // scan starts after them.
    e.out_cost = l.topk;
    e.tail = l.topk;
    e.closed_form_cycles = labelSelectCycles(l, e.pe);
    if (l.in_shapes[0].c % e.pe != 0)
      spdlog::warn("{}: pe={} does not divide the {} class scores; cycles use the ceiling", l.name, e.pe,
                   l.in_shapes[0].c);
    break;
  }
  case LayerKind::Add:
  case LayerKind::Concat:
  case LayerKind::Fork:
  case LayerKind::Quantizer: {
    e.kind = l.kind == LayerKind::Add ? EngineKind::Add
             : l.kind == LayerKind::Concat ? EngineKind::Concat
             : l.kind == LayerKind::Fork ? EngineKind::Fork
                                         : EngineKind::Quantizer;
    for (size_t i = 0; i < l.inputs.size(); ++i) {
      PortSpec p;
      const graph::Shape& in = g.at(source(l.inputs[i])).out_shape;
      p.tokens_per_frame = in.pixels();
      p.read_cost = ceilDiv(in.c, e.pe);
      e.in.push_back(p);
    }
    e.out_cost = ceilDiv(c, e.pe);
    e.closed_form_cycles = e.out_tokens_per_frame * e.out_cost;
    break;
  }
  default:
    errors.push_back(g.source() + ": layer '" + l.name + "' (" + toString(l.kind) + ") cannot be mapped");
    return;
  }
  int id = addEngine(e);
  for (size_t i = 0; i < l.inputs.size(); ++i) connect(l.inputs[i], id, int(i));
  producerEngine[l.name] = id;
}

void Builder::addStreams() {
  // Tensors with several consumers get a fork engine (stream duplication) unless the producer is a fork.
  auto addStream = [&](int prod, int cons, int port, int64_t bits) {
    StreamSpec s;
    s.producer = prod;
    s.consumer = cons;
    s.port = port;
    s.name = m.engines[size_t(prod)].name + "->" + m.engines[size_t(cons)].name;
    s.depth = plan.fifos.default_depth;
    s.bits_per_token = bits;
    m.streams.push_back(s);
    int sid = int(m.streams.size()) - 1;
    m.engines[size_t(prod)].out.push_back(sid);
    m.engines[size_t(cons)].in[size_t(port)].stream = sid;
  };
  // Iterate in a deterministic order: engines in creation order.
  std::vector<std::pair<std::string, std::vector<std::pair<int, int>>>> pending(consumersOf.begin(), consumersOf.end());
  std::sort(pending.begin(), pending.end(), [&](const auto& a, const auto& b) {
    auto key = [&](const std::string& t) {
      std::string n = t[0] == '\x01' ? t.substr(1) : t;
      auto it = producerEngine.find(n);
      return it == producerEngine.end() ? -1 : it->second;
    };
    return key(a.first) < key(b.first);
  });
  for (auto& [tensor, cons] : pending) {
    bool internal = tensor[0] == '\x01';
    std::string name = internal ? tensor.substr(1) : tensor;
    int prod = producerEngine.at(name);
    const Layer* l = internal ? nullptr : g.find(name);
    int64_t bits = l ? l->out_shape.c * l->out.bits : 0;
    if (cons.size() > 1 && m.engines[size_t(prod)].kind != EngineKind::Fork) {
      EngineSpec f;
      f.name = name + ".fork";
      f.layer = name;
      f.kind = EngineKind::Fork;
      int64_t c = l ? l->out_shape.c : 1;
      // As fast as its producer delivers pixels: the smallest PE that keeps up with it.
      const EngineSpec& pr = m.engines[size_t(prod)];
      int64_t rate = std::max<int64_t>(1, pr.kind == EngineKind::InputDma ? pr.out_cost : pr.out_cost);
      f.pe = c;
      for (int64_t d : divisors(c))
        if (ceilDiv(c, d) <= rate) {
          f.pe = d;
          break;
        }
      PortSpec p;
      p.tokens_per_frame = l ? l->out_shape.pixels() : 1;
      p.read_cost = ceilDiv(c, f.pe);
      f.in.push_back(p);
      f.out_tokens_per_frame = p.tokens_per_frame;
      f.out_cost = ceilDiv(c, f.pe);
      f.latency = 1;
      f.closed_form_cycles = f.out_tokens_per_frame * f.out_cost;
      int fid = addEngine(f);
      addStream(prod, fid, 0, bits);
      prod = fid;
    }
    for (auto [e, port] : cons) addStream(prod, e, port, bits);
    // A weight stream holds one pass: with the engine's own pass buffer that is double buffering.
    if (m.engines[size_t(prod)].kind == EngineKind::WeightStreamer) m.streams.back().depth = 1;
  }
}

// Shortcut FIFOs: for each fork, the output branches that meet again at the same multi-input engine
// (add, concat, any join) are compared. The branch with the most engines before the join is the
// main branch; every other branch is a shortcut, and so is the main branch if another branch's
// need functions run ahead of it. A branch's minimum deadlock-free depth follows from composing the
// need functions of the branches: its first FIFO must hold fork tokens needBack_i(k)..needBack_j(k)
// while branch j gathers what the join's output k needs.
void Builder::shortcutDepths() {
  struct Branch {
    int stream = -1; // the fork's output stream that starts the branch
    std::vector<int> engines;
    int join = -1;
    int joinPort = 0;
  };
  auto dataPorts = [&](const EngineSpec& es) {
    int n = 0;
    for (const auto& p : es.in)
      if (p.need != NeedKind::Pass) ++n;
    return n;
  };
  auto follow = [&](int stream) {
    Branch b;
    b.stream = stream;
    int s = stream;
    for (int guard = 0; guard < 10000; ++guard) {
      int e = m.streams[size_t(s)].consumer;
      const EngineSpec& es = m.engines[size_t(e)];
      if (dataPorts(es) > 1 || es.out.size() != 1 || es.kind == EngineKind::Fork) {
        b.join = e;
        b.joinPort = m.streams[size_t(s)].port;
        return b;
      }
      b.engines.push_back(e);
      s = es.out[0];
    }
    return b;
  };
  // Fork token that output k of the join needs through branch br (the join's need on its port,
  // composed back through the branch's engines).
  auto needBack = [&](const Branch& br, int64_t k) {
    const EngineSpec& join = m.engines[size_t(br.join)];
    int64_t idx = needOf(join, join.in[size_t(br.joinPort)], k).last;
    for (auto it = br.engines.rbegin(); it != br.engines.rend(); ++it) {
      const EngineSpec& e = m.engines[size_t(*it)];
      idx = needOf(e, e.in[0], idx).last;
    }
    return idx;
  };
  // Pipeline latency of a branch in cycles at the rate the whole pipeline runs (the predicted
  // bottleneck): while a branch works on its first output, the fork keeps pushing tokens into the
  // other branches.
  auto interval = [&](const EngineSpec& e) {
    return std::max<double>(double(e.out_cost),
                            double(m.predicted_cycles) / double(std::max<int64_t>(1, e.out_tokens_per_frame)));
  };
  auto fillCycles = [&](const Branch& br) {
    double c = 0;
    for (int e : br.engines) c += interval(m.engines[size_t(e)]) + double(m.engines[size_t(e)].latency + 1);
    return c;
  };
  for (size_t f = 0; f < m.engines.size(); ++f) {
    const EngineSpec& fork = m.engines[f];
    if (fork.kind != EngineKind::Fork || fork.out.size() < 2) continue;
    // Branches grouped by the engine where they meet again (in fork output order).
    std::map<int, std::vector<Branch>> byJoin;
    for (int s : fork.out) {
      Branch b = follow(s);
      if (b.join >= 0 && dataPorts(m.engines[size_t(b.join)]) > 1) byJoin[b.join].push_back(std::move(b));
    }
    for (const auto& [joinId, branches] : byJoin) {
      if (branches.size() < 2) continue;
      const EngineSpec& join = m.engines[size_t(joinId)];
      size_t main = 0;
      for (size_t i = 1; i < branches.size(); ++i)
        if (branches[i].engines.size() >= branches[main].engines.size()) main = i;
      // need[i][k]: fork token branch i needs for the join's output k.
      std::vector<std::vector<int64_t>> need(branches.size());
      for (size_t i = 0; i < branches.size(); ++i) {
        need[i].resize(size_t(join.out_tokens_per_frame));
        for (int64_t k = 0; k < join.out_tokens_per_frame; ++k) need[i][size_t(k)] = needBack(branches[i], k);
      }
      for (size_t i = 0; i < branches.size(); ++i) {
        int64_t worst = 0;
        double fill = 0;
        for (size_t j = 0; j < branches.size(); ++j) {
          if (j == i) continue;
          for (int64_t k = 0; k < join.out_tokens_per_frame; ++k)
            worst = std::max(worst, need[j][size_t(k)] - need[i][size_t(k)]);
          fill = std::max(fill, fillCycles(branches[j]));
        }
        if (i == main && worst == 0) continue; // nothing runs ahead of the main branch
        int64_t fillTokens = int64_t(std::ceil(fill / interval(fork)));
        StreamSpec& s = m.streams[size_t(branches[i].stream)];
        s.shortcut = true;
        s.min_depth = worst + 1;
        s.auto_depth = s.min_depth + fillTokens + 2;
      }
    }
  }
}

// Closed forms of the DMAs (port width and DRAM bandwidth) and the predicted bottleneck.
void Builder::closedForms() {
  const double bytesPerCycle = cfg.hardware.units.dram_total_bytes_per_cycle;
  int64_t dramBytes = 0;
  for (auto& e : m.engines) {
    if (e.kind == EngineKind::InputDma) e.closed_form_cycles = e.out_tokens_per_frame * e.out_cost;
    if (e.kind == EngineKind::OutputDma) e.closed_form_cycles = e.in[0].tokens_per_frame * e.in[0].read_cost;
    if (e.kind == EngineKind::InputDma || e.kind == EngineKind::OutputDma || e.kind == EngineKind::WeightStreamer) {
      dramBytes += e.bytes_per_frame;
      int64_t dramCycles = int64_t(std::ceil(double(e.bytes_per_frame) / bytesPerCycle));
      e.closed_form_cycles = std::max(e.closed_form_cycles, dramCycles);
    }
  }
  m.clock_mhz = cfg.hardware.clock_mhz;
  m.predicted_cycles = 0;
  for (const auto& e : m.engines)
    if (e.closed_form_cycles > m.predicted_cycles) {
      m.predicted_cycles = e.closed_form_cycles;
      m.predicted_bottleneck = e.name;
    }
  int64_t dramCycles = int64_t(std::ceil(double(dramBytes) / bytesPerCycle));
  if (dramCycles > m.predicted_cycles) {
    m.predicted_cycles = dramCycles;
    m.predicted_bottleneck = "dram";
  }
}

void Builder::build() {
  for (const auto& l : g.layers()) layerEngines(l);
  if (!errors.empty()) throw LoadError(errors);
  addStreams();
  closedForms();
  shortcutDepths();
  // FIFO depths: shortcut policy, then explicit per-FIFO overrides.
  std::set<std::string> names;
  for (auto& s : m.streams) {
    names.insert(s.name);
    if (s.shortcut) s.depth = plan.fifos.shortcut_depth ? *plan.fifos.shortcut_depth : s.auto_depth;
    auto it = plan.fifos.depths.find(s.name);
    if (it != plan.fifos.depths.end()) s.depth = it->second;
  }
  for (const auto& [name, d] : plan.fifos.depths) {
    (void)d;
    if (!names.count(name)) {
      std::string some;
      int n = 0;
      for (const auto& s : m.streams) {
        if (n++ == 4) break;
        some += (some.empty() ? "" : ", ") + s.name;
      }
      errors.push_back(cfg.file + ": mapping.fifos.depths." + name + ": no FIFO of that name; FIFOs are named producer->consumer, e.g. " + some + " (the report's fifos[] lists all)");
    }
  }
  if (!errors.empty()) throw LoadError(errors);
  // Unused mapping entries for layers that have no engine (e.g. flatten) are errors too.
  for (const auto& [name, lmap] : plan.layers) {
    (void)lmap;
    if (m.indexOf(name) < 0) {
      errors.push_back(lmap.where + ": mapping.layers." + name + ": layer '" + name + "' has no hardware engine (flatten is a pure re-indexing)");
    }
  }
  if (!errors.empty()) throw LoadError(errors);
}

} // namespace

int64_t labelSelectCycles(const graph::Layer& l, int64_t pe) {
  const graph::Shape& in = l.stream_in;
  return in.pixels() * ceilDiv(in.c, std::max<int64_t>(1, pe)) + l.topk;
}

bool hasSlidingWindow(const graph::Layer& l) {
  return l.kind == LayerKind::Conv &&
         (l.kh > 1 || l.kw > 1 || l.stride_h > 1 || l.stride_w > 1 || l.pad_h > 0 || l.pad_w > 0);
}

hw::PeKind defaultPeKind(const graph::Layer& l) {
  return std::max(l.maxWeightBits(), l.in.bits) <= 4 ? hw::PeKind::Lut : hw::PeKind::Dsp;
}

hw::MemKind autoWeightMemory(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind,
                             const hw::CostCoefficients& c) {
  int64_t depth = 0;
  for (const auto& m : hw::weightMemories(hw::macUnitOf(l, pe, simd, kind, hw::MemKind::Bram)))
    depth = std::max(depth, m.depth);
  return depth <= c.lutram_max_depth ? hw::MemKind::Lutram : hw::MemKind::Bram;
}

Mapping buildMapping(const graph::Graph& g, const config::RunConfig& cfg, const Plan& plan) {
  Builder b{g, cfg, plan, {}, {}, {}, {}};
  b.build();
  return b.m;
}

} // namespace mpsim::sched
