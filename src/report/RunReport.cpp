#include "mpsim/report/RunReport.hpp"
#include "mpsim/report/SystemReport.hpp"

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/report/InfoReport.hpp"

namespace mpsim::report {
using nlohmann::ordered_json;
using sched::EngineKind;

namespace {

std::string bottleneckReason(const sched::EngineSpec& e, const sim::EngineStats& s, uint64_t interval) {
  switch (e.kind) {
  case EngineKind::InputDma: return s.dram_wait > s.busy ? "DRAM" : "I/O";
  case EngineKind::OutputDma: return s.blocked > s.busy ? "DRAM" : "I/O";
  case EngineKind::WeightStreamer: return "DRAM";
  default: break;
  }
  if (s.dram_wait > s.busy) return "DRAM";
  if (interval > 0 && double(s.busy) >= 0.95 * double(interval)) return "compute";
  return s.starved >= s.blocked ? "input-starved" : "output-blocked";
}


/// How frame arrivals (input.arrivals, docs/system.md) pace a run: not at all (none configured),
/// `Arrivals` when nothing was dropped and the input DMA took at least half of the frames the
/// moment they entered the buffer (the pipeline waits for frames: the arrival rate binds), else
/// `Pipeline` (frames queue or are dropped: the pipeline binds while they come faster than it).
enum class ArrivalPacing { None, Arrivals, Pipeline };
ArrivalPacing arrivalPacing(const sim::SimResult& r) {
  const sim::ArrivalRecord& a = r.arrivals;
  if (!a.enabled) return ArrivalPacing::None;
  const size_t n = std::min(a.start.size(), a.admitted.size());
  size_t atOnce = 0;
  for (size_t i = 0; i < n; ++i)
    if (a.start[i] <= a.admitted[i]) ++atOnce;
  return a.dropped_at.empty() && n > 0 && 2 * atOnce >= n ? ArrivalPacing::Arrivals : ArrivalPacing::Pipeline;
}

/// An engine's cycle accounting over the measured frame interval.
struct Accounting {
  sim::EngineStats s; // busy, starved, blocked, dram_wait: per frame
  uint64_t idle = 0;
};

/// Mean of the engine's frame intervals first..last (the frames of summary.cycles_per_frame), fitted
/// to the measured interval: busy + starved + blocked + idle = interval. An engine's own frames can
/// end a few cycles apart from the output's (it runs ahead or behind by what its FIFOs hold), so
/// the mean of its frames may be a little longer than the interval: the excess comes off its
/// waiting (starved, then blocked; busy only when the measured interval is shorter than the
/// engine's own work: a few cycles of jitter in a steady state, more when it is not steady), or
/// shorter: the rest is idle.
Accounting accountingOf(const sim::EngineStats& st, size_t first, size_t last, uint64_t interval) {
  Accounting a;
  a.s = st;
  if (st.frameCount() > 0 && interval > 0) {
    last = std::min(last, st.frameCount() - 1);
    first = std::min(first, last);
    const double n = double(last - first + 1);
    double busy = 0, starved = 0, blocked = 0, dram = 0;
    for (size_t f = first; f <= last; ++f) {
      const sim::FrameStats& x = st.frame(f);
      busy += double(x.busy);
      starved += double(x.starved);
      blocked += double(x.blocked);
      dram += double(x.dram_wait);
    }
    a.s.busy = uint64_t(std::llround(busy / n));
    a.s.starved = uint64_t(std::llround(starved / n));
    a.s.blocked = uint64_t(std::llround(blocked / n));
    a.s.dram_wait = uint64_t(std::llround(dram / n));
  }
  if (interval == 0) return a;
  uint64_t used = a.s.busy + a.s.starved + a.s.blocked;
  if (used > interval) {
    uint64_t excess = used - interval;
    for (uint64_t* x : {&a.s.starved, &a.s.blocked, &a.s.busy}) {
      const uint64_t cut = std::min(excess, *x);
      *x -= cut;
      excess -= cut;
    }
    used = interval;
  }
  a.idle = interval - used;
  a.s.dram_wait = std::min(a.s.dram_wait, a.s.starved); // the part of starved spent waiting for DRAM
  return a;
}

} // namespace

namespace {
ordered_json paramsJson(const graph::Graph& g) {
  auto st = graph::computeStats(g);
  return {{"weights", st.weights},
          {"weight_bits", st.weight_bits},
          {"weight_bytes", (st.weight_bits + 7) / 8},
          {"fp32_bits", st.fp32_bits},
          {"reduction", round6(st.reduction)}};
}

ordered_json engineJson(const sched::EngineSpec& e, const hw::Resources& res) {
  ordered_json l;
  l["name"] = e.name;
  l["layer"] = e.layer;
  l["kind"] = sched::toString(e.kind);
  l["pe"] = e.pe;
  l["simd"] = e.simd;
  if (e.kind == EngineKind::MatrixVector || e.kind == EngineKind::Vector) {
    l["pe_kind"] = hw::toString(e.pe_kind);
    l["weights"] = hw::toString(e.weight_mem);
    l["requant"] = graph::toString(e.requant);
  }
  l["macs"] = e.macs;
  l["cycles_per_frame"] = e.closed_form_cycles;
  l["resources"] = sched::toJson(res);
  return l;
}

/// layers[].weight_stream of a MAC unit whose weights stream from DRAM: the traffic and why (what
/// the weights would need on chip, beside what the design has left).
void addWeightStream(ordered_json& l, const graph::Graph& g, const config::RunConfig& cfg, const sched::Mapping& m,
                     const sched::DesignResources& res, const sched::EngineSpec& e) {
  if (!(e.kind == EngineKind::MatrixVector || e.kind == EngineKind::Vector) || e.weight_mem != hw::MemKind::Dram)
    return;
  const graph::Layer* layer = g.find(e.layer);
  const int ws = m.indexOf(e.layer + ".weights");
  if (!layer || ws < 0) return;
  const sched::EngineSpec& w = m.engines[size_t(ws)];
  const double fps = framesPerSecond(cfg.hardware.clock_mhz, double(m.predicted_cycles));
  ordered_json s;
  s["passes_per_frame"] = w.out_tokens_per_frame;
  s["bytes_per_pass"] = w.bytes_per_token;
  s["bytes_per_frame"] = w.bytes_per_frame;
  s["output_pixels_per_pass"] = ceilDiv(layer->out_shape.pixels(), std::max<int64_t>(1, w.out_tokens_per_frame));
  s["gbps_at_predicted_fps"] = round6(double(w.bytes_per_frame) * fps / 1e9);
  const auto& h = cfg.hardware;
  const hw::MemKind onChip = sched::mac::autoWeightMemory(*layer, e.pe, e.simd, e.pe_kind, h.cost);
  const hw::Resources r = sched::mac::resources(*layer, e.pe, e.simd, e.pe_kind, onChip, 0, h);
  ordered_json alt = {{"memory", hw::toString(onChip)}, {"bram18", r.bram18}, {"lut", round6(r.lut)}};
  if (h.device.uram > 0 && onChip == hw::MemKind::Bram)
    alt["uram"] = sched::mac::resources(*layer, e.pe, e.simd, e.pe_kind, hw::MemKind::Uram, 0, h).uram;
  s["on_chip"] = alt;
  char why[320];
  std::snprintf(why, sizeof why,
                "%s: on chip the weights need %.0f BRAM18%s; the design uses %.0f of a %.0f BRAM18 budget%s",
                config::toString(cfg.mapping.mode) == std::string("auto") ? "chosen by the scheduler"
                                                                            : "weights: dram in the mapping",
                r.bram18, alt.contains("uram") ? (" or " + alt["uram"].dump() + " URAM").c_str() : "",
                res.total.bram18, res.budget.bram18,
                h.device.uram > 0 ? (", " + std::to_string(int64_t(res.total.uram)) + " of " +
                                     std::to_string(int64_t(res.budget.uram)) + " URAM").c_str()
                                  : "");
  s["why"] = why;
  l["weight_stream"] = s;
}
} // namespace

ordered_json mapReportJson(const graph::Graph& g, const config::RunConfig& cfg, const sched::Mapping& m,
                           const sched::DesignResources& res) {
  ordered_json j;
  j["schema"] = "mpsim.map/1";
  j["network"] = g.name();
  j["device"] = cfg.hardware.device.name;
  const double fclk = cfg.hardware.clock_mhz * 1e6;
  j["summary"] = {{"clock_mhz", cfg.hardware.clock_mhz},
                  {"cycles_per_frame", m.predicted_cycles},
                  {"fps", m.predicted_cycles > 0 ? round6(fclk / double(m.predicted_cycles)) : 0.0},
                  {"bottleneck", m.predicted_bottleneck},
                  {"mode", config::toString(cfg.mapping.mode)}};
  ordered_json& layers = j["layers"] = ordered_json::array();
  for (size_t i = 0; i < m.engines.size(); ++i) {
    layers.push_back(engineJson(m.engines[i], res.engines[i]));
    addWeightStream(layers.back(), g, cfg, m, res, m.engines[i]);
  }
  ordered_json& fifos = j["fifos"] = ordered_json::array();
  for (size_t i = 0; i < m.streams.size(); ++i) {
    const auto& sp = m.streams[i];
    fifos.push_back({{"name", sp.name},
                     {"depth", sp.depth},
                     {"shortcut", sp.shortcut},
                     {"resources", sched::toJson(res.streams[i])}});
  }
  j["resources"] = sched::resourcesJson(res);
  j["params"] = paramsJson(g);
  return j;
}

void addLimit(ordered_json& j, const sched::Plan& plan, double clockMhz) {
  const sched::Limit& l = plan.limit;
  if (!plan.scheduled || l.by.empty()) return;
  ordered_json o;
  o["by"] = l.by;
  o["layers"] = l.layers;
  if (l.by == "budget" || l.by == "search") {
    o["next_cycles_per_frame"] = l.next_cycles;
    o["next_fps"] = round6(framesPerSecond(clockMhz, double(l.next_cycles)));
    o["next_shortfalls"] = l.shortfalls;
    o["next_extra"] = sched::toJson(hw::Resources{l.extra_lut, l.extra_ff, l.extra_dsp, l.extra_bram18, l.extra_uram});
  }
  j["summary"]["limit"] = o;
}

void addFifoSizing(ordered_json& j, const sched::Plan& plan) {
  const sched::FifoSizingResult& f = plan.fifo_sizing;
  if (!f.done) return;
  ordered_json o;
  o["method"] = "simulation";
  o["reference_cycles_per_frame"] = round6(f.reference_cycles);
  o["cycles_per_frame"] = round6(f.cycles);
  o["reached"] = f.reached;
  o["simulations"] = f.simulations;
  o["fifos"] = f.fifos;
  o["total_depth"] = f.total_depth;
  o["cost"] = sched::toJson(f.cost);
  o["cost_at_depth2"] = sched::toJson(f.cost_depth2);
  j["fifo_sizing"] = o;
}

namespace {

// One line for fifo_sizing.
std::string fifoSizingLine(const ordered_json& j) {
  if (!j.contains("fifo_sizing")) return "";
  const auto& f = j["fifo_sizing"];
  char gap[96] = "";
  if (!f["reached"].get<bool>())
    std::snprintf(gap, sizeof gap, ", %.2f %% slower than ample FIFOs",
                  100.0 * (f["cycles_per_frame"].get<double>() / f["reference_cycles_per_frame"].get<double>() - 1));
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "FIFOs        sized by simulation (%d FIFOs, %lld tokens, %d simulations%s): LUT %.0f, BRAM18 %.0f, "
                "URAM %.0f; at depth 2: LUT %.0f, BRAM18 %.0f, URAM %.0f\n",
                f["fifos"].get<int>(), (long long)f["total_depth"].get<int64_t>(), f["simulations"].get<int>(),
                gap, f["cost"]["lut"].get<double>(),
                f["cost"]["bram18"].get<double>(), f["cost"]["uram"].get<double>(),
                f["cost_at_depth2"]["lut"].get<double>(), f["cost_at_depth2"]["bram18"].get<double>(),
                f["cost_at_depth2"]["uram"].get<double>());
  return buf;
}

// One line for summary.limit.
std::string limitLine(const ordered_json& s) {
  if (!s.contains("limit")) return "";
  const auto& l = s["limit"];
  const std::string by = l["by"].get<std::string>();
  std::string layers;
  for (size_t i = 0; i < l["layers"].size() && i < 4; ++i)
    layers += std::string(i ? ", " : "") + l["layers"][i].get<std::string>();
  if (l["layers"].size() > 4) layers += " and " + std::to_string(l["layers"].size() - 4) + " more";
  if (by == "budget" || by == "search") {
    char buf[160];
    std::snprintf(buf, sizeof buf, "the next faster design (%.2f frames/s: ", l["next_fps"].get<double>());
    std::string line = std::string("limited by   the budget: ") + buf + layers + " faster";
    if (by == "search") return line + ") fits but was ruled out by the estimate\n";
    line += ") needs";
    for (size_t i = 0; i < l["next_shortfalls"].size(); ++i)
      line += std::string(i ? ";" : "") + " " + l["next_shortfalls"][i].get<std::string>();
    return line + "\n";
  }
  if (by == "parallelism") return "limited by   parallelism: " + layers + " at the fastest legal folding\n";
  if (by == "dram") return "limited by   DRAM bandwidth\n";
  if (by == "io") return "limited by   the I/O port width (" + layers + ")\n";
  if (by == "target") return "limited by   the target fps (goal target_fps: the cheapest design that reaches it)\n";
  return "limited by   " + by + "\n";
}

} // namespace

