// The scheduler (docs/cost-model.md, "Scheduler"): a global search over per-layer options.
//
// 1. Options. Every layer the scheduler may fold gets a list of ways to build it, independent of the
//    clock, the budget and the goal: for a MAC layer each PE kind allowed, the legal foldings on the
//    Pareto front of (cycles, lanes), and its weight memories (on chip as ram_style auto places them;
//    URAM where the device has it; streamed from DRAM once per frame, once per output row or once
//    per output pixel); for pooling, element-wise and label select layers each PE. An option
//    carries its closed-form cycles (MAC unit and sliding window), its resources (MAC unit, weight
//    memory, sliding window, weight streamer) and its DRAM bytes per frame. Dominated options go.
// 2. Candidates. For every price vector of a fixed grid (the resources weighted by share of the
//    device: LUT and FF, DSP, BRAM, URAM, and DRAM bytes by share of the network's weights) and
//    every cycle target T, design(T, prices) takes per layer the cheapest option at those prices
//    that meets T. One sweep over T per price vector visits them all incrementally.
// 3. Choice. The candidate set depends on neither the clock nor the budget, and each candidate's
//    fps is a non-decreasing function of the clock (compute cycles fixed, the DRAM bound at the
//    DRAM's bytes per second). max_fps takes the fastest candidate that fits (estimate first, the
//    full mapping and resource estimate to confirm), so a higher clock or a larger budget never
//    lowers the fps; target_fps takes the cheapest (sum of device shares) that fits and reaches the
//    target, so a lower target never costs more.
#include "mpsim/sched/Scheduler.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/sched/Engines.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sched/Resources.hpp"

namespace mpsim::sched {
using config::LayerMapping;
using config::WeightPlacement;

namespace {

constexpr int kRes = 5; // lut, ff, dsp, bram18, uram
using Vec = std::array<double, kRes>;

Vec vec(const hw::Resources& r) { return {r.lut, r.ff, r.dsp, r.bram18, r.uram}; }
Vec& operator+=(Vec& a, const Vec& b) {
  for (int i = 0; i < kRes; ++i) a[size_t(i)] += b[size_t(i)];
  return a;
}
Vec operator-(Vec a, const Vec& b) {
  for (int i = 0; i < kRes; ++i) a[size_t(i)] -= b[size_t(i)];
  return a;
}

/// One way to build a layer. Independent of the layer's name: layers built the same way share them.
struct Option {
  LayerMapping lm;
  int64_t cycles = 0;
  Vec res{};
  double dram = 0; // bytes per frame read from DRAM (streamed weights)
  /// What the report's notes say when this option is chosen: weights in URAM, or streamed in
  /// `passes` passes of `passBytes` bytes per frame.
  enum class Note { None, Uram, Dram } note = Note::None;
  int64_t passes = 0, passBytes = 0;
};
using Options = std::shared_ptr<const std::vector<Option>>;

/// What prices weigh: an option's resources, then its DRAM bytes.
using Priced = std::array<double, kRes + 1>;
Priced pricedValues(const Option& o) {
  Priced v{};
  for (int r = 0; r < kRes; ++r) v[size_t(r)] = o.res[size_t(r)];
  v[kRes] = o.dram;
  return v;
}
/// The cost of values v at prices p. The one home of the summation order: the sweep in
/// candidates() and picksOf() must make the same choices, ties included.
double dot(const Priced& p, const Priced& v) {
  double s = 0;
  for (size_t r = 0; r < p.size(); ++r) s += p[r] * v[r];
  return s;
}

/// A layer the scheduler folds, with its options sorted by cycles (then as generated).
struct LayerChoice {
  std::string layer;
  Options options;
  const std::vector<Option>& opts() const { return *options; }
};

/// A candidate design: (price vector, cycle target) and what it needs.
struct Candidate {
  int64_t cycles = 0; // estimated cycles per frame at this clock
  double cost = 0;    // sum of device shares (estimate)
  int prices = 0;
  int64_t target = 0;
  double dram = 0;   // DRAM bytes per frame (estimate)
  bool fits = false; // by the estimate
};

/// Sorts by cycles and drops options another option is at least as good as in every respect
/// (the earlier one kept on ties). The kept options' numbers are held column-wise so that the
/// dominance test over all of them is a branch-free loop (it is the scheduler's inner loop).
Options prune(std::vector<Option> opts) {
  std::vector<size_t> order(opts.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return opts[a].cycles < opts[b].cycles; });
  constexpr int kCols = kRes + 1; // the resources, then DRAM bytes; cycles are sorted already
  constexpr size_t kBlock = 32;   // kept options per block; a block's column minima skip it whole
  std::array<std::vector<double>, kCols> cols, blockMin;
  std::vector<size_t> kept;
  for (size_t i : order) {
    const Option& o = opts[i];
    double v[kCols];
    for (int r = 0; r < kRes; ++r) v[r] = o.res[size_t(r)];
    v[kRes] = o.dram;
    bool dominated = false;
    const size_t n = kept.size();
    for (size_t j0 = 0; j0 < n && !dominated; j0 += kBlock) {
      bool reachable = true;
      for (int r = 0; r < kCols; ++r) reachable &= blockMin[size_t(r)][j0 / kBlock] <= v[r];
      if (!reachable) continue;
      const size_t j1 = std::min(n, j0 + kBlock);
      bool any = false;
      for (size_t j = j0; j < j1; ++j) {
        bool d = true;
        for (int r = 0; r < kCols; ++r) d &= cols[size_t(r)][j] <= v[r];
        any |= d;
      }
      dominated = any;
    }
    if (dominated) continue;
    if (kept.size() % kBlock == 0)
      for (int r = 0; r < kCols; ++r) blockMin[size_t(r)].push_back(v[r]);
    kept.push_back(i);
    for (int r = 0; r < kCols; ++r) {
      cols[size_t(r)].push_back(v[r]);
      blockMin[size_t(r)].back() = std::min(blockMin[size_t(r)].back(), v[r]);
    }
  }
  auto out = std::make_shared<std::vector<Option>>();
  out->reserve(kept.size());
  for (size_t i : kept) out->push_back(std::move(opts[i]));
  return out;
}

/// Everything besides the layer (its Layer::hardwareKey) that a layer's options are built from:
/// the PE kinds allowed, the device's DSP kind and whether it has URAM, every cost coefficient, the
/// input port width (a streamed-weights option includes its weight streamer, hw::dmaResources).
/// Not the clock, the budget, the DRAM or the goal (the options are independent of them, see the
/// top of this file).
std::vector<int64_t> optionContext(const config::RunConfig& cfg) {
  const hw::CostCoefficients& c = cfg.hardware.cost;
  static_assert(sizeof(hw::CostCoefficients) == 54 * 8,
                "a field was added to hw::CostCoefficients: add it to optionContext (the options cache's key)");
  std::vector<int64_t> k;
  k.push_back(int64_t(cfg.mapping.pe_kinds.size()));
  for (hw::PeKind p : cfg.mapping.pe_kinds) k.push_back(int64_t(p));
  k.push_back(int64_t(cfg.hardware.device.dsp_kind));
  k.push_back(cfg.hardware.device.uram > 0);
  for (double d : {c.mvu_lut_base, c.mvu_lut_per_mul_bit, c.mvu_lut_per_acc_bit, c.mvu_lut_per_threshold_bit,
                   c.mvu_lut_per_input_bit, c.mvu_lut_scale, c.mvu_ff_base, c.mvu_ff_per_lane_bit,
                   c.mvu_ff_per_acc_bit, c.mvu_ff_per_threshold_bit, c.mvu_ff_per_input_bit, c.mvu_ff_scale,
                   c.lutram_bits_per_lut, c.buffer_lut_base, c.buffer_lut_per_bit, c.buffer_lut_per_addr_bit,
                   c.buffer_ff_base, c.buffer_ff_per_bit, c.buffer_ff_per_addr_bit, c.bitserial_lut_per_bit,
                   c.swu_lut_base, c.swu_lut_per_bit, c.swu_lut_per_register_bit, c.swu_ff_base, c.swu_ff_per_bit,
                   c.swu_ff_per_register_bit, c.pool_lut_base, c.pool_lut_per_bit, c.pool_ff_base,
                   c.pool_ff_per_bit, c.thr_lut_base, c.thr_lut_per_threshold_bit, c.thr_ff_base, c.thr_ff_per_bit,
                   c.dwc_lut_base, c.dwc_lut_per_bit, c.dwc_lut_per_down_bit, c.dwc_ff_base, c.dwc_ff_per_bit,
                   c.engine_lut_base, c.engine_lut_per_bit, c.dma_lut, c.dma_lut_per_bit, c.dma_ff, c.dma_ff_per_bit,
                   c.dma_bram18, c.scale_shift_dsp_per_pe}) {
    int64_t bits = 0;
    std::memcpy(&bits, &d, sizeof bits); // the exact value (a key, not arithmetic)
    k.push_back(bits);
  }
  for (int64_t v : {c.threshold_bram_min_depth, c.threshold_bram_min_width, c.srl_max_depth, c.lutram_max_depth,
                    c.weight_lutram_max_bits, c.linebuffer_lutram_max_bits})
    k.push_back(v);
  k.push_back(int64_t(c.mvu_input_buffer));
  k.push_back(int64_t(cfg.hardware.io.in_bits_per_cycle));
  return k;
}

/// What the scheduler runs of one process share, keyed by everything it is a function of: a sweep
/// schedules many points that differ only in the clock, the budget or some layers. Least recently
/// used entries are dropped beyond `limit` in all (an entry's size as `sizeOf` counts it), so the
/// memory is bounded. Thread-safe (a sweep maps on several threads).
template <class V>
class SharedCache {
public:
  SharedCache(size_t limit, std::function<size_t(const V&)> sizeOf) : m_limit(limit), m_sizeOf(std::move(sizeOf)) {}
  std::shared_ptr<const V> find(const std::vector<int64_t>& key) {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_index.find(key);
    if (it == m_index.end()) return nullptr;
    m_lru.splice(m_lru.begin(), m_lru, it->second); // most recently used first
    return it->second->second;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_index.clear();
    m_lru.clear();
    m_size = 0;
  }
  void put(const std::vector<int64_t>& key, const std::shared_ptr<const V>& v) {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_index.count(key)) return;
    m_lru.emplace_front(key, v);
    m_index.emplace(key, m_lru.begin());
    m_size += m_sizeOf(*v);
    while (m_size > m_limit && m_lru.size() > 1) {
      m_size -= m_sizeOf(*m_lru.back().second);
      m_index.erase(m_lru.back().first);
      m_lru.pop_back();
    }
  }

private:
  struct Hash {
    size_t operator()(const std::vector<int64_t>& k) const {
      uint64_t h = 0xcbf29ce484222325ULL;
      for (int64_t v : k) h = (h ^ uint64_t(v)) * 0x100000001b3ULL;
      return size_t(h ^ (h >> 29));
    }
  };
  using Entry = std::pair<std::vector<int64_t>, std::shared_ptr<const V>>;
  size_t m_limit;
  std::function<size_t(const V&)> m_sizeOf;
  std::mutex m_mutex;
  std::list<Entry> m_lru;
  std::unordered_map<std::vector<int64_t>, typename std::list<Entry>::iterator, Hash> m_index;
  size_t m_size = 0;
};

