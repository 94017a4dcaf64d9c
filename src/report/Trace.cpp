#include "mpsim/report/Trace.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fnmatch.h>
#include <limits>
#include <map>

#include "mpsim/common/Error.hpp"
#include "mpsim/sim/Accelerator.hpp"

namespace mpsim::report {

using sim::Activity;

TraceFrames parseTraceFrames(const std::string& text, int frames) {
  const std::string valid = "give A:B (frames A to B), A: (frame A to the end) or A (frame A only), frames 0.." +
                            std::to_string(frames - 1) + " of this run";
  auto bad = [&](const std::string& why) {
    return UsageError("--trace-frames '" + text + "': " + why + "; " + valid);
  };
  auto parseInt = [&](const std::string& s) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
      throw bad("'" + s + "' is not a frame number");
    return std::stoi(s);
  };
  TraceFrames f;
  const size_t colon = text.find(':');
  if (colon == std::string::npos) {
    f.first = f.last = parseInt(text);
  } else {
    f.first = parseInt(text.substr(0, colon));
    const std::string b = text.substr(colon + 1);
    f.last = b.empty() ? -1 : parseInt(b);
  }
  if (f.first >= frames) throw bad("frame " + std::to_string(f.first) + " is not simulated");
  if (f.last >= frames) throw bad("frame " + std::to_string(f.last) + " is not simulated");
  if (f.last >= 0 && f.last < f.first) throw bad("the last frame comes before the first");
  return f;
}

std::vector<bool> selectEngines(const sched::Mapping& m, const std::string& patterns) {
  std::vector<bool> sel(m.engines.size(), false);
  std::vector<std::string> pats;
  size_t start = 0;
  while (start <= patterns.size()) {
    const size_t comma = std::min(patterns.find(',', start), patterns.size());
    pats.push_back(patterns.substr(start, comma - start));
    start = comma + 1;
  }
  std::string examples;
  for (size_t i = 0; i < m.engines.size() && i < 8; ++i) examples += (i ? ", " : "") + m.engines[i].name;
  if (m.engines.size() > 8) examples += ", ... (" + std::to_string(m.engines.size()) + " engines, see map.json)";
  for (const auto& p : pats) {
    if (p.empty())
      throw UsageError("--trace-engines '" + patterns +
                       "': an empty pattern; give comma-separated shell patterns of engine names, e.g. 'layer1.*'");
    bool any = false;
    for (size_t i = 0; i < m.engines.size(); ++i)
      if (fnmatch(p.c_str(), m.engines[i].name.c_str(), 0) == 0) sel[i] = any = true;
    if (!any)
      throw UsageError("--trace-engines: pattern '" + p + "' matches no engine; engines are " + examples +
                       " (shell patterns: *, ?, [...])");
  }
  return sel;
}

uint64_t defaultTraceResolution(const sched::Mapping& m) {
  return std::max<uint64_t>(1, uint64_t(std::max<int64_t>(0, m.predicted_cycles)) / kTraceWindowsPerFrame);
}

namespace {

constexpr uint64_t kEnd = std::numeric_limits<uint64_t>::max();

/// Cycles to integer picoseconds, and the window [t0, t1] of the selected frames.
struct Clock {
  double periodPs;
  uint64_t t0 = 0, t1 = kEnd;
  Clock(const TimelineView& v) : periodPs(1e6 / v.clock_mhz) {
    const auto& in = v.timeline->entered();
    const auto& out = v.timeline->left();
    if (v.frames.first > 0 && size_t(v.frames.first) < in.size()) t0 = in[size_t(v.frames.first)];
    if (v.frames.first > 0 && size_t(v.frames.first) >= in.size()) t0 = kEnd; // never entered
    if (v.frames.last >= 0 && size_t(v.frames.last) < out.size()) t1 = out[size_t(v.frames.last)];
  }
  uint64_t ps(uint64_t cycle) const { return uint64_t(std::llround(double(cycle) * periodPs)); }
  bool overlaps(uint64_t a, uint64_t b) const { return b > t0 && a < t1; }
};

void appendInt(std::string& o, uint64_t v) {
  char b[24];
  const auto r = std::to_chars(b, b + sizeof b, v);
  o.append(b, size_t(r.ptr - b));
}

/// Picoseconds as microseconds with six decimals (exact, deterministic).
void appendUs(std::string& o, uint64_t ps) {
  appendInt(o, ps / 1000000);
  char b[8];
  uint64_t f = ps % 1000000;
  for (int k = 6; k >= 1; --k, f /= 10) b[k] = char('0' + f % 10);
  b[0] = '.';
  o.append(b, 7);
}

void appendStr(std::string& o, const std::string& s) {
  o += '"';
  for (char c : s) {
    switch (c) {
    case '"': o += "\\\""; break;
    case '\\': o += "\\\\"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", c);
        o += b;
      } else {
        o += c;
      }
    }
  }
  o += '"';
}

