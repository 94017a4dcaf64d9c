#include "mpsim/common/Math.hpp"
#include "mpsim/report/SystemReport.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mpsim::report {
using nlohmann::ordered_json;
using sched::EngineKind;

namespace {

ordered_json distribution(const std::vector<uint64_t>& sorted, double cyclesPerUs, bool us) {
  auto v = [&](uint64_t c) { return us ? ordered_json(round6(double(c) / cyclesPerUs)) : ordered_json(c); };
  return {{"min", v(sorted.empty() ? 0 : sorted.front())},
          {"p50", v(percentile(sorted, 50))},
          {"p95", v(percentile(sorted, 95))},
          {"p99", v(percentile(sorted, 99))},
          {"max", v(sorted.empty() ? 0 : sorted.back())}};
}

int64_t dmaBytes(const sched::Mapping& m, EngineKind kind) {
  int64_t b = 0;
  for (const auto& e : m.engines)
    if (e.kind == kind) b += e.bytes_per_frame;
  return b;
}

ordered_json arrivalsJson(const config::InputConfig& in, const sim::SimResult& r, double clockMhz) {
  const sim::ArrivalRecord& a = r.arrivals;
  ordered_json j;
  j["kind"] = config::toString(in.arrivals.kind);
  j["offered"] = a.offered;
  j["processed"] = r.frames_done;
  j["dropped"] = int(a.dropped_at.size());
  j["policy"] = config::toString(in.policy);
  if (in.buffer_frames)
    j["buffer_frames"] = *in.buffer_frames;
  else
    j["buffer_frames"] = "unbounded";
  // Offered rate: arrivals over the span of arrival times (all offered frames).
  std::vector<uint64_t> all = a.arrival;
  all.insert(all.end(), a.dropped_at.begin(), a.dropped_at.end());
  std::sort(all.begin(), all.end());
  const double fclk = clockMhz * 1e6;
  j["offered_fps"] = all.size() >= 2 && all.back() > all.front()
                         ? round6(double(all.size() - 1) * fclk / double(all.back() - all.front()))
                         : 0.0;
  const size_t n = std::min(a.arrival.size(), r.frame_done.size());
  j["achieved_fps"] = n >= 2 && r.frame_done[n - 1] > r.frame_done[0]
                          ? round6(double(n - 1) * fclk / double(r.frame_done[n - 1] - r.frame_done[0]))
                          : 0.0;
  std::vector<uint64_t> lat, wait;
  for (size_t i = 0; i < n; ++i) {
    lat.push_back(r.frame_done[i] - a.arrival[i]);
    wait.push_back(a.start[i] - a.arrival[i]);
  }
  std::sort(lat.begin(), lat.end());
  std::sort(wait.begin(), wait.end());
  j["latency_cycles"] = distribution(lat, clockMhz, false);
  j["latency_us"] = distribution(lat, clockMhz, true);
  j["queue_wait_us"] = distribution(wait, clockMhz, true);
  // Occupancy: frame i waits from entering the buffer (admitted) until the input DMA takes it
  // (start). Maximum over time, and the time average from the first arrival to the last frame done.
  std::vector<std::pair<uint64_t, int>> ev;
  uint64_t waited = 0;
  for (size_t i = 0; i < a.start.size() && i < a.admitted.size(); ++i) {
    if (a.start[i] <= a.admitted[i]) continue;
    ev.emplace_back(a.admitted[i], +1);
    ev.emplace_back(a.start[i], -1);
    waited += a.start[i] - a.admitted[i];
  }
  std::sort(ev.begin(), ev.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : x.second < y.second; // leave before enter
  });
  int occ = 0, maxOcc = 0;
  for (const auto& [t, d] : ev) {
    occ += d;
    maxOcc = std::max(maxOcc, occ);
  }
  const uint64_t span = n >= 1 && !all.empty() && r.frame_done[n - 1] > all.front() ? r.frame_done[n - 1] - all.front() : 0;
  int held = 0;
  for (size_t i = 0; i < a.admitted.size(); ++i)
    if (a.admitted[i] > a.arrival[i]) ++held;
  j["queue"] = {{"max_occupancy", maxOcc},
                {"mean_occupancy", span > 0 ? round6(double(waited) / double(span)) : 0.0},
                {"source_blocked_frames", held}};
  return j;
}

