#include "mpsim/sched/Scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/sched/Engines.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sched/Resources.hpp"

namespace mpsim::sched {
using config::LayerMapping;
using config::WeightPlacement;

namespace {

double score(const hw::Resources& r, const hw::Resources& budget) {
  auto part = [](double need, double have) {
    if (need <= 0) return 0.0;
    return have > 0 ? need / have : 1e9;
  };
  return part(r.lut, budget.lut) + part(r.ff, budget.ff) + part(r.dsp, budget.dsp) + part(r.bram18, budget.bram18) +
         part(r.uram, budget.uram);
}

struct Scheduler {
  const graph::Graph& g;
  const config::RunConfig& cfg;
  const std::map<std::string, LayerMapping>& manual; // as given by the user
  std::vector<hw::PeKind> kinds;
  hw::Resources budget;
  Plan plan; // the design under evaluation; the result

  Scheduler(const graph::Graph& graph, const config::RunConfig& c)
      : g(graph), cfg(c), manual(c.mapping.layers), kinds(c.mapping.pe_kinds), budget(c.hardware.units.budget) {
    if (kinds.empty()) kinds = {hw::PeKind::Lut};
    plan.layers = manual;
    plan.fifos = cfg.mapping.fifos;
    plan.scheduled = true;
  }

  /// The smallest divisor d of n (lanes) for which fits(d) holds; n when none does.
  static int64_t fewestLanes(int64_t n, const std::function<bool(int64_t)>& fits) {
    for (int64_t d : divisors(n))
      if (fits(d)) return d;
    return n;
  }
  /// Sets the PE of a layer without a manual PE, keeping its other manual keys.
  void setPe(const std::string& name, int64_t pe) {
    LayerMapping lm = manual.count(name) ? manual.at(name) : LayerMapping{};
    lm.pe = int(pe);
    plan.layers[name] = lm;
  }

  /// Folding and PE kind of every MAC layer for a cycle target; weights on chip (auto placement).
  void foldAll(int64_t target) {
    plan.layers = manual;
    for (const auto& l : g.layers()) {
      if (!l.isWeighted()) {
        // Pooling, add, concat, quantiser, label select: the fewest lanes (a divisor of the channels
        // or class scores) whose closed form meets the target. A graph fork keeps its default.
        const int64_t lanes = maxLanes(l);
        if (lanes == 0 || l.kind == graph::LayerKind::Fork || (manual.count(l.name) && manual.at(l.name).pe)) continue;
        setPe(l.name, fewestLanes(lanes, [&](int64_t d) { return lanesCycles(l, d) <= target; }));
        continue;
      }
      const LayerMapping* given = manual.count(l.name) ? &manual.at(l.name) : nullptr;
      std::vector<hw::PeKind> options = kinds;
      if (given && given->pe_kind) options = {*given->pe_kind};
      double best = std::numeric_limits<double>::infinity();
      LayerMapping choice;
      for (hw::PeKind k : options) {
        // Candidates: the user's folding, or every folding that meets the target (memory packing
        // makes a wider folding cheaper at times, so not only the fewest lanes).
        std::vector<Fold> folds;
        if (given && given->pe && given->simd) {
          folds = {Fold{*given->pe, *given->simd, mac::cycles(l, *given->pe, *given->simd, k)}};
        } else if (given && given->pe) { // keep the user's PE, fit SIMD
          Fold f{*given->pe, 1, 0};
          for (int64_t s : divisors(mac::maxSimd(l))) {
            f.simd = s;
            if (mac::cycles(l, f.pe, s, k) <= target) break;
          }
          folds = {f};
        } else {
          folds = mac::foldsForTarget(l, target, k);
        }
        for (const Fold& f : folds) {
          hw::MemKind mem = mac::autoWeightMemory(l, f.pe, f.simd, k, cfg.hardware.cost);
          if (given && given->weights && *given->weights == WeightPlacement::Dram) mem = hw::MemKind::Dram;
          hw::Resources r = mac::resources(l, f.pe, f.simd, k, mem, 1, cfg.hardware);
          int64_t cycles = mac::cycles(l, f.pe, f.simd, k);
          // Meeting the target first, then the lowest share of the budget (ties: fewer lanes, then
          // the smaller PE, as the candidates come in increasing PE).
          double s = score(r, budget) + (cycles > target ? 1e6 : 0.0);
          if (s < best) {
            best = s;
            choice = given ? *given : LayerMapping{};
            choice.pe = int(f.pe);
            choice.simd = int(f.simd);
            choice.pe_kind = k;
          }
        }
      }
      plan.layers[l.name] = choice;
    }
  }

