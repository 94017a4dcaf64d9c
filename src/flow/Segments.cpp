#include "mpsim/flow/Segments.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/common/Math.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/report/RunReport.hpp"
#include "mpsim/sched/MaxPlus.hpp"
#include "mpsim/sched/Scheduler.hpp"
#include "mpsim/sim/Functional.hpp"

namespace mpsim::flow {

namespace fs = std::filesystem;

namespace {

/// The frames the max-plus closed form evaluates; beyond, the design's cycles per frame (its
/// expected cycles: the DRAM at its peak, as the simulation reaches it).
constexpr int kMaxPlusFrames = 64;

/// Does `name` (an engine of a segment) belong to one of `layers` ("x", "x.fork", "x.weights")?
bool engineOf(const std::string& engine, const std::set<std::string>& layers) {
  for (std::size_t p = engine.size();; p = engine.rfind('.', p - 1)) {
    if (layers.count(engine.substr(0, p))) return true;
    if (p == 0 || p == std::string::npos || engine.rfind('.', p - 1) == std::string::npos) return false;
  }
}

/// The run of layers [first, end) as a network of its own: its graph, and the whole run's config
/// with the per-layer mapping and FIFO depths of those layers only, one batch of frames.
config::Run segmentRun(const config::Run& whole, std::size_t first, std::size_t end, const std::string& name,
                       Segment* seg) {
  config::Run r;
  r.graph = graph::segmentGraph(whole.graph, first, end, whole.graph.name() + "." + name,
                                seg ? &seg->inputs : nullptr, seg ? &seg->outputs : nullptr);
  r.config = whole.config;
  r.config.mapping.segments = config::SegmentsConfig{};
  std::set<std::string> names;
  for (const auto& l : r.graph.layers()) names.insert(l.name);
  for (auto it = r.config.mapping.layers.begin(); it != r.config.mapping.layers.end();)
    it = names.count(it->first) ? std::next(it) : r.config.mapping.layers.erase(it);
  auto& depths = r.config.mapping.fifos.depths;
  for (auto it = depths.begin(); it != depths.end();) {
    const std::size_t arrow = it->first.find("->");
    const bool keep = arrow != std::string::npos && engineOf(it->first.substr(0, arrow), names) &&
                      engineOf(it->first.substr(arrow + 2), names);
    it = keep ? std::next(it) : depths.erase(it);
  }
  return r;
}

/// Cycles until frame 0 and until the batch's last frame is written (the max-plus recurrence).
std::pair<uint64_t, uint64_t> predictedCycles(const Design& d, int batch) {
  const sched::Mapping& m = d.mapping;
  const auto& hw = d.run.config.hardware;
  const sched::MaxPlusDram dram{hw.units.dram_bytes_per_cycle, int64_t(hw.units.dram_latency_cycles), hw.dram.burst_bytes};
  const int n = std::min(batch, kMaxPlusFrames);
  const std::vector<uint64_t> done = sched::maxPlusFrameDone(m, n, dram);
  const uint64_t P = uint64_t(m.expected_cycles);
  const uint64_t last = done.back() + uint64_t(batch - n) * P;
  return {done.front(), std::max(last, done.front() + uint64_t(batch - 1) * P)};
}

/// The hardware of a mapped design without its names and weight values: every engine's kind,
/// layer hardware key, folding, costs, ports and memories, and every stream's ends, width and depth.
std::string hardwareSignature(const Design& d) {
  std::vector<int64_t> k;
  const auto& m = d.mapping;
  for (const auto& e : m.engines) {
    k.push_back(-1);
    if (const graph::Layer* l = d.run.graph.find(e.layer)) {
      const std::vector<int64_t> h = l->hardwareKey();
      k.push_back(int64_t(l->kind));
      k.insert(k.end(), h.begin(), h.end());
    }
    for (int64_t v : {int64_t(e.kind), e.pe, e.simd, e.out_tokens_per_frame, e.out_cost, e.tail, e.latency, e.macs,
                      e.weight_bits, int64_t(e.weights_in_dram), int64_t(e.pe_kind), int64_t(e.requant),
                      int64_t(e.weight_mem), e.bytes_per_token, e.bytes_per_frame, e.closed_form_cycles})
      k.push_back(v);
    for (const auto& p : e.in) {
      for (int64_t v : {int64_t(p.stream), p.tokens_per_frame, p.read_cost, p.capacity, int64_t(p.need), p.reuse})
        k.push_back(v);
      sched::appendNeedKey(e, p, k);
    }
    for (int o : e.out) k.push_back(o);
  }
  for (const auto& st : m.streams)
    for (int64_t v : {int64_t(-2), int64_t(st.producer), int64_t(st.consumer), int64_t(st.port), st.depth, st.bits_per_token})
      k.push_back(v);
  std::string out;
  for (int64_t v : k) out += std::to_string(v) + ",";
  return out;
}

Segment makeSegment(const config::Run& whole, std::size_t first, std::size_t end, std::size_t index, int batch) {
  Segment s;
  s.name = "segment" + std::to_string(index);
  s.first = first;
  s.end = end;
  config::Run r = segmentRun(whole, first, end, s.name, &s);
  r.config.simulation.frames = batch;
  {
    // The scheduler's per-layer notes of every segment would bury the segments' summary.
    const auto level = spdlog::get_level();
    if (level < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
    struct Restore {
      spdlog::level::level_enum l;
      ~Restore() { spdlog::set_level(l); }
    } restore{level};
    s.design = map(std::move(r));
  }
  std::tie(s.predicted_latency_cycles, s.predicted_batch_cycles) = predictedCycles(s.design, batch);
  s.hardware = hardwareSignature(s.design);
  for (const auto& e : s.design.mapping.engines)
    if (e.weight_bits > 0 && !e.weights_in_dram && e.kind != sched::EngineKind::WeightStreamer)
      s.onchip_weight_bytes += (e.weight_bits + 7) / 8;
  return s;
}

/// The resources a design that does not fit is short of: "LUT: needs ..., budget ... (short by ...); ...".
std::string shortfalls(const DoesNotFitError& e) {
  std::string w;
  for (const auto& m : e.messages()) {
    const std::size_t b = m.find_first_not_of(' ');
    if (b == std::string::npos || m.compare(b, 7, "largest") == 0 || m.find("needs") == std::string::npos) continue;
    w += (w.empty() ? "" : "; ") + m.substr(b);
  }
  return w.empty() ? std::string(e.what()) : w;
}

/// Whether layers [first, end) fit the budget as one design (the scheduler finds one); `why` gets
/// the scheduler's shortfalls when not.
bool fits(const config::Run& whole, std::size_t first, std::size_t end, std::string* why = nullptr,
          double scale = 1.0) {
  config::Run r = segmentRun(whole, first, end, "probe", nullptr);
  if (scale != 1.0) {
    hw::Budget& b = r.config.hardware.budget;
    for (double* f : {&b.lut, &b.ff, &b.dsp, &b.bram, &b.uram}) *f *= scale;
    config::resolveUnits(r.config.hardware);
  }
  try {
    sched::schedule(r.graph, r.config);
    return true;
  } catch (const DoesNotFitError& e) {
    if (why) *why = shortfalls(e);
    return false;
  }
}

/// Bytes per frame that cross a cut before cuttable layer `at` (tensors of layers before it read at
/// or after it).
int64_t crossingBytes(const graph::Graph& g, const std::vector<const graph::Layer*>& cut, std::size_t at) {
  std::set<std::string> after;
  for (std::size_t i = at; i < cut.size(); ++i) after.insert(cut[i]->name);
  int64_t bytes = 0;
  for (std::size_t i = 0; i < at; ++i)
    for (const auto& c : g.consumers(cut[i]->name))
      if (after.count(c)) {
        bytes += graph::packedBytes(cut[i]->out_shape.elements(), cut[i]->out.bits);
        break;
      }
  return bytes;
}

/// Moves a cut at `at` back (never before `lo`) to the position within the last eighth of the
/// segment where the fewest bytes cross.
std::size_t cheapestCut(const graph::Graph& g, const std::vector<const graph::Layer*>& cut, std::size_t lo,
                        std::size_t at) {
  const std::size_t window = std::max<std::size_t>(1, (at - lo) / 8);
  std::size_t best = at;
  int64_t bestBytes = crossingBytes(g, cut, at);
  for (std::size_t c = at - 1; c > lo && c + window >= at; --c) {
    const int64_t b = crossingBytes(g, cut, c);
    if (b < bestBytes) {
      best = c;
      bestBytes = b;
    }
  }
  return best;
}

/// Fewest segments: each segment as long as it fits (binary search on its end), the cut then moved
/// back to where the fewest bytes cross. Empty when a single layer does not fit (`why` says).
std::vector<std::size_t> greedyRange(const config::Run& whole, const std::vector<const graph::Layer*>& cut,
                                     std::size_t from, std::size_t to, int maxSegments, std::string& why,
                                     double scale = 1.0) {
  std::vector<std::size_t> starts;
  std::size_t i = from;
  while (i < to) {
    if (int(starts.size()) >= maxSegments) {
      why = "more than mapping.segments.max_segments = " + std::to_string(maxSegments) + " segments needed";
      return {};
    }
    starts.push_back(i);
    if (fits(whole, i, to, nullptr, scale)) break;
    std::string w;
    if (!fits(whole, i, i + 1, &w, scale)) {
      why = "layer '" + cut[i]->name + "' alone does not fit: " + w;
      return {};
    }
    std::size_t lo = i + 1, hi = to; // [i, lo) fits, [i, hi) does not
    while (hi - lo > 1) {
      const std::size_t mid = lo + (hi - lo) / 2;
      (fits(whole, i, mid, nullptr, scale) ? lo : hi) = mid;
    }
    // A segment with fewer layers usually fits too, but not always (its crossing tensors and the
    // scheduler's choices differ): the moved cut is probed, else the segment keeps all it can.
    const std::size_t c = cheapestCut(whole.graph, cut, i, lo);
    i = c == lo || fits(whole, i, c, nullptr, scale) ? c : lo;
  }
  return starts;
}

std::vector<std::size_t> greedyCuts(const config::Run& whole, const std::vector<const graph::Layer*>& cut,
                                    int maxSegments, std::string& why, double scale = 1.0) {
  return greedyRange(whole, cut, 0, cut.size(), maxSegments, why, scale);
}

/// The longest stretch of repeated structure among the cuttable layers: layers [start,
/// start + count * period) are `count` copies of the same `period` layers (equal kinds and hardware
/// keys, e.g. a ResNet stage's identical blocks), count >= 3, start moved within the first period to
/// where the fewest bytes cross. count 0: none.
struct Repeat {
  std::size_t start = 0, period = 0, count = 0;
};

Repeat findRepeat(const graph::Graph& g, const std::vector<const graph::Layer*>& cut, std::size_t from,
                  std::size_t to) {
  constexpr std::size_t kMaxPeriod = 32;
  std::vector<std::vector<int64_t>> keys(cut.size());
  for (std::size_t i = from; i < to; ++i) {
    keys[i] = cut[i]->hardwareKey();
    keys[i].insert(keys[i].begin(), int64_t(cut[i]->kind));
  }
  Repeat best;
  for (std::size_t p = 1; p <= kMaxPeriod && from + 2 * p < to; ++p) {
    std::size_t i = from;
    while (i + p < to) {
      if (keys[i] != keys[i + p]) {
        ++i;
        continue;
      }
      std::size_t e = i;
      while (e + p < to && keys[e] == keys[e + p]) ++e;
      const std::size_t len = e - i + p; // [i, e + p): copies of [i, i + p)
      if (len / p >= 3 && len / p * p > best.count * best.period) {
        // The phase: where the fewest bytes cross, then the most whole copies.
        Repeat r;
        int64_t bytes = -1;
        for (std::size_t phi = 0; phi < p; ++phi) {
          const std::size_t n = (len - phi) / p;
          const int64_t b = crossingBytes(g, cut, i + phi);
          if (n >= 3 && (bytes < 0 || b < bytes || (b == bytes && n > r.count))) {
            bytes = b;
            r = Repeat{i + phi, p, n};
          }
        }
        if (r.count >= 3) best = r;
      }
      i = e + 1;
    }
  }
  return best;
}

/// Every stretch of repeated structure in [from, to): the longest, then those before and after it.
void findRepeats(const graph::Graph& g, const std::vector<const graph::Layer*>& cut, std::size_t from, std::size_t to,
                 std::vector<Repeat>& out) {
  const Repeat r = findRepeat(g, cut, from, to);
  if (r.count == 0) return;
  findRepeats(g, cut, from, r.start, out);
  out.push_back(r);
  findRepeats(g, cut, r.start + r.count * r.period, to, out);
}


SegmentSwitch switchInto(const std::vector<Segment>& segs, std::size_t i, const config::SegmentsConfig& sc,
                         double reconfigurationS, double reloadBytesPerS) {
  if (segs.size() < 2) return {};
  const Segment& prev = segs[(i + segs.size() - 1) % segs.size()];
  if (sc.execution == config::SegmentExecution::Auto && prev.hardware == segs[i].hardware)
    return SegmentSwitch{false, double(segs[i].onchip_weight_bytes) / reloadBytesPerS};
  return SegmentSwitch{true, reconfigurationS};
}

double batchSeconds(const std::vector<Segment>& segs, const config::RunConfig& cfg, double reconfigurationS,
                    double reloadBytesPerS) {
  double s = 0;
  for (std::size_t i = 0; i < segs.size(); ++i)
    s += double(segs[i].predicted_batch_cycles) / (cfg.hardware.clock_mhz * 1e6) +
         switchInto(segs, i, cfg.mapping.segments, reconfigurationS, reloadBytesPerS).seconds;
  return s;
}

std::vector<Segment> mapCuts(const config::Run& run, const std::vector<std::size_t>& starts, std::size_t n, int batch) {
  std::vector<Segment> segs;
  for (std::size_t s = 0; s < starts.size(); ++s)
    segs.push_back(makeSegment(run, starts[s], s + 1 < starts.size() ? starts[s + 1] : n, s, batch));
  return segs;
}

std::vector<std::string> cutNames(const std::vector<const graph::Layer*>& cut, const std::vector<std::size_t>& starts) {
  std::vector<std::string> out;
  for (std::size_t s = 1; s < starts.size(); ++s) out.push_back(cut[starts[s]]->name);
  return out;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

} // namespace

bool segmentsRequested(const config::Run& run) { return run.config.mapping.segments.mode != config::SegmentMode::Off; }

SegmentSwitch SegmentedDesign::switchInto(std::size_t i) const {
  return flow::switchInto(segments, i, run.config.mapping.segments, reconfiguration_s, reload_bytes_per_s);
}

double SegmentedDesign::predictedBatchSeconds() const {
  return batchSeconds(segments, run.config, reconfiguration_s, reload_bytes_per_s);
}

double SegmentedDesign::predictedFps() const { return double(batch) / predictedBatchSeconds(); }

config::RunConfig SegmentedDesign::effectiveConfig() const {
  config::RunConfig c = run.config;
  c.mapping.layers.clear();
  c.mapping.fifos.depths.clear();
  for (const auto& s : segments) {
    const config::RunConfig e = s.design.effectiveConfig();
    for (const auto& [k, v] : e.mapping.layers) c.mapping.layers[k] = v;
    for (const auto& [k, v] : e.mapping.fifos.depths) c.mapping.fifos.depths[k] = v;
  }
  c.mapping.segments.mode = config::SegmentMode::Manual;
  c.mapping.segments.cuts.clear();
  const auto cut = graph::cuttableLayers(run.graph);
  for (std::size_t s = 1; s < segments.size(); ++s) c.mapping.segments.cuts.push_back(cut[segments[s].first]->name);
  if (segments.size() == 1) c.mapping.segments.mode = run.config.mapping.segments.mode;
  return c;
}

SegmentedDesign mapSegments(config::Run run) {
  const auto t0 = std::chrono::steady_clock::now();
  const config::SegmentsConfig& sc = run.config.mapping.segments;
  SegmentedDesign out;
  out.batch = run.config.simulation.frames;
  out.reconfiguration = hw::reconfiguration(run.config.hardware.device);
  out.reconfiguration_s = sc.reconfiguration_ms ? *sc.reconfiguration_ms / 1e3 : out.reconfiguration.seconds();
  out.reload_bytes_per_s = run.config.hardware.units.dram_bytes_per_cycle * run.config.hardware.clock_mhz * 1e6;
  const std::vector<const graph::Layer*> cut = graph::cuttableLayers(run.graph);
  if (cut.empty()) throw LoadError(run.config.file + ": the network has no layers to map");
  std::vector<std::size_t> starts;
  if (sc.mode == config::SegmentMode::Manual) {
    std::map<std::string, std::size_t> at;
    for (std::size_t i = 0; i < cut.size(); ++i) at[cut[i]->name] = i;
    starts.push_back(0);
    std::vector<std::string> errors;
    for (std::size_t c = 0; c < sc.cuts.size(); ++c) {
      const std::string key = sc.where + ": mapping.segments.cuts[" + std::to_string(c) + "]";
      auto it = at.find(sc.cuts[c]);
      if (it == at.end()) {
        errors.push_back(key + ": '" + sc.cuts[c] + "' is not a layer of " + run.graph.name() +
                         " that a segment can start at (input and output layers cannot)");
      } else if (it->second == 0) {
        errors.push_back(key + ": '" + sc.cuts[c] + "' is the first layer; a cut names the layer a later segment starts at");
      } else if (it->second <= starts.back()) {
        errors.push_back(key + ": '" + sc.cuts[c] + "' does not come after the previous cut in the network's order (" +
                         cut[starts.back()]->name + ")");
      } else {
        starts.push_back(it->second);
      }
    }
    if (!errors.empty()) throw LoadError(errors);
    out.segments = mapCuts(run, starts, cut.size(), out.batch);
    out.reasons.push_back("cuts as given (mapping.segments.cuts)");
  } else {
    // auto: one design when the network fits, else the best of the cut plans below.
    std::string why;
    if (fits(run, 0, cut.size(), &why)) {
      out.segments = mapCuts(run, {0}, cut.size(), out.batch);
      out.reasons.push_back("the whole network fits: one segment, no reconfiguration");
    } else {
      std::string greedyWhy;
      const std::vector<std::size_t> greedy = greedyCuts(run, cut, sc.max_segments, greedyWhy);
      if (greedy.empty())
        throw DoesNotFitError(run.config.file + ": " + run.graph.name() + " cannot be cut into segments that fit " +
                              run.config.hardware.device.name + ": " + greedyWhy);
      spdlog::debug("segments: fewest {} from {} layers", greedy.size(), cut.size());
      out.reasons.push_back("the whole network does not fit: " + why);
      // More segments give each more room to fold faster, at one more reconfiguration each: for
      // the fewest segments k and for k + 1, the cuts of the smallest budget share that still
      // needs no more segments (bisection), so that the segments are filled evenly.
      // Evaluated as they are found: more segments while the closed form improves.
      auto evaluate = [&](const std::string& how, const std::vector<std::size_t>& st, std::vector<Segment>* keep) {
        CutCandidate c;
        c.how = how;
        c.cuts = cutNames(cut, st);
        try {
          std::vector<Segment> segs = mapCuts(run, st, cut.size(), out.batch);
          c.fits = true;
          c.predicted_fps = double(out.batch) / batchSeconds(segs, run.config, out.reconfiguration_s, out.reload_bytes_per_s);
          if (keep) *keep = std::move(segs);
        } catch (const DoesNotFitError& e) {
          c.why_not = shortfalls(e);
        }
        out.candidates.push_back(c);
        return c;
      };
      double best = -1;
      auto consider = [&](const std::string& how, const std::vector<std::size_t>& st) {
        std::vector<Segment> segs;
        const CutCandidate c = evaluate(how, st, &segs);
        if (c.fits && c.predicted_fps > best) {
          best = c.predicted_fps;
          out.segments = std::move(segs);
        }
        return c.fits ? c.predicted_fps : -1.0;
      };
      consider("fewest segments", greedy);
      // The greedy cut at budget shares from 1 down to 0.2 (16 steps, geometric): each segment
      // count it gives, at the smallest share that gives it (the most evenly filled), is a plan;
      // then the shares around the best plan's are bisected.
      std::map<std::size_t, std::pair<double, std::vector<std::size_t>>> byCount; // count -> (share, cuts)
      auto sample = [&](double share) {
        std::string w;
        std::vector<std::size_t> g = greedyCuts(run, cut, sc.max_segments, w, share);
        if (g.empty()) return;
        const std::size_t n = g.size();
        auto it = byCount.find(n);
        if (it == byCount.end() || share < it->second.first) byCount[n] = {share, std::move(g)};
      };
      constexpr int kShares = 16;
      for (int i = 0; i < kShares; ++i) sample(std::pow(0.2, double(i) / double(kShares - 1)));
      std::set<std::vector<std::size_t>> tried{greedy};
      double bestShare = 1.0;
      auto evaluatePlans = [&] {
        for (const auto& [n, sg] : byCount) {
          if (!tried.insert(sg.second).second) continue;
          const double before = best;
          consider(std::to_string(n) + " segments filled evenly", sg.second);
          if (best > before) bestShare = sg.first;
        }
      };
      evaluatePlans();
      // Refine: between the best share and its sampled neighbours.
      const double ratio = std::pow(0.2, 1.0 / double(kShares - 1));
      for (double f : {std::sqrt(ratio), 1.0 / std::sqrt(ratio), std::pow(ratio, 0.25), std::pow(ratio, -0.25)})
        if (bestShare * f <= 1.0 && bestShare * f >= 0.2) sample(bestShare * f);
      evaluatePlans();
      // Repeated structure: segments of m identical copies each share the fabric (only their
      // weights are reloaded between them), so many small, fast segments can pay; the layers
      // before and after the repeats are cut as above (fewest segments).
      const Repeat rep = findRepeat(run.graph, cut, 0, cut.size());
      if (rep.count > 0 && sc.execution == config::SegmentExecution::Auto) {
        std::string w;
        const std::vector<std::size_t> head = greedyRange(run, cut, 0, rep.start, sc.max_segments, w);
        double lastF = -1;
        int worse = 0;
        for (std::size_t m = 1; m <= rep.count; ++m) {
          if (rep.start > 0 && head.empty()) break;
          if (!fits(run, rep.start, rep.start + m * rep.period)) break; // more copies fit even less
          const std::size_t r = rep.count / m, tailFrom = rep.start + r * m * rep.period;
          std::vector<std::size_t> st = head;
          for (std::size_t j = 0; j < r; ++j) st.push_back(rep.start + j * m * rep.period);
          if (tailFrom < cut.size()) {
            const std::vector<std::size_t> tail = greedyRange(run, cut, tailFrom, cut.size(), sc.max_segments, w);
            if (tail.empty()) continue;
            st.insert(st.end(), tail.begin(), tail.end());
          }
          if (int(st.size()) > sc.max_segments) continue;
          const double f = consider(std::to_string(r) + " repeated segments of " + std::to_string(m) + " x " +
                                        std::to_string(rep.period) + " layers from " + cut[rep.start]->name,
                                    st);
          worse = f < lastF ? worse + 1 : 0;
          if (worse >= 2) break; // two larger repeats in a row were slower
          lastF = f;
        }
      }
      // Every repeated stretch (a ResNet's stages) cut into segments of up to m copies (as many as
      // fit, each stretch on its own), the layers between them as in 2.
      std::vector<Repeat> reps;
      findRepeats(run.graph, cut, 0, cut.size(), reps);
      if (reps.size() > 1 && sc.execution == config::SegmentExecution::Auto) {
        std::vector<std::size_t> maxCopies(reps.size(), 0); // copies of each stretch that fit in one segment
        for (std::size_t k = 0; k < reps.size(); ++k)
          while (maxCopies[k] < reps[k].count &&
                 fits(run, reps[k].start, reps[k].start + (maxCopies[k] + 1) * reps[k].period))
            ++maxCopies[k];
        double lastF = -1;
        int worse = 0;
        const std::size_t mMax = *std::max_element(maxCopies.begin(), maxCopies.end());
        for (std::size_t m = 1; m <= mMax; ++m) {
          std::vector<std::size_t> st;
          std::size_t pos = 0;
          bool ok = true;
          std::string w;
          auto gap = [&](std::size_t to) {
            if (!ok || pos >= to) return;
            const std::vector<std::size_t> g = greedyRange(run, cut, pos, to, sc.max_segments, w);
            if (g.empty()) ok = false;
            st.insert(st.end(), g.begin(), g.end());
          };
          for (std::size_t k = 0; k < reps.size() && ok; ++k) {
            const std::size_t mk = std::min(m, maxCopies[k]);
            if (mk == 0) continue; // not even one copy fits alone: the stretch is cut as a gap
            gap(reps[k].start);
            const std::size_t r = reps[k].count / mk;
            for (std::size_t j = 0; j < r; ++j) st.push_back(reps[k].start + j * mk * reps[k].period);
            pos = reps[k].start + r * mk * reps[k].period;
          }
          gap(cut.size());
          if (!ok || int(st.size()) > sc.max_segments) continue;
          const double f = consider("repeated segments of up to " + std::to_string(m) + (m == 1 ? " copy" : " copies") +
                                        " in each of " + std::to_string(reps.size()) + " repeated stretches",
                                    st);
          worse = f < lastF ? worse + 1 : 0;
          if (worse >= 2) break;
          lastF = f;
        }
      }
      const auto chosen = std::max_element(out.candidates.begin(), out.candidates.end(), [](const auto& a, const auto& b) {
        return (a.fits ? a.predicted_fps : -1) < (b.fits ? b.predicted_fps : -1);
      });
      out.reasons.push_back("chose " + chosen->how + ": " + fmt("%.2f", chosen->predicted_fps) + " frames/s at batch " +
                            std::to_string(out.batch) + " (closed form, " +
                            fmt("%.1f", out.reconfiguration_s * 1e3) + " ms per reconfiguration)");
    }
  }
  // Requantisers the segments' schedulers chose (requant: auto) belong to the whole network too.
  for (const auto& s : out.segments)
    for (const auto& l : s.design.run.graph.layers())
      if (graph::Layer* w = run.graph.find(l.name); w && l.kind != graph::LayerKind::Input) w->requant = l.requant;
  out.run = std::move(run);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("segments: {} segment(s), {:.2f} frames/s at batch {} (closed form) after {:.0f} ms",
               out.segments.size(), out.predictedFps(), out.batch, ms);
  return out;
}

namespace {

nlohmann::ordered_json tensorsJson(const std::vector<graph::CrossingTensor>& ts) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& t : ts) a.push_back({{"tensor", t.tensor}, {"bytes_per_frame", t.bytes}});
  return a;
}

int64_t sumBytes(const std::vector<graph::CrossingTensor>& ts) {
  int64_t b = 0;
  for (const auto& t : ts) b += t.bytes;
  return b;
}

nlohmann::ordered_json reconfigurationJson(const SegmentedDesign& s) {
  nlohmann::ordered_json j;
  j["ms"] = round6(s.reconfiguration_s * 1e3);
  int reconfigurations = 0, reloads = 0;
  for (std::size_t i = 0; i < s.segments.size() && s.segments.size() > 1; ++i)
    ++(s.switchInto(i).reconfigure ? reconfigurations : reloads);
  j["per_batch"] = reconfigurations;
  j["weight_reloads_per_batch"] = reloads; // shared fabric: consecutive segments of the same hardware
  j["execution"] = config::toString(s.run.config.mapping.segments.execution);
  if (s.run.config.mapping.segments.reconfiguration_ms) {
    j["source"] = "mapping.segments.reconfiguration_ms";
  } else {
    j["bitstream_bytes"] = std::llround(s.reconfiguration.bitstream_bits / 8);
    j["bitstream_documented"] = s.reconfiguration.bitstream_documented;
    j["port"] = s.reconfiguration.port;
    j["source"] = s.reconfiguration.source;
  }
  return j;
}

nlohmann::ordered_json segmentBaseJson(const SegmentedDesign& sd, std::size_t i) {
  const Segment& s = sd.segments.at(i);
  const auto cut = graph::cuttableLayers(sd.run.graph);
  nlohmann::ordered_json j;
  j["name"] = s.name;
  j["first_layer"] = cut[s.first]->name;
  j["last_layer"] = cut[s.end - 1]->name;
  j["layers"] = s.end - s.first;
  j["inputs"] = tensorsJson(s.inputs);
  j["outputs"] = tensorsJson(s.outputs);
  const double clock = sd.run.config.hardware.clock_mhz;
  j["predicted"] = {{"cycles_per_frame", s.design.mapping.predicted_cycles},
                    {"fps", round6(framesPerSecond(clock, double(s.design.mapping.predicted_cycles)))},
                    {"bottleneck", s.design.mapping.predicted_bottleneck},
                    {"batch_cycles", s.predicted_batch_cycles},
                    {"latency_cycles", s.predicted_latency_cycles}};
  const auto& r = s.design.resources;
  j["resources"] = {{"lut", round6(r.total.lut)}, {"ff", round6(r.total.ff)},    {"dsp", round6(r.total.dsp)},
                    {"bram18", round6(r.total.bram18)}, {"uram", round6(r.total.uram)}, {"fits", r.fits}};
  const SegmentSwitch sw = sd.switchInto(i);
  j["switch_in"] = {{"how", sd.segments.size() < 2 ? "none" : sw.reconfigure ? "reconfiguration" : "weights reloaded"},
                    {"ms", round6(sw.seconds * 1e3)}};
  return j;
}

/// The resources of the largest segment (the fabric holds one at a time): per resource the most any
/// segment needs and its largest share of the device; fits when every segment fits. The keys of a
/// single design's `resources` that sweeps and comparisons read.
nlohmann::ordered_json resourcesJson(const SegmentedDesign& s) {
  nlohmann::ordered_json total, util, low, high;
  bool fits = true, fitsUpper = true;
  nlohmann::ordered_json device, budget;
  for (const auto& g : s.segments) {
    const nlohmann::ordered_json r = mapReport(g.design)["resources"];
    for (const char* k : {"lut", "ff", "dsp", "bram18", "uram"}) {
      auto mx = [&](nlohmann::ordered_json& into, const nlohmann::ordered_json& from) {
        if (from.contains(k)) into[k] = into.contains(k) ? std::max(into[k].get<double>(), from[k].get<double>()) : from[k].get<double>();
      };
      mx(total, r["total"]);
      mx(util, r["utilization"]);
      if (r.contains("total_low")) mx(low, r["total_low"]);
      if (r.contains("total_high")) mx(high, r["total_high"]);
    }
    fits = fits && r["fits"].get<bool>();
    fitsUpper = fitsUpper && r.value("fits_upper", r["fits"].get<bool>());
    device = r["device"];
    budget = r["budget"];
  }
  nlohmann::ordered_json j;
  j["total"] = total;
  if (!low.empty()) j["total_low"] = low;
  if (!high.empty()) j["total_high"] = high;
  j["device"] = device;
  j["budget"] = budget;
  j["utilization"] = util;
  j["fits"] = fits;
  j["fits_upper"] = fitsUpper;
  j["of"] = "the largest segment, per resource (the device holds one segment at a time)";
  return j;
}

/// The slowest segment at the batch: the one a faster design would have to speed up first.
std::string slowestSegment(const SegmentedDesign& s, const std::vector<uint64_t>& batchCycles) {
  std::size_t worst = 0;
  for (std::size_t i = 1; i < batchCycles.size(); ++i)
    if (batchCycles[i] > batchCycles[worst]) worst = i;
  return s.segments.empty() ? "" : s.segments[worst].name;
}

nlohmann::ordered_json candidatesJson(const SegmentedDesign& s) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& c : s.candidates) {
    nlohmann::ordered_json j{{"how", c.how}, {"cuts", c.cuts}, {"fits", c.fits}};
    if (c.fits) j["predicted_fps"] = round6(c.predicted_fps);
    else j["why_not"] = c.why_not;
    a.push_back(j);
  }
  return a;
}

} // namespace