void printMapSummary(std::ostream& os, const ordered_json& j) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-26s %-10s %5s %5s %-9s %-7s %12s %9s %6s %7s %5s\n", "engine", "kind", "PE", "SIMD",
                "PE kind", "weights", "cycles", "LUT", "DSP", "BRAM18", "URAM");
  os << "network " << j["network"].get<std::string>() << " on " << j["device"].get<std::string>() << " ("
     << j["summary"]["mode"].get<std::string>() << " mapping)\n"
     << buf;
  for (const auto& l : j["layers"]) {
    std::snprintf(buf, sizeof buf, "%-26s %-10s %5lld %5lld %-9s %-7s %12lld %9.0f %6.0f %7.0f %5.0f\n",
                  l["name"].get<std::string>().c_str(), l["kind"].get<std::string>().c_str(),
                  (long long)l["pe"].get<int64_t>(), (long long)l["simd"].get<int64_t>(),
                  l.contains("pe_kind") ? l["pe_kind"].get<std::string>().c_str() : "-",
                  l.contains("weights") ? l["weights"].get<std::string>().c_str() : "-",
                  (long long)l["cycles_per_frame"].get<int64_t>(), l["resources"]["lut"].get<double>(),
                  l["resources"]["dsp"].get<double>(), l["resources"]["bram18"].get<double>(),
                  l["resources"]["uram"].get<double>());
    os << buf;
  }
  const auto& r = j["resources"];
  os << "\n";
  for (const char* k : {"lut", "ff", "dsp", "bram18", "uram"}) {
    std::snprintf(buf, sizeof buf, "%-7s %12.0f of %10.0f (%5.1f%%), budget %10.0f, interval %.0f - %.0f\n", k,
                  r["total"][k].get<double>(), r["device"][k].get<double>(), 100.0 * r["utilization"][k].get<double>(),
                  r["budget"][k].get<double>(), r["total_low"][k].get<double>(), r["total_high"][k].get<double>());
    os << buf;
  }
  os << "fits         " << (r["fits"].get<bool>() ? "yes" : "NO")
     << (r["fits"].get<bool>() ? (r["fits_upper"].get<bool>() ? " (also at the interval's upper bound)"
                                                              : " (not at the interval's upper bound)")
                               : "")
     << "\n";
  for (const auto& s : r["shortfalls"]) os << "  " << s.get<std::string>() << "\n";
  if (r.contains("shell")) {
    const auto& sh = r["shell"];
    std::snprintf(buf, sizeof buf, "shell        %.0f LUT, %.0f FF beside the design, not in its total (%s)\n",
                  sh["lut"].get<double>(), sh["ff"].get<double>(), sh["source"].get<std::string>().c_str());
    os << buf;
  }
  const auto& s = j["summary"];
  std::snprintf(buf, sizeof buf, "closed form  %.2f frames/s (%lld cycles per frame, bottleneck %s)\n",
                s["fps"].get<double>(), (long long)s["cycles_per_frame"].get<int64_t>(),
                s["bottleneck"].get<std::string>().c_str());
  os << buf << limitLine(s) << fifoSizingLine(j);
  const auto& p = j["params"];
  std::snprintf(buf, sizeof buf, "parameters   %s bits, %.2fx smaller than FP32\n",
                withCommas(p["weight_bits"].get<int64_t>()).c_str(), p["reduction"].get<double>());
  os << buf;
}