/// The options of layers nobody mapped (building and pruning them is most of a run), keyed by
/// optionContext + Layer::hardwareKey: at most 200,000 options in all (about 40 MB).
SharedCache<std::vector<Option>>& sharedOptions() {
  static SharedCache<std::vector<Option>> c(200000, [](const std::vector<Option>& v) { return v.size(); });
  return c;
}

/// The price grid's candidates before the clock (Scheduler::sweepGrid), of max_fps runs: the ones
/// that fit by the estimate, in the order found, and the cheapest of all. Their cycles are 0: the
/// clock's part (the DRAM bound) is added per run.
struct SweptGrid {
  std::vector<Candidate> fitting;
  std::optional<Candidate> cheapest;
  std::vector<Options> held; // the options the key names by address: kept alive, so no other takes it
};
/// The options an entry keeps alive count as its size: once the options cache has dropped them,
/// they are this cache's to bound.
size_t heldSize(const std::vector<Options>& held) {
  size_t n = 0;
  for (const auto& o : held) n += o->size();
  return n;
}
/// Keyed by what sweepGrid reads: the classes' options (by address) and counts, the base resources
/// and DRAM bytes, the price grid, the budget and the device; at most 200,000 candidates and
/// options kept alive in all.
SharedCache<SweptGrid>& sharedSweeps() {
  static SharedCache<SweptGrid> c(200000, [](const SweptGrid& v) { return v.fitting.size() + heldSize(v.held) + 1; });
  return c;
}

/// Per option o of a layer class (Scheduler::feasibleAt), the first (by index) options d != o
/// whose values times the class's count are no larger than o's in every one: at most kDominators
/// of them, `more` when there are others.
constexpr size_t kDominators = 4;
struct Dominators {
  std::array<int, kDominators> d{};
  size_t n = 0;
  bool more = false;
};
/// A class's option as Scheduler::feasibleAt weighs it: its values times the class's count
/// (resources, then DRAM bytes), and its share: the sum of the resources' device shares, to which
/// feasibleAt adds the DRAM bytes' share of the bandwidth planned at its target.
struct ScaledOption {
  int opt;
  std::array<double, kRes + 1> v;
  double share;
};
/// A class's options scaled, and their dominators.
struct DominatorList {
  std::vector<ScaledOption> scaled;
  std::vector<Dominators> list;
  /// Per option without DRAM bytes: the index of the dominator that drops it from feasibleAt's
  /// skyline of the options [0, n) exactly when it lies below n (kNever: none does). Such an
  /// option's dominators have no DRAM bytes either, so their shares do not depend on the target
  /// and the test is the same at every one. kDram: an option with DRAM bytes, tested per target.
  static constexpr int kNever = std::numeric_limits<int>::max(), kDram = -1;
  std::vector<int> dropAt;
  Options held; // the options the key names by address: kept alive, so no other takes it
};
/// Keyed by the options (by address), the class's count and the device; at most 200,000 options in
/// all (each list as long as the options it keeps alive).
SharedCache<DominatorList>& sharedDominators() {
  static SharedCache<DominatorList> c(200000, [](const DominatorList& v) { return v.list.size() + 1; });
  return c;
}

struct Scheduler {
  const graph::Graph& g;
  const config::RunConfig& cfg;
  const std::map<std::string, LayerMapping>& manual; // as given by the user
  hw::Resources budget;
  Plan plan; // the result

  std::vector<LayerChoice> choices;
  Vec baseRes{};          // everything the options do not cover (DMAs, forks, FIFOs, fixed layers)
  int64_t baseCycles = 0; // the slowest engine the options do not cover (DMA ports, fixed layers)
  double baseDram = 0;    // DRAM bytes per frame the options do not cover (input, output, fixed streams)
  int64_t fastestCycles = 0;
  /// A sliding window of a shape: its unit, resources, and cycles (-1 until needed).
  struct Swu {
    EngineSpec unit;
    Vec res{};
    int64_t cycles = -1;
  };
  std::map<std::vector<int64_t>, Swu> swuCache; // sliding windows by shape
  std::map<std::vector<int64_t>, Options> optionCache;              // by Layer::hardwareKey, layers nobody mapped
  std::vector<int64_t> context;                                      // optionContext(cfg), when needed
  /// Layers with the same options (ResNet-152's repeated blocks) searched as one, times their count.
  struct Class {
    size_t rep = 0;
    double count = 0;
    std::vector<size_t> members;
  };
  std::vector<Class> classes;

  void groupClasses() {
    std::map<const std::vector<Option>*, size_t> byOptions;
    for (size_t c = 0; c < choices.size(); ++c) {
      auto [it, fresh] = byOptions.emplace(choices[c].options.get(), classes.size());
      if (fresh) classes.push_back(Class{c, 0, {}});
      Class& k = classes[it->second];
      k.count += 1;
      k.members.push_back(c);
    }
  }