nlohmann::ordered_json segmentsMapJson(const SegmentedDesign& s) {
  nlohmann::ordered_json j;
  j["schema"] = "mpsim-segments-map-1";
  j["network"] = s.run.graph.name();
  j["device"] = s.run.config.hardware.device.name;
  j["clock_mhz"] = s.run.config.hardware.clock_mhz;
  j["batch"] = s.batch;
  nlohmann::ordered_json p;
  p["segments"] = s.segments.size();
  p["fps"] = round6(s.predictedFps());
  p["batch_ms"] = round6(s.predictedBatchSeconds() * 1e3);
  int64_t dram = 0;
  for (const auto& g : s.segments) dram += sumBytes(g.inputs) + sumBytes(g.outputs);
  p["feature_map_bytes_per_frame"] = dram;
  j["predicted"] = p;
  // The keys of a single design's map.json summary that sweeps read (closed form).
  const double clock = s.run.config.hardware.clock_mhz;
  std::vector<uint64_t> batchCycles;
  for (const auto& g : s.segments) batchCycles.push_back(g.predicted_batch_cycles);
  double firstS = 0;
  for (std::size_t i = 0; i < s.segments.size(); ++i)
    firstS += s.switchInto(i).seconds + double(i + 1 < s.segments.size() ? s.segments[i].predicted_batch_cycles
                                                                          : s.segments[i].predicted_latency_cycles) /
                                            (clock * 1e6);
  const int64_t macs = graph::computeStats(s.run.graph).macs;
  j["summary"] = {{"segments", s.segments.size()},
                  {"batch", s.batch},
                  {"clock_mhz", clock},
                  {"fps", p["fps"]},
                  {"latency_us", round6(firstS * 1e6)},
                  {"macs_per_frame", macs},
                  {"ops_per_s", round6(2.0 * double(macs) * s.predictedFps())},
                  {"bottleneck", slowestSegment(s, batchCycles)},
                  {"predicted", {{"fps", p["fps"]}}}};
  j["resources"] = resourcesJson(s);
  j["reconfiguration"] = reconfigurationJson(s);
  j["why"] = s.reasons;
  if (!s.candidates.empty()) j["candidates"] = candidatesJson(s);
  nlohmann::ordered_json segs = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < s.segments.size(); ++i) {
    nlohmann::ordered_json sj = segmentBaseJson(s, i);
    sj["map"] = mapReport(s.segments[i].design);
    segs.push_back(sj);
  }
  j["segments"] = segs;
  return j;
}

