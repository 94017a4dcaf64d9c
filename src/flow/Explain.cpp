#include "mpsim/flow/Explain.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "mpsim/common/Error.hpp"
#include "mpsim/sched/Engines.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sched/Resources.hpp"

namespace mpsim::flow {

namespace {

double fpsOf(const Design& d, int64_t cycles) {
  return cycles > 0 ? d.run.config.hardware.clock_mhz * 1e6 / double(cycles) : 0;
}

int64_t engineCycles(const sched::Mapping& m, const std::string& name) {
  const int i = m.indexOf(name);
  return i >= 0 ? m.engines[size_t(i)].closed_form_cycles : 0;
}

/// The design with `layer` folded at (pe, simd); false when the folding is illegal.
bool withFolding(const Design& d, const std::string& layer, int64_t pe, int64_t simd, Design& out) {
  out = d;
  auto& lm = out.plan.layers[layer];
  lm.pe = int(pe);
  lm.simd = int(simd);
  try {
    out.mapping = sched::buildMapping(out.run.graph, out.run.config, out.plan);
  } catch (const LoadError&) {
    return false;
  }
  out.resources = sched::estimateResources(out.run.graph, out.mapping, out.run.config);
  return true;
}

std::string num(double v, const char* f = "%.2f") {
  char b[48];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// The next legal folding step of engine s's layer (the fewest MAC lanes that are faster, or the
/// next PE that makes the engine faster): false with a note when there is none.
bool nextStep(const Design& d, const sched::EngineSpec& s, const graph::Layer& l, Design& out, std::string& change,
              std::string& note) {
  using K = sched::EngineKind;
  const sched::Mapping& m = d.mapping;
  const int mi = m.indexOf(s.layer);
  const sched::EngineSpec& main = m.engines.at(size_t(mi >= 0 ? mi : m.indexOf(s.name)));
  if (l.isWeighted() || main.kind == K::MatrixVector || main.kind == K::Vector) {
    const int64_t cur = sched::mac::cycles(l, main.pe, main.simd, main.pe_kind);
    const sched::Fold f = sched::mac::foldForTarget(l, cur - 1, main.pe_kind);
    if (f.cycles < cur && withFolding(d, s.layer, f.pe, f.simd, out)) {
      change = "pe " + std::to_string(main.pe) + " -> " + std::to_string(f.pe) + ", simd " +
               std::to_string(main.simd) + " -> " + std::to_string(f.simd);
      return true;
    }
  } else {
    for (int64_t pe : sched::divisors(std::max<int64_t>(1, l.out_shape.c))) {
      if (pe <= main.pe) continue;
      Design t;
      if (!withFolding(d, s.layer, pe, main.simd, t)) continue;
      if (engineCycles(t.mapping, s.name) >= s.closed_form_cycles) continue;
      out = std::move(t);
      change = "pe " + std::to_string(main.pe) + " -> " + std::to_string(pe);
      return true;
    }
  }
  note = s.name + ": at its fastest legal folding (pe " + std::to_string(main.pe) + ", simd " +
         std::to_string(main.simd) + ")";
  return false;
}

void finish(const Design& d, const Explanation& e, WhatIf& w);

} // namespace

Explanation explain(const Design& d) {
  Explanation e;
  const sched::Mapping& m = d.mapping;
  e.bottleneck = m.predicted_bottleneck;
  e.cycles = m.predicted_cycles;
  e.fps = fpsOf(d, e.cycles);
  std::vector<const sched::EngineSpec*> near;
  for (const auto& s : m.engines)
    if (double(s.closed_form_cycles) >= (1 - kExplainWithin) * double(e.cycles)) near.push_back(&s);
  std::stable_sort(near.begin(), near.end(),
                   [](const auto* a, const auto* b) { return a->closed_form_cycles > b->closed_form_cycles; });
  std::vector<std::string> layersDone;
  for (const auto* s : near) {
    e.near.emplace_back(s->name, s->closed_form_cycles);
    using K = sched::EngineKind;
    if (s->kind == K::InputDma || s->kind == K::OutputDma || s->kind == K::WeightStreamer) {
      e.notes.push_back(s->name + ": a DMA / weight streamer: limited by its port width or DRAM, not by folding");
      continue;
    }
    if (s->layer.empty() || std::find(layersDone.begin(), layersDone.end(), s->layer) != layersDone.end()) continue;
    const graph::Layer* l = nullptr;
    try {
      l = &d.run.graph.at(s->layer);
    } catch (const std::exception&) {
      continue;
    }
    if (s->name != s->layer && s->kind != K::Swu) {
      e.notes.push_back(s->name + ": follows its producer's rate (no folding of its own)");
      continue;
    }
    layersDone.push_back(s->layer);
    WhatIf w;
    w.engine = s->name;
    w.layer = s->layer;
    w.engine_cycles = s->closed_form_cycles;
    std::string note;
    if (!nextStep(d, *s, *l, w.design, w.change, note)) {
      e.notes.push_back(note);
      continue;
    }
    finish(d, e, w);
    e.steps.push_back(std::move(w));
  }
  // The chain of limits: the engines tied with the bottleneck all need a step before the frame
  // rate moves. Step the bottleneck of the design after each step until the design is faster.
  {
    WhatIf w;
    w.engine = "(chain)";
    Design cur = d;
    std::vector<std::string> changed;
    for (int k = 0; k < 256 && cur.mapping.predicted_cycles >= d.mapping.predicted_cycles; ++k) {
      const int bi = cur.mapping.indexOf(cur.mapping.predicted_bottleneck);
      if (bi < 0) break;
      const sched::EngineSpec& s = cur.mapping.engines[size_t(bi)];
      const graph::Layer* l = nullptr;
      try {
        l = &cur.run.graph.at(s.layer);
      } catch (const std::exception&) {
        break;
      }
      Design next;
      std::string change, note;
      if (!nextStep(cur, s, *l, next, change, note)) {
        e.notes.push_back("chain: " + note + "; the design cannot get faster by folding");
        changed.clear();
        break;
      }
      changed.push_back(s.layer + " " + change);
      cur = std::move(next);
    }
    if (!changed.empty() && cur.mapping.predicted_cycles < d.mapping.predicted_cycles) {
      w.layer = std::to_string(changed.size()) + " layers";
      for (const auto& c : changed) w.change += (w.change.empty() ? "" : "; ") + c;
      w.engine_cycles = d.mapping.predicted_cycles;
      w.design = std::move(cur);
      finish(d, e, w);
      w.engine_cycles_after = w.cycles_after;
      e.steps.push_back(std::move(w));
    }
  }
  std::stable_sort(e.steps.begin(), e.steps.end(), [](const WhatIf& a, const WhatIf& b) {
    if (a.fits != b.fits) return a.fits;
    return a.score > b.score;
  });
  return e;
}

namespace {
void finish(const Design& d, const Explanation& e, WhatIf& w) {
  const auto& a = d.resources.total;
  const auto& b = w.design.resources.total;
  const auto& bud = d.resources.budget;
  w.extra = hw::Resources{b.lut - a.lut, b.ff - a.ff, b.dsp - a.dsp, b.bram18 - a.bram18, b.uram - a.uram};
  auto share = [](double x, double budget) { return budget > 0 ? x / budget : (x > 0 ? 1e9 : 0.0); };
  w.budget_share = std::max({share(w.extra.lut, bud.lut), share(w.extra.ff, bud.ff), share(w.extra.dsp, bud.dsp),
                             share(w.extra.bram18, bud.bram18), share(w.extra.uram, bud.uram), 0.0});
  w.engine_cycles_after = w.engine == "(chain)" ? 0 : engineCycles(w.design.mapping, w.engine);
  w.cycles_after = w.design.mapping.predicted_cycles;
  w.fps_after = fpsOf(d, w.cycles_after);
  w.bottleneck_after = w.design.mapping.predicted_bottleneck;
  w.fits = w.design.resources.fits;
  w.score = (w.fps_after - e.fps) / std::max(w.budget_share, 1e-6);
}

} // namespace

void confirm(Explanation& e, int n) {
  for (int i = 0; i < n && size_t(i) < e.steps.size(); ++i) {
    RunOptions o;
    o.isolated = true;
    const RunOutcome r = simulate(e.steps[size_t(i)].design, o);
    e.steps[size_t(i)].simulated_fps = r.report["summary"]["fps"].get<double>();
  }
}

nlohmann::ordered_json explanationJson(const Explanation& e) {
  nlohmann::ordered_json j;
  j["bottleneck"] = e.bottleneck;
  j["cycles_per_frame"] = e.cycles;
  j["fps"] = e.fps;
  j["within"] = kExplainWithin;
  j["near"] = nlohmann::ordered_json::array();
  for (const auto& [n, c] : e.near) j["near"].push_back({{"engine", n}, {"cycles_per_frame", c}});
  j["steps"] = nlohmann::ordered_json::array();
  for (const auto& w : e.steps) {
    nlohmann::ordered_json s;
    s["engine"] = w.engine;
    s["layer"] = w.layer;
    s["change"] = w.change;
    s["engine_cycles"] = w.engine_cycles;
    s["engine_cycles_after"] = w.engine_cycles_after;
    s["cycles_per_frame_after"] = w.cycles_after;
    s["fps_after"] = w.fps_after;
    s["bottleneck_after"] = w.bottleneck_after;
    s["extra"] = sched::toJson(w.extra);
    s["budget_share"] = w.budget_share;
    s["fits"] = w.fits;
    s["fps_per_budget_share"] = w.score;
    if (w.simulated_fps >= 0) s["simulated_fps"] = w.simulated_fps;
    j["steps"].push_back(std::move(s));
  }
  j["notes"] = e.notes;
  return j;
}

std::string explanationText(const Explanation& e) {
  std::ostringstream o;
  o << "bottleneck   " << e.bottleneck << ": " << e.cycles << " cycles per frame, " << num(e.fps) << " frames/s"
    << " (closed form)\n";
  o << "within " << int(kExplainWithin * 100) << " %:";
  for (const auto& [n, c] : e.near) o << " " << n << " (" << c << ")";
  o << "\n\n";
  if (e.steps.empty()) o << "no engine near the bottleneck has a faster legal folding\n";
  char b[512];
  std::snprintf(b, sizeof b, "%-4s %-22s %-28s %10s %10s %9s %8s %8s %6s %7s %6s  %s\n", "rank", "engine", "next step",
                "cycles", "fps", "sim fps", "+LUT", "+FF", "+DSP", "+BRAM18", "share", "then limited by");
  if (!e.steps.empty()) o << b;
  int rank = 1;
  for (const auto& w : e.steps) {
    std::snprintf(b, sizeof b, "%-4d %-22s %-28s %10lld %10.2f %9s %8.0f %8.0f %6.0f %7.0f %5.1f%%  %s%s\n", rank++,
                  w.engine.c_str(), w.engine == "(chain)" ? w.layer.c_str() : w.change.c_str(),
                  (long long)w.cycles_after, w.fps_after,
                  w.simulated_fps >= 0 ? num(w.simulated_fps).c_str() : "-", w.extra.lut, w.extra.ff, w.extra.dsp,
                  w.extra.bram18, 100 * w.budget_share, w.bottleneck_after.c_str(), w.fits ? "" : " (does not fit)");
    o << b;
    if (w.engine == "(chain)") o << "     steps: " << w.change << "\n";
  }
  for (const auto& n : e.notes) o << "note: " << n << "\n";
  return o.str();
}

} // namespace mpsim::flow
