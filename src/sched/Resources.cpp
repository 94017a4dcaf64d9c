#include "mpsim/sched/Resources.hpp"

#include <cmath>

#include "mpsim/common/Math.hpp"
#include "mpsim/hw/CostBands.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched {

const char* costFamily(EngineKind k) {
  switch (k) {
  case EngineKind::MatrixVector:
  case EngineKind::Vector: return "mvau";
  case EngineKind::Swu: return "swu";
  case EngineKind::Pool:
  case EngineKind::GlobalPool: return "pool";
  case EngineKind::Quantizer: return "thresholding";
  case EngineKind::LabelSelect: return "labelselect";
  case EngineKind::InputDma:
  case EngineKind::OutputDma: return "dma";
  default: return "all";
  }
}

hw::Resources engineResources(const graph::Graph& g, const EngineSpec& e, const config::HardwareConfig& h) {
  const auto& c = h.cost;
  hw::Resources r;
  const graph::Layer* l = g.find(e.layer);
  switch (e.kind) {
  case EngineKind::MatrixVector:
  case EngineKind::Vector: r = mac::resources(e, *l, h); break;
  case EngineKind::Swu: r = swu::resources(e, *l, c); break;
  case EngineKind::Pool:
  case EngineKind::GlobalPool: r = pool::resources(e, *l, c); break;
  case EngineKind::Add:
  case EngineKind::Concat:
  case EngineKind::Fork:
  case EngineKind::Quantizer: r = elementwise::resources(e, l, c); break;
  case EngineKind::LabelSelect: r = labelselect::resources(e, *l, c); break;
  case EngineKind::InputDma:
  case EngineKind::OutputDma: r = dma::resources(e, c); break;
  case EngineKind::WeightStreamer: r = dma::streamerResources(h); break;
  }
  return r;
}

DesignResources estimateResources(const graph::Graph& g, const Mapping& m, const config::RunConfig& cfg) {
  const auto& c = cfg.hardware.cost;
  const auto& bands = cfg.hardware.cost_bands;
  DesignResources d;
  for (const auto& e : m.engines) {
    const hw::Resources r = engineResources(g, e, cfg.hardware);
    d.engines.push_back(r);
    d.total += r;
    hw::addInterval(r, costFamily(e.kind), d.total_low, d.total_high, bands);
  }
  for (const auto& s : m.streams) {
    const hw::Resources r = hw::streamResources(s.depth, s.bits_per_token, c);
    d.streams.push_back(r);
    d.total += r;
    hw::addInterval(r, "fifo", d.total_low, d.total_high, bands);
  }
  const auto& dev = cfg.hardware.device;
  d.device = hw::Resources{double(dev.lut), double(dev.ff), double(dev.dsp), double(dev.bram18), double(dev.uram)};
  d.budget = cfg.hardware.units.budget;
  auto check = [&](const char* name, double need, double have) {
    if (std::ceil(need) > have)
      d.shortfalls.push_back(std::string(name) + ": needs " + std::to_string(int64_t(std::ceil(need))) + ", budget " +
                             std::to_string(int64_t(have)) + " (short by " +
                             std::to_string(int64_t(std::ceil(need) - have)) + ")");
  };
  check("LUT", d.total.lut, d.budget.lut);
  check("FF", d.total.ff, d.budget.ff);
  check("DSP", d.total.dsp, d.budget.dsp);
  check("BRAM18", d.total.bram18, d.budget.bram18);
  check("URAM", d.total.uram, d.budget.uram);
  d.fits = d.shortfalls.empty();
  d.shell = hw::shellCost(dev);
  const hw::Resources& hi = d.total_high;
  d.fits_upper = d.fits && std::ceil(hi.lut) <= d.budget.lut && std::ceil(hi.ff) <= d.budget.ff &&
                 std::ceil(hi.dsp) <= d.budget.dsp && std::ceil(hi.bram18) <= d.budget.bram18 &&
                 std::ceil(hi.uram) <= d.budget.uram;
  return d;
}

nlohmann::ordered_json toJson(const hw::Resources& r) {
  auto rnd = [](double v) { return std::round(v * 10) / 10; };
  return {
      {"lut", rnd(r.lut)}, {"ff", rnd(r.ff)}, {"dsp", rnd(r.dsp)}, {"bram18", rnd(r.bram18)}, {"uram", rnd(r.uram)}};
}

nlohmann::ordered_json resourcesJson(const DesignResources& d) {
  nlohmann::ordered_json j;
  j["total"] = toJson(d.total);
  j["total_low"] = toJson(d.total_low);
  j["total_high"] = toJson(d.total_high);
  j["device"] = toJson(d.device);
  j["budget"] = toJson(d.budget);
  auto frac = [](double a, double b) { return b > 0 ? std::round(a / b * 1e4) / 1e4 : (a > 0 ? 1e9 : 0.0); };
  j["utilization"] = {{"lut", frac(d.total.lut, d.device.lut)},
                      {"ff", frac(d.total.ff, d.device.ff)},
                      {"dsp", frac(d.total.dsp, d.device.dsp)},
                      {"bram18", frac(d.total.bram18, d.device.bram18)},
                      {"uram", frac(d.total.uram, d.device.uram)}};
  j["fits"] = d.fits;
  j["fits_upper"] = d.fits_upper;
  j["shortfalls"] = d.shortfalls;
  if (d.shell) {
    nlohmann::ordered_json sh = toJson(d.shell->resources);
    sh["source"] = d.shell->source;
    j["shell"] = std::move(sh); // docs/cost-model.md "The shell": not in total, budget or fits
  }
  return j;
}

} // namespace mpsim::sched