  Scheduler(const graph::Graph& graph, const config::RunConfig& c)
      : g(graph), cfg(c), manual(c.mapping.layers), budget(c.hardware.units.budget) {
    plan.layers = manual;
    plan.fifos = cfg.mapping.fifos;
    plan.scheduled = true;
  }

  const LayerMapping* given(const std::string& name) const {
    auto it = manual.find(name);
    return it == manual.end() ? nullptr : &it->second;
  }

  // ---- 1. options -------------------------------------------------------------------------------

  /// The layer's options (none for a layer the scheduler does not fold), built once per
  /// hardware key unless the user mapped part of the layer.
  void addChoice(const graph::Layer& l) {
    const LayerMapping* gv = given(l.name);
    auto build = [&] { return prune(l.isWeighted() ? macOptions(l, gv) : laneOptions(l, gv)); };
    Options opts;
    if (gv) {
      opts = build();
    } else {
      std::vector<int64_t> key = l.hardwareKey();
      auto it = optionCache.find(key);
      if (it == optionCache.end()) {
        if (context.empty()) context = optionContext(cfg);
        std::vector<int64_t> shared = context;
        shared.insert(shared.end(), key.begin(), key.end());
        Options o = sharedOptions().find(shared);
        if (!o) {
          o = build();
          sharedOptions().put(shared, o);
        }
        it = optionCache.emplace(std::move(key), std::move(o)).first;
      }
      opts = it->second;
    }
    if (!opts->empty()) choices.push_back(LayerChoice{l.name, std::move(opts)});
  }

  std::vector<Option> macOptions(const graph::Layer& l, const LayerMapping* gv) {
    std::vector<hw::PeKind> kinds = cfg.mapping.pe_kinds;
    if (gv && gv->pe_kind) kinds = {*gv->pe_kind};
    if (kinds.empty()) kinds = {mac::defaultKind(l)};
    const std::vector<int64_t> pes = gv && gv->pe ? std::vector<int64_t>{*gv->pe} : divisors(mac::maxPe(l));
    const std::vector<int64_t> simds = gv && gv->simd ? std::vector<int64_t>{*gv->simd} : divisors(mac::maxSimd(l));
    const bool window = swu::needed(l), dw = l.isDepthwise();
    const auto& cost = cfg.hardware.cost;
    // network.quant `requant: auto`: each folding with either requantiser (the user's choice if given).
    const std::vector<graph::Requant> requants =
        gv && gv->requant ? std::vector<graph::Requant>{*gv->requant} : mac::requantChoices(l);
    std::vector<Option> opts;
    for (hw::PeKind kind : kinds) {
      struct F {
        int64_t pe, simd, cycles;
      };
      std::vector<F> folds;
      for (int64_t pe : pes)
        for (int64_t simd : simds) folds.push_back({pe, simd, mac::cycles(l, pe, simd, kind)});
      std::stable_sort(folds.begin(), folds.end(), [](const F& a, const F& b) {
        if (a.cycles != b.cycles) return a.cycles < b.cycles;
        if (a.pe * a.simd != b.pe * b.simd) return a.pe * a.simd < b.pe * b.simd;
        return a.pe < b.pe;
      });
      // Foldings with at most twice the fewest lanes any folding at least as fast needs: memory
      // packing makes a somewhat wider one cheaper at times (shallower weight memories), a much
      // wider one never pays; prune() then keeps those not dominated.
      int64_t minLanes = std::numeric_limits<int64_t>::max();
      for (const F& f : folds) {
        const int64_t lanes = f.pe * f.simd;
        if (minLanes != std::numeric_limits<int64_t>::max() && lanes >= 2 * minLanes) continue;
        minLanes = std::min(minLanes, lanes);
        Vec swuRes{};
        int64_t swuCycles = 0;
        if (window) {
          // The sliding window depends on the geometry, the input and the consumer's SIMD (and PE
          // when depthwise) only: layers of the same shape share it.
          const graph::Window w = graph::Window::of(l);
          const std::vector<int64_t> key = {l.stream_in.c, l.stream_in.h, l.stream_in.w, l.out_shape.h,
                                            l.out_shape.w, w.kh,          w.kw,          w.stride_h,
                                            w.stride_w,    w.pad_h,       w.pad_w,       w.dil_h,
                                            w.dil_w,       l.in.bits,     dw ? f.pe : 0, f.simd};
          auto it = swuCache.find(key);
          if (it == swuCache.end()) {
            const EngineSpec m = mac::engine(l, l.stream_in, f.pe, f.simd, kind, hw::MemKind::Bram, 0);
            Swu s{swu::unit(l, l.stream_in, m), {}, -1};
            s.res = vec(swu::resources(s.unit, l, cost));
            it = swuCache.emplace(key, std::move(s)).first;
          }
          Swu& s = it->second;
          // Its exact cycles matter only when the MAC unit could be faster than the window.
          if (s.cycles < 0 && swu::serialCycles(s.unit) > f.cycles) s.cycles = swu::steadyStateCycles(s.unit);
          swuCycles = std::max<int64_t>(0, s.cycles);
          swuRes = s.res;
        }
        for (graph::Requant rq : requants)
          addMemOptions(l, gv, rq, f.pe, f.simd, kind, std::max(f.cycles, swuCycles), swuRes, opts);
      }
    }
    return opts;
  }

  void addMemOptions(const graph::Layer& l, const LayerMapping* gv, graph::Requant rq, int64_t pe, int64_t simd,
                     hw::PeKind kind, int64_t cycles, const Vec& extra, std::vector<Option>& out) {
    const auto& h = cfg.hardware;
    auto add = [&](hw::MemKind mem, int64_t reuse, LayerMapping lm) {
      Option o;
      lm.pe = int(pe);
      lm.simd = int(simd);
      lm.pe_kind = kind;
      if (l.requant_auto) lm.requant = rq; // written down: the effective config fixes the choice
      o.lm = std::move(lm);
      o.cycles = cycles;
      o.res = vec(mac::resourcesWith(l, rq, pe, simd, kind, mem, reuse, h));
      o.res += extra;
      if (mem == hw::MemKind::Dram) {
        o.res += vec(dma::streamerResources(h)); // the weight streamer
        o.passes = dma::weightPasses(l, reuse);
        o.passBytes = dma::weightPassBytes(l.weightMemoryBits());
        o.dram = double(o.passes) * double(o.passBytes);
        o.note = Option::Note::Dram;
      }
      out.push_back(std::move(o));
    };
    const LayerMapping base = gv ? *gv : LayerMapping{};
    auto streamed = [&] {
      // Once per frame, once per output row, once per output pixel (or the user's reuse).
      std::vector<int64_t> reuses = {l.out_shape.pixels(), l.out_shape.w, 1};
      if (gv && gv->weight_reuse) reuses = {*gv->weight_reuse};
      std::set<int64_t> seen;
      for (int64_t r : reuses) {
        if (!seen.insert(dma::weightPasses(l, r)).second) continue;
        LayerMapping lm = base;
        lm.weights = WeightPlacement::Dram;
        lm.weight_reuse = int(std::min<int64_t>(r, 1 << 24));
        add(hw::MemKind::Dram, r, lm);
      }
    };
    if (gv && gv->weights && *gv->weights == WeightPlacement::Dram) return streamed();
    if (gv && gv->ram_style) {
      const config::RamStyle rs = *gv->ram_style;
      const hw::MemKind mem = rs == config::RamStyle::Lutram ? hw::MemKind::Lutram
                              : rs == config::RamStyle::Bram ? hw::MemKind::Bram
                              : rs == config::RamStyle::Uram ? hw::MemKind::Uram
                                                             : mac::autoWeightMemory(l, pe, simd, kind, h.cost);
      return add(mem, 0, base);
    }
    const hw::MemKind autoMem = mac::autoWeightMemory(l, pe, simd, kind, h.cost);
    {
      // The placement ram_style auto chose, written down: the effective config then fixes it (a
      // rerun does not weigh it against URAM or DRAM again).
      LayerMapping lm = base;
      if (autoMem == hw::MemKind::Lutram) lm.ram_style = config::RamStyle::Lutram;
      if (autoMem == hw::MemKind::Bram) lm.ram_style = config::RamStyle::Bram;
      add(autoMem, 0, lm);
    }
    if (autoMem != hw::MemKind::Bram) return; // shallow memories stay in LUTs
    if (h.device.uram > 0) {
      LayerMapping lm = base;
      lm.ram_style = config::RamStyle::Uram;
      add(hw::MemKind::Uram, 0, lm);
      out.back().note = Option::Note::Uram;
    }
    if (!(gv && gv->weights)) streamed(); // weights: on_chip keeps them on chip
  }

