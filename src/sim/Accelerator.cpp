#define SC_INCLUDE_DYNAMIC_PROCESSES
#include "mpsim/sim/Accelerator.hpp"

#include <algorithm>
#include <numeric>
#include <map>
#include <set>
#include <stdexcept>

#include "mpsim/sim/Engine.hpp"
#include "mpsim/sim/SteadyState.hpp"
#include "mpsim/sim/Stream.hpp"
#include "mpsim/sim/Timeline.hpp"

namespace mpsim::sim {
using sched::EngineKind;

std::vector<std::string> legalModuleNames(const std::vector<std::string>& names,
                                          const std::vector<std::string>& reserved) {
  std::vector<std::string> out;
  std::set<std::string> taken(reserved.begin(), reserved.end());
  out.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    std::string n = names[i];
    for (char& c : n) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      if (!ok) c = '_';
    }
    if (n.empty()) n = "e" + std::to_string(i);
    std::string u = n;
    for (int k = 2; taken.count(u); ++k) u = n + "_" + std::to_string(k);
    taken.insert(u);
    out.push_back(u);
  }
  return out;
}

uint64_t Accelerator::bufferOffset(std::size_t initiator, const DramTiming& dram) {
  return uint64_t(initiator % std::size_t(std::max(1, dram.channels))) * dram.burst_bytes;
}

Accelerator::Accelerator(sc_core::sc_module_name name, const sched::Mapping& mapping, const AcceleratorParams& params)
    : sc_module(name), socket("socket"), m_mapping(mapping), m_params(params) {
  m_params.dram.period = m_params.period();
  if (!m_params.arrivals.empty()) m_params.frames = int(m_params.arrivals.size());
  EngineContext ctx;
  ctx.frames = m_params.frames;
  m_runFrames = uint64_t(m_params.frames);
  ctx.run_frames = &m_runFrames;
  ctx.reference = m_params.reference;
  ctx.period = m_params.period();
  ctx.burst_bytes = m_params.burst_bytes;
  ctx.func = m_params.functional;
  ctx.progress = m_params.progress;
  ctx.input_interval = m_params.input_interval;
  // The internal DRAM forgets the bandwidth accounting before every initiator's next request, so
  // memory does not grow with the frames.
  ctx.frame_written = [this] {
    if (!m_dram) return;
    uint64_t floor = UINT64_MAX;
    for (const DramInitiator* d : m_initiators) floor = std::min(floor, d->requestFloor());
    m_dram->forgetBefore(floor);
  };
  if (!m_params.arrivals.empty()) {
    m_arrivals = std::make_unique<ArrivalQueue>();
    m_arrivals->cycles = m_params.arrivals;
    m_arrivals->buffer_frames = m_params.buffer_frames;
    m_arrivals->block = m_params.block;
    ctx.arrivals = m_arrivals.get();
  }

  for (const auto& s : m_mapping.streams) {
    m_streams.push_back(std::make_unique<Stream>(s.name, s.depth));
    m_streams.back()->producer = s.producer;
    m_streams.back()->consumer = s.consumer;
    m_streams.back()->index = int(m_streams.size() - 1);
  }
  std::vector<std::string> names;
  for (const auto& e : m_mapping.engines) names.push_back(e.name);
  // Not taken by engines: the socket's own objects and the internal DRAM's name.
  std::vector<std::string> reserved{"dram"};
  for (const sc_core::sc_object* o : get_child_objects()) reserved.push_back(o->basename());
  m_moduleNames = legalModuleNames(names, reserved);

  for (size_t i = 0; i < m_mapping.engines.size(); ++i) {
    const auto& e = m_mapping.engines[i];
    std::vector<Stream*> ins, outs;
    for (const auto& p : e.in) ins.push_back(m_streams.at(size_t(p.stream)).get());
    for (int s : e.out) outs.push_back(m_streams.at(size_t(s)).get());
    const char* mod = m_moduleNames[i].c_str();
    const uint64_t region = uint64_t(m_initiators.size()) << kRegionShift;
    const uint64_t base = region + bufferOffset(m_initiators.size(), m_params.dram);
    std::unique_ptr<DramInitiator> initiator;
    switch (e.kind) {
    case EngineKind::InputDma: {
      auto dma = std::make_unique<InputDma>(mod, e, ctx, outs, socket, base);
      m_inputs.push_back(dma.get());
      initiator = std::move(dma);
      break;
    }
    case EngineKind::OutputDma: {
      auto dma = std::make_unique<OutputDma>(mod, e, ctx, ins, socket, base);
      m_outputs.push_back(dma.get());
      initiator = std::move(dma);
      break;
    }
    case EngineKind::WeightStreamer:
      initiator = std::make_unique<WeightStreamer>(mod, e, ctx, outs, socket, base);
      break;
    default: m_engines.push_back(std::make_unique<DataflowEngine>(mod, e, ctx, ins, outs)); break;
    }
    if (initiator) {
      initiator->setRequestOrder(m_initiators.size());
      m_initiators.push_back(initiator.get());
      m_regions.push_back(AddressRegion{e.name, initiator->name(), e.kind, region, uint64_t(1) << kRegionShift, base});
      m_engines.push_back(std::move(initiator));
    }
  }
  if (m_inputs.empty() || m_outputs.empty()) throw std::runtime_error("the mapping has no input or no output DMA");
  if (m_outputs.size() > 1) {
    sc_core::sc_spawn_options o;
    o.spawn_method();
    o.dont_initialize();
    for (const OutputDma* d : m_outputs) o.set_sensitivity(&d->allDone());
    sc_core::sc_spawn([this] { outputDone(); }, "outputs_done", &o);
  }
  if (Timeline* tl = m_params.timeline) {
    for (size_t i = 0; i < m_engines.size(); ++i) {
      m_engines[i]->attachTimeline(tl, tl->engine(i));
      if (!tl->recordsEngine(i)) continue;
      if (auto* d = dynamic_cast<DramInitiator*>(m_engines[i].get())) {
        tl->enableDram(i);
        d->attachBytesTrack(tl->dram(i));
      }
    }
    for (size_t s = 0; s < m_streams.size(); ++s) {
      const auto& spec = m_mapping.streams[s];
      if (!tl->recordsEngine(size_t(spec.producer)) && !tl->recordsEngine(size_t(spec.consumer))) continue;
      tl->enableStream(s);
      m_streams[s]->attachTrace(tl->stream(s));
    }
  }
}