ordered_json runReportJson(const graph::Graph& g, const config::RunConfig& cfg, const sched::Mapping& m,
                           const sim::SimResult& r, const sched::DesignResources& res) {
  ordered_json j;
  j["schema"] = kReportSchema;
  j["network"] = g.name();
  j["device"] = cfg.hardware.device.name;
  j["simulation_mode"] = r.mode;
  if (r.fast_forward.applied) // docs/simulation.md: the later frames were advanced whole
    j["fast_forward"] = {{"simulated_frames", r.fast_forward.simulated},
                         {"steady_from_frame", r.fast_forward.frame},
                         {"period_cycles", r.fast_forward.period},
                         {"period_frames", r.fast_forward.period_frames}};
  const double fclk = cfg.hardware.clock_mhz * 1e6;
  int64_t macs = 0;
  for (const auto& l : g.layers()) macs += l.macs();

  const bool deadlock = r.deadlock.detected;
  const size_t F = r.frame_done.size();
  const sim::FrameInterval fi = sim::frameInterval(r);
  const double meanInterval = fi.cycles;
  const bool steady = fi.steady;
  const uint64_t interval = uint64_t(std::llround(meanInterval));
  // Engine accounting over the same frames: frames lo+1..hi with five or more frames, else frame hi.
  size_t firstFrame = 0, lastFrame = 0;
  if (F >= 5) {
    firstFrame = 2;
    lastFrame = F - 2;
  } else if (F >= 2) {
    firstFrame = lastFrame = F >= 4 ? F - 2 : F - 1;
  }
  std::vector<Accounting> acc;
  for (const auto& st : r.engines) acc.push_back(accountingOf(st, firstFrame, lastFrame, interval));

  // DRAM utilisation: bytes per frame over what the channels deliver in the interval.
  uint64_t dramBytes = 0;
  for (const auto& x : r.dram) dramBytes += x.read_bytes + x.write_bytes;
  const double peakGbps = cfg.hardware.dram.bandwidth_gbps * cfg.hardware.dram.channels;
  const double dramPerFrame = double(dramBytes) / std::max(1, r.frames);
  const double dramUtil = interval > 0 ? dramPerFrame * fclk / double(interval) / 1e9 / peakGbps : 0.0;

  // Bottleneck: with DRAM saturated (95 % of its bandwidth), DRAM, at the initiator moving the
  // most bytes (the input DMA, a weight streamer or the output DMA waits on it); else the engine
  // whose own work (compute or DRAM waits) fills most of the frame interval.
  int best = -1;
  bool dramBound = false;
  if (dramUtil >= 0.95) {
    int64_t most = -1;
    for (size_t i = 0; i < m.engines.size(); ++i) {
      const auto& e = m.engines[i];
      if ((e.kind == EngineKind::InputDma || e.kind == EngineKind::OutputDma || e.kind == EngineKind::WeightStreamer) &&
          e.bytes_per_frame > most) {
        most = e.bytes_per_frame;
        best = int(i);
      }
    }
    dramBound = best >= 0;
  }
  if (!dramBound) {
    uint64_t bestLoad = 0;
    for (size_t i = 0; i < acc.size(); ++i) {
      uint64_t load = acc[i].s.busy + acc[i].s.dram_wait;
      if (best < 0 || load > bestLoad) {
        best = int(i);
        bestLoad = load;
      }
    }
  }

  ordered_json& s = j["summary"];
  s["status"] = deadlock ? "deadlock" : "ok";
  s["frames"] = r.frames;
  s["frames_done"] = r.frames_done;
  s["clock_mhz"] = cfg.hardware.clock_mhz;
  s["cycles_per_frame"] = interval;
  s["fps"] = meanInterval > 0 ? round6(fclk / meanInterval) : 0.0;
  s["steady_state"] = steady;
  uint64_t latency = F >= 1 ? r.frame_done[0] - r.first_input : 0;
  s["latency_cycles"] = latency;
  s["latency_us"] = round6(double(latency) / cfg.hardware.clock_mhz);
  s["macs_per_frame"] = macs;
  s["ops_per_s"] = meanInterval > 0 ? std::round(2.0 * double(macs) * fclk / meanInterval) : 0.0;
  if (best >= 0 && !deadlock) {
    const auto& e = m.engines[size_t(best)];
    const Accounting& a = acc[size_t(best)];
    const ArrivalPacing pacing = arrivalPacing(r);
    // With arrivals, the measured interval holds the waits for frames: the pipeline's own limit
    // is the most loaded engine's work per frame (compute, or DRAM when its DRAM waits dominate).
    const std::string reason = dramBound                 ? "DRAM"
                               : pacing != ArrivalPacing::None ? bottleneckReason(e, a.s, a.s.busy + a.s.dram_wait)
                                                               : bottleneckReason(e, a.s, interval);
    ordered_json pipeline = {{"layer", e.layer}, {"engine", e.name}, {"reason", reason}};
    if (pacing == ArrivalPacing::Arrivals)
      s["bottleneck"] = {{"layer", ""}, {"engine", "arrivals"}, {"reason", "arrival rate"}, {"pipeline", pipeline}};
    else
      s["bottleneck"] = std::move(pipeline);
  } else {
    s["bottleneck"] = {{"layer", ""}, {"engine", ""}, {"reason", deadlock ? "deadlock" : "none"}};
  }
  s["predicted"] = {{"cycles_per_frame", m.predicted_cycles},
                    {"fps", m.predicted_cycles > 0 ? round6(fclk / double(m.predicted_cycles)) : 0.0},
                    {"bottleneck", m.predicted_bottleneck}};

  ordered_json& layers = j["layers"] = ordered_json::array();
  for (size_t i = 0; i < m.engines.size(); ++i) {
    const auto& e = m.engines[i];
    const auto& st = acc[i].s;
    ordered_json l = engineJson(e, res.engines[i]);
    addWeightStream(l, g, cfg, m, res, e);
    l["busy"] = st.busy;
    l["starved"] = st.starved;
    l["blocked"] = st.blocked;
    l["idle"] = acc[i].idle;
    l["dram_wait"] = st.dram_wait;
    l["utilization"] = interval > 0 ? round6(double(st.busy) / double(interval)) : 0.0;
    l["first_output"] = st.first_output;
    l["state"] = st.state;
    layers.push_back(std::move(l));
  }

  ordered_json& fifos = j["fifos"] = ordered_json::array();
  for (size_t i = 0; i < m.streams.size(); ++i) {
    const auto& sp = m.streams[i];
    const auto& st = r.streams[i];
    ordered_json f;
    f["name"] = sp.name;
    f["depth"] = st.depth;
    f["max_occupancy"] = st.max_occupancy;
    f["shortcut"] = sp.shortcut;
    if (sp.shortcut) {
      f["min_depth"] = sp.min_depth;
      f["auto_depth"] = sp.auto_depth;
    }
    fifos.push_back(std::move(f));
  }

  ordered_json& d = j["dram"];
  uint64_t rd = 0, wr = 0;
  ordered_json inits = ordered_json::array();
  for (const auto& x : r.dram) {
    rd += x.read_bytes;
    wr += x.write_bytes;
    double perFrameBytes = double(x.read_bytes + x.write_bytes) / std::max(1, r.frames_done > 0 ? r.frames : 1);
    inits.push_back({{"name", x.name},
                     {"read_bytes", x.read_bytes},
                     {"write_bytes", x.write_bytes},
                     {"requests", x.requests},
                     {"bytes_per_frame", round6(perFrameBytes)},
                     {"achieved_gbps", interval > 0 ? round6(perFrameBytes * fclk / double(interval) / 1e9) : 0.0}});
  }
  const double peak = cfg.hardware.dram.bandwidth_gbps * cfg.hardware.dram.channels;
  double perFrame = double(rd + wr) / std::max(1, r.frames);
  d["channels"] = cfg.hardware.dram.channels;
  d["peak_gbps"] = peak;
  d["read_bytes_per_frame"] = round6(double(rd) / std::max(1, r.frames));
  d["write_bytes_per_frame"] = round6(double(wr) / std::max(1, r.frames));
  d["achieved_gbps"] = interval > 0 ? round6(perFrame * fclk / double(interval) / 1e9) : 0.0;
  d["utilization"] = interval > 0 ? round6(perFrame * fclk / double(interval) / 1e9 / peak) : 0.0;
  d["initiators"] = inits;

  j["resources"] = sched::resourcesJson(res);
  j["params"] = paramsJson(g);

  if (deadlock) {
    ordered_json dl;
    dl["cycle"] = r.deadlock.cycle;
    dl["wait_cycle"] = r.deadlock.cycle_path;
    dl["full_fifos"] = r.deadlock.full_fifos;
    dl["empty_fifos"] = r.deadlock.empty_fifos;
    dl["blocked_engines"] = r.deadlock.messages;
    ordered_json sugg = ordered_json::array();
    for (const auto& sp : m.streams)
      if (sp.shortcut && sp.depth < sp.min_depth)
        sugg.push_back(
            {{"fifo", sp.name}, {"depth", sp.depth}, {"min_depth", sp.min_depth}, {"suggested_depth", sp.auto_depth}});
    dl["shortcut_suggestions"] = sugg;
    j["deadlock"] = dl;
  }
  return j;
}