  std::vector<Option> laneOptions(const graph::Layer& l, const LayerMapping* gv) const {
    const int64_t lanes = maxLanes(l);
    std::vector<Option> opts;
    if (lanes == 0 || l.kind == graph::LayerKind::Fork || (gv && gv->pe)) return opts;
    for (int64_t d : divisors(lanes)) {
      Option o;
      o.lm = gv ? *gv : LayerMapping{};
      o.lm.pe = int(d);
      o.cycles = lanesCycles(l, d);
      o.res = vec(lanesResources(l, d, cfg.hardware.cost));
      opts.push_back(std::move(o));
    }
    return opts;
  }

  // ---- 2. what the options do not cover ----------------------------------------------------------

  Plan planOf(const std::vector<int>& pick) const {
    Plan p = plan;
    p.layers = manual;
    for (size_t c = 0; c < choices.size(); ++c) p.layers[choices[c].layer] = choices[c].opts()[size_t(pick[c])].lm;
    return p;
  }

  void measureBase() {
    const std::vector<int> fastest(choices.size(), 0);
    const Mapping m = buildMapping(g, cfg, planOf(fastest));
    const DesignResources d = estimateResources(g, m, cfg);
    ++plan.evaluations;
    baseRes = vec(d.total);
    std::set<std::string> covered;
    for (const auto& c : choices) {
      baseRes = baseRes - c.opts()[0].res;
      covered.insert(c.layer);
    }
    for (const auto& e : m.engines) {
      if (covered.count(e.layer) || e.kind == EngineKind::Fork) continue;
      if (e.kind == EngineKind::InputDma || e.kind == EngineKind::OutputDma || e.kind == EngineKind::WeightStreamer) {
        baseDram += double(e.bytes_per_frame);
        baseCycles = std::max(baseCycles, dma::portCycles(e));
      } else {
        baseCycles = std::max(baseCycles, e.closed_form_cycles);
      }
    }
    fastestCycles = m.predicted_cycles;
  }

  // ---- 3. candidates ------------------------------------------------------------------------------

  /// Price vectors: levels 1, 4, 16 for each of LUT+FF, DSP, BRAM, URAM and DRAM bytes (relative to
  /// the device's amount and to the network's weight bytes), without multiples of one another.
  std::vector<Priced> priceGrid() const {
    const Vec device = deviceVec();
    double weightBytes = 0;
    for (const auto& l : g.layers()) weightBytes += double(dma::weightPassBytes(l.weightMemoryBits()));
    const double levels[3] = {1, 4, 16};
    // A resource no option uses needs no price of its own (one level instead of three).
    bool used[5] = {true, false, false, false, false};
    for (const auto& c : choices)
      for (const auto& o : c.opts()) {
        used[1] = used[1] || o.res[2] > 0;
        used[2] = used[2] || o.res[3] > 0;
        used[3] = used[3] || o.res[4] > 0;
        used[4] = used[4] || o.dram > 0;
      }
    std::vector<Priced> grid;
    for (int code = 0; code < 243; ++code) {
      int a[5], x = code;
      bool hasOne = false, skip = false;
      for (int k = 0; k < 5; ++k) {
        a[k] = x % 3;
        x /= 3;
        hasOne = hasOne || a[k] == 0;
        skip = skip || (!used[k] && a[k] != 0);
      }
      if (!hasOne || skip) continue;
      const double lutff = levels[a[0]], dsp = levels[a[1]], bram = levels[a[2]], uram = levels[a[3]],
                   dram = levels[a[4]];
      Priced p{};
      p[0] = lutff / std::max(1.0, device[0]);
      p[1] = lutff / std::max(1.0, device[1]);
      p[2] = dsp / std::max(1.0, device[2]);
      p[3] = bram / std::max(1.0, device[3]);
      p[4] = uram / std::max(1.0, device[4]);
      p[5] = dram / std::max(1.0, weightBytes);
      grid.push_back(p);
    }
    return grid;
  }

  /// The device's amounts in Vec order (the prices' and the cost's unit).
  Vec deviceVec() const {
    const auto& dev = cfg.hardware.device;
    return {double(dev.lut), double(dev.ff), double(dev.dsp), double(dev.bram18), double(dev.uram)};
  }

  double shareCost(const Vec& r) const {
    const Vec device = deviceVec();
    double s = 0;
    for (int i = 0; i < kRes; ++i) s += r[size_t(i)] / std::max(1.0, device[size_t(i)]);
    return s;
  }

  bool estimateFits(const Vec& r) const {
    const Vec b = vec(budget);
    for (int i = 0; i < kRes; ++i)
      if (std::ceil(r[size_t(i)] - 1e-6) > b[size_t(i)]) return false;
    return true;
  }

  int64_t estimateCycles(int64_t compute, double dram) const {
    const double bpc = cfg.hardware.units.dram_plan_bytes_per_cycle;
    const int64_t dramCycles = bpc > 0 ? int64_t(std::ceil(dram / bpc)) : 0;
    return std::max({compute, baseCycles, dramCycles});
  }