std::string sliceName(const sched::Mapping& m, const sim::Slice& s) {
  std::string n = sim::activityName(s.what);
  if (s.fifo >= 0) n += ": " + m.streams.at(size_t(s.fifo)).name;
  return n;
}

const char* sliceCat(Activity a) {
  switch (a) {
  case Activity::Busy: return "busy";
  case Activity::Starved: return "starved";
  case Activity::Blocked: return "blocked";
  case Activity::DramWait: return "dram";
  }
  return "?";
}

/// Layers in the order of their first engine; each engine's layer index.
struct Groups {
  std::vector<std::string> layers;
  std::vector<size_t> of;
  explicit Groups(const sched::Mapping& m) {
    std::map<std::string, size_t> idx;
    for (const auto& e : m.engines) {
      const std::string l = e.layer.empty() ? e.name : e.layer;
      auto it = idx.find(l);
      if (it == idx.end()) {
        it = idx.emplace(l, layers.size()).first;
        layers.push_back(l);
      }
      of.push_back(it->second);
    }
  }
};

constexpr int kPidFrames = 1, kPidFifos = 2, kPidDram = 3, kPidLayers = 10;

void meta(std::string& o, const char* what, int pid, int tid, const std::string& name, bool& first) {
  o += first ? "\n" : ",\n";
  first = false;
  o += "{\"name\":\"";
  o += what;
  o += "\",\"ph\":\"M\",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(tid) + ",\"args\":{";
  if (std::string(what).find("sort_index") != std::string::npos)
    o += "\"sort_index\":" + name;
  else {
    o += "\"name\":";
    appendStr(o, name);
  }
  o += "}}";
}

/// A counter's points inside the window: the value at t0 first, then every change up to t1.
template <class F>
void windowPoints(const std::vector<std::pair<uint64_t, int64_t>>& pts, const Clock& c, F&& emit) {
  int64_t before = 0;
  bool started = false;
  for (const auto& [t, v] : pts) {
    if (t < c.t0) {
      before = v;
      continue;
    }
    if (t > c.t1) break;
    if (!started && t > c.t0) emit(c.t0, before);
    started = true;
    emit(t, v);
  }
  if (!started && c.t0 != kEnd) emit(c.t0 == 0 ? 0 : c.t0, before);
}

} // namespace

