#include "mpsim/flow/Explain.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/Math.hpp"
#include "mpsim/flow/FifoSizing.hpp"
#include "mpsim/sched/Engines.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sched/Resources.hpp"

namespace mpsim::flow {

namespace {

double fpsOf(const Design& d, int64_t cycles) {
  return framesPerSecond(d.run.config.hardware.clock_mhz, double(cycles));
}

int64_t engineCycles(const sched::Mapping& m, const std::string& name) {
  const int i = m.indexOf(name);
  return i >= 0 ? m.engines[size_t(i)].closed_form_cycles : 0;
}

/// The design with `layer`'s mapping changed by `edit`; false when the result is illegal.
template <class Edit>
bool withMapping(const Design& d, const std::string& layer, Edit edit, Design& out) {
  out = d;
  edit(out.plan.layers[layer]);
  try {
    out.mapping = sched::buildMapping(out.run.graph, out.run.config, out.plan);
  } catch (const LoadError&) {
    return false;
  }
  out.resources = sched::estimateResources(out.run.graph, out.mapping, out.run.config);
  return true;
}

/// The design with `layer` folded at (pe, simd), and with PE kind `kind` when given.
bool withFolding(const Design& d, const std::string& layer, int64_t pe, std::optional<int64_t> simd, Design& out,
                 std::optional<hw::PeKind> kind = std::nullopt) {
  return withMapping(
      d, layer,
      [&](config::LayerMapping& lm) {
        lm.pe = int(pe);
        if (simd) lm.simd = int(*simd); // engines folded by PE alone have no SIMD
        if (kind) lm.pe_kind = *kind;
      },
      out);
}

std::string setOf(const std::string& layer, const std::string& key, const std::string& value) {
  return "mapping.layers." + layer + "." + key + "=" + value;
}

std::string foldingSet(const std::string& layer, int64_t pe, std::optional<int64_t> simd,
                       std::optional<hw::PeKind> kind = std::nullopt) {
  std::string s = setOf(layer, "pe", std::to_string(pe));
  if (simd) s += " " + setOf(layer, "simd", std::to_string(*simd));
  if (kind) s += " " + setOf(layer, "pe_kind", hw::toString(*kind));
  return s;
}

std::string num(double v, const char* f = "%.2f") {
  char b[48];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// The next legal folding step of engine s's layer (the fewest MAC lanes that are faster, or the
/// next PE that makes the engine faster): false with a note when there is none.
bool nextStep(const Design& d, const sched::EngineSpec& s, const graph::Layer& l, Design& out, std::string& change,
              std::string& note, std::string* set = nullptr) {
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
      if (set) *set = foldingSet(s.layer, f.pe, f.simd);
      return true;
    }
  } else {
    for (int64_t pe : sched::divisors(std::max<int64_t>(1, l.out_shape.c))) {
      if (pe <= main.pe) continue;
      Design t;
      if (!withFolding(d, s.layer, pe, std::nullopt, t)) continue;
      if (engineCycles(t.mapping, s.name) >= s.closed_form_cycles) continue;
      out = std::move(t);
      change = "pe " + std::to_string(main.pe) + " -> " + std::to_string(pe);
      if (set) *set = foldingSet(s.layer, pe, std::nullopt);
      return true;
    }
  }
  const bool mac = l.isWeighted() || main.kind == K::MatrixVector || main.kind == K::Vector;
  note = s.name + ": at its fastest legal folding (pe " + std::to_string(main.pe) +
         (mac ? ", simd " + std::to_string(main.simd) : std::string()) + ")";
  return false;
}

void finish(const Design& d, const Explanation& e, WhatIf& w);

/// Steps that gain and fit first, then those that gain, then the rest; each by fps gained per budget
/// share (score > 0 is a gain).
void rank(Explanation& e) {
  std::stable_sort(e.steps.begin(), e.steps.end(), [](const WhatIf& a, const WhatIf& b) {
    const int ka = (a.score > 0) * 2 + (a.score > 0 && a.fits), kb = (b.score > 0) * 2 + (b.score > 0 && b.fits);
    if (ka != kb) return ka > kb;
    if (a.fits != b.fits) return a.fits;
    return a.score > b.score;
  });
}

const sched::EngineSpec& mainEngine(const sched::Mapping& m, const sched::EngineSpec& s) {
  const int mi = m.indexOf(s.layer);
  return m.engines.at(size_t(mi >= 0 ? mi : m.indexOf(s.name)));
}

/// The other PE kinds the config allows, for a MAC layer: at the next folding step of each kind
/// (its own cycles: bit-serial lanes take a cycle per weight bit), and at the same folding when
/// that kind alone makes the engine faster.
void peKindSteps(const Design& d, const Explanation& e, const sched::EngineSpec& s, const graph::Layer& l,
                 const WhatIf* folding, std::vector<WhatIf>& out) {
  // Worth listing beside the folding step with the current kind: faster, fitting where it does
  // not, or cheaper in budget share.
  auto better = [&](const WhatIf& w) {
    if (!folding) return true;
    if (w.fits != folding->fits) return w.fits;
    return w.fps_after > folding->fps_after * (1 + 1e-9) || w.budget_share < folding->budget_share - 1e-9;
  };
  const sched::EngineSpec& main = mainEngine(d.mapping, s);
  const int64_t cur = sched::mac::cycles(l, main.pe, main.simd, main.pe_kind);
  std::vector<hw::PeKind> kinds = d.run.config.mapping.pe_kinds;
  for (hw::PeKind k : kinds) {
    if (k == main.pe_kind) continue;
    const std::string kindChange = std::string(", ") + hw::toString(main.pe_kind) + " -> " + hw::toString(k);
    auto add = [&](int64_t pe, int64_t simd, const std::string& change) {
      WhatIf w;
      w.kind = StepKind::PeKind;
      w.engine = s.name;
      w.layer = s.layer;
      w.engine_cycles = s.closed_form_cycles;
      if (!withFolding(d, s.layer, pe, simd, w.design, k)) return;
      w.change = change;
      w.set = foldingSet(s.layer, pe, simd, k);
      finish(d, e, w);
      if (w.engine_cycles_after < w.engine_cycles && better(w)) out.push_back(std::move(w));
    };
    if (sched::mac::cycles(l, main.pe, main.simd, k) < cur) {
      add(main.pe, main.simd, std::string("pe kind ") + hw::toString(main.pe_kind) + " -> " + hw::toString(k));
      continue;
    }
    const sched::Fold f = sched::mac::foldForTarget(l, cur - 1, k);
    if (f.cycles < cur)
      add(f.pe, f.simd,
          "pe " + std::to_string(main.pe) + " -> " + std::to_string(f.pe) + ", simd " + std::to_string(main.simd) +
              " -> " + std::to_string(f.simd) + kindChange);
  }
}

/// A weight streamer's layer with its weights on chip (the memory ram_style auto picks, and URAM
/// where the device has it), or read from DRAM less often (the next larger reuse of a frame, a row).
void placementSteps(const Design& d, const Explanation& e, const sched::EngineSpec& s, const graph::Layer& l,
                    std::vector<WhatIf>& out) {
  auto add = [&](const std::string& change, const std::string& set, auto edit) {
    WhatIf w;
    w.kind = StepKind::Placement;
    w.engine = s.name;
    w.layer = s.layer;
    w.engine_cycles = s.closed_form_cycles;
    if (!withMapping(d, s.layer, edit, w.design)) return;
    w.change = change;
    w.set = set;
    finish(d, e, w);
    if (w.cycles_after < e.cycles || w.engine_cycles_after < w.engine_cycles) out.push_back(std::move(w));
  };
  add("weights dram -> on chip (ram_style auto)", setOf(s.layer, "weights", "onchip"), [](config::LayerMapping& lm) {
    lm.weights = config::WeightPlacement::OnChip;
    lm.ram_style.reset();
    lm.weight_reuse.reset();
  });
  if (d.run.config.hardware.device.uram > 0)
    add("weights dram -> on chip (uram)",
        setOf(s.layer, "weights", "onchip") + " " + setOf(s.layer, "ram_style", "uram"), [](config::LayerMapping& lm) {
          lm.weights = config::WeightPlacement::OnChip;
          lm.ram_style = config::RamStyle::Uram;
          lm.weight_reuse.reset();
        });
  const auto it = d.plan.layers.find(s.layer);
  const int64_t reuse = it != d.plan.layers.end() && it->second.weight_reuse ? *it->second.weight_reuse : 1;
  for (int64_t r : {l.out_shape.w, l.out_shape.pixels()}) {
    if (r <= reuse) continue;
    add("weight reuse " + std::to_string(reuse) + " -> " + std::to_string(r) + " output pixels per pass",
        setOf(s.layer, "weight_reuse", std::to_string(r)),
        [r](config::LayerMapping& lm) { lm.weight_reuse = int(std::min<int64_t>(r, 1 << 24)); });
    break;
  }
}

} // namespace

