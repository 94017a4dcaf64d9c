#include "mpsim/sched/Mapping.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched {
using graph::Layer;
using graph::LayerKind;

int Mapping::indexOf(const std::string& engine) const {
  for (size_t i = 0; i < engines.size(); ++i)
    if (engines[i].name == engine) return int(i);
  return -1;
}

namespace {

/// Builder::shortcutDepths' run-ahead per group of need functions, shared by the mappings of the
/// process (a sweep builds many; thread-safe).
struct RunAheadMemo {
  std::mutex mutex;
  std::map<std::vector<int64_t>, std::shared_ptr<const std::vector<int64_t>>> cache;
};
RunAheadMemo& runAheadMemo() {
  static RunAheadMemo m;
  return m;
}

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

  void connect(const std::string& tensor, int engine, int port) {
    consumersOf[source(tensor)].push_back({engine, port});
  }

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
  // Tokens arrive in the shape of the stream (a flatten in front only re-indexes them).
  const graph::Shape inShape = l.in_shapes.empty() ? graph::Shape{} : l.stream_in;
  switch (l.kind) {
  case LayerKind::Input: producerEngine[l.name] = addEngine(dma::input(l, cfg.hardware.io)); return;
  case LayerKind::Output: connect(l.inputs[0], addEngine(dma::output(l, inShape, cfg.hardware.io)), 0); return;
  case LayerKind::Flatten: return; // transparent: consumers read the producer's tokens
  default: break;
  }

  if (l.isWeighted()) {
    const int64_t pe = folding(l, "pe", map ? map->pe : std::nullopt, 1, mac::maxPe(l));
    const int64_t simd = folding(l, "simd", map ? map->simd : std::nullopt, 1, mac::maxSimd(l));
    const hw::PeKind kind = map && map->pe_kind ? *map->pe_kind : mac::defaultKind(l);
    const config::RamStyle ram = map && map->ram_style ? *map->ram_style : config::RamStyle::Auto;
    const bool streamed = map && map->weights && *map->weights == config::WeightPlacement::Dram;
    hw::MemKind mem = hw::MemKind::Bram;
    if (streamed)
      mem = hw::MemKind::Dram;
    else if (ram == config::RamStyle::Lutram)
      mem = hw::MemKind::Lutram;
    else if (ram == config::RamStyle::Bram)
      mem = hw::MemKind::Bram;
    else if (ram == config::RamStyle::Uram)
      mem = hw::MemKind::Uram;
    else
      mem = mac::autoWeightMemory(l, pe, simd, kind, cfg.hardware.cost);
    const int64_t reuse = streamed ? int64_t(map->weight_reuse.value_or(1)) : 0; // 1: a pass per output pixel
    EngineSpec e = mac::engine(l, inShape, pe, simd, kind, mem, reuse);
    // The requantiser: the mapping's choice, else for `auto` the cheaper one at this folding.
    e.requant = map && map->requant ? *map->requant : mac::cheaperRequant(l, pe, simd, kind, mem, reuse, cfg.hardware);
    const bool window = swu::needed(l);
    if (window) {
      // Sliding-window unit in front: it turns pixels into windows of K_h*K_w*C elements.
      // Its SIMD: the MAC unit's, or mapping.layers.<layer>.swu_simd (FINN's ConvolutionInputGenerator
      // SIMD, with a data-width converter in front of the MAC unit that mpsim does not place).
      EngineSpec consumer = e;
      if (map && map->swu_simd) {
        consumer.pe = 1;
        consumer.simd = *map->swu_simd;
      }
      int sid = addEngine(swu::engine(l, inShape, consumer));
      connect(l.inputs[0], sid, 0);
      producerEngine[l.name + ".swu"] = sid;
    }
    if (!window && map && map->swu_simd)
      errors.push_back(map->where + ": mapping.layers." + l.name + ".swu_simd: layer '" + l.name +
                       "' has no sliding-window unit (a 1x1 convolution or an fc layer)");
    int id = addEngine(std::move(e));
    if (window) {
      consumersOf["\x01" + l.name + ".swu"].push_back({id, 0}); // swu -> engine, resolved in addStreams
    } else {
      connect(l.inputs[0], id, 0);
    }
    if (m.engines[size_t(id)].weights_in_dram) {
      int wid = addEngine(dma::weightStreamer(m.engines[size_t(id)], cfg.hardware));
      producerEngine[l.name + ".weights"] = wid;
      consumersOf["\x01" + l.name + ".weights"].push_back({id, 1});
    }
    producerEngine[l.name] = id;
    return;
  }