  /// Per price vector, one sweep over the cycle targets in increasing order: a layer's choice
  /// changes when an option that meets the new target is cheaper at those prices than its current
  /// one. A candidate is visited at every target where the design changed, with its cost, DRAM
  /// bytes and fit by the estimate, not its cycles (0 here: the clock's part, see withCycles).
  /// Reads the classes' options and counts, baseRes, baseDram, the grid, the budget and the device,
  /// nothing else (sweptGrid's key).
  template <class Visit>
  void sweepGrid(const std::vector<Priced>& grid, Visit&& visit) const {
    // The options of every class in one array by cycles, with their numbers inline (the sweep
    // below reads nothing else): resources, then DRAM bytes.
    struct Event {
      int64_t cycles;
      int choice, opt;
      Priced v;
    };
    std::vector<Event> events;
    for (size_t c = 0; c < classes.size(); ++c) {
      const auto& opts = choices[classes[c].rep].opts();
      for (size_t o = 0; o < opts.size(); ++o) {
        events.push_back({opts[o].cycles, int(c), int(o), pricedValues(opts[o])});
      }
    }
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.cycles < b.cycles; });
    std::vector<int> pick(classes.size());
    std::vector<double> pickCost(classes.size());
    std::vector<Priced> pickV(classes.size());
    for (size_t pi = 0; pi < grid.size(); ++pi) {
      const auto& p = grid[pi];
      std::fill(pick.begin(), pick.end(), -1);
      size_t chosen = 0;
      Priced total{};
      for (int r = 0; r < kRes; ++r) total[size_t(r)] = baseRes[size_t(r)];
      total[kRes] = baseDram;
      for (size_t i = 0; i < events.size();) {
        const int64_t t = events[i].cycles;
        bool changed = false;
        for (; i < events.size() && events[i].cycles == t; ++i) {
          const Event& ev = events[i];
          const double cost = dot(p, ev.v);
          const size_t k = size_t(ev.choice);
          int& cur = pick[k];
          if (cur >= 0 && !(cost < pickCost[k])) continue;
          const double count = classes[k].count;
          if (cur >= 0)
            for (int r = 0; r <= kRes; ++r) total[size_t(r)] += count * (ev.v[size_t(r)] - pickV[k][size_t(r)]);
          else
            for (int r = 0; r <= kRes; ++r) total[size_t(r)] += count * ev.v[size_t(r)];
          if (cur < 0) ++chosen;
          cur = ev.opt;
          pickCost[k] = cost;
          pickV[k] = ev.v;
          changed = true;
        }
        if (!changed || chosen < classes.size()) continue;
        Vec res;
        for (int r = 0; r < kRes; ++r) res[size_t(r)] = total[size_t(r)];
        Candidate c;
        c.cost = shareCost(res);
        c.prices = int(pi);
        c.target = t;
        c.dram = total[kRes];
        c.fits = estimateFits(res);
        visit(c);
      }
    }
  }

  Candidate withCycles(Candidate c) const {
    c.cycles = estimateCycles(c.target, c.dram);
    return c;
  }

  /// sweepGrid's fitting candidates and the cheapest, shared by the max_fps runs of the process
  /// with the same inputs (points that differ only in the clock, the DRAM or the goal's target).
  std::shared_ptr<const SweptGrid> sweptGrid(const std::vector<Priced>& grid) const {
    std::vector<int64_t> key;
    auto bits = [&](double d) {
      int64_t v = 0;
      std::memcpy(&v, &d, sizeof v); // the exact value (a key, not arithmetic)
      key.push_back(v);
    };
    key.push_back(int64_t(classes.size()));
    for (const Class& k : classes) {
      key.push_back(int64_t(reinterpret_cast<uintptr_t>(choices[k.rep].options.get())));
      bits(k.count);
    }
    for (double d : baseRes) bits(d);
    bits(baseDram);
    for (double d : vec(budget)) bits(d);
    for (double d : deviceVec()) bits(d);
    key.push_back(int64_t(grid.size()));
    for (const Priced& p : grid)
      for (double d : p) bits(d);
    if (auto found = sharedSweeps().find(key)) return found;
    auto s = std::make_shared<SweptGrid>();
    sweepGrid(grid, [&](const Candidate& c) {
      if (!s->cheapest || c.cost < s->cheapest->cost) s->cheapest = c;
      if (c.fits) s->fitting.push_back(c);
    });
    for (const Class& k : classes) s->held.push_back(choices[k.rep].options);
    sharedSweeps().put(key, s);
    return s;
  }

  /// The candidates that fit by the estimate, in the order the sweep finds them, with their cycles
  /// at this clock; `cheapest` and `cheapestMeeting` (at most `targetCycles`) are the cheapest of
  /// all, for the message when nothing fits. Without a target (max_fps: every candidate meets it,
  /// so the two are one) the sweep is shared across runs (sweptGrid), else made here.
  std::vector<Candidate> candidates(const std::vector<Priced>& grid, int64_t targetCycles,
                                    std::optional<Candidate>& cheapest, std::optional<Candidate>& cheapestMeeting) {
    std::vector<Candidate> out;
    if (targetCycles == std::numeric_limits<int64_t>::max()) {
      const std::shared_ptr<const SweptGrid> s = sweptGrid(grid);
      out.reserve(s->fitting.size());
      for (const Candidate& c : s->fitting) out.push_back(withCycles(c));
      if (s->cheapest) cheapest = cheapestMeeting = withCycles(*s->cheapest);
      return out;
    }
    sweepGrid(grid, [&](const Candidate& raw) {
      const Candidate c = withCycles(raw);
      if (!cheapest || c.cost < cheapest->cost) cheapest = c;
      if (c.cycles <= targetCycles && (!cheapestMeeting || c.cost < cheapestMeeting->cost)) cheapestMeeting = c;
      if (c.fits) out.push_back(c);
    });
    return out;
  }

  static double priced(const Priced& p, const Option& o) { return dot(p, pricedValues(o)); }

  /// The design of candidate c (the same choices as the sweep made).
  std::vector<int> picksOf(const Candidate& c, const Priced& p) const {
    std::vector<int> pick(choices.size(), -1);
    for (const Class& k : classes) {
      int best = -1;
      double bestCost = 0;
      const auto& opts = choices[k.rep].opts();
      for (size_t o = 0; o < opts.size() && opts[o].cycles <= c.target; ++o) {
        const double s = priced(p, opts[o]);
        if (best < 0 || s < bestCost) {
          best = int(o);
          bestCost = s;
        }
      }
      for (size_t m : k.members) pick[m] = best;
    }
    return pick;
  }

  struct Eval {
    DesignResources res;
    int64_t cycles = 0;
    std::vector<int> pick;
    std::shared_ptr<const Mapping> mapping; // the design built in full
  };

  Eval evaluate(const std::vector<int>& pick) {
    ++plan.evaluations;
    const Plan p = planOf(pick);
    auto m = std::make_shared<const Mapping>(buildMapping(g, cfg, p));
    return Eval{estimateResources(g, *m, cfg), m->predicted_cycles, pick, m};
  }

  Plan finish(const Eval& ev, int64_t target) {
    Plan p = planOf(ev.pick);
    p.evaluations = plan.evaluations;
    for (size_t c = 0; c < choices.size(); ++c) {
      const Option& o = choices[c].opts()[size_t(ev.pick[c])];
      if (o.note == Option::Note::Uram) p.notes.push_back(choices[c].layer + ": weights in URAM");
      if (o.note == Option::Note::Dram)
        p.notes.push_back(choices[c].layer + ": weights streamed from DRAM, " + std::to_string(o.passes) +
                          " pass(es) of " + std::to_string(o.passBytes) + " bytes per frame");
    }
    p.target_cycles = target;
    p.design_cycles = ev.cycles;
    p.built = ev.mapping; // built from planOf(ev.pick): these layers and fifos
    return p;
  }

  /// Evaluates the candidates in `order` until one fits (and meets maxCycles); each distinct
  /// design once. `chosen`: the candidate it came from.
  std::optional<Eval> firstFitting(const std::vector<Candidate>& order,
                                   const std::vector<Priced>& grid, int64_t maxCycles,
                                   Candidate* chosen = nullptr) {
    std::set<std::vector<int>> tried;
    for (const auto& c : order) {
      std::vector<int> pick = picksOf(c, grid[size_t(c.prices)]);
      if (!tried.insert(pick).second) continue;
      Eval ev = evaluate(pick);
      if (ev.res.fits && ev.cycles <= maxCycles) {
        if (chosen) *chosen = c;
        return ev;
      }
    }
    return std::nullopt;
  }

  /// Why the chosen max_fps design is not faster: the design one step faster at the same prices
  /// (every layer now at the design's cycles takes its cheapest faster option).
  /// `pick`: that faster design (-1 for a layer with no faster option).
  Limit limitOf(const Eval& ev, const Candidate& c, const std::vector<int>& pick) {
    Limit lim;
    const Mapping& m = *ev.mapping;
    if (m.predicted_bottleneck == "dram") {
      lim.by = "dram";
      return lim;
    }
    for (size_t k = 0; k < choices.size(); ++k)
      if (pick[k] < 0) lim.layers.push_back(choices[k].layer);
    const int b = m.indexOf(m.predicted_bottleneck);
    if (b >= 0 &&
        (m.engines[size_t(b)].kind == EngineKind::InputDma || m.engines[size_t(b)].kind == EngineKind::OutputDma)) {
      lim.by = "io";
      lim.layers = {m.predicted_bottleneck};
      return lim;
    }
    if (!lim.layers.empty() || c.target <= baseCycles) {
      lim.by = "parallelism";
      if (lim.layers.empty()) lim.layers.push_back(m.predicted_bottleneck);
      return lim;
    }
    const Eval next = evaluate(pick);
    lim.by = next.res.fits ? "search" : "budget";
    lim.next_cycles = next.cycles;
    lim.shortfalls = next.res.shortfalls;
    for (size_t k = 0; k < choices.size(); ++k) {
      if (pick[k] == ev.pick[k]) continue;
      lim.layers.push_back(choices[k].layer);
      const Vec d = choices[k].opts()[size_t(pick[k])].res - choices[k].opts()[size_t(ev.pick[k])].res;
      lim.extra_lut += d[0];
      lim.extra_ff += d[1];
      lim.extra_dsp += d[2];
      lim.extra_bram18 += d[3];
      lim.extra_uram += d[4];
    }
    return lim;
  }

  // ---- 4. refinement: a faster design than the price grid's, by bounded exact search ----------

  /// Whether some choice of one option per class, each meeting T, fits the budget (by the estimate)
  /// and the DRAM bandwidth at T: a depth-first search over the classes with per-resource lower
  /// bounds, at most `nodeLimit` nodes. On success `pick` holds the choice per layer.
  /// `margin`: resources kept free beyond the estimate (what a full build needed more before).
  /// `cheapest`: go on after the first choice that fits, for the one of the least cost (sum of
  /// device shares, plus the streamed bytes as a share of the bandwidth planned at T) within the node limit, so that the result does not depend on the search order
  /// (a rerun of the effective config, whose options are a subset, finds the same).
  mutable std::vector<std::shared_ptr<const DominatorList>> dominators; // per class (made once)
  void scaleOptions() const {
    const Vec device = deviceVec();
    dominators.assign(classes.size(), {});
    for (size_t k = 0; k < classes.size(); ++k) {
      // A function of the options, the count and the device: shared by the runs of the process.
      std::vector<int64_t> key = {int64_t(reinterpret_cast<uintptr_t>(choices[classes[k].rep].options.get()))};
      for (double d : std::array<double, kRes + 1>{classes[k].count, device[0], device[1], device[2], device[3],
                                                   device[4]}) {
        int64_t bits = 0;
        std::memcpy(&bits, &d, sizeof bits);
        key.push_back(bits);
      }
      if ((dominators[k] = sharedDominators().find(key))) continue;
      auto made = std::make_shared<DominatorList>();
      made->held = choices[classes[k].rep].options;
      for (size_t o = 0; o < choices[classes[k].rep].opts().size(); ++o) {
        ScaledOption c{int(o), {}, 0};
        const Priced pv = pricedValues(choices[classes[k].rep].opts()[o]);
        for (int r = 0; r <= kRes; ++r) c.v[size_t(r)] = classes[k].count * pv[size_t(r)];
        for (int r = 0; r < kRes; ++r) c.share += c.v[size_t(r)] / std::max(1.0, device[size_t(r)]);
        made->scaled.push_back(c);
      }
      const auto& sc = made->scaled;
      made->list.assign(sc.size(), {});
      for (size_t o = 0; o < sc.size(); ++o) {
        Dominators& dm = made->list[o];
        for (size_t d = 0; d < sc.size() && !dm.more; ++d) {
          if (d == o || !lessEqual(sc[d].v, sc[o].v)) continue;
          if (dm.n < kDominators)
            dm.d[dm.n++] = int(d);
          else
            dm.more = true;
        }
      }
      made->dropAt.assign(sc.size(), DominatorList::kNever);
      for (size_t o = 0; o < sc.size(); ++o) {
        int& at = made->dropAt[o];
        if (sc[o].v[kRes] != 0) {
          at = DominatorList::kDram;
          continue;
        }
        const int d = dropper(*made, o, sc.size(), [&](size_t x) { return sc[x].share; });
        if (d >= 0) at = d;
      }
      dominators[k] = made;
      sharedDominators().put(key, made);
    }
  }
  static bool lessEqual(const std::array<double, kRes + 1>& a, const std::array<double, kRes + 1>& b) {
    bool le = true;
    for (size_t r = 0; r < a.size() && le; ++r) le = a[r] <= b[r];
    return le;
  }
  /// The option that drops option o from feasibleAt's skyline of the options [0, n), or -1: the
  /// first listed dominator before o or of a smaller share; beyond the listed ones (`more`), the
  /// first option no worse in every value of a smaller share, or of an equal one and earlier.
  /// `share(d)`: option d's share at the target.
  template <class Share>
  static int dropper(const DominatorList& dl, size_t o, size_t n, const Share& share) {
    const Dominators& dm = dl.list[o];
    for (size_t j = 0; j < dm.n; ++j) {
      const size_t d = size_t(dm.d[j]);
      if (d >= n) return -1; // by index: the later ones are outside the prefix too
      if (d < o || share(d) < share(o)) return int(d);
    }
    if (!dm.more) return -1;
    for (size_t d = 0; d < n; ++d) // beyond the first ones: every option of the prefix
      if (d != o && lessEqual(dl.scaled[d].v, dl.scaled[o].v) &&
          (share(d) < share(o) || (share(d) == share(o) && d < o)))
        return int(d);
    return -1;
  }

  /// When the exact search runs out of nodes (a target it cannot decide): a greedy repair from
  /// each class's cheapest option (the search's first path). While some resource is over its cap,
  /// it makes the one switch of one class's option that removes the most excess (summed over the
  /// resources as shares of the caps) per unit of added cost (sum of device shares); it stops
  /// when nothing is over (a choice the search would accept: checked level by level as it sums)
  /// or no switch removes excess. `found` / `share` as the search sets them; untouched on failure.
  template <class Level, class Row>
  void repair(const std::vector<Level>& levels, const Row& capSlack, std::vector<int>& found,
              double& share) const {
    const size_t K = levels.size();
    constexpr size_t D = kRes + 1;
    std::vector<size_t> sel(K, 0);
    Row tot{};
    for (size_t i = 0; i < K; ++i)
      for (size_t r = 0; r < D; ++r) tot[r] += levels[i].c[0].v[r];
    auto excess = [&](const Row& t) {
      double e = 0;
      for (size_t r = 0; r < D; ++r)
        if (t[r] > capSlack[r]) e += (t[r] - capSlack[r]) / std::max(1.0, std::abs(capSlack[r]));
      return e;
    };
    size_t total = 0;
    for (const auto& lv : levels) total += lv.n;
    for (size_t step = 0; step < 4 * total + 16; ++step) {
      const double e0 = excess(tot);
      if (e0 <= 0) break;
      double bestScore = 0;
      size_t bi = K, bj = 0;
      for (size_t i = 0; i < K; ++i) {
        const auto& cur = levels[i].c[sel[i]];
        for (size_t j = 0; j < levels[i].n; ++j) {
          if (j == sel[i]) continue;
          const auto& c = levels[i].c[j];
          Row t = tot;
          for (size_t r = 0; r < D; ++r) t[r] += c.v[r] - cur.v[r];
          const double gain = e0 - excess(t);
          if (gain <= 1e-12) continue;
          const double score = gain / std::max(1e-9, c.share - cur.share + 1e-6);
          if (bi == K || score > bestScore) {
            bestScore = score;
            bi = i;
            bj = j;
          }
        }
      }
      if (bi == K) return; // no switch removes excess
      for (size_t r = 0; r < D; ++r) tot[r] += levels[bi].c[bj].v[r] - levels[bi].c[sel[bi]].v[r];
      sel[bi] = bj;
    }
    // Accepted as the search accepts: the sums level by level within the caps with the rest's least.
    Row u{};
    double sh = 0;
    std::vector<int> at(K, -1);
    for (size_t i = 0; i < K; ++i) {
      const auto& c = levels[i].c[sel[i]];
      bool ok = true;
      for (size_t r = 0; r < D; ++r) {
        u[r] = u[r] + c.v[r];
        ok &= u[r] + (*levels[i].after)[r] <= capSlack[r];
      }
      if (!ok) return;
      at[levels[i].cls] = c.opt;
      sh = sh + c.share;
    }
    found = at;
    share = sh;
  }

  /// `share` (optional): out, the found choice's cost as the search sums it; in, with `cheapest`,
  /// the cost of `pick`, the choice found at T with this margin without `cheapest` (the search's
  /// first leaf, or the repair's where the search ran out of nodes): the search then looks only for
  /// cheaper ones, which it finds in the same order (the first leaf starts the same chain of
  /// improvements), and keeps `pick` if there are none. Fewer nodes, the same result unless the
  /// node limit binds.
  bool feasibleAt(int64_t T, uint64_t& nodes, uint64_t nodeLimit, std::vector<int>& pick,
                  const Vec& margin = Vec{}, bool cheapest = false, double* share = nullptr) const {
    const size_t K = classes.size();
    constexpr int D = kRes + 1;
    using Row = std::array<double, D>;
    // Per class: its options meeting T that no other one meeting T beats in every resource, as
    // values times the class's count, cheapest (sum of device shares) first.
    const double dramPerFrame = std::max(1.0, double(T) * cfg.hardware.units.dram_plan_bytes_per_cycle);
    using Cand = ScaledOption;
    if (dominators.size() != K) scaleOptions();
    std::vector<std::vector<Cand>> opts(K);
    std::vector<double> sh; // the options' shares at this target
    std::vector<std::pair<double, size_t>> byShare;
    for (size_t k = 0; k < K; ++k) {
      const auto& all = choices[classes[k].rep].opts();
      const DominatorList& dl = *dominators[k];
      size_t n = 0;
      while (n < all.size() && all[n].cycles <= T) ++n;
      if (n == 0) return false;
      sh.resize(n);
      for (size_t o = 0; o < n; ++o) // streamed weights: their share of the planned bandwidth
        sh[o] = dl.scaled[o].share + dl.scaled[o].v[kRes] / dramPerFrame;
      byShare.clear();
      // Skyline in order of cost (share, then position; ties: the first of equal ones): an option
      // is dropped exactly when one no worse in every value comes before it in that order (that
      // one is kept, or dropped for a kept one before it, which is then no worse either). One no
      // worse has no larger share (a sum of the values' positive multiples; rounding is
      // monotone), so it comes before unless the shares are equal and it is later. The options
      // no worse than each are known (dominators, by index): the first ones in the prefix decide;
      // for an option without DRAM bytes that is known before the target (dropAt).
      auto dropped = [&](size_t o) {
        const int at = dl.dropAt[o];
        if (at != DominatorList::kDram) return size_t(at) < n;
        return dropper(dl, o, n, [&](size_t x) { return sh[x]; }) >= 0;
      };
      for (size_t o = 0; o < n; ++o)
        if (!dropped(o)) byShare.emplace_back(sh[o], o);
      std::sort(byShare.begin(), byShare.end());
      opts[k].reserve(byShare.size());
      for (const auto& [share, at] : byShare) {
        opts[k].push_back(dl.scaled[at]);
        opts[k].back().share = share;
      }
    }
    // The classes that need the most (their cheapest option's shares) first, so that the bounds
    // bite early; the bound of the classes after each.
    std::vector<size_t> order(K);
    for (size_t k = 0; k < K; ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return opts[a].front().share > opts[b].front().share; });
    std::vector<Row> after(K + 1, Row{});
    for (size_t i = K; i-- > 0;)
      for (int r = 0; r < D; ++r) {
        double m = std::numeric_limits<double>::max();
        for (const auto& c : opts[order[i]]) m = std::min(m, c.v[size_t(r)]);
        after[i][size_t(r)] = after[i + 1][size_t(r)] + m;
      }
    Row cap{};
    const Vec b = vec(budget);
    for (int r = 0; r < kRes; ++r) cap[size_t(r)] = b[size_t(r)] - baseRes[size_t(r)] - margin[size_t(r)];
    cap[kRes] = double(T) * cfg.hardware.units.dram_plan_bytes_per_cycle - baseDram;
    std::vector<double> shareAfter(K + 1, 0.0); // the least cost of the classes after each
    for (size_t i = K; i-- > 0;) shareAfter[i] = shareAfter[i + 1] + opts[order[i]].front().share;
    std::vector<int> at(K, -1), found;
    double bestShare = std::numeric_limits<double>::max();
    if (cheapest && share && pick.size() == choices.size()) { // the first leaf, known: improve on it
      found.assign(K, -1);
      for (size_t k = 0; k < K; ++k) found[k] = pick[classes[k].members.front()];
      bestShare = *share;
    }
    // Per depth: the class's options, the bounds of the classes after it; the caps with their
    // rounding slack (the same sums as written out per node before, so the same search).
    struct Level {
      const Cand* c;
      size_t n;
      const Row* after;
      double shareAfter;
      size_t cls;
    };
    std::vector<Level> levels(K);
    for (size_t i = 0; i < K; ++i)
      levels[i] = {opts[order[i]].data(), opts[order[i]].size(), &after[i + 1], shareAfter[i + 1], order[i]};
    Row capSlack{};
    for (int r = 0; r < D; ++r) capSlack[size_t(r)] = cap[size_t(r)] + 1e-6; // as estimateFits rounds
    auto dfs = [&](auto& self, size_t i, const Row& used, double share) -> bool {
      if (i == K) {
        if (share < bestShare - 1e-12) {
          bestShare = share;
          found = at;
        }
        return !cheapest;
      }
      const Level& lv = levels[i];
      const Row& aft = *lv.after;
      for (size_t o = 0; o < lv.n; ++o) {
        if (++nodes > nodeLimit) return false;
        const Cand& c = lv.c[o];
        if (cheapest && share + c.share + lv.shareAfter >= bestShare - 1e-12) break; // sorted by share
        Row u;
        bool ok = true;
        for (size_t r = 0; r < size_t(D); ++r) { // every resource (branch-free): fits with the rest's least
          u[r] = used[r] + c.v[r];
          ok &= u[r] + aft[r] <= capSlack[r];
        }
        if (!ok) continue;
        at[lv.cls] = c.opt;
        if (self(self, i + 1, u, share + c.share)) return true;
        if (nodes > nodeLimit) return false;
      }
      return false;
    };
    dfs(dfs, 0, Row{}, 0.0);
    if (found.empty() && !cheapest && nodes > nodeLimit) repair(levels, capSlack, found, bestShare);
    if (found.empty()) return false;
    if (share) *share = bestShare;
    pick.assign(choices.size(), -1);
    for (size_t k = 0; k < K; ++k)
      for (size_t m : classes[k].members) pick[m] = found[k];
    return true;
  }

  /// The cheapest design at the fastest target the exact search finds feasible at or below `ev`'s
  /// cycles (the grid's design; so the choice does not depend on which price vector found it):
  /// galloping and bisection over the cycle targets up to ev's for the fastest one feasible by the estimate,
  /// confirmed by building it in full (else the next slower feasible target, a few times).
  std::optional<Eval> refine(const Eval& ev) {
    std::vector<int64_t> targets;
    for (const Class& k : classes)
      for (const auto& o : choices[k.rep].opts())
        if (std::max(o.cycles, baseCycles) <= ev.cycles) targets.push_back(std::max(o.cycles, baseCycles));
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());
    uint64_t nodes = 0;
    constexpr uint64_t kNodes = 4000000; // in all: bounds the refinement's time on large networks
    constexpr uint64_t kPerProbe = 1000000; // per target: a target it cannot decide counts as infeasible
    std::vector<int> pick, best;
    size_t bestAt = targets.size();
    double bestShare = 0, pickShare = 0; // best's cost at targets[bestAt], as feasibleAt sums it
    auto probe = [&](size_t i) {
      uint64_t n = 0;
      const bool ok = feasibleAt(targets[i], n, kPerProbe, pick, Vec{}, false, &pickShare);
      nodes += n;
      if (ok) {
        best = pick;
        bestAt = i;
        bestShare = pickShare;
      }
      return ok;
    };
    // Galloping down from the grid's design (a feasible target is found fast where there is
    // slack), then bisection between the fastest feasible and the first infeasible target.
    size_t lo = 0; // targets below lo are infeasible (or undecided)
    for (size_t step = 1; bestAt > 0 && nodes < kNodes;) {
      const size_t i = bestAt == targets.size() ? targets.size() - 1 : (bestAt > step ? bestAt - step : 0);
      if (targets.empty() || !probe(i)) {
        lo = targets.empty() ? 0 : i + 1;
        break;
      }
      step *= 2;
    }
    size_t hi = bestAt;
    while (lo < hi && nodes < kNodes) {
      const size_t mid = lo + (hi - lo) / 2;
      if (probe(mid))
        hi = mid;
      else
        lo = mid + 1;
    }
    spdlog::debug("scheduler refinement: {} targets below {} cycles, {} search nodes, fastest feasible by the "
                  "estimate: {}", targets.size(), ev.cycles, nodes,
                  bestAt < targets.size() ? std::to_string(targets[bestAt]) : std::string("none"));
    // Built in full; where the estimate missed something, the same target again with what the
    // build needed beyond the estimate kept free, then the next slower targets.
    Vec margin{};
    for (int tries = 0; bestAt < targets.size() && tries < 6; ++tries) {
      uint64_t n = 0;
      feasibleAt(targets[bestAt], n, kPerProbe, best, margin, true, &bestShare); // the cheapest at that target
      Eval r = evaluate(best);
      spdlog::debug("scheduler refinement: target {} built in full: {} cycles, {}", targets[bestAt], r.cycles,
                    r.res.fits ? "fits" : "does not fit: " + (r.res.shortfalls.empty() ? "" : r.res.shortfalls[0]));
      if (r.res.fits && r.cycles <= ev.cycles) return r;
      Vec est = baseRes;
      for (size_t c = 0; c < choices.size(); ++c) est += choices[c].opts()[size_t(best[c])].res;
      const Vec full = vec(r.res.total);
      bool grew = false;
      for (int k = 0; k < kRes; ++k)
        if (full[size_t(k)] > est[size_t(k)] + margin[size_t(k)]) {
          margin[size_t(k)] = full[size_t(k)] - est[size_t(k)];
          grew = true;
        }
      size_t next = grew ? bestAt : bestAt + 1;
      n = 0;
      while (next < targets.size() && !feasibleAt(targets[next], n, kPerProbe, best, margin, false, &bestShare)) ++next;
      bestAt = next;
    }
    return std::nullopt;
  }

  Plan run() {
    for (const auto& l : g.layers()) addChoice(l);
    if (choices.empty()) { // everything given: the user's mapping as it is
      Eval ev = evaluate({});
      return finish(ev, ev.cycles);
    }
    measureBase();
    groupClasses();
    const auto grid = priceGrid();
    const double fclk = cfg.hardware.clock_mhz * 1e6;
    const bool targetGoal = cfg.mapping.goal == config::Goal::TargetFps;
    const int64_t target =
        targetGoal ? int64_t(std::floor(fclk / cfg.mapping.target_fps)) : std::numeric_limits<int64_t>::max();
    if (targetGoal && target < fastestCycles)
      throw LoadError(cfg.file + ": mapping.target_fps = " + std::to_string(cfg.mapping.target_fps) +
                      " is out of reach: even fully parallel, the design needs " + std::to_string(fastestCycles) +
                      " cycles per frame (" + std::to_string(fclk / double(fastestCycles)) + " fps at " +
                      std::to_string(cfg.hardware.clock_mhz) + " MHz)");
    std::optional<Candidate> cheapest, cheapestMeeting;
    std::vector<Candidate> fitting = candidates(grid, target, cheapest, cheapestMeeting);
    if (targetGoal) {
      std::vector<Candidate> meeting;
      for (const auto& c : fitting)
        if (c.cycles <= target) meeting.push_back(c);
      std::stable_sort(meeting.begin(), meeting.end(), [](const Candidate& a, const Candidate& b) {
        if (a.cost != b.cost) return a.cost < b.cost;
        return a.cycles < b.cycles;
      });
      if (auto ev = firstFitting(meeting, grid, target)) {
        Plan p = finish(*ev, target);
        p.limit.by = "target";
        return p;
      }
      const Candidate& c = cheapestMeeting ? *cheapestMeeting : *cheapest;
      throwShort(evaluate(picksOf(c, grid[size_t(c.prices)])), "at " + std::to_string(cfg.mapping.target_fps) + " fps");
    }
    std::stable_sort(fitting.begin(), fitting.end(), [](const Candidate& a, const Candidate& b) {
      if (a.cycles != b.cycles) return a.cycles < b.cycles;
      return a.cost < b.cost;
    });
    Candidate chosen;
    if (auto ev = firstFitting(fitting, grid, std::numeric_limits<int64_t>::max(), &chosen)) {
      std::vector<int> faster;
      if (auto better = refine(*ev)) {
        ev = better;
        chosen.target = better->cycles;
        // The next faster design: each layer's cheapest option below these cycles (device shares,
        // and its DRAM bytes as a share of what the planned bandwidth moves in that time).
        const Vec device = deviceVec();
        const double dramPerFrame = std::max(1.0, double(chosen.target) * cfg.hardware.units.dram_plan_bytes_per_cycle);
        faster.assign(choices.size(), -1);
        for (const Class& k : classes) {
          int best = -1;
          double bestShare = 0;
          const auto& opts = choices[k.rep].opts();
          for (size_t o = 0; o < opts.size() && opts[o].cycles < chosen.target; ++o) {
            double s = 0;
            for (int r = 0; r < kRes; ++r) s += opts[o].res[size_t(r)] / std::max(1.0, device[size_t(r)]);
            s += opts[o].dram / dramPerFrame;
            if (best < 0 || s < bestShare) {
              best = int(o);
              bestShare = s;
            }
          }
          for (size_t mbr : k.members) faster[mbr] = best;
        }
      } else {
        Candidate f = chosen;
        f.target = chosen.target - 1;
        faster = picksOf(f, grid[size_t(chosen.prices)]);
      }
      Limit lim = limitOf(*ev, chosen, faster);
      Plan p = finish(*ev, ev->cycles);
      p.limit = std::move(lim);
      p.evaluations = plan.evaluations;
      return p;
    }
    throwShort(evaluate(picksOf(*cheapest, grid[size_t(cheapest->prices)])), "even with PE = SIMD = 1 everywhere");
  }

  [[noreturn]] void throwShort(const Eval& ev, const std::string& when) {
    std::vector<std::string> msgs;
    msgs.push_back(cfg.file + ": " + g.name() + " does not fit " + cfg.hardware.device.name + " " + when +
                   " (the cheapest design the scheduler found, weights in URAM or DRAM where that saves memory):");
    for (const auto& s : ev.res.shortfalls) msgs.push_back("  " + s);
    // The largest users of each short resource, so the user knows where to look.
    Mapping m = buildMapping(g, cfg, planOf(ev.pick));
    struct Use {
      std::string name;
      double amount;
    };
    auto top = [&](const char* what, double hw::Resources::*field) {
      std::vector<Use> uses;
      for (size_t i = 0; i < m.engines.size(); ++i) uses.push_back({m.engines[i].name, ev.res.engines[i].*field});
      double fifo = 0;
      for (const auto& r : ev.res.streams) fifo += r.*field;
      uses.push_back({"all FIFOs", fifo});
      std::stable_sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) { return a.amount > b.amount; });
      std::string line = std::string("  largest ") + what + " users:";
      for (size_t i = 0; i < std::min<size_t>(5, uses.size()); ++i)
        line += " " + uses[i].name + " " + std::to_string(int64_t(std::ceil(uses[i].amount))) + (i + 1 < 5 ? "," : "");
      msgs.push_back(line);
    };
    for (const auto& s : ev.res.shortfalls) {
      if (s.rfind("LUT", 0) == 0)
        top("LUT", &hw::Resources::lut);
      else if (s.rfind("FF", 0) == 0)
        top("FF", &hw::Resources::ff);
      else if (s.rfind("DSP", 0) == 0)
        top("DSP", &hw::Resources::dsp);
      else if (s.rfind("BRAM18", 0) == 0)
        top("BRAM18", &hw::Resources::bram18);
      else if (s.rfind("URAM", 0) == 0)
        top("URAM", &hw::Resources::uram);
    }
    throw DoesNotFitError(msgs);
  }
};

} // namespace

Plan manualPlan(const config::RunConfig& cfg) {
  Plan p;
  p.layers = cfg.mapping.layers;
  p.fifos = cfg.mapping.fifos;
  return p;
}

void clearSharedState() {
  sharedOptions().clear();
  sharedSweeps().clear();
  sharedDominators().clear();
  clearShortcutMemo();
}

Plan schedule(const graph::Graph& g, const config::RunConfig& cfg) {
  if (cfg.mapping.mode == config::MappingMode::Manual) return manualPlan(cfg);
  return Scheduler(g, cfg).run();
}

config::RunConfig withPlan(const config::RunConfig& cfg, const Plan& plan) {
  config::RunConfig c = cfg;
  c.mapping.layers = plan.layers;
  c.mapping.fifos = plan.fifos;
  return c;
}

} // namespace mpsim::sched
