#include "mpsim/flow/Calibrate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <ostream>
#include <set>

#include "mpsim/common/Error.hpp"
#include "mpsim/hw/RobustFit.hpp"
#include "mpsim/io/YamlReader.hpp"
#include "mpsim/sched/Resources.hpp"

namespace mpsim::flow {

namespace {

using sched::EngineKind;

// FINN node kinds that match an mpsim engine kind, in the order FINN numbers them (graph order).
struct KindMatch {
  const char* kind;
  EngineKind engine;
  const char* what;
};
const std::vector<KindMatch>& kindMatches() {
  static const std::vector<KindMatch> k = {
      {"mvau", EngineKind::MatrixVector, "matrix-vector units (conv / fc layers)"},
      {"vvau", EngineKind::Vector, "vector units (depthwise layers)"},
      {"swu", EngineKind::Swu, "sliding-window units"},
      {"pool", EngineKind::Pool, "pooling units"},
      {"globalpool", EngineKind::GlobalPool, "global pooling units"},
      {"thresholding", EngineKind::Quantizer, "thresholding units (quantizer layers)"},
      {"labelselect", EngineKind::LabelSelect, "label selects"},
      {"add", EngineKind::Add, "adds"},
      {"fork", EngineKind::Fork, "forks"},
      {"concat", EngineKind::Concat, "concats"},
  };
  return k;
}

void addRow(io::UtilRow& a, const io::UtilRow& b) {
  a.lut += b.lut;
  a.logic_lut += b.logic_lut;
  a.lutram += b.lutram;
  a.srl += b.srl;
  a.ff += b.ff;
  a.ramb36 += b.ramb36;
  a.ramb18 += b.ramb18;
  a.uram += b.uram;
  a.dsp += b.dsp;
}

std::string fmtNum(double v, const char* f = "%.6g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string pct(double v) { return fmtNum(100 * v, "%.1f") + " %"; }

double res(const hw::Resources& r, const std::string& which) { return which == "lut" ? r.lut : r.ff; }

// The estimate's parts per node: the value with every linear coefficient 0 (memories, buffer
// registers) and the change with one coefficient set to 1 (bench/validate_cost_model.cpp --terms).
struct Terms {
  hw::Resources fixed;
  std::map<std::string, hw::Resources> delta;
};
Terms termsOf(const graph::Graph& g, const sched::EngineSpec& e, const config::HardwareConfig& h) {
  Terms t;
  config::HardwareConfig z = h;
  for (const auto& k : hw::linearCoefficients()) z.cost.*k.field = 0;
  t.fixed = sched::engineResources(g, e, z);
  for (const auto& k : hw::linearCoefficients()) {
    config::HardwareConfig one = z;
    one.cost.*k.field = 1;
    hw::Resources r = sched::engineResources(g, e, one);
    r.lut -= t.fixed.lut;
    r.ff -= t.fixed.ff;
    if (r.lut != 0 || r.ff != 0) t.delta[k.name] = r;
  }
  return t;
}

struct Model {
  std::vector<double> x;   // per coefficient of the family and resource
  std::vector<double> loo; // signed relative leave-one-out errors
};

enum class Form { Keep, Scale, Affine, Full };
const char* formName(Form f) {
  switch (f) {
  case Form::Keep: return "keep";
  case Form::Scale: return "scale";
  case Form::Affine: return "affine";
  case Form::Full: return "full";
  }
  return "?";
}

// Fits the family's coefficients (current values `cur`, `base`: index of its *_base coefficient or
// -1) in one of the forms: keep (the current values), scale (one factor on all of them), affine (the
// base free, one factor on the others), full (each on its own). Returns the coefficients and the
// leave-one-out errors (for keep: the residuals of the current values, which no data was fitted to).
Model fitModel(const std::vector<hw::FitSample>& samples, const std::vector<double>& cur, int base, Form form) {
  auto fitOn = [&](const std::vector<hw::FitSample>& s) -> std::vector<double> {
    if (form == Form::Keep) return cur;
    if (form == Form::Full) return hw::robustFit(s, cur.size()).x;
    const bool affine = form == Form::Affine;
    std::vector<hw::FitSample> cols;
    for (const auto& x : s) {
      hw::FitSample y{x.measured, x.fixed, {0.0, 0.0}};
      for (size_t k = 0; k < cur.size(); ++k) {
        if (affine && int(k) == base)
          y.terms[1] += x.terms[k];
        else
          y.terms[0] += cur[k] * x.terms[k];
      }
      cols.push_back(y);
    }
    const auto r = hw::robustFit(cols, affine ? 2 : 1).x;
    std::vector<double> v(cur.size());
    for (size_t k = 0; k < cur.size(); ++k) v[k] = affine && int(k) == base ? r[1] : cur[k] * r[0];
    return v;
  };
  Model m;
  m.x = fitOn(samples);
  if (form == Form::Keep) {
    for (const auto& s : samples) m.loo.push_back((hw::predict(s, cur) - s.measured) / s.measured);
    return m;
  }
  if (samples.size() >= 2)
    for (size_t i = 0; i < samples.size(); ++i) {
      std::vector<hw::FitSample> rest;
      for (size_t j = 0; j < samples.size(); ++j)
        if (j != i) rest.push_back(samples[j]);
      const auto x = fitOn(rest);
      m.loo.push_back((hw::predict(samples[i], x) - samples[i].measured) / samples[i].measured);
    }
  return m;
}

double medianAbs(const std::vector<double>& v) {
  std::vector<double> a;
  for (double x : v) a.push_back(std::fabs(x));
  return hw::median(a);
}

// Bands need at least this many leave-one-out residuals; with fewer the built-in band stays.
constexpr size_t kMinBandNodes = 3;

} // namespace

Calibration calibrate(const Design& d, const std::vector<io::UtilReport>& reports, const std::string& command) {
  Calibration out;
  const auto& g = d.run.graph;
  const auto& cfg = d.run.config;
  const std::string cfgName = cfg.file;
  std::vector<std::string> errors;
  struct Match {
    size_t node; // index into out.nodes
    int engine;
  };
  std::vector<Match> matches;
  for (const auto& rep : reports) {
    struct Found {
      io::FinnNodeName f;
      io::UtilRow row;
      bool main = false;
    };
    std::map<std::string, Found> byNode;
    std::vector<std::string> order;
    size_t other = 0;
    int inside = -1;
    for (const auto& row : rep.rows) {
      if (inside >= 0 && row.depth > inside) continue; // part of a node already taken
      inside = -1;
      const auto f = io::finnNodeName(row.instance);
      if (!f) {
        ++other;
        continue;
      }
      inside = row.depth;
      auto it = byNode.find(f->node);
      if (it == byNode.end()) {
        order.push_back(f->node);
        it = byNode.emplace(f->node, Found{*f, io::UtilRow{}, false}).first;
        it->second.row.instance = row.instance;
      }
      Found& x = it->second;
      if (!f->weightStreamer && x.main) {
        out.unmatched.push_back({rep.file, row.instance, f->node,
                                 "a second instance of FINN node " + f->node + " (the first: " + x.row.instance +
                                     "); only the first is used"});
        continue;
      }
      const std::string keep = x.main ? x.row.instance : row.instance;
      addRow(x.row, row);
      if (!f->weightStreamer) {
        x.main = true;
        x.f = *f;
        x.row.instance = row.instance;
      } else {
        x.row.instance = keep;
      }
    }
    out.other.emplace_back(rep.file, other);
    // Op types per kind: FINN numbers each op type on its own.
    std::map<std::string, std::set<std::string>> opTypes;
    for (const auto& n : order) opTypes[byNode[n].f.kind].insert(byNode[n].f.opType);
    for (const auto& n : order) {
      const Found& x = byNode[n];
      const std::string& kind = x.f.kind;
      auto unmatched = [&](const std::string& why) { out.unmatched.push_back({rep.file, x.row.instance, n, why}); };
      if (kind == "fifo") {
        unmatched("mpsim's stream FIFOs are not FINN's StreamingFIFO nodes (their depths and widths come from "
                  "mapping.fifos): not calibrated");
        continue;
      }
      if (kind == "dwc") {
        unmatched("mpsim's mapping places no data-width converters: not calibrated");
        continue;
      }
      if (kind == "dma") {
        unmatched("DMAs cost hw::dmaResources (dma_* coefficients, fitted on test/data/synth): not calibrated");
        continue;
      }
      if (opTypes[kind].size() > 1) {
        std::string types;
        for (const auto& t : opTypes[kind]) types += (types.empty() ? "" : " and ") + t;
        unmatched("FINN numbers " + types + " nodes separately, so their order in the graph is not in the names: "
                  "not matched");
        continue;
      }
      const KindMatch* km = nullptr;
      for (const auto& k : kindMatches())
        if (kind == k.kind) km = &k;
      std::vector<int> engines;
      for (size_t i = 0; i < d.mapping.engines.size(); ++i)
        if (d.mapping.engines[i].kind == km->engine) engines.push_back(int(i));
      if (x.f.index >= int64_t(engines.size())) {
        errors.push_back(rep.file + ": instance '" + x.row.instance + "' is FINN node " + n + ", but " + cfgName +
                         " (network " + g.name() + ") maps " + std::to_string(engines.size()) + " " + km->what +
                         ": is this the report of another design? (FINN numbers each node type in graph order; " +
                         n + " is the " + std::to_string(x.f.index + 1) + ". one)");
        continue;
      }
      const int e = engines[size_t(x.f.index)];
      CalibrationNode c;
      c.report = rep.file;
      c.instance = x.row.instance;
      c.node = n;
      c.engine = d.mapping.engines[size_t(e)].name;
      c.family = sched::costFamily(km->engine);
      c.measured = hw::Resources{x.row.lut, x.row.ff, x.row.dsp, x.row.bram18(), x.row.uram};
      c.estimate = sched::engineResources(g, d.mapping.engines[size_t(e)], cfg.hardware);
      matches.push_back({out.nodes.size(), e});
      out.nodes.push_back(c);
    }
  }
  if (!errors.empty()) {
    errors.insert(errors.begin(), std::to_string(errors.size()) + " instance(s) of the report(s) have no engine in " +
                                      cfgName + "; give the run config of the design that was built (nothing written)");
    throw LoadError(errors);
  }
  if (out.nodes.empty()) {
    std::string files;
    for (const auto& r : reports) files += (files.empty() ? "" : ", ") + r.file;
    throw LoadError(files + ": no instance matched an engine of " + cfgName + " (" + std::to_string(out.unmatched.size()) +
                    " FINN nodes not calibrated, the rest no FINN nodes); expected instances named like FINN's "
                    "nodes (StreamingDataflowPartition_1_MVAU_hls_0, StreamingFCLayer_Batch_0, ...) of the design "
                    "the config describes (nothing written)");
  }

  // Fit per engine family and resource.
  out.coefficients = cfg.hardware.cost;
  std::vector<Terms> terms;
  for (const auto& m : matches) terms.push_back(termsOf(g, d.mapping.engines[size_t(m.engine)], cfg.hardware));
  std::vector<std::string> families;
  for (const auto& n : out.nodes)
    if (std::find(families.begin(), families.end(), n.family) == families.end()) families.push_back(n.family);
  std::sort(families.begin(), families.end());
  for (const auto& fam : families) {
    for (const std::string r : {"lut", "ff"}) {
      FamilyFit ff;
      ff.family = fam;
      ff.resource = r;
      std::vector<const hw::LinearCoefficient*> coefs;
      for (const auto& k : hw::linearCoefficients())
        if (fam == k.family && r == k.resource) coefs.push_back(&k);
      std::vector<double> cur;
      for (const auto* k : coefs) cur.push_back(cfg.hardware.cost.*(k->field));
      std::vector<hw::FitSample> samples;
      std::vector<size_t> sampleNode;
      std::vector<double> before;
      size_t usedCoefs = 0;
      std::vector<bool> used(coefs.size(), false);
      for (size_t i = 0; i < out.nodes.size(); ++i) {
        const auto& n = out.nodes[i];
        if (n.family != fam || res(n.measured, r) <= 0) continue;
        hw::FitSample s;
        s.measured = res(n.measured, r);
        s.fixed = res(terms[i].fixed, r);
        for (size_t k = 0; k < coefs.size(); ++k) {
          auto it = terms[i].delta.find(coefs[k]->name);
          const double t = it == terms[i].delta.end() ? 0 : res(it->second, r);
          s.terms.push_back(t);
          if (t != 0 && !used[k]) {
            used[k] = true;
            ++usedCoefs;
          }
        }
        samples.push_back(s);
        sampleNode.push_back(i);
        before.push_back((res(n.estimate, r) - s.measured) / s.measured);
      }
      ff.nodes = int(samples.size());
      ff.median_before = medianAbs(before);
      if (coefs.empty() || samples.empty()) {
        ff.model = "none";
        ff.median_fit = ff.median_before;
        ff.note = coefs.empty() ? "no linear coefficients to fit" : "no node with a measured count > 0";
        out.fits.push_back(ff);
        continue;
      }
      int base = -1;
      for (size_t k = 0; k < coefs.size(); ++k)
        if (std::string(coefs[k]->name).size() > 5 &&
            std::string(coefs[k]->name).compare(std::string(coefs[k]->name).size() - 5, 5, "_base") == 0 && used[k])
          base = int(k);
      // The forms the nodes determine (leave-one-out needs a fit on n - 1 nodes with more nodes than
      // parameters), chosen by the lowest leave-one-out median error, the simplest on a tie; with a
      // single node, the one-factor form (no leave-one-out error to choose by).
      Form form = Form::Scale;
      Model chosen = fitModel(samples, cur, base, Form::Scale);
      if (samples.size() >= 2) {
        std::vector<Form> forms = {Form::Keep, Form::Scale};
        if (base >= 0 && usedCoefs >= 2 && samples.size() >= 4) forms.push_back(Form::Affine);
        if (samples.size() >= usedCoefs + 2 && usedCoefs > 2) forms.push_back(Form::Full);
        double best = 0;
        for (size_t i = 0; i < forms.size(); ++i) {
          Model m = fitModel(samples, cur, base, forms[i]);
          const double e = medianAbs(m.loo);
          if (i == 0 || e < best - 1e-12) {
            best = e;
            form = forms[i];
            chosen = m;
          }
        }
        ff.note = "forms tried: ";
        for (size_t i = 0; i < forms.size(); ++i) ff.note += std::string(i ? ", " : "") + formName(forms[i]);
      } else {
        ff.note = "1 node: the one-factor form";
      }
      ff.model = formName(form);
      for (size_t k = 0; k < coefs.size(); ++k) {
        out.coefficients.*(coefs[k]->field) = chosen.x[k];
        if (form != Form::Keep) ff.coefficients.emplace_back(coefs[k]->name, chosen.x[k]);
      }
      std::vector<double> fitted;
      for (size_t j = 0; j < samples.size(); ++j)
        fitted.push_back((hw::predict(samples[j], chosen.x) - samples[j].measured) / samples[j].measured);
      ff.median_fit = medianAbs(fitted);
      for (size_t j = 0; j < chosen.loo.size(); ++j) {
        auto& n = out.nodes[sampleNode[j]];
        const double v = samples[j].measured * (1 + chosen.loo[j]);
        (r == "lut" ? n.loo_lut : n.loo_ff) = v;
      }
      if (!chosen.loo.empty()) {
        ff.median_loo = medianAbs(chosen.loo);
        double mx = 0;
        for (double v : chosen.loo) mx = std::max(mx, std::fabs(v));
        ff.max_loo = mx;
      }
      if (chosen.loo.size() >= kMinBandNodes) {
        auto clamp = [](double v) { return std::min(100.0, std::max(-0.99, v)); };
        hw::BandOverride b{fam, r, clamp(hw::percentile(chosen.loo, 0.1)), clamp(hw::percentile(chosen.loo, 0.9)),
                           int(chosen.loo.size())};
        b.p10 = std::round(b.p10 * 1e4) / 1e4;
        b.p90 = std::round(b.p90 * 1e4) / 1e4;
        ff.band = b;
        out.bands.push_back(b);
      } else {
        ff.note += std::string(ff.note.empty() ? "" : "; ") + "fewer than " + std::to_string(kMinBandNodes) +
                   " leave-one-out residuals: the built-in error band stays";
      }
      out.fits.push_back(ff);
    }
  }
  // Every node with the calibrated coefficients.
  config::HardwareConfig cal = cfg.hardware;
  cal.cost = out.coefficients;
  for (size_t i = 0; i < out.nodes.size(); ++i) {
    const hw::Resources r = sched::engineResources(g, d.mapping.engines[size_t(matches[i].engine)], cal);
    out.nodes[i].fit_lut = r.lut;
    out.nodes[i].fit_ff = r.ff;
  }

  // The cost-model file.
  std::string y = "# mpsim calibrated cost model (docs/cost-model.md, \"Calibration\"), written by\n#   " + command +
                  "\n# design: " + cfgName + " (network " + g.name() + ")\n";
  for (const auto& rep : reports) {
    size_t n = 0;
    for (const auto& c : out.nodes) n += c.report == rep.file;
    y += "# report: " + rep.file + " (" + rep.format + ", " + std::to_string(n) + " nodes matched)\n";
  }
  y += "# Use it as `hardware.cost_model: <this file>`, or `hardware.cost_model: {include: <this file>, ...}`.\n"
       "# Per family and resource: model, nodes, median |est - meas| / meas before -> fitted -> leave-one-out.\n";
  for (const auto& f : out.fits) {
    y += "#   " + f.family + " " + f.resource + ": " + f.model + ", " + std::to_string(f.nodes) + " nodes, " +
         pct(f.median_before) + " -> " + pct(f.median_fit) + " -> " + (f.median_loo ? pct(*f.median_loo) : "-") +
         (f.note.empty() ? "" : " (" + f.note + ")") + "\n";
  }
  for (const auto& f : out.fits)
    for (const auto& [k, v] : f.coefficients) y += k + ": " + fmtNum(v) + "\n";
  if (!out.bands.empty()) {
    y += "intervals:\n";
    std::string fam;
    for (const auto& b : out.bands) {
      if (b.family != fam) {
        fam = b.family;
        y += "  " + fam + ":\n";
      }
      y += "    " + b.resource + ": {p10: " + io::formatNumber(b.p10) + ", p90: " + io::formatNumber(b.p90) +
           ", nodes: " + std::to_string(b.nodes) + "}\n";
    }
  }
  out.yaml = y;
  return out;
}

namespace {
// BRAM18 and DSP counts are not linear in any coefficient (memory placement, DSP packing): per
// family, how many nodes get them exactly (BRAM18: nodes where the measured or the estimated count is
// non-zero).
struct Exact {
  int bram_ok = 0, bram_n = 0, dsp_ok = 0, dsp_n = 0;
};
std::map<std::string, Exact> exactCounts(const Calibration& c) {
  std::map<std::string, Exact> m;
  for (const auto& n : c.nodes) {
    Exact& e = m[n.family];
    if (n.measured.bram18 > 0 || n.estimate.bram18 > 0) {
      ++e.bram_n;
      e.bram_ok += std::llround(n.measured.bram18) == std::llround(n.estimate.bram18);
    }
    ++e.dsp_n;
    e.dsp_ok += std::llround(n.measured.dsp) == std::llround(n.estimate.dsp);
  }
  return m;
}
nlohmann::ordered_json notFittedJson(const Calibration& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [fam, e] : exactCounts(c))
    j[fam] = {{"bram18_exact", e.bram_ok}, {"bram18_nodes", e.bram_n}, {"dsp_exact", e.dsp_ok}, {"dsp_nodes", e.dsp_n}};
  return j;
}
} // namespace

nlohmann::ordered_json calibrationJson(const Calibration& c) {
  nlohmann::ordered_json j;
  j["schema"] = "mpsim.calibration/1";
  auto r2 = [](double v) { return std::round(v * 10) / 10; };
  auto rr = [](double v) { return std::round(v * 1e4) / 1e4; };
  nlohmann::ordered_json fits = nlohmann::ordered_json::array();
  for (const auto& f : c.fits) {
    nlohmann::ordered_json x;
    x["family"] = f.family;
    x["resource"] = f.resource;
    x["model"] = f.model;
    x["nodes"] = f.nodes;
    x["median_error_before"] = rr(f.median_before);
    x["median_error_fitted"] = rr(f.median_fit);
    x["median_error_loo"] = f.median_loo ? nlohmann::ordered_json(rr(*f.median_loo)) : nlohmann::ordered_json();
    x["max_error_loo"] = f.max_loo ? nlohmann::ordered_json(rr(*f.max_loo)) : nlohmann::ordered_json();
    nlohmann::ordered_json co = nlohmann::ordered_json::object();
    for (const auto& [k, v] : f.coefficients) co[k] = v;
    x["coefficients"] = co;
    if (f.band)
      x["band"] = {{"p10", f.band->p10}, {"p90", f.band->p90}, {"nodes", f.band->nodes}};
    else
      x["band"] = nullptr;
    x["note"] = f.note;
    fits.push_back(x);
  }
  j["fits"] = fits;
  j["not_fitted"] = notFittedJson(c);
  nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
  for (const auto& n : c.nodes) {
    auto opt = [&](const std::optional<double>& v) {
      return v ? nlohmann::ordered_json(r2(*v)) : nlohmann::ordered_json();
    };
    nodes.push_back({{"report", n.report},
                     {"instance", n.instance},
                     {"node", n.node},
                     {"family", n.family},
                     {"engine", n.engine},
                     {"measured", sched::toJson(n.measured)},
                     {"estimate", sched::toJson(n.estimate)},
                     {"fitted", {{"lut", opt(n.fit_lut)}, {"ff", opt(n.fit_ff)}}},
                     {"loo", {{"lut", opt(n.loo_lut)}, {"ff", opt(n.loo_ff)}}}});
  }
  j["nodes"] = nodes;
  nlohmann::ordered_json un = nlohmann::ordered_json::array();
  for (const auto& u : c.unmatched)
    un.push_back({{"report", u.report}, {"instance", u.instance}, {"node", u.node}, {"reason", u.reason}});
  j["unmatched"] = un;
  nlohmann::ordered_json other = nlohmann::ordered_json::object();
  for (const auto& [f, n] : c.other) other[f] = n;
  j["other_instances"] = other;
  j["cost_model"] = c.yaml;
  return j;
}

void printCalibration(std::ostream& os, const Calibration& c) {
  os << "Fit per engine family (relative errors |est - meas| / meas; model: keep = the config's coefficients, "
        "scale = one factor on the family's coefficients, affine = its base free and one factor on the others, "
        "full = each coefficient; the lowest leave-one-out median error wins)\n\n";
  os << "| family | resource | nodes | model | median before | median fitted | leave-one-out median / max | band "
        "p10 / p90 |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& f : c.fits)
    os << "| " << f.family << " | " << f.resource << " | " << f.nodes << " | " << f.model << " | "
       << pct(f.median_before) << " | " << pct(f.median_fit) << " | "
       << (f.median_loo ? pct(*f.median_loo) + " / " + pct(*f.max_loo) : std::string("-")) << " | "
       << (f.band ? pct(f.band->p10) + " / " + pct(f.band->p90) : std::string("(built-in)")) << " |\n";
  os << "\nNot fitted (memory placement and DSP packing are rules, not coefficients): nodes with the measured "
        "count\n\n| family | BRAM18 exact | DSP exact |\n|---|---|---|\n";
  for (const auto& [fam, e] : exactCounts(c))
    os << "| " << fam << " | " << e.bram_ok << " / " << e.bram_n << " | " << e.dsp_ok << " / " << e.dsp_n << " |\n";
  os << "\nNodes (LUT and FF: measured / before / fitted / leave-one-out)\n\n";
  os << "| report | FINN node | engine | LUT | FF |\n|---|---|---|---|---|\n";
  auto o = [](const std::optional<double>& v) { return v ? fmtNum(*v, "%.0f") : std::string("-"); };
  for (const auto& n : c.nodes)
    os << "| " << n.report << " | " << n.node << " | " << n.engine << " | " << fmtNum(n.measured.lut, "%.0f") << " / "
       << fmtNum(n.estimate.lut, "%.0f") << " / " << o(n.fit_lut) << " / " << o(n.loo_lut) << " | "
       << fmtNum(n.measured.ff, "%.0f") << " / " << fmtNum(n.estimate.ff, "%.0f") << " / " << o(n.fit_ff) << " / "
       << o(n.loo_ff) << " |\n";
  os << "\nNot calibrated (" << c.unmatched.size() << " FINN node instances):\n";
  for (const auto& u : c.unmatched) os << "  " << u.report << ": " << u.instance << ": " << u.reason << "\n";
  for (const auto& [f, n] : c.other)
    os << "  " << f << ": " << n << " other instances (shell, interconnect, hierarchy levels): not FINN nodes\n";
}

} // namespace mpsim::flow