  // Engines folded by PE alone (pooling, element-wise, label select).
  const int64_t peMax = maxLanes(l);
  if (peMax == 0) {
    errors.push_back(g.source() + ": layer '" + l.name + "' (" + toString(l.kind) + ") cannot be mapped");
    return;
  }
  const bool topk = l.kind == LayerKind::LabelSelect;
  int64_t pe = map && map->pe ? *map->pe : defaultLanes(l);
  if (pe > peMax) {
    errors.push_back((map ? map->where : cfg.file) + ": mapping.layers." + l.name + ".pe = " + std::to_string(pe) +
                     " exceeds the layer's " + std::to_string(peMax) + (topk ? " class scores" : " channels"));
    pe = peMax;
  }
  if (map && map->simd)
    errors.push_back(map->where + ": mapping.layers." + l.name + ".simd: layer '" + l.name + "' (" + toString(l.kind) +
                     ") has no SIMD folding; only pe applies");
  EngineSpec e;
  switch (l.kind) {
  case LayerKind::MaxPool:
  case LayerKind::AvgPool:
  case LayerKind::GlobalAvgPool: e = pool::engine(l, inShape, pe); break;
  case LayerKind::LabelSelect: e = labelselect::engine(l, inShape, pe); break;
  default: {
    std::vector<graph::Shape> ins;
    for (const auto& i : l.inputs) ins.push_back(g.at(source(i)).out_shape);
    e = elementwise::engine(l, ins, pe);
    break;
  }
  }
  int id = addEngine(std::move(e));
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
  // Iterate in a deterministic order: engines in creation order (the producer's id, looked up once
  // per tensor; ties keep the map's order).
  std::vector<std::pair<int, const std::pair<const std::string, std::vector<std::pair<int, int>>>*>> pending;
  pending.reserve(consumersOf.size());
  for (const auto& tc : consumersOf) {
    const std::string& t = tc.first;
    auto it = producerEngine.find(t[0] == '\x01' ? t.substr(1) : t);
    pending.emplace_back(it == producerEngine.end() ? -1 : it->second, &tc);
  }
  std::stable_sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& entry : pending) {
    const std::string& tensor = entry.second->first;
    const auto& cons = entry.second->second;
    bool internal = tensor[0] == '\x01';
    std::string name = internal ? tensor.substr(1) : tensor;
    int prod = producerEngine.at(name);
    const Layer* l = internal ? nullptr : g.find(name);
    int64_t bits = l ? l->out_shape.c * l->out.bits : 0;
    if (cons.size() > 1 && m.engines[size_t(prod)].kind != EngineKind::Fork) {
      const int64_t c = l ? l->out_shape.c : 1, pixels = l ? l->out_shape.pixels() : 1;
      int fid = addEngine(elementwise::fork(name, c, pixels, m.engines[size_t(prod)].out_cost));
      addStream(prod, fid, 0, bits);
      prod = fid;
    }
    for (auto [e, port] : cons) addStream(prod, e, port, bits);
    // A weight stream holds one pass (the simulation's unit; its bursts are paced at the layer's use,
    // dma::burstPace): with the engine's own pass that is double buffering in the token model.
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
  // Per branch i, the most fork tokens any other branch needs ahead of it (max over the join's
  // outputs k and branches j of need_j(k) - need_i(k), need_i(k) the fork token branch i needs for
  // output k). A function of the need functions only (not of the foldings' rates): computed once per
  // group of need functions for all the designs a process builds (the scheduler builds many).
  auto runAhead = [&](const auto& branches, const EngineSpec& join, const auto& needOfBranch) {
    std::vector<int64_t> key = {join.out_tokens_per_frame, int64_t(branches.size())};
    for (const auto& b : branches) {
      key.push_back(int64_t(b.engines.size()));
      appendNeedKey(join, join.in[size_t(b.joinPort)], key);
      for (int e : b.engines) appendNeedKey(m.engines[size_t(e)], m.engines[size_t(e)].in[0], key);
    }
    RunAheadMemo& memo = runAheadMemo();
    {
      std::lock_guard<std::mutex> lock(memo.mutex);
      auto it = memo.cache.find(key);
      if (it != memo.cache.end()) return *it->second;
    }
    std::vector<std::vector<int64_t>> need(branches.size());
    for (size_t i = 0; i < branches.size(); ++i) {
      need[i].resize(size_t(join.out_tokens_per_frame));
      for (int64_t k = 0; k < join.out_tokens_per_frame; ++k) need[i][size_t(k)] = needOfBranch(branches[i], k);
    }
    auto worst = std::make_shared<std::vector<int64_t>>(branches.size(), 0);
    for (size_t i = 0; i < branches.size(); ++i)
      for (size_t j = 0; j < branches.size(); ++j) {
        if (j == i) continue;
        for (int64_t k = 0; k < join.out_tokens_per_frame; ++k)
          (*worst)[i] = std::max((*worst)[i], need[j][size_t(k)] - need[i][size_t(k)]);
      }
    std::lock_guard<std::mutex> lock(memo.mutex);
    if (memo.cache.size() >= 1024) memo.cache.clear(); // bounded
    memo.cache.emplace(std::move(key), worst);
    return *worst;
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
      const std::vector<int64_t> worst = runAhead(branches, join, needBack);
      for (size_t i = 0; i < branches.size(); ++i) {
        double fill = 0;
        for (size_t j = 0; j < branches.size(); ++j)
          if (j != i) fill = std::max(fill, fillCycles(branches[j]));
        if (i == main && worst[i] == 0) continue; // nothing runs ahead of the main branch
        int64_t fillTokens = int64_t(std::ceil(fill / interval(fork)));
        StreamSpec& s = m.streams[size_t(branches[i].stream)];
        s.shortcut = true;
        s.min_depth = worst[i] + 1;
        s.auto_depth = s.min_depth + fillTokens + 2;
      }
    }
  }
}

