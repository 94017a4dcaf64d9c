// FIFO sizing by simulation: see include/mpsim/flow/FifoSizing.hpp for the method.
#include "mpsim/flow/FifoSizing.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/sim/Simulator.hpp"

namespace mpsim::flow {

namespace {

constexpr int kMaxRounds = 6;         // growth rounds of step 3
constexpr int kMaxSimulations = 160;  // in all: step 4 stops there (the depths are then safe, not minimal)
constexpr int kMaxFixRounds = 16;     // growth rounds of fixStalls (doubling: up to 2^16 x the depth)

hw::Resources fifoCost(const sched::DesignResources& r) {
  hw::Resources t;
  for (const auto& s : r.streams) t += s;
  return t;
}

/// The simulation options of every sizing run: timing only, at least 5 frames (frameInterval's
/// mean over frames 1..F-2), nothing recorded.
sim::SimOptions sizingOptions(const Design& d) {
  sim::SimOptions so = simOptions(d);
  so.frames = std::max(so.frames, 5);
  so.reference = false;
  so.functional = nullptr;
  so.output_npy.clear();
  so.timeline = nullptr;
  return so;
}

/// A FIFO's ample depth: twice a frame's tokens of its producer (and never less than `depth`).
int64_t ampleDepth(const sched::Mapping& m, const sched::StreamSpec& s) {
  const int64_t tokens = m.engines[size_t(s.producer)].out_tokens_per_frame;
  return std::max<int64_t>(s.depth, std::min<int64_t>(config::kMaxFifoDepth, 2 * tokens + 2));
}

bool isWeightStream(const sched::Mapping& m, const sched::StreamSpec& s) {
  return m.engines[size_t(s.producer)].kind == sched::EngineKind::WeightStreamer;
}

bool ranThrough(const sim::SimResult& r, const sim::SimOptions& so) {
  return !r.deadlock.detected && r.frames_done == so.frames;
}

} // namespace

StallFix fixStalls(const Design& d) {
  const config::RunConfig& cfg = d.run.config;
  checkSimulatable(d);
  const sim::SimOptions so = sizingOptions(d);
  const sched::Mapping& m0 = d.mapping;
  StallFix fx;
  sched::Plan plan = d.plan;
  plan.fifos.sizing = config::FifoSizing::Fixed;
  std::map<std::string, int64_t> current, ample, depths;
  for (const auto& s : m0.streams) {
    if (isWeightStream(m0, s)) continue;
    current[s.name] = s.depth;
    ample[s.name] = ampleDepth(m0, s);
  }
  auto build = [&](const std::map<std::string, int64_t>& ds) {
    for (const auto& [name, depth] : ds) plan.fifos.depths[name] = int(depth);
    return sched::buildMapping(d.run.graph, cfg, plan);
  };
  auto run = [&](const sched::Mapping& m) {
    ++fx.simulations;
    return sim::simulateIsolated(m, cfg, so);
  };
  const sim::SimResult r0 = run(m0);
  fx.deadlock = r0.deadlock.detected;
  fx.cycles = ranThrough(r0, so) ? sim::frameInterval(r0).cycles : 0;
  const sim::SimResult ra = run(build(ample));
  if (!ranThrough(ra, so)) return fx; // not a FIFO matter: even ample FIFOs do not run through
  fx.reference_cycles = sim::frameInterval(ra).cycles;
  const double limit = fx.reference_cycles * (1 + sched::kFifoSizingTolerance);
  fx.stalls = fx.deadlock || fx.cycles == 0 || fx.cycles > limit;
  if (!fx.stalls) return fx;

  // Grow the FIFOs that filled up (double, at most to ample) until the interval is the reference's.
  depths = current;
  sim::SimResult r = r0;
  for (int round = 0; round < kMaxFixRounds; ++round) {
    bool grew = false;
    for (const auto& st : r.streams) {
      auto it = depths.find(st.name);
      if (it == depths.end() || st.max_occupancy < it->second || it->second >= ample[st.name]) continue;
      it->second = std::min(ample[st.name], std::max<int64_t>(it->second + 1, 2 * it->second));
      grew = true;
    }
    if (!grew) break;
    r = run(build(depths));
    if (ranThrough(r, so) && sim::frameInterval(r).cycles <= limit) {
      fx.reached = true;
      fx.cycles_after = sim::frameInterval(r).cycles;
      break;
    }
  }
  if (!fx.reached) return fx;
  // Shrink each grown FIFO back towards its depth (largest growth in bits first), bisecting.
  std::map<std::string, int64_t> bits;
  for (const auto& s : m0.streams) bits[s.name] = s.bits_per_token;
  std::vector<std::string> grown;
  for (const auto& [name, depth] : depths)
    if (depth > current[name]) grown.push_back(name);
  std::stable_sort(grown.begin(), grown.end(), [&](const std::string& a, const std::string& b) {
    return double(depths[a] - current[a]) * double(bits[a]) > double(depths[b] - current[b]) * double(bits[b]);
  });
  for (const auto& name : grown) {
    int64_t lo = current[name], hi = depths[name]; // hi keeps the interval; lo: it may not have needed growing
    while (lo < hi && fx.simulations < kMaxSimulations) {
      const int64_t mid = lo + (hi - lo) / 2;
      depths[name] = mid;
      const sim::SimResult t = run(build(depths));
      if (ranThrough(t, so) && sim::frameInterval(t).cycles <= limit) {
        hi = mid;
        fx.cycles_after = sim::frameInterval(t).cycles;
      } else {
        lo = mid + 1;
      }
    }
    depths[name] = hi;
  }
  for (const auto& [name, depth] : depths)
    if (depth != current[name]) fx.changes[name] = {current[name], depth};
  fx.design = d;
  fx.design.plan.fifos.sizing = config::FifoSizing::Fixed;
  for (const auto& [name, ch] : fx.changes) fx.design.plan.fifos.depths[name] = int(ch.second);
  fx.design.mapping = sched::buildMapping(d.run.graph, cfg, fx.design.plan);
  fx.design.resources = sched::estimateResources(d.run.graph, fx.design.mapping, cfg);
  return fx;
}

void sizeFifos(Design& d) {
  const config::RunConfig& cfg = d.run.config;
  if (cfg.mapping.fifos.sizing != config::FifoSizing::Auto) return;
  checkSimulatable(d);
  const sim::SimOptions so = sizingOptions(d);

  sched::Plan plan = d.plan;
  plan.fifos.sizing = config::FifoSizing::Fixed;
  const sched::Mapping& m0 = d.mapping;
  // The FIFOs to size and their ample depths.
  std::map<std::string, int64_t> ample, minDepth;
  for (const auto& s : m0.streams) {
    if (cfg.mapping.fifos.depths.count(s.name)) continue;
    if (isWeightStream(m0, s)) continue;
    ample[s.name] = std::min<int64_t>(config::kMaxFifoDepth, 2 * m0.engines[size_t(s.producer)].out_tokens_per_frame + 2);
    minDepth[s.name] = std::max<int64_t>(1, s.shortcut ? s.min_depth : 1);
  }
  auto build = [&](const std::map<std::string, int64_t>& depths) {
    for (const auto& [name, depth] : depths) plan.fifos.depths[name] = int(depth);
    return sched::buildMapping(d.run.graph, cfg, plan);
  };
  sched::FifoSizingResult res;
  auto run = [&](const sched::Mapping& m, const sim::SimOptions& o) {
    ++res.simulations;
    return sim::simulateIsolated(m, cfg, o);
  };

  // 1. Ample FIFOs: the reference interval.
  const sched::Mapping mAmple = build(ample);
  const sim::SimResult r0 = run(mAmple, so);
  if (r0.deadlock.detected || r0.frames_done < so.frames)
    throw LoadError(cfg.file + ": mapping.fifos: auto: the design deadlocks even with FIFOs of twice a frame's tokens "
                               "(run it with mapping.fifos sizing fixed to see where)");
  res.reference_cycles = sim::frameInterval(r0).cycles;

  // 2. Paced input: each FIFO's maximum occupancy.
  sim::SimOptions paced = so;
  paced.input_interval = res.reference_cycles;
  const sim::SimResult r1 = run(mAmple, paced);
  std::map<std::string, int64_t> depths;
  for (const auto& st : r1.streams) {
    auto it = ample.find(st.name);
    if (it != ample.end()) depths[st.name] = std::clamp<int64_t>(st.max_occupancy, minDepth[st.name], it->second);
  }

  // 3. Unpaced with those depths; double the FIFOs that filled up while the interval is longer.
  sched::Mapping m = build(depths);
  std::map<std::string, int64_t> best; // the depths of the shortest interval so far
  double bestCycles = 0;
  for (int round = 0;; ++round) {
    const sim::SimResult r = run(m, so);
    const bool ok = ranThrough(r, so);
    res.cycles = ok ? sim::frameInterval(r).cycles : 0;
    res.reached = ok && res.cycles <= res.reference_cycles * (1 + sched::kFifoSizingTolerance);
    if (ok && (best.empty() || res.cycles < bestCycles)) {
      best = depths;
      bestCycles = res.cycles;
    }
    if (res.reached || round == kMaxRounds) break;
    bool grew = false;
    for (const auto& st : r.streams) {
      auto it = depths.find(st.name);
      if (it == depths.end() || st.max_occupancy < it->second || it->second >= ample[st.name]) continue;
      it->second = std::min(ample[st.name], 2 * it->second);
      grew = true;
    }
    if (!grew) break;
    m = build(depths);
  }
  if (!res.reached) {
    // Keep the depths that came closest (a design bound by DRAM contention need not converge);
    // none that ran through: the ample ones.
    depths = best.empty() ? ample : best;
    res.cycles = best.empty() ? res.reference_cycles : bestCycles;
    m = build(depths);
    spdlog::warn("mapping.fifos: auto: with sized FIFOs the design simulates at {:.0f} cycles per frame, "
                 "{:.2f} % above the {:.0f} of ample FIFOs (tolerance {:.1f} %); {} depths kept",
                 res.cycles, 100.0 * (res.cycles / res.reference_cycles - 1), res.reference_cycles,
                 100.0 * sched::kFifoSizingTolerance, best.empty() ? "the ample" : "the closest");
  }
  // 4. Shrink: each FIFO deeper than 2, the largest (depth x width) first, bisected down to the
  //    smallest depth that keeps the interval within the tolerance of the reference, the others
  //    as they are (the paced occupancy is enough, not always needed: a burst that a FIFO absorbs
  //    in the paced run can also be absorbed by slack further on).
  if (res.reached) {
    std::map<std::string, int64_t> bits;
    for (const auto& s : m.streams) bits[s.name] = s.bits_per_token;
    std::vector<std::string> order;
    for (const auto& [name, depth] : depths)
      if (depth > 2) order.push_back(name);
    std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
      return double(depths[a]) * double(bits[a]) > double(depths[b]) * double(bits[b]);
    });
    const double limit = res.reference_cycles * (1 + sched::kFifoSizingTolerance);
    for (const auto& name : order) {
      int64_t lo = minDepth[name], hi = depths[name]; // hi keeps the interval
      while (lo < hi && res.simulations < kMaxSimulations) {
        const int64_t mid = lo + (hi - lo) / 2;
        depths[name] = mid;
        const sim::SimResult r = run(build(depths), so);
        const bool ok = !r.deadlock.detected && r.frames_done == so.frames && sim::frameInterval(r).cycles <= limit;
        if (ok) {
          hi = mid;
          res.cycles = sim::frameInterval(r).cycles;
        } else {
          lo = mid + 1;
        }
      }
      depths[name] = hi;
    }
    m = build(depths);
  }
  res.done = true;
  res.fifos = int(depths.size());
  for (const auto& [name, depth] : depths) res.total_depth += depth;

  d.mapping = m;
  d.resources = sched::estimateResources(d.run.graph, d.mapping, cfg);
  res.cost = fifoCost(d.resources);
  sched::Mapping m2 = d.mapping;
  for (auto& s : m2.streams)
    if (m2.engines[size_t(s.producer)].kind != sched::EngineKind::WeightStreamer) s.depth = 2;
  res.cost_depth2 = fifoCost(sched::estimateResources(d.run.graph, m2, cfg));
  plan.fifo_sizing = res;
  d.plan = plan;
  if (!d.resources.fits) {
    std::string s;
    for (const auto& x : d.resources.shortfalls) s += "; " + x;
    spdlog::warn("mapping.fifos: auto: with the sized FIFOs the design no longer fits the budget{}", s);
  }
  spdlog::info("FIFO sizing: {} FIFOs, {} tokens in all, after {} simulations: {:.0f} cycles per frame (ample "
               "FIFOs: {:.0f}); FIFO cost LUT {:.0f}, BRAM18 {:.0f} (at depth 2: LUT {:.0f}, BRAM18 {:.0f})",
               res.fifos, res.total_depth, res.simulations, res.cycles, res.reference_cycles, res.cost.lut,
               res.cost.bram18, res.cost_depth2.lut, res.cost_depth2.bram18);
}

} // namespace mpsim::flow