std::string traceEventJson(const TimelineView& v) {
  const sched::Mapping& m = *v.mapping;
  const sim::Timeline& tl = *v.timeline;
  const Clock c(v);
  const Groups g(m);
  std::string o;
  size_t events = 0; // about 160 bytes per slice, 80 per counter point
  for (size_t i = 0; i < m.engines.size(); ++i)
    if (tl.engine(i)) events += 2 * tl.engine(i)->slices().size();
  for (size_t s = 0; s < m.streams.size(); ++s)
    if (tl.stream(s)) events += tl.stream(s)->points().size();
  o.reserve((1 << 16) + 80 * events);
  o += "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"mpsim\",\"clock_mhz\":";
  {
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", v.clock_mhz);
    o += b;
  }
  o += ",\"resolution_cycles\":" + std::to_string(tl.resolution()) +
       ",\"frames\":\"" + std::to_string(v.frames.first) + ":" +
       (v.frames.last >= 0 ? std::to_string(v.frames.last) : std::string()) + "\"},\n\"traceEvents\":[";
  bool first = true;
  meta(o, "process_name", kPidFrames, 0, "frames", first);
  meta(o, "process_sort_index", kPidFrames, 0, "0", first);
  meta(o, "thread_name", kPidFrames, 0, "frame markers", first);
  meta(o, "process_name", kPidFifos, 0, "FIFO occupancy (tokens)", first);
  meta(o, "process_sort_index", kPidFifos, 0, std::to_string(100000), first);
  meta(o, "process_name", kPidDram, 0, "DRAM bandwidth (GB/s)", first);
  meta(o, "process_sort_index", kPidDram, 0, std::to_string(100001), first);
  std::vector<bool> layerShown(g.layers.size(), false);
  for (size_t i = 0; i < m.engines.size(); ++i) {
    if (!tl.engine(i)) continue;
    const int pid = kPidLayers + int(g.of[i]);
    if (!layerShown[g.of[i]]) {
      layerShown[g.of[i]] = true;
      meta(o, "process_name", pid, 0, "layer " + g.layers[g.of[i]], first);
      meta(o, "process_sort_index", pid, 0, std::to_string(pid), first);
    }
    meta(o, "thread_name", pid, int(i) + 1, m.engines[i].name, first);
    meta(o, "thread_sort_index", pid, int(i) + 1, std::to_string(i), first);
  }
  auto ev = [&]() -> std::string& {
    o += ",\n";
    return o;
  };
  // Frame markers, in time order.
  std::vector<std::pair<uint64_t, std::string>> marks;
  for (size_t f = 0; f < tl.entered().size(); ++f)
    if (tl.entered()[f] >= c.t0 && tl.entered()[f] <= c.t1)
      marks.emplace_back(tl.entered()[f], "frame " + std::to_string(f) + " entered");
  for (size_t f = 0; f < tl.left().size(); ++f)
    if (tl.left()[f] >= c.t0 && tl.left()[f] <= c.t1)
      marks.emplace_back(tl.left()[f], "frame " + std::to_string(f) + " left");
  std::stable_sort(marks.begin(), marks.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [t, name] : marks) {
    ev() += "{\"name\":";
    appendStr(o, name);
    o += ",\"cat\":\"frame\",\"ph\":\"i\",\"s\":\"g\",\"ts\":";
    appendUs(o, c.ps(t));
    o += ",\"pid\":" + std::to_string(kPidFrames) + ",\"tid\":0}";
  }
  // Engine slices, clipped to the window. Each slice's name and category, as JSON text, made once
  // per (activity, FIFO): "{\"name\":\"blocked: a->b\",\"cat\":\"blocked\",\"ph\":\"X\",\"ts\":".
  std::vector<std::string> sliceHead(size_t(sim::kActivities) * (m.streams.size() + 1));
  auto headOf = [&](const sim::Slice& s) -> const std::string& {
    std::string& h = sliceHead[size_t(int(s.what)) * (m.streams.size() + 1) + size_t(s.fifo + 1)];
    if (h.empty()) {
      h = "{\"name\":";
      appendStr(h, sliceName(m, s));
      h += ",\"cat\":\"";
      h += sliceCat(s.what);
      h += "\",\"ph\":\"X\",\"ts\":";
    }
    return h;
  };
  for (size_t i = 0; i < m.engines.size(); ++i) {
    const sim::EngineTrack* t = tl.engine(i);
    if (!t) continue;
    const std::string where = ",\"pid\":" + std::to_string(kPidLayers + int(g.of[i])) +
                              ",\"tid\":" + std::to_string(i + 1) + ",\"args\":{";
    for (const auto& s : t->slices()) {
      if (!c.overlaps(s.begin, s.end)) continue;
      const uint64_t a = std::max(s.begin, c.t0), b = std::min(s.end, c.t1);
      const uint64_t pa = c.ps(a), pb = c.ps(b);
      ev() += headOf(s);
      appendUs(o, pa);
      o += ",\"dur\":";
      appendUs(o, pb - pa);
      o += where;
      o += "\"cycles\":";
      appendInt(o, s.end - s.begin);
      if (s.mixed) {
        static const char* keys[] = {"busy", "starved", "blocked", "dram_wait"};
        for (int k = 0; k < sim::kActivities; ++k)
          if (s.cycles[size_t(k)]) {
            o += ",\"";
            o += keys[k];
            o += "\":";
            appendInt(o, s.cycles[size_t(k)]);
          }
      }
      o += "}}";
    }
  }
  // FIFO occupancy counters.
  for (size_t s = 0; s < m.streams.size(); ++s) {
    const sim::CounterTrack* t = tl.stream(s);
    if (!t) continue;
    std::string head = "{\"name\":";
    appendStr(head, m.streams[s].name);
    head += ",\"cat\":\"fifo\",\"ph\":\"C\",\"pid\":" + std::to_string(kPidFifos) + ",\"ts\":";
    windowPoints(t->points(), c, [&](uint64_t at, int64_t val) {
      ev() += head;
      appendUs(o, c.ps(at));
      o += ",\"args\":{\"tokens\":";
      appendInt(o, uint64_t(std::max<int64_t>(0, val)));
      o += "}}";
    });
  }
  // DRAM bandwidth per initiator and in total: bytes per window / window time.
  const double windowNs = double(tl.resolution()) * c.periodPs / 1000.0;
  std::map<uint64_t, uint64_t> total;
  auto bandwidth = [&](const std::string& name, const std::vector<std::pair<uint64_t, uint64_t>>& ws) {
    std::vector<std::pair<uint64_t, int64_t>> pts{{0, 0}};
    for (size_t k = 0; k < ws.size(); ++k) {
      const auto [w, bytes] = ws[k];
      if (pts.back().first == w * tl.resolution())
        pts.back().second = int64_t(bytes);
      else
        pts.emplace_back(w * tl.resolution(), int64_t(bytes));
      if (k + 1 == ws.size() || ws[k + 1].first != w + 1) pts.emplace_back((w + 1) * tl.resolution(), 0);
    }
    std::string head = "{\"name\":";
    appendStr(head, name);
    head += ",\"cat\":\"dram\",\"ph\":\"C\",\"pid\":" + std::to_string(kPidDram) + ",\"ts\":";
    windowPoints(pts, c, [&](uint64_t at, int64_t bytes) {
      ev() += head;
      appendUs(o, c.ps(at));
      char b[48];
      std::snprintf(b, sizeof b, ",\"args\":{\"GB/s\":%.4f}}", double(bytes) / windowNs);
      o += b;
    });
  };
  bool anyDram = false;
  for (size_t i = 0; i < m.engines.size(); ++i) {
    const sim::BytesTrack* t = tl.dram(i);
    if (!t) continue;
    anyDram = true;
    for (const auto& [w, b] : t->windows()) total[w] += b;
    bandwidth(m.engines[i].name, t->windows());
  }
  if (anyDram) bandwidth("total", std::vector<std::pair<uint64_t, uint64_t>>(total.begin(), total.end()));
  o += "\n]}\n";
  return o;
}