// Closed forms of the DMAs (port width and DRAM bandwidth) and the predicted bottleneck.
void Builder::closedForms() {
  int64_t dramBytes = 0;
  for (auto& e : m.engines) {
    if (e.kind == EngineKind::InputDma || e.kind == EngineKind::OutputDma || e.kind == EngineKind::WeightStreamer) {
      dramBytes += e.bytes_per_frame;
      e.closed_form_cycles = dma::cycles(e, cfg.hardware);
    }
  }
  m.clock_mhz = cfg.hardware.clock_mhz;
  m.predicted_cycles = 0;
  for (const auto& e : m.engines)
    if (e.closed_form_cycles > m.predicted_cycles) {
      m.predicted_cycles = e.closed_form_cycles;
      m.predicted_bottleneck = e.name;
    }
  // All initiators together: at the share of the peak a design plans with (hardware.dram.max_utilization).
  int64_t dramCycles = int64_t(std::ceil(double(dramBytes) / cfg.hardware.units.dram_plan_bytes_per_cycle));
  m.expected_cycles = std::max(m.predicted_cycles,
                               int64_t(std::ceil(double(dramBytes) / cfg.hardware.units.dram_bytes_per_cycle)));
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
      errors.push_back(cfg.file + ": mapping.fifos.depths." + name +
                       ": no FIFO of that name; FIFOs are named producer->consumer, e.g. " + some +
                       " (the report's fifos[] lists all)");
    }
  }
  if (!errors.empty()) throw LoadError(errors);
  // Unused mapping entries for layers that have no engine (e.g. flatten) are errors too.
  for (const auto& [name, lmap] : plan.layers) {
    (void)lmap;
    if (m.indexOf(name) < 0) {
      errors.push_back(lmap.where + ": mapping.layers." + name + ": layer '" + name +
                       "' has no hardware engine (flatten is a pure re-indexing)");
    }
  }
  if (!errors.empty()) throw LoadError(errors);
}

} // namespace

void clearShortcutMemo() {
  RunAheadMemo& memo = runAheadMemo();
  std::lock_guard<std::mutex> lock(memo.mutex);
  memo.cache.clear();
}

Mapping buildMapping(const graph::Graph& g, const config::RunConfig& cfg, const Plan& plan) {
  Builder b{g, cfg, plan, {}, {}, {}, {}};
  b.build();
  return b.m;
}

} // namespace mpsim::sched