const char* stepKindName(StepKind k) {
  switch (k) {
  case StepKind::Folding: return "folding";
  case StepKind::PeKind: return "pe_kind";
  case StepKind::Placement: return "placement";
  case StepKind::Fifo: return "fifo";
  case StepKind::Chain: return "chain";
  }
  return "?";
}

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
  if (m.predicted_bottleneck == "dram") {
    // The initiators together exceed the bandwidth the design plans with: each weight streamer is a
    // candidate (on-chip weights or more reuse lower the bytes per frame).
    e.notes.push_back("dram: the DMAs and weight streamers together need more than the planned share of the DRAM "
                      "bandwidth (hardware.dram.max_utilization); steps that read less of it:");
    for (const auto& s : m.engines)
      if (s.kind == sched::EngineKind::WeightStreamer) near.push_back(&s);
  }
  std::vector<std::string> layersDone;
  for (const auto* s : near) {
    e.near.emplace_back(s->name, s->closed_form_cycles);
    using K = sched::EngineKind;
    if (s->kind == K::InputDma || s->kind == K::OutputDma) {
      e.notes.push_back(s->name + ": a DMA: limited by its port width or DRAM, not by folding");
      continue;
    }
    if (s->kind == K::WeightStreamer) {
      const size_t before = e.steps.size();
      try {
        placementSteps(d, e, *s, d.run.graph.at(s->layer), e.steps);
      } catch (const std::exception&) {
      }
      if (e.steps.size() == before)
        e.notes.push_back(s->name + ": a weight streamer: neither on-chip weights nor more reuse make it faster");
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
    const bool mac = l->isWeighted() || s->kind == K::MatrixVector || s->kind == K::Vector;
    const bool stepped = nextStep(d, *s, *l, w.design, w.change, note, &w.set);
    if (stepped) finish(d, e, w);
    // Other PE kinds where they can matter: no folding step, or one that gains or does not fit (a
    // step that fits and gains nothing, beside tied engines, gains nothing with another kind either).
    if (mac && (!stepped || w.score > 0 || !w.fits)) peKindSteps(d, e, *s, *l, stepped ? &w : nullptr, e.steps);
    if (!stepped) {
      e.notes.push_back(note);
      continue;
    }
    e.steps.push_back(std::move(w));
  }
  // The chain of limits: the engines tied with the bottleneck all need a step before the frame
  // rate moves. Step the bottleneck of the design after each step until the design is faster.
  {
    WhatIf w;
    w.kind = StepKind::Chain;
    w.engine = "(chain)";
    Design cur = d;
    std::vector<std::string> changed, sets;
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
      std::string change, note, set;
      if (!nextStep(cur, s, *l, next, change, note, &set)) {
        e.notes.push_back("chain: " + note + "; the design cannot get faster by folding");
        changed.clear();
        break;
      }
      changed.push_back(s.layer + " " + change);
      sets.push_back(set);
      cur = std::move(next);
    }
    if (!changed.empty() && cur.mapping.predicted_cycles < d.mapping.predicted_cycles) {
      w.layer = std::to_string(changed.size()) + " layers";
      for (const auto& c : changed) w.change += (w.change.empty() ? "" : "; ") + c;
      // A layer stepped twice: its last folding is the one to set.
      std::map<std::string, std::string> lastSet;
      for (size_t i = 0; i < changed.size(); ++i) lastSet[changed[i].substr(0, changed[i].find(' '))] = sets[i];
      for (const auto& [layer, set] : lastSet) w.set += (w.set.empty() ? "" : " ") + set;
      w.engine_cycles = d.mapping.predicted_cycles;
      w.design = std::move(cur);
      finish(d, e, w);
      w.engine_cycles_after = w.cycles_after;
      e.steps.push_back(std::move(w));
    }
  }
  rank(e);
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
  w.engine_cycles_after = w.kind == StepKind::Chain ? 0 : engineCycles(w.design.mapping, w.engine);
  w.cycles_after = w.design.mapping.predicted_cycles;
  w.fps_after = fpsOf(d, w.cycles_after);
  w.bottleneck_after = w.design.mapping.predicted_bottleneck;
  w.fits = w.design.resources.fits;
  w.score = (w.fps_after - e.fps) / std::max(w.budget_share, 1e-6);
}

} // namespace