std::string segmentsMapText(const SegmentedDesign& s) {
  std::ostringstream o;
  const auto cut = graph::cuttableLayers(s.run.graph);
  const double clock = s.run.config.hardware.clock_mhz;
  o << s.run.graph.name() << " on " << s.run.config.hardware.device.name << " at " << fmt("%g", clock) << " MHz: "
    << s.segments.size() << " segment(s), batch " << s.batch << "\n";
  char buf[400];
  std::snprintf(buf, sizeof buf, "%-10s %-26s %-26s %7s %12s %12s %9s %9s %7s %7s\n", "segment", "first layer",
                "last layer", "layers", "fps alone", "batch (ms)", "LUT", "BRAM18", "DSP", "in+out");
  o << buf;
  for (const auto& g : s.segments) {
    const auto& r = g.design.resources.total;
    std::snprintf(buf, sizeof buf, "%-10s %-26s %-26s %7zu %12.2f %12.3f %9.0f %9.0f %7.0f %6.2fM\n", g.name.c_str(),
                  cut[g.first]->name.c_str(), cut[g.end - 1]->name.c_str(), g.end - g.first,
                  framesPerSecond(clock, double(g.design.mapping.predicted_cycles)),
                  double(g.predicted_batch_cycles) / (clock * 1e3), r.lut, r.bram18, r.dsp,
                  double(sumBytes(g.inputs) + sumBytes(g.outputs)) / 1e6);
    o << buf;
  }
  int reconfigurations = 0, reloads = 0;
  double reloadS = 0;
  for (std::size_t i = 0; i < s.segments.size() && s.segments.size() > 1; ++i) {
    const SegmentSwitch sw = s.switchInto(i);
    ++(sw.reconfigure ? reconfigurations : reloads);
    if (!sw.reconfigure) reloadS += sw.seconds;
  }
  std::snprintf(buf, sizeof buf, "switching    %d reconfiguration(s) of %.2f ms, %d weight reload(s) (%.2f ms) per batch\n",
                reconfigurations, s.reconfiguration_s * 1e3, reloads, reloadS * 1e3);
  o << buf;
  std::snprintf(buf, sizeof buf, "throughput   %.2f frames/s at batch %d (closed form; batch %.3f ms)\n", s.predictedFps(),
                s.batch, s.predictedBatchSeconds() * 1e3);
  o << buf;
  for (const auto& r : s.reasons) o << "why          " << r << "\n";
  for (const auto& c : s.candidates)
    o << "  candidate  " << c.how << ": "
      << (c.fits ? fmt("%.2f frames/s", c.predicted_fps) : "does not fit (" + c.why_not + ")") << "\n";
  return o.str();
}