Accelerator::~Accelerator() = default;

void Accelerator::before_end_of_elaboration() {
  if (socket.get_base_port().bind_count() > 0) return;
  m_dram = std::make_unique<Dram>("dram", m_params.dram);
  socket.bind(m_dram->socket);
  // Fast-forward: only where every rule is time invariant (no pacing, arrivals or outside
  // masters), not in reference mode (the check of the timestamped technique) and not where every
  // frame's values or intervals are wanted (functional mode, timelines).
  if (!m_params.fast_forward || m_params.reference || m_params.functional || m_params.timeline || m_arrivals ||
      m_params.input_interval != 0)
    return;
  int horizon = 1;
  for (const auto& e : m_engines) horizon = std::max(horizon, e->memoryFrames());
  const int stride = channelStride();
  if (stride < 1) return;
  if (m_params.frames < horizon + stride + 3) return; // found at frame horizon + stride + 1 at the earliest
  m_steady = std::make_unique<SteadyState>(horizon, stride);
  for (const auto& e : m_engines) e->attachSteadyState(*m_steady);
  m_steady->setFrames(uint64_t(m_params.frames));
  m_steady->setExtraFrames([this](uint64_t P) { return dramExtraFrames(P); });
  m_steady->setOnFound([this] { skipFrames(); });
}