ordered_json hostJson(const config::HostConfig& h, const config::RunConfig& cfg, const sched::Mapping& m,
                      const sim::SimResult& r, const ordered_json& summary) {
  const double clockMhz = cfg.hardware.clock_mhz;
  ordered_json j;
  j["preset"] = h.preset;
  j["preset_source"] = h.preset_source;
  j["batch"] = h.batch;
  const bool measured = summary.value("frames_done", 0) >= 2 && summary.value("fps", 0.0) > 0;
  j["accelerator_fps"] = measured ? summary["fps"].get<double>() : summary["predicted"]["fps"].get<double>();
  j["accelerator_fps_source"] = measured ? "simulated steady state" : "closed form (batch below 2 frames)";
  const bool done = !r.frame_done.empty() && int(r.frame_done.size()) >= h.batch;
  const double accUs = done ? double(r.frame_done.back() - std::min(r.first_input, r.frame_done.back())) / clockMhz : 0;
  const double inBytes = double(dmaBytes(m, EngineKind::InputDma)) * h.batch;
  const double outBytes = double(dmaBytes(m, EngineKind::OutputDma)) * h.batch;
  const double copyIn = h.copy_in_gbps > 0 ? inBytes / (h.copy_in_gbps * 1e3) : 0;   // us
  const double copyOut = h.copy_out_gbps > 0 ? outBytes / (h.copy_out_gbps * 1e3) : 0; // us
  const double total = h.driver_overhead_us + accUs + (h.include_copies ? copyIn + copyOut : 0);
  j["driver_overhead_us"] = round6(h.driver_overhead_us);
  j["accelerator_batch_us"] = round6(accUs);
  j["copy_in_us"] = round6(copyIn);
  j["copy_out_us"] = round6(copyOut);
  j["include_copies"] = h.include_copies;
  j["end_to_end"] = {{"runtime_us", round6(total)},
                     {"fps", total > 0 && done ? round6(double(h.batch) * 1e6 / total) : 0.0},
                     {"first_frame_latency_us",
                      done ? round6(h.driver_overhead_us + (h.include_copies ? copyIn / h.batch : 0) +
                                    double(r.frame_done.front() - std::min(r.first_input, r.frame_done.front())) /
                                        clockMhz)
                           : 0.0}};
  const double portMhz = h.shell.port_mhz > 0 ? h.shell.port_mhz : clockMhz;
  j["shell"] = {{"port_gbps", round6(double(h.shell.port_bits) / 8.0 * portMhz / 1e3)},
                {"burst_bytes", h.shell.burst_bytes},
                {"outstanding", h.shell.outstanding},
                {"setup_ns", h.shell.setup_ns}};
  return j;
}

} // namespace

uint64_t percentile(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = size_t(std::ceil(p / 100.0 * double(sorted.size())));
  rank = std::min(std::max<size_t>(rank, 1), sorted.size());
  return sorted[rank - 1];
}

double backgroundGbps(const sim::SimResult& r, double clockMhz) {
  double g = 0;
  for (const auto& b : r.background)
    if (b.last_cycle > b.first_cycle)
      g += double(b.read_bytes + b.write_bytes) * clockMhz * 1e6 / double(b.last_cycle - b.first_cycle) / 1e9;
  return g;
}