namespace {

std::string vcdId(size_t n) {
  std::string id;
  do {
    id += char(33 + n % 94);
    n /= 94;
  } while (n);
  return id;
}

std::string binary(uint64_t v, int bits) {
  std::string b(size_t(bits), '0');
  for (int k = 0; k < bits; ++k)
    if (v >> k & 1) b[size_t(bits - 1 - k)] = '1';
  return b;
}

int bitsFor(uint64_t maxValue) {
  int b = 1;
  while (b < 63 && (maxValue >> b) != 0) ++b;
  return b;
}

} // namespace

std::string vcdText(const TimelineView& v) {
  const sched::Mapping& m = *v.mapping;
  const sim::Timeline& tl = *v.timeline;
  const Clock c(v);
  const Groups g(m);
  struct Var {
    std::string id;
    int bits;
  };
  std::vector<Var> engineVar(m.engines.size()), fifoVar(m.streams.size());
  size_t next = 0;
  std::string o = "$version mpsim $end\n$timescale 1ps $end\n";
  o += "$comment signals: engine states 0 idle, 1 busy, 2 starved, 3 blocked, 4 DRAM wait; FIFO occupancy in tokens $end\n";
  std::vector<std::string> engineNames, streamNames;
  for (const auto& e : m.engines) engineNames.push_back(e.name);
  for (const auto& s : m.streams) streamNames.push_back(s.name);
  const auto legalEngines = sim::legalModuleNames(engineNames), legalStreams = sim::legalModuleNames(streamNames);
  const auto legalLayers = sim::legalModuleNames(g.layers, {"fifos"});
  std::string defs = "$scope module accelerator $end\n";
  for (size_t l = 0; l < g.layers.size(); ++l) {
    bool open = false;
    for (size_t i = 0; i < m.engines.size(); ++i) {
      if (g.of[i] != l || !tl.engine(i)) continue;
      if (!open) defs += "$scope module " + legalLayers[l] + " $end\n";
      open = true;
      engineVar[i] = {vcdId(next++), 3};
      defs += "$var wire 3 " + engineVar[i].id + " " + legalEngines[i] + " $end\n";
      o += "$comment engine " + engineVar[i].id + " " + m.engines[i].name + " $end\n";
    }
    if (open) defs += "$upscope $end\n";
  }
  defs += "$scope module fifos $end\n";
  for (size_t s = 0; s < m.streams.size(); ++s) {
    const sim::CounterTrack* t = tl.stream(s);
    if (!t) continue;
    int64_t mx = m.streams[s].depth;
    for (const auto& p : t->points()) mx = std::max(mx, p.second);
    fifoVar[s] = {vcdId(next++), bitsFor(uint64_t(std::max<int64_t>(1, mx)))};
    defs += "$var wire " + std::to_string(fifoVar[s].bits) + " " + fifoVar[s].id + " " + legalStreams[s] + " $end\n";
    o += "$comment fifo " + fifoVar[s].id + " " + m.streams[s].name + " $end\n";
  }
  defs += "$upscope $end\n$upscope $end\n$enddefinitions $end\n";
  o += defs;

  // Every change as (time, order, text); sorted by time, stable in definition order.
  struct Change {
    uint64_t ps;
    size_t order;
    std::string text;
  };
  std::vector<Change> ch;
  size_t order = 0;
  auto value = [&](const Var& var, uint64_t val) {
    return var.bits == 1 ? std::to_string(val & 1) + var.id : "b" + binary(val, var.bits) + " " + var.id;
  };
  for (size_t i = 0; i < m.engines.size(); ++i) {
    const sim::EngineTrack* t = tl.engine(i);
    if (!t) continue;
    const Var& var = engineVar[i];
    uint64_t lastEnd = 0;
    bool any = false;
    ch.push_back({c.t0 == kEnd ? 0 : c.ps(c.t0), order++, value(var, 0)});
    for (const auto& s : t->slices()) {
      if (!c.overlaps(s.begin, s.end)) continue;
      const uint64_t a = std::max(s.begin, c.t0), b = std::min(s.end, c.t1);
      if (any && a > lastEnd) ch.push_back({c.ps(lastEnd), order++, value(var, 0)});
      ch.push_back({c.ps(a), order++, value(var, uint64_t(s.what) + 1)});
      lastEnd = b;
      any = true;
    }
    if (any && lastEnd != c.t1) ch.push_back({c.ps(lastEnd), order++, value(var, 0)});
  }
  for (size_t s = 0; s < m.streams.size(); ++s) {
    const sim::CounterTrack* t = tl.stream(s);
    if (!t) continue;
    windowPoints(t->points(), c, [&](uint64_t at, int64_t val) {
      ch.push_back({c.ps(at), order++, value(fifoVar[s], uint64_t(std::max<int64_t>(0, val)))});
    });
  }
  std::stable_sort(ch.begin(), ch.end(), [](const Change& a, const Change& b) { return a.ps < b.ps; });
  bool firstTime = true;
  uint64_t cur = 0;
  for (const auto& x : ch) {
    if (firstTime || x.ps != cur) {
      o += "#" + std::to_string(x.ps) + "\n";
      cur = x.ps;
      firstTime = false;
    }
    o += x.text + "\n";
  }
  return o;
}

} // namespace mpsim::report