void confirm(const Design& d, Explanation& e, int n) {
  for (int i = 0; i < n && size_t(i) < e.steps.size(); ++i) {
    RunOptions o;
    o.isolated = true;
    const RunOutcome r = simulate(e.steps[size_t(i)].design, o);
    e.steps[size_t(i)].simulated_fps = r.report["summary"]["fps"].get<double>();
  }
  // The design itself, and its FIFO stalls.
  const StallFix fx = fixStalls(d);
  const double f = d.run.config.hardware.clock_mhz * 1e6;
  e.simulated_fps = fx.cycles > 0 ? f / fx.cycles : 0;
  e.stall_free_fps = fx.reference_cycles > 0 ? f / fx.reference_cycles : -1;
  if (fx.reference_cycles <= 0) {
    e.notes.push_back("fifos: the design does not run through even with FIFOs of twice a frame's tokens: not a "
                      "FIFO depth matter (see the report's deadlock section)");
  } else if (!fx.stalls) {
    e.notes.push_back("fifos: no FIFO stall: with FIFOs of twice a frame's tokens the design is no faster");
  } else if (!fx.reached || fx.changes.empty()) {
    e.notes.push_back("fifos: the design stalls on FIFOs, but doubling the full ones did not reach the frame rate "
                      "of ample FIFOs within " + std::to_string(fx.simulations) + " simulations");
  } else {
    WhatIf w;
    w.kind = StepKind::Fifo;
    w.engine = "(fifos)";
    w.layer = std::to_string(fx.changes.size()) + " FIFO" + (fx.changes.size() > 1 ? "s" : "");
    for (const auto& [name, ch] : fx.changes) {
      w.change += (w.change.empty() ? "" : "; ") + name + " depth " + std::to_string(ch.first) + " -> " +
                  std::to_string(ch.second);
      w.set += (w.set.empty() ? "" : " ") + ("mapping.fifos.depths[" + name + "]=" + std::to_string(ch.second)); // FIFO names hold dots
    }
    w.design = fx.design;
    w.simulations = fx.simulations;
    finish(d, e, w);
    // FIFO depths do not change the closed form: the gain is in the simulated frame rate.
    w.fps_after = w.simulated_fps = f / fx.cycles_after;
    w.score = (w.fps_after - e.simulated_fps) / std::max(w.budget_share, 1e-6);
    e.steps.push_back(std::move(w));
    rank(e);
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
    s["kind"] = stepKindName(w.kind);
    s["engine"] = w.engine;
    s["layer"] = w.layer;
    s["change"] = w.change;
    s["set"] = w.set;
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
    if (w.kind == StepKind::Fifo) s["simulations"] = w.simulations;
    j["steps"].push_back(std::move(s));
  }
  if (e.simulated_fps >= 0) j["simulated_fps"] = e.simulated_fps;
  if (e.stall_free_fps >= 0) j["stall_free_fps"] = e.stall_free_fps;
  j["notes"] = e.notes;
  return j;
}