namespace {

/// Frames of a crossing tensor as a segment reads them: the values another segment wrote (.npy),
/// bipolar values back to their stored bits.
func::Tensor readCrossing(const std::string& path, const graph::Layer& input) {
  func::Tensor t = func::readTensor(path);
  if (input.out.bipolar)
    for (auto& v : t.values()) v = v > 0 ? 1 : 0;
  return t;
}

} // namespace

SegmentedOutcome simulateSegments(const SegmentedDesign& s, const RunOptions& opt, const std::string& dir) {
  const config::RunConfig& cfg = s.run.config;
  if (opt.outputs.any() || opt.outputs.html || opt.outputs.explain)
    throw LoadError("--trace, --vcd, --html and --explain: a segmented run writes report.json and each segment's "
                    "reports only (not supported yet, docs/segments.md)");
  if (cfg.input || cfg.host || !cfg.background.empty())
    throw LoadError("input, host and background: a segmented run models none of them (yet)");
  const bool functional = cfg.simulation.functional;
  // The whole network's parameters: the same values an unsegmented run of the same seed uses.
  sim::FunctionalData whole;
  if (functional) {
    whole = sim::makeFunctionalData(s.run.graph, uint64_t(cfg.simulation.seed), opt.input_npy, s.batch);
    if (!dir.empty()) sim::writeFunctionalData(whole, dir);
  }
  if (!dir.empty()) config::writeEffectiveConfig(s.effectiveConfig(), (fs::path(dir) / "effective-config.yaml").string());
  std::map<std::string, std::string> crossingFile; // tensor -> .npy of its frames
  SegmentedOutcome out;
  nlohmann::ordered_json segs = nlohmann::ordered_json::array();
  const double clock = cfg.hardware.clock_mhz;
  double simSeconds = 0;
  uint64_t dramBytes = 0, firstFrameCycles = 0;
  for (std::size_t i = 0; i < s.segments.size(); ++i) {
    const Segment& g = s.segments[i];
    const std::string sdir = dir.empty() ? "" : (fs::path(dir) / "segments" / g.name).string();
    if (!sdir.empty()) fs::create_directories(sdir);
    RunOptions so;
    so.isolated = true;
    so.effective_config = false;
    sim::FunctionalData fd;
    if (functional) {
      if (sdir.empty()) throw LoadError("a functional segmented run needs an output directory");
      fd.graph = &g.design.run.graph;
      fd.seed = whole.seed;
      fd.input = whole.input;
      for (const auto& l : g.design.run.graph.layers()) {
        if (auto it = whole.params.find(l.name); it != whole.params.end() && l.kind != graph::LayerKind::Input)
          fd.params[l.name] = it->second;
        if (l.kind == graph::LayerKind::Input && s.run.graph.at(l.name).kind != graph::LayerKind::Input)
          fd.inputs[l.name] = readCrossing(crossingFile.at(l.name), l);
      }
      so.functional = &fd;
    }
    {
      const auto cut = graph::cuttableLayers(s.run.graph);
      spdlog::info("{} of {}: layers {} .. {}, {} frames", g.name, s.segments.size(), cut[g.first]->name,
                   cut[g.end - 1]->name, s.batch);
    }
    RunOutcome r = simulate(g.design, so, sdir);
    if (functional) {
      // The tensors this segment wrote to DRAM, for the segments after it.
      std::size_t outputs = 0;
      for (const auto& e : g.design.mapping.engines) outputs += e.kind == sched::EngineKind::OutputDma;
      for (const auto& t : g.outputs)
        crossingFile[t.tensor] = sim::outputNpyPath((fs::path(sdir) / "output.npy").string(), graph::toDramName(t.tensor), outputs);
      // The network's own outputs: where an unsegmented run writes them.
      std::vector<std::string> netOutputs;
      for (const auto& l : s.run.graph.layers())
        if (l.kind == graph::LayerKind::Output) netOutputs.push_back(l.name);
      for (const auto& l : g.design.run.graph.layers())
        if (l.kind == graph::LayerKind::Output && std::count(netOutputs.begin(), netOutputs.end(), l.name))
          fs::copy_file(sim::outputNpyPath((fs::path(sdir) / "output.npy").string(), l.name, outputs),
                        sim::outputNpyPath((fs::path(dir) / "output.npy").string(), l.name, netOutputs.size()),
                        fs::copy_options::overwrite_existing);
    }
    const sim::SimResult& res = r.result;
    // The run's output folder is discarded with the error (nothing that looks like a result), so the
    // message itself carries what the segment's report would have said.
    if (res.deadlock.detected) {
      std::string path;
      for (const auto& n : res.deadlock.cycle_path) path += (path.empty() ? "" : " -> ") + n;
      std::string msg = g.name + ": the segment's pipeline deadlocked at cycle " + std::to_string(res.deadlock.cycle) +
                        " after " + std::to_string(res.frames_done) + " of " + std::to_string(res.frames) + " frames";
      if (!path.empty()) msg += "; wait-for cycle: " + path;
      for (size_t k = 0; k < res.deadlock.messages.size() && k < 4; ++k) msg += "\n  " + res.deadlock.messages[k];
      throw LoadError(msg);
    }
    if (res.frames_done < res.frames)
      throw LoadError(g.name + ": the segment's simulation did not finish its batch (" + std::to_string(res.frames_done) +
                      " of " + std::to_string(res.frames) + " frames)");
    const uint64_t cycles = res.frame_done.back();
    if (i + 1 == s.segments.size()) firstFrameCycles = res.frame_done.front();
    simSeconds += double(cycles) / (clock * 1e6);
    uint64_t bytes = 0;
    for (const auto& d : res.dram) bytes += d.read_bytes + d.write_bytes;
    dramBytes += bytes;
    nlohmann::ordered_json sj = segmentBaseJson(s, i);
    sj["simulated"] = {{"batch_cycles", cycles},
                       {"latency_cycles", res.frame_done.front() - std::min(res.first_input, res.frame_done.front())},
                       {"fps", r.report["summary"]["fps"]},
                       {"bottleneck", r.report["summary"]["bottleneck"]},
                       {"dram_bytes_per_frame", bytes / uint64_t(s.batch)}};
    sj["batch_difference"] = round6(double(cycles) / double(std::max<uint64_t>(1, g.predicted_batch_cycles)) - 1);
    if (!sdir.empty()) sj["report"] = (fs::path("segments") / g.name / "report.json").string();
    segs.push_back(sj);
    out.results.push_back(res);
  }
  const std::size_t S = s.segments.size();
  double reconf = 0;
  for (std::size_t i = 0; i < S; ++i) reconf += s.switchInto(i).seconds;
  const double batchS = simSeconds + reconf;
  // The first frame leaves the last segment when every earlier segment has done its batch.
  double firstS = reconf + double(firstFrameCycles) / (clock * 1e6);
  for (std::size_t i = 0; i + 1 < S; ++i) firstS += double(out.results[i].frame_done.back()) / (clock * 1e6);
  nlohmann::ordered_json j;
  j["schema"] = "mpsim-segments-report-1";
  j["network"] = s.run.graph.name();
  j["device"] = cfg.hardware.device.name;
  j["simulation_mode"] = out.results.empty() ? "" : out.results.front().mode;
  nlohmann::ordered_json sum;
  sum["status"] = "ok";
  sum["segments"] = S;
  sum["batch"] = s.batch;
  sum["clock_mhz"] = clock;
  sum["fps"] = round6(double(s.batch) / batchS);
  sum["batch_ms"] = round6(batchS * 1e3);
  sum["first_frame_ms"] = round6(firstS * 1e3);
  sum["switching_ms"] = round6(reconf * 1e3);
  const int64_t macs = graph::computeStats(s.run.graph).macs;
  sum["frames_done"] = s.batch;
  sum["latency_us"] = round6(firstS * 1e6);
  {
    std::vector<uint64_t> batchCycles;
    for (const auto& res : out.results) batchCycles.push_back(res.frame_done.back());
    sum["bottleneck"] = slowestSegment(s, batchCycles);
  }
  sum["macs_per_frame"] = macs;
  sum["ops_per_s"] = round6(2.0 * double(macs) * double(s.batch) / batchS);
  sum["dram_bytes_per_frame"] = dramBytes / uint64_t(s.batch);
  sum["predicted"] = {{"fps", round6(s.predictedFps())},
                      {"batch_ms", round6(s.predictedBatchSeconds() * 1e3)},
                      {"difference", round6(s.predictedBatchSeconds() / batchS - 1)}};
  j["summary"] = sum;
  j["resources"] = resourcesJson(s);
  {
    uint64_t rd = 0, wr = 0;
    for (const auto& res : out.results)
      for (const auto& d : res.dram) {
        rd += d.read_bytes;
        wr += d.write_bytes;
      }
    const double perFrame = double(rd + wr) / double(s.batch);
    const double peak = cfg.hardware.units.dram_bytes_per_cycle * clock * 1e6;
    j["dram"] = {{"read_bytes_per_frame", round6(double(rd) / double(s.batch))},
                 {"write_bytes_per_frame", round6(double(wr) / double(s.batch))},
                 {"achieved_gbps", round6(perFrame * (double(s.batch) / batchS) / 1e9)},
                 {"utilization", round6(perFrame * (double(s.batch) / batchS) / peak)}};
  }
  j["reconfiguration"] = reconfigurationJson(s);
  j["why"] = s.reasons;
  if (!s.candidates.empty()) j["candidates"] = candidatesJson(s);
  j["segments"] = segs;
  out.report = j;
  if (!dir.empty()) writeFileAtomic((fs::path(dir) / "report.json").string(), out.report.dump(2) + "\n");
  return out;
}