  struct Eval {
    DesignResources res;
    int64_t cycles = 0;
  };

  Eval evaluate() {
    ++plan.evaluations;
    Mapping m = buildMapping(g, cfg, plan);
    return Eval{estimateResources(g, m, cfg), m.predicted_cycles};
  }

  /// Moves weight memories out of BRAM while BRAM is over budget: first to URAM, then to DRAM
  /// (streamed) as long as the DRAM bandwidth allows, choosing per layer the weight reuse (one pass
  /// per frame, per output row or per pixel) that needs the least BRAM. Resources are updated per
  /// layer (only that engine and its weight streamer change); one full evaluation at the end.
  Eval place(Eval ev, bool note) {
    if (ev.res.total.bram18 <= budget.bram18) return ev;
    Mapping m = buildMapping(g, cfg, plan);
    struct Cand {
      size_t engine;
      double bram;
    };
    std::vector<Cand> cands;
    for (size_t i = 0; i < m.engines.size(); ++i) {
      const auto& e = m.engines[i];
      if (e.weight_mem != hw::MemKind::Bram) continue;
      const LayerMapping* given = manual.count(e.layer) ? &manual.at(e.layer) : nullptr;
      if (given && (given->ram_style || given->weights)) continue; // the user's placement stands
      cands.push_back({i, ev.res.engines[i].bram18});
    }
    std::stable_sort(cands.begin(), cands.end(), [](const Cand& a, const Cand& b) { return a.bram > b.bram; });
    const double fclk = cfg.hardware.clock_mhz * 1e6;
    const double dramBudget = 0.8 * cfg.hardware.dram.bandwidth_gbps * cfg.hardware.dram.channels * 1e9;
    const double framesPerSecond = fclk / double(std::max<int64_t>(1, ev.cycles));
    hw::Resources total = ev.res.total;
    double streamed = 0; // bytes per second
    bool changed = false;
    for (const auto& c : cands) {
      if (total.bram18 <= budget.bram18) break;
      const auto& e = m.engines[c.engine];
      const graph::Layer& l = g.at(e.layer);
      const hw::Resources old = ev.res.engines[c.engine];
      auto& lm = plan.layers[e.layer];
      auto unit = [&](hw::MemKind mem, int64_t reuse) {
        return mac::resources(l, e.pe, e.simd, e.pe_kind, mem, reuse, cfg.hardware);
      };
      if (budget.uram > 0) {
        hw::Resources r = unit(hw::MemKind::Uram, 1);
        if (total.uram - old.uram + r.uram <= budget.uram) {
          lm.ram_style = config::RamStyle::Uram;
          total.bram18 += r.bram18 - old.bram18;
          total.uram += r.uram - old.uram;
          total.lut += r.lut - old.lut;
          changed = true;
          if (note) plan.notes.push_back(e.layer + ": weights in URAM");
          continue;
        }
      }
      const int64_t pixels = l.out_shape.h * l.out_shape.w;
      const double bytes = double(dma::weightPassBytes(l.weightMemoryBits()));
      int64_t bestReuse = 0;
      hw::Resources best;
      for (int64_t reuse : {pixels, l.out_shape.w, int64_t(1)}) {
        const double passes = double(dma::weightPasses(l, reuse));
        if (streamed + bytes * passes * framesPerSecond > dramBudget) continue;
        hw::Resources r = unit(hw::MemKind::Dram, reuse);
        r += dma::resources(cfg.hardware.cost); // the weight streamer
        if (r.bram18 < old.bram18 && (bestReuse == 0 || r.bram18 < best.bram18)) {
          bestReuse = reuse;
          best = r;
        }
      }
      if (bestReuse == 0) continue;
      const double passes = double(dma::weightPasses(l, bestReuse));
      lm.weights = WeightPlacement::Dram;
      lm.weight_reuse = int(std::min<int64_t>(bestReuse, 1 << 24));
      streamed += bytes * passes * framesPerSecond;
      total.bram18 += best.bram18 - old.bram18;
      total.lut += best.lut - old.lut;
      total.ff += best.ff - old.ff;
      changed = true;
      if (note)
        plan.notes.push_back(e.layer + ": weights streamed from DRAM, " + std::to_string(int64_t(passes)) +
                             " pass(es) of " + std::to_string(int64_t(bytes)) + " bytes per frame");
    }
    return changed ? evaluate() : ev;
  }

