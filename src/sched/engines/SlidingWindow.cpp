// Sliding-window units (line buffer in front of a conv's MAC unit): spec, closed form, resources.
#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched::swu {

bool needed(const graph::Layer& l) {
  return l.kind == graph::LayerKind::Conv &&
         (l.kh > 1 || l.kw > 1 || l.stride_h > 1 || l.stride_w > 1 || l.pad_h > 0 || l.pad_w > 0);
}

// Line buffer in pixels: the (K_h-1) dilated rows plus K_w pixels that one window spans (the
// minimum with which every window can form), plus one more row so that reading the next pixels
// overlaps the emission of the current window (FINN's sliding-window units keep ceil(K/S)+1 row
// blocks for the same reason). With only the minimum, each window waits for its own release.
int64_t lineBufferPixels(const graph::Layer& l, const graph::Shape& in) {
  return int64_t((l.kh - 1) * l.dil_h) * in.w + int64_t((l.kw - 1) * l.dil_w) + 1 + in.w;
}

EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, const EngineSpec& consumer) {
  EngineSpec s = unit(l, inShape, consumer);
  s.closed_form_cycles = steadyStateCycles(s);
  return s;
}

int64_t serialCycles(const EngineSpec& e) {
  const PortSpec& p = e.in.at(0);
  return p.tokens_per_frame * p.read_cost + e.out_tokens_per_frame * (e.out_cost + e.tail);
}

EngineSpec unit(const graph::Layer& l, const graph::Shape& inShape, const EngineSpec& consumer) {
  const int64_t kk = int64_t(l.kh) * l.kw;
  // Window elements per cycle: the consumer's SIMD (a VVU takes PE channels of SIMD window positions).
  const int64_t consumerSimd = l.isDepthwise() ? consumer.pe * consumer.simd : consumer.simd;
  EngineSpec s;
  s.name = l.name + ".swu";
  s.layer = l.name;
  s.kind = EngineKind::Swu;
  s.simd = std::min<int64_t>(consumerSimd, kk * inShape.c);
  s.geom = WindowGeom(graph::Window::of(l), inShape.h, inShape.w, l.out_shape.h, l.out_shape.w);
  PortSpec p;
  p.tokens_per_frame = inShape.pixels();
  p.read_cost = ceilDiv(inShape.c, std::min<int64_t>(s.simd, inShape.c));
  p.need = NeedKind::Window;
  p.capacity = lineBufferPixels(l, inShape);
  s.in.push_back(p);
  s.out_tokens_per_frame = l.out_shape.pixels();
  s.out_cost = ceilDiv(kk * inShape.c, s.simd);
  s.tail = s.out_cost;
  s.latency = 1;
  return s;
}

namespace {

int64_t evaluateRecurrence(const EngineSpec& e);

} // namespace

int64_t steadyStateCycles(const EngineSpec& e) {
  // Memoised: the mapping and the scheduler ask for the same geometries again and again (ResNet-152
  // has dozens of identical 3x3 convs). The result depends on these fields only.
  const PortSpec& p = e.in.at(0);
  const WindowGeom& g = e.geom;
  const std::vector<int64_t> key = {p.tokens_per_frame,
                                    p.read_cost,
                                    p.capacity,
                                    e.out_tokens_per_frame,
                                    e.out_cost,
                                    e.tail,
                                    g.ih,
                                    g.iw,
                                    g.oh,
                                    g.ow,
                                    g.kh,
                                    g.kw,
                                    g.stride_h,
                                    g.stride_w,
                                    g.pad_h,
                                    g.pad_w,
                                    g.dil_h,
                                    g.dil_w,
                                    int64_t(p.need)};
  static std::mutex mutex;
  static std::map<std::vector<int64_t>, int64_t> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
  }
  const int64_t cycles = evaluateRecurrence(e);
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= 65536) cache.clear(); // bounded
  cache.emplace(key, cycles);
  return cycles;
}

namespace {

/// Per output k of a frame: the last input token it needs, and the first token any output from k
/// on needs (what emitting k-1 may release). They depend on the geometry only, not on the rates:
/// computed once per geometry for all the foldings the scheduler tries.
struct Needs {
  std::vector<uint64_t> keepFrom, lastOf;
};

std::shared_ptr<const Needs> needsOf(const EngineSpec& e) {
  const PortSpec& p = e.in.at(0);
  std::vector<int64_t> key = {e.out_tokens_per_frame};
  appendNeedKey(e, p, key);
  static std::mutex mutex;
  static std::map<std::vector<int64_t>, std::shared_ptr<const Needs>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const uint64_t P = uint64_t(p.tokens_per_frame), T = uint64_t(e.out_tokens_per_frame);
    auto n = std::make_shared<Needs>();
    n->keepFrom.assign(size_t(T + 1), P);
    n->lastOf.resize(size_t(T));
    for (uint64_t k = T; k-- > 0;) {
      const Need nk = needOf(e, p, int64_t(k));
      n->keepFrom[size_t(k)] = std::min<uint64_t>(n->keepFrom[size_t(k + 1)], uint64_t(nk.first));
      n->lastOf[size_t(k)] = uint64_t(nk.last);
    }
    if (cache.size() >= 1024) cache.clear(); // bounded
    it = cache.emplace(key, std::move(n)).first;
  }
  return it->second;
}