std::string segmentsRunText(const nlohmann::ordered_json& r) {
  std::ostringstream o;
  char buf[400];
  std::snprintf(buf, sizeof buf, "%-10s %-26s %-26s %12s %12s %12s %8s %14s\n", "segment", "first layer", "last layer",
                "fps alone", "batch (ms)", "predicted", "diff", "DRAM B/frame");
  o << buf;
  const double clock = r["summary"]["clock_mhz"].get<double>();
  for (const auto& g : r["segments"]) {
    const double alone = g["simulated"]["fps"].get<double>(); // 0: one frame, no steady state
    std::snprintf(buf, sizeof buf, "%-10s %-26s %-26s %12s %12.3f %12.3f %+7.2f%% %14llu\n",
                  g["name"].get<std::string>().c_str(), g["first_layer"].get<std::string>().c_str(),
                  g["last_layer"].get<std::string>().c_str(), alone > 0 ? fmt("%.2f", alone).c_str() : "-",
                  double(g["simulated"]["batch_cycles"].get<uint64_t>()) / (clock * 1e3),
                  double(g["predicted"]["batch_cycles"].get<uint64_t>()) / (clock * 1e3),
                  100 * g["batch_difference"].get<double>(),
                  (unsigned long long)g["simulated"]["dram_bytes_per_frame"].get<uint64_t>());
    o << buf;
  }
  const auto& s = r["summary"];
  const auto& rc = r["reconfiguration"];
  std::snprintf(buf, sizeof buf,
                "segments     %zu, batch %d; switching %.2f ms per batch (%d reconfiguration(s), %d weight reload(s))\n",
                s["segments"].get<std::size_t>(), s["batch"].get<int>(), s["switching_ms"].get<double>(),
                rc["per_batch"].get<int>(), rc["weight_reloads_per_batch"].get<int>());
  o << buf;
  std::snprintf(buf, sizeof buf, "throughput   %.2f frames/s at batch %d (closed form %.2f, %+.2f %%)\n",
                s["fps"].get<double>(), s["batch"].get<int>(), s["predicted"]["fps"].get<double>(),
                100 * (s["fps"].get<double>() / s["predicted"]["fps"].get<double>() - 1));
  o << buf;
  std::snprintf(buf, sizeof buf, "latency      %.3f ms for the batch, %.3f ms to the first frame\n",
                s["batch_ms"].get<double>(), s["first_frame_ms"].get<double>());
  o << buf;
  std::snprintf(buf, sizeof buf, "performance  %.3f TOp/s\n", s["ops_per_s"].get<double>() / 1e12);
  o << buf;
  std::snprintf(buf, sizeof buf, "DRAM         %.2f MB per frame (feature maps, weights, inputs, outputs)\n",
                double(s["dram_bytes_per_frame"].get<uint64_t>()) / 1e6);
  o << buf;
  for (const auto& w : r["why"]) o << "why          " << w.get<std::string>() << "\n";
  return o.str();
}

} // namespace mpsim::flow