void addSystem(ordered_json& report, const config::RunConfig& cfg, const sched::Mapping& m, const sim::SimResult& r,
               const sim::SimResult* alone) {
  if (!cfg.input && !cfg.host && cfg.background.empty()) return;
  ordered_json& s = report["system"];
  if (cfg.input && r.arrivals.enabled) s["arrivals"] = arrivalsJson(*cfg.input, r, cfg.hardware.clock_mhz);
  if (cfg.host) s["host"] = hostJson(*cfg.host, cfg, m, r, report["summary"]);
  if (!cfg.background.empty()) {
    const double clock = cfg.hardware.clock_mhz, fclk = clock * 1e6;
    const double peak = report["dram"]["peak_gbps"].get<double>();
    ordered_json b;
    ordered_json masters = ordered_json::array();
    for (size_t i = 0; i < r.background.size() && i < cfg.background.size(); ++i) {
      const auto& st = r.background[i];
      const double span = double(st.last_cycle > st.first_cycle ? st.last_cycle - st.first_cycle : 0);
      const double gbps = span > 0 ? double(st.read_bytes + st.write_bytes) * fclk / span / 1e9 : 0.0;
      masters.push_back({{"name", st.name},
                         {"kind", config::toString(cfg.background[i].kind)},
                         {"requests", st.requests},
                         {"read_bytes", st.read_bytes},
                         {"write_bytes", st.write_bytes},
                         {"achieved_gbps", round6(gbps)},
                         {"share_of_peak", round6(gbps / peak)},
                         {"stopped_at_horizon", st.stopped_at_horizon}});
    }
    b["masters"] = masters;
    const double fps = report["summary"]["fps"].get<double>();
    const double accGbps = report["dram"]["achieved_gbps"].get<double>(), bgGbps = backgroundGbps(r, clock);
    if (alone) {
      const sim::FrameInterval fi = sim::frameInterval(*alone);
      const double fpsAlone = fi.cycles > 0 ? round6(fclk / fi.cycles) : 0.0;
      b["accelerator"] = {{"fps_alone", fpsAlone},
                          {"fps", fps},
                          {"slowdown", fps > 0 ? round6(fpsAlone / fps) : 0.0},
                          {"cycles_per_frame_alone", uint64_t(std::llround(fi.cycles))},
                          {"cycles_per_frame", report["summary"]["cycles_per_frame"]}};
    }
    b["dram"] = {{"peak_gbps", peak},
                 {"accelerator_gbps", accGbps},
                 {"background_gbps", round6(bgGbps)},
                 {"utilization", round6((accGbps + bgGbps) / peak)}};
    s["background"] = b;
  }
}

void printSystemSummary(std::ostream& os, const ordered_json& j) {
  if (!j.contains("system")) return;
  const auto& s = j["system"];
  char buf[512];
  if (s.contains("arrivals")) {
    const auto& a = s["arrivals"];
    const auto& l = a["latency_us"];
    std::snprintf(buf, sizeof buf,
                  "arrivals     %s: %d offered (%.2f frames/s), %d processed at %.2f frames/s, %d dropped (%s, "
                  "buffer %s)\n",
                  a["kind"].get<std::string>().c_str(), a["offered"].get<int>(), a["offered_fps"].get<double>(),
                  a["processed"].get<int>(), a["achieved_fps"].get<double>(), a["dropped"].get<int>(),
                  a["policy"].get<std::string>().c_str(),
                  a["buffer_frames"].is_string() ? "unbounded" : std::to_string(a["buffer_frames"].get<int>()).c_str());
    os << buf;
    std::snprintf(buf, sizeof buf, "  latency    min %.3f  p50 %.3f  p95 %.3f  p99 %.3f  max %.3f us; queue max %d\n",
                  l["min"].get<double>(), l["p50"].get<double>(), l["p95"].get<double>(), l["p99"].get<double>(),
                  l["max"].get<double>(), a["queue"]["max_occupancy"].get<int>());
    os << buf;
  }
  if (s.contains("host")) {
    const auto& h = s["host"];
    std::snprintf(buf, sizeof buf,
                  "host         %s, batch %d: accelerator %.2f frames/s; end to end %.2f frames/s, %.3f ms per batch "
                  "(driver %.1f us%s)\n",
                  h["preset"].get<std::string>().c_str(), h["batch"].get<int>(), h["accelerator_fps"].get<double>(),
                  h["end_to_end"]["fps"].get<double>(), h["end_to_end"]["runtime_us"].get<double>() / 1e3,
                  h["driver_overhead_us"].get<double>(), h["include_copies"].get<bool>() ? ", copies included" : "");
    os << buf;
  }
  if (s.contains("background")) {
    const auto& b = s["background"];
    for (const auto& m : b["masters"]) {
      std::snprintf(buf, sizeof buf, "background   %s (%s): %.3f GB/s (%.1f%% of the peak)%s\n",
                    m["name"].get<std::string>().c_str(), m["kind"].get<std::string>().c_str(),
                    m["achieved_gbps"].get<double>(), 100.0 * m["share_of_peak"].get<double>(),
                    m["stopped_at_horizon"].get<bool>() ? ", stopped at the time limit" : "");
      os << buf;
    }
    if (b.contains("accelerator")) {
      std::snprintf(buf, sizeof buf, "  slowdown   %.3fx: %.2f frames/s alone, %.2f with the background\n",
                    b["accelerator"]["slowdown"].get<double>(), b["accelerator"]["fps_alone"].get<double>(),
                    b["accelerator"]["fps"].get<double>());
      os << buf;
    }
  }
}

} // namespace mpsim::report