void Accelerator::skipFrames() {
  // The engines must not have started the new last frame: until then a run of fewer frames is
  // this run, event for event. framesStarted() counts tokens read or written; a token being made
  // (a weight pass or an input burst requested before its token is written) may belong to the
  // next frame: one frame more. The frames left out are a whole number of super-periods, so the
  // tail (the last frames, which drain the pipeline) is the same shifted in time.
  uint64_t started = 0;
  for (const auto& e : m_engines) started = std::max(started, e->framesStarted());
  const uint64_t N = uint64_t(m_params.frames), Q = m_superPeriod, least = started + 1;
  if (least >= N) return;
  const uint64_t skip = (N - least) / Q * Q;
  m_runFrames = N - skip;
  m_skipped = skip;
}

int Accelerator::channelStride() const {
  const DramTiming& t = m_params.dram;
  const uint64_t C = uint64_t(std::max(1, t.channels));
  uint64_t R = 1;
  for (const DramInitiator* d : m_initiators) {
    const uint64_t E = d->burstsPerFrame();
    auto sameAs = [&](uint64_t r) {
      for (uint64_t k = 0; k < E; ++k) {
        uint64_t a0 = 0, b0 = 0, a1 = 0, b1 = 0;
        d->burst(k, a0, b0);
        d->burst(r * E + k, a1, b1);
        if (b0 != b1 || Dram::channelOf(t, d->addressBase() + a0) != Dram::channelOf(t, d->addressBase() + a1))
          return false;
      }
      return true;
    };
    uint64_t r = 1;
    while (r <= C && !sameAs(r)) ++r;
    if (r > C) return 0;
    R = std::lcm(R, r);
  }
  return R <= 64 ? int(R) : 0;
}

int Accelerator::dramExtraFrames(uint64_t P) {
  const DramTiming& t = m_params.dram;
  const uint64_t s = uint64_t(m_steady->stride());
  // No two transfers on a channel overlapping in time, on the circle of one period (s frames).
  std::vector<std::vector<std::pair<double, double>>> busy(size_t(std::max(1, t.channels))); // (start mod P, cycles)
  bool overlap = false;
  for (const DramInitiator* d : m_initiators) {
    const std::vector<uint64_t>& at = m_steady->latest(d->requestChannel());
    for (uint64_t g = 0; g < s * d->burstsPerFrame(); ++g) {
      uint64_t a = 0, b = 0;
      d->burst(g, a, b);
      const double cycles = double(b) / t.bytes_per_cycle;
      overlap = overlap || !(cycles < double(P));
      busy[size_t(Dram::channelOf(t, d->addressBase() + a))].emplace_back(double(at[size_t(g)] % P), cycles);
    }
  }
  constexpr double kSlack = 1e-6; // transfers closer than this count as overlapping
  for (auto& v : busy) {
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size() && !overlap; ++i) {
      const double next = i + 1 < v.size() ? v[i + 1].first : v.front().first + double(P);
      overlap = next < v[i].first + v[i].second + kSlack;
    }
  }
  // Transfers that contend depend on where they fall in the buckets: the pattern repeats once the
  // buckets line up again (P a whole number of buckets: one period).
  const uint64_t B = BandwidthChannel::kBucketCycles;
  const uint64_t periods = overlap ? B / std::gcd(P % B, B) : 1;
  m_superPeriod = s * periods;
  return int((periods - 1) * s);
}