int64_t evaluateRecurrence(const EngineSpec& e) {
  // The timing rules of the simulator's dataflow engine (sim/Engine.cpp) for one Window port, fed
  // by a source that is never empty and drained by a sink that is never full, written as a
  // max-plus recurrence in token order: read j starts when read j-1 ended and token j-cap's slot
  // was released; output k waits for the read of the last token it needs (plus the tail) and for
  // output k-1 (plus out_cost); emitting k releases what no later output of the frame needs.
  const PortSpec& p = e.in.at(0);
  const uint64_t P = uint64_t(p.tokens_per_frame), T = uint64_t(e.out_tokens_per_frame);
  const uint64_t cap = uint64_t(std::max<int64_t>(1, p.capacity));
  const uint64_t rc = uint64_t(p.read_cost), outCost = uint64_t(e.out_cost), tail = uint64_t(e.tail);
  if (P == 0 || T == 0) return 0;
  const std::shared_ptr<const Needs> needs = needsOf(e);
  const std::vector<uint64_t>& keepFrom = needs->keepFrom;
  const std::vector<uint64_t>& lastOf = needs->lastOf;
  std::vector<uint64_t> readEnd(size_t(cap), 0), relTime(size_t(cap), 0);
  uint64_t readCount = 0, released = 0, releaseTarget = 0, lastReadEnd = 0;
  std::deque<std::pair<uint64_t, uint64_t>> pending; // (release target, time) not yet read up to
  auto readOne = [&]() {
    const uint64_t j = readCount;
    uint64_t start = lastReadEnd;
    if (j >= cap) {
      if (released <= j - cap)
        throw std::logic_error(e.name + ": line buffer of " + std::to_string(cap) + " pixels cannot hold a window");
      start = std::max(start, relTime[size_t(j % cap)]);
    }
    const uint64_t end = start + rc;
    readEnd[size_t(j % cap)] = end;
    lastReadEnd = end;
    ++readCount;
    while (!pending.empty() && pending.front().first <= j) pending.pop_front();
    if (j < releaseTarget && released == j) { // needed by no output: dropped once read
      relTime[size_t(j % cap)] = std::max(end, pending.empty() ? uint64_t(0) : pending.front().second);
      released = j + 1;
    }
  };
  auto release = [&](uint64_t target, uint64_t t) {
    if (target > readCount && target > releaseTarget) pending.emplace_back(target, t);
    releaseTarget = std::max(releaseTarget, target);
    const uint64_t upTo = std::min(target, readCount);
    for (uint64_t j = released; j < upTo; ++j) relTime[size_t(j % cap)] = t;
    released = std::max(released, upTo);
  };
  // The recurrence becomes periodic after a transient of a frame or two: run until two frames in
  // a row take the same time (in practice by the third frame). Should it alternate instead, the
  // longer of the last two intervals is the answer (the slower frame bounds the throughput).
  constexpr int kMaxFrames = 16;
  uint64_t oPrev = 0, frameEnd = 0, interval = 0, lastInterval = 0;
  for (int f = 0; f < kMaxFrames; ++f) {
    const uint64_t base = uint64_t(f) * P;
    for (uint64_t k = 0; k < T; ++k) {
      const uint64_t last = base + lastOf[size_t(k)];
      while (readCount <= last) readOne();
      const uint64_t o = std::max(oPrev + outCost, readEnd[size_t(last % cap)] + tail);
      release(base + keepFrom[size_t(k + 1)], o);
      oPrev = o;
    }
    lastInterval = interval;
    interval = oPrev - frameEnd;
    frameEnd = oPrev;
    if (f >= 2 && interval == lastInterval) return int64_t(interval);
  }
  return int64_t(std::max(interval, lastInterval));
}

} // namespace

hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const hw::CostCoefficients& c) {
  // The line buffer holds the unit's capacity in words of min(SIMD, C) x A bits. A 1-D window (the
  // image one pixel wide or high) of whole pixels in at most srl_max_depth words is a register
  // chain (FINN's 1-D generator); else distributed RAM (FINN's default ram_style) up to
  // linebuffer_lutram_max_bits, else BRAM.
  const int a = l.in.bits;
  const int64_t ch = l.stream_in.c;
  const int64_t word = std::min<int64_t>(e.simd, ch);
  const int64_t depth = e.in[0].capacity * ceilDiv(ch, word), width = word * a;
  double registerBits = 0;
  hw::Resources r;
  const bool oneD = l.stream_in.w == 1 || l.stream_in.h == 1;
  if (oneD && word == ch && depth <= c.srl_max_depth)
    registerBits = double(depth * width);
  else if (depth * width <= c.linebuffer_lutram_max_bits)
    r.lut += hw::lutramLuts(depth, width, c);
  else
    r.bram18 += double(hw::bram18For(depth, width));
  const double datapath = double(e.simd * a);
  r.lut += c.swu_lut_base + c.swu_lut_per_bit * datapath + c.swu_lut_per_register_bit * registerBits;
  r.ff += c.swu_ff_base + c.swu_ff_per_bit * datapath + c.swu_ff_per_register_bit * registerBits;
  return r;
}

} // namespace mpsim::sched::swu