namespace {
/// Steps of several changes show a summary in the table and the changes on a line below.
bool multi(const WhatIf& w) { return w.kind == StepKind::Chain || w.kind == StepKind::Fifo; }
} // namespace

std::string explanationText(const Explanation& e) {
  std::ostringstream o;
  o << "bottleneck   " << e.bottleneck << ": " << e.cycles << " cycles per frame, " << num(e.fps) << " frames/s"
    << " (closed form)\n";
  o << "within " << int(kExplainWithin * 100) << " %:";
  for (const auto& [n, c] : e.near) o << " " << n << " (" << c << ")";
  o << "\n\n";
  if (e.simulated_fps >= 0) {
    o << "simulated    " << num(e.simulated_fps) << " frames/s";
    if (e.stall_free_fps >= 0) o << "; with ample FIFOs " << num(e.stall_free_fps) << " frames/s";
    o << "\n\n";
  }
  if (e.steps.empty()) o << "no engine near the bottleneck has a faster legal folding\n";
  char b[512];
  std::snprintf(b, sizeof b, "%-4s %-22s %-28s %10s %10s %9s %8s %8s %6s %7s %6s  %s\n", "rank", "engine", "next step",
                "cycles", "fps", "sim fps", "+LUT", "+FF", "+DSP", "+BRAM18", "share", "then limited by");
  if (!e.steps.empty()) o << b;
  int rank = 1;
  for (const auto& w : e.steps) {
    std::snprintf(b, sizeof b, "%-4d %-22s %-28s %10lld %10.2f %9s %8.0f %8.0f %6.0f %7.0f %5.1f%%  %s%s\n", rank++,
                  w.engine.c_str(), multi(w) ? w.layer.c_str() : w.change.c_str(),
                  (long long)w.cycles_after, w.fps_after,
                  w.simulated_fps >= 0 ? num(w.simulated_fps).c_str() : "-", w.extra.lut, w.extra.ff, w.extra.dsp,
                  w.extra.bram18, 100 * w.budget_share, w.bottleneck_after.c_str(), w.fits ? "" : " (does not fit)");
    o << b;
    if (multi(w)) o << "     steps: " << w.change << "\n";
    if (!w.set.empty()) o << "     set:   " << w.set << "\n";
  }
  if (!e.steps.empty())
    o << "(set: overrides of the design as mapped: its effective-config.yaml, from mpsim map CONFIG --out DIR)\n";
  for (const auto& n : e.notes) o << "note: " << n << "\n";
  return o.str();
}

} // namespace mpsim::flow