void Accelerator::insertSkipped(SimResult& r) const {
  // Frames 0..F as run; then S = m_skipped frames of the steady state (frame F + i is frame
  // F + i - k s shifted by k periods); then the frames run after F, shifted by S / s periods.
  const uint64_t F = m_steady->frame(), P = m_steady->period(), s = uint64_t(m_steady->stride());
  const uint64_t S = m_skipped, shift = S / s * P;
  auto spliced = [&](auto v, auto copyOf, auto later) {
    using T = typename decltype(v)::value_type;
    std::vector<T> out(v.begin(), v.begin() + std::ptrdiff_t(std::min<size_t>(v.size(), F + 1)));
    if (v.size() <= F) return out;
    for (uint64_t i = 1; i <= S; ++i) out.push_back(copyOf(v[size_t(F + 1 - s + (i - 1) % s)], (i - 1) / s + 1));
    for (size_t g = F + 1; g < v.size(); ++g) out.push_back(later(v[g]));
    return out;
  };
  r.frame_done = spliced(
      r.frame_done, [&](uint64_t x, uint64_t k) { return x + k * P; }, [&](uint64_t x) { return x + shift; });
  r.frames = m_params.frames;
  r.frames_done = int(r.frame_done.size());
  auto skipped = [&](uint64_t a, uint64_t b) { return S / s * (a - b); }; // a - b: over s frames
  for (size_t i = 0; i < m_engines.size(); ++i) {
    EngineStats& st = r.engines[i];
    const auto& marks = m_engines[i]->frameMarks();
    if (st.frames.size() > F) st.inserted = InsertedFrames{F, S, s};
    if (marks.size() > F) st.tokens_out += skipped(marks[F].tokens_out, marks[F - s].tokens_out);
    if (st.tokens_out > 0) st.last_output += shift;
  }
  for (size_t i = 0; i < m_initiators.size(); ++i) {
    const auto& marks = m_initiators[i]->frameMarks();
    if (marks.size() <= F) continue;
    const DramInitiatorStats &m = marks[F].dram, &m0 = marks[F - s].dram;
    r.dram[i].read_bytes += skipped(m.read_bytes, m0.read_bytes);
    r.dram[i].write_bytes += skipped(m.write_bytes, m0.write_bytes);
    r.dram[i].requests += skipped(m.requests, m0.requests);
  }
  for (size_t k = 0; k < m_streams.size(); ++k) {
    const auto& spec = m_mapping.streams[k];
    for (const auto& p : m_mapping.engines.at(size_t(spec.consumer)).in)
      if (p.stream == int(k)) r.streams[k].tokens += S * uint64_t(p.tokens_per_frame);
  }
  if (r.deadlock.detected) r.deadlock.cycle += shift; // in the tail
  r.fast_forward = FastForward{true, F, P, uint64_t(m_steady->stride()), m_runFrames};
}

const AddressRegion* Accelerator::regionOf(uint64_t address) const {
  const uint64_t i = address >> kRegionShift;
  return i < m_regions.size() ? &m_regions[size_t(i)] : nullptr;
}

const sc_core::sc_event& Accelerator::done() const {
  return m_outputs.size() == 1 ? m_outputs.front()->allDone() : m_allOutputsDone;
}

void Accelerator::outputDone() {
  for (const OutputDma* d : m_outputs)
    if (d->status() != EngineState::Done) return;
  m_allOutputsDone.notify(sc_core::SC_ZERO_TIME);
}

std::vector<uint64_t> Accelerator::frameDone() const {
  if (m_outputs.size() == 1) return m_outputs.front()->frameDone();
  size_t n = SIZE_MAX;
  for (const OutputDma* d : m_outputs) n = std::min(n, d->frameDone().size());
  std::vector<uint64_t> out(n, 0);
  for (const OutputDma* d : m_outputs)
    for (size_t f = 0; f < n; ++f) out[f] = std::max(out[f], d->frameDone()[f]);
  return out;
}

bool Accelerator::finished() const {
  size_t written = SIZE_MAX;
  for (const OutputDma* d : m_outputs) written = std::min(written, d->frameDone().size());
  if (m_arrivals) return m_arrivals->exhausted && written >= m_arrivals->record.arrival.size();
  return written >= m_runFrames;
}