  Eval designFor(int64_t target, bool note) {
    foldAll(target);
    return place(evaluate(), note);
  }

  int64_t boundCycles(bool fastest) {
    // Fastest: every MAC layer fully parallel; slowest: PE = SIMD = 1 (the cheapest kind).
    auto saved = plan.layers;
    plan.layers = manual;
    for (const auto& l : g.layers()) {
      if (l.kind == graph::LayerKind::LabelSelect && !(manual.count(l.name) && manual.at(l.name).pe)) {
        LayerMapping lm = manual.count(l.name) ? manual.at(l.name) : LayerMapping{};
        lm.pe = fastest ? int(labelselect::maxPe(l)) : 1;
        plan.layers[l.name] = lm;
        continue;
      }
      if (!l.isWeighted() || (manual.count(l.name) && manual.at(l.name).pe && manual.at(l.name).simd)) continue;
      LayerMapping lm = manual.count(l.name) ? manual.at(l.name) : LayerMapping{};
      lm.pe = fastest ? int(mac::maxPe(l)) : 1;
      lm.simd = fastest ? int(mac::maxSimd(l)) : 1;
      lm.pe_kind = hw::PeKind::Lut;
      plan.layers[l.name] = lm;
    }
    int64_t c = buildMapping(g, cfg, plan).predicted_cycles;
    plan.layers = saved;
    return c;
  }

  Plan run() {
    const double fclk = cfg.hardware.clock_mhz * 1e6;
    int64_t lo = boundCycles(true), hi = boundCycles(false);
    if (cfg.mapping.goal == config::Goal::TargetFps) {
      int64_t target = int64_t(std::floor(fclk / cfg.mapping.target_fps));
      if (target < lo)
        throw LoadError(cfg.file + ": mapping.target_fps = " + std::to_string(cfg.mapping.target_fps) +
                        " is out of reach: even fully parallel, the design needs " + std::to_string(lo) +
                        " cycles per frame (" + std::to_string(fclk / double(lo)) + " fps at " +
                        std::to_string(cfg.hardware.clock_mhz) + " MHz)");
      Eval ev = designFor(target, true);
      if (!ev.res.fits) throwShort(ev, "at " + std::to_string(cfg.mapping.target_fps) + " fps");
      plan.target_cycles = target;
      plan.design_cycles = ev.cycles;
      return plan;
    }
    // max_fps: the smallest cycle target whose design fits (cost falls as the target grows).
    Eval slow = designFor(hi, false);
    if (!slow.res.fits) throwShort(slow, "even with PE = SIMD = 1 everywhere");
    int64_t a = lo, b = hi;
    while (a < b) {
      int64_t mid = a + (b - a) / 2;
      if (designFor(mid, false).res.fits)
        b = mid;
      else
        a = mid + 1;
    }
    Eval ev = designFor(b, true);
    plan.target_cycles = b;
    plan.design_cycles = ev.cycles;
    return plan;
  }

  [[noreturn]] void throwShort(const Eval& ev, const std::string& when) {
    std::vector<std::string> msgs;
    msgs.push_back(cfg.file + ": " + g.name() + " does not fit " + cfg.hardware.device.name + " " + when +
                   " (weights moved to URAM/DRAM where bandwidth allowed):");
    for (const auto& s : ev.res.shortfalls) msgs.push_back("  " + s);
    // The largest users of each short resource, so the user knows where to look.
    Mapping m = buildMapping(g, cfg, plan);
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
    throw LoadError(msgs);
  }
};

} // namespace

Plan manualPlan(const config::RunConfig& cfg) {
  Plan p;
  p.layers = cfg.mapping.layers;
  p.fifos = cfg.mapping.fifos;
  return p;
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