void writeLayersCsv(std::ostream& os, const ordered_json& report) {
  os << "name,layer,kind,pe,simd,macs,cycles_per_frame,busy,starved,blocked,dram_wait,utilization,weights\n";
  for (const auto& l : report["layers"]) {
    os << l["name"].get<std::string>() << "," << l["layer"].get<std::string>() << "," << l["kind"].get<std::string>()
       << "," << l["pe"] << "," << l["simd"] << "," << l["macs"] << "," << l["cycles_per_frame"] << "," << l["busy"]
       << "," << l["starved"] << "," << l["blocked"] << "," << l["dram_wait"] << "," << l["utilization"] << ","
       << l.value("weights", std::string("-")) << "\n";
  }
}

void printRunSummary(std::ostream& os, const ordered_json& j) {
  const auto& s = j["summary"];
  char buf[256];
  os << "network " << j["network"].get<std::string>() << " on " << j["device"].get<std::string>() << " at "
     << s["clock_mhz"].get<double>() << " MHz (" << j["simulation_mode"].get<std::string>() << ", "
     << s["frames"].get<int>() << " frames)\n";
  if (s["status"] == "deadlock") {
    const auto& d = j["deadlock"];
    os << "DEADLOCK at cycle " << d["cycle"] << "\n";
    for (const auto& m : d["blocked_engines"]) os << "  " << m.get<std::string>() << "\n";
    if (!d["wait_cycle"].empty()) {
      os << "  wait-for cycle:";
      for (const auto& p : d["wait_cycle"]) os << " " << p.get<std::string>();
      os << "\n";
    }
    for (const auto& sg : d["shortcut_suggestions"])
      os << "  shortcut FIFO " << sg["fifo"].get<std::string>() << ": depth " << sg["depth"]
         << " is below the deadlock-free minimum " << sg["min_depth"] << "; suggested depth " << sg["suggested_depth"]
         << "\n";
    return;
  }
  std::snprintf(buf, sizeof buf, "%-26s %-12s %4s %4s %12s %12s %12s %12s %6s\n", "engine", "kind", "PE", "SIMD",
                "closed form", "busy", "starved", "blocked", "util");
  os << buf;
  for (const auto& l : j["layers"]) {
    std::snprintf(buf, sizeof buf, "%-26s %-12s %4lld %4lld %12lld %12llu %12llu %12llu %5.1f%%\n",
                  l["name"].get<std::string>().c_str(), l["kind"].get<std::string>().c_str(),
                  (long long)l["pe"].get<int64_t>(), (long long)l["simd"].get<int64_t>(),
                  (long long)l["cycles_per_frame"].get<int64_t>(), (unsigned long long)l["busy"].get<uint64_t>(),
                  (unsigned long long)l["starved"].get<uint64_t>(), (unsigned long long)l["blocked"].get<uint64_t>(),
                  100.0 * l["utilization"].get<double>());
    os << buf;
  }
  os << "\n";
  if (s["frames_done"].get<int>() < 2)
    std::snprintf(buf, sizeof buf,
                  "throughput   not measured (%d frame done: a latency run; simulate 2 or more frames)\n",
                  s["frames_done"].get<int>());
  else
    std::snprintf(buf, sizeof buf, "throughput   %.2f frames/s (%llu cycles per frame%s)\n", s["fps"].get<double>(),
                  (unsigned long long)s["cycles_per_frame"].get<uint64_t>(),
                  s["steady_state"].get<bool>() ? ""
                  : j.contains("system") && j["system"].contains("arrivals")
                      ? ", not periodic: it follows the arrivals"
                      : ", NOT yet steady: raise --frames");
  os << buf;
  std::snprintf(buf, sizeof buf, "closed form  %.2f frames/s (%lld cycles, %s)\n", s["predicted"]["fps"].get<double>(),
                (long long)s["predicted"]["cycles_per_frame"].get<int64_t>(),
                s["predicted"]["bottleneck"].get<std::string>().c_str());
  os << buf;
  std::snprintf(buf, sizeof buf, "latency      %llu cycles (%.3f us)\n",
                (unsigned long long)s["latency_cycles"].get<uint64_t>(), s["latency_us"].get<double>());
  os << buf;
  std::snprintf(buf, sizeof buf, "performance  %.3f TOp/s (%s MACs per frame)\n", s["ops_per_s"].get<double>() / 1e12,
                withCommas(s["macs_per_frame"].get<int64_t>()).c_str());
  os << buf;
  const auto& b = s["bottleneck"];
  os << "bottleneck   " << b["engine"].get<std::string>() << " (" << b["reason"].get<std::string>();
  if (b.contains("pipeline"))
    os << "; without them the pipeline is held by " << b["pipeline"]["engine"].get<std::string>() << ", "
       << b["pipeline"]["reason"].get<std::string>();
  os << ")\n"
     << limitLine(s) << fifoSizingLine(j);
  std::snprintf(buf, sizeof buf, "DRAM         %.3f GB/s of %.1f GB/s peak (%.1f%%)\n",
                j["dram"]["achieved_gbps"].get<double>(), j["dram"]["peak_gbps"].get<double>(),
                100.0 * j["dram"]["utilization"].get<double>());
  os << buf;
  printSystemSummary(os, j);
}

} // namespace mpsim::report