namespace {

void analyseDeadlock(const sched::Mapping& m, const std::vector<std::unique_ptr<EngineBase>>& engines,
                     const std::vector<std::unique_ptr<Stream>>& streams, SimResult& r) {
  Deadlock& d = r.deadlock;
  d.detected = true;
  std::map<const Stream*, int> streamId;
  for (size_t i = 0; i < streams.size(); ++i) streamId[streams[i].get()] = int(i);
  for (const auto& e : engines) d.cycle = std::max(d.cycle, e->localTime());
  for (size_t i = 0; i < streams.size(); ++i) {
    const auto& s = *streams[i];
    std::string occ = " (" + std::to_string(s.occupancyNow()) + "/" + std::to_string(s.depth()) + ")";
    if (s.writerWaiting()) d.full_fifos.push_back(s.name() + occ);
    if (s.readerWaiting()) d.empty_fifos.push_back(s.name() + occ);
  }
  // Wait-for graph: an engine waiting on an empty stream waits for its producer; on a full stream,
  // for its consumer.
  std::vector<int> next(engines.size(), -1);
  std::vector<std::string> via(engines.size());
  for (size_t i = 0; i < engines.size(); ++i) {
    const EngineBase* e = engines[i].get();
    if (e->status() == EngineState::Done) continue;
    std::string msg = e->spec().name + ": " + e->state();
    if (Stream* s = e->waitOn(); s && e->status() != EngineState::Running) {
      const auto& spec = m.streams[size_t(streamId[s])];
      bool writing = e->waitsForWrite();
      next[i] = writing ? spec.consumer : spec.producer;
      via[i] = spec.name + (writing ? " (full)" : " (empty)");
      msg += " " + spec.name + " (" + std::to_string(s->occupancyNow()) + "/" + std::to_string(s->depth()) + ")";
    }
    d.messages.push_back(msg);
  }
  // Follow waits from every blocked engine until a node repeats: that is the cycle.
  for (size_t start = 0; start < engines.size() && d.cycle_path.empty(); ++start) {
    if (next[start] < 0) continue;
    std::vector<int> seenAt(engines.size(), -1);
    std::vector<int> path;
    int cur = int(start);
    while (cur >= 0 && seenAt[size_t(cur)] < 0) {
      seenAt[size_t(cur)] = int(path.size());
      path.push_back(cur);
      cur = next[size_t(cur)];
    }
    if (cur < 0) continue;
    for (size_t k = size_t(seenAt[size_t(cur)]); k < path.size(); ++k) {
      d.cycle_path.push_back(engines[size_t(path[k])]->spec().name);
      d.cycle_path.push_back(via[size_t(path[k])]);
    }
    d.cycle_path.push_back(engines[size_t(cur)]->spec().name);
  }
}

} // namespace

SimResult Accelerator::result() const {
  SimResult r;
  r.frames = int(m_runFrames);
  r.mode = m_params.reference ? "reference" : "timestamped";
  r.frame_done = frameDone();
  r.frames_done = int(r.frame_done.size());
  r.first_input = UINT64_MAX;
  for (const InputDma* d : m_inputs) r.first_input = std::min(r.first_input, d->firstRequest());
  for (const auto& e : m_engines) r.engines.push_back(e->stats());
  for (const auto& st : m_streams) {
    StreamStats s;
    s.name = st->name();
    s.depth = st->depth();
    s.max_occupancy = st->maxOccupancy();
    s.tokens = st->tokensWritten();
    s.occupancy_at_end = st->occupancyNow();
    s.reader_waiting = st->readerWaiting();
    s.writer_waiting = st->writerWaiting();
    r.streams.push_back(s);
  }
  for (const auto* i : m_initiators) r.dram.push_back(i->dramStats());
  bool allDone = true;
  for (const auto& e : m_engines)
    if (e->status() != EngineState::Done) allDone = false;
  if (m_arrivals) {
    // Dropped frames never enter: the run is complete when every admitted frame is written; the
    // engines then wait for a frame that does not come.
    r.arrivals = m_arrivals->record;
    r.arrivals.enabled = true;
    r.arrivals.offered = int(m_arrivals->cycles.size());
    r.frames = int(r.arrivals.arrival.size());
    if (m_arrivals->exhausted && r.frames_done >= r.frames) {
      allDone = true;
      for (auto& e : r.engines) e.state = stateName(EngineState::Done);
    }
  }
  if (r.frames_done < r.frames || !allDone) analyseDeadlock(m_mapping, m_engines, m_streams, r);
  if (m_skipped > 0) insertSkipped(r);
  return r;
}

} // namespace mpsim::sim
