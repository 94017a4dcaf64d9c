#include "mpsim/sim/Accelerator.hpp"

#include <map>
#include <set>
#include <stdexcept>

#include "mpsim/sim/Engine.hpp"
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
  ctx.reference = m_params.reference;
  ctx.period = m_params.period();
  ctx.burst_bytes = m_params.burst_bytes;
  ctx.func = m_params.functional;
  ctx.progress = m_params.progress;
  ctx.input_interval = m_params.input_interval;
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
      if (!m_input) m_input = dma.get();
      initiator = std::move(dma);
      break;
    }
    case EngineKind::OutputDma: {
      auto dma = std::make_unique<OutputDma>(mod, e, ctx, ins, socket, base);
      if (!m_output) m_output = dma.get();
      initiator = std::move(dma);
      break;
    }
    case EngineKind::WeightStreamer:
      initiator = std::make_unique<WeightStreamer>(mod, e, ctx, outs, socket, base);
      break;
    default: m_engines.push_back(std::make_unique<DataflowEngine>(mod, e, ctx, ins, outs)); break;
    }
    if (initiator) {
      m_initiators.push_back(initiator.get());
      m_regions.push_back(AddressRegion{e.name, initiator->name(), e.kind, region, uint64_t(1) << kRegionShift, base});
      m_engines.push_back(std::move(initiator));
    }
  }
  if (!m_input || !m_output) throw std::runtime_error("the mapping has no input or no output DMA");
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
}

const AddressRegion* Accelerator::regionOf(uint64_t address) const {
  const uint64_t i = address >> kRegionShift;
  return i < m_regions.size() ? &m_regions[size_t(i)] : nullptr;
}

const sc_core::sc_event& Accelerator::done() const { return m_output->allDone(); }

bool Accelerator::finished() const {
  if (m_arrivals)
    return m_arrivals->exhausted && m_output->frameDone().size() >= m_arrivals->record.arrival.size();
  return int(m_output->frameDone().size()) >= m_params.frames;
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
  r.frames = m_params.frames;
  r.mode = m_params.reference ? "reference" : "timestamped";
  r.frame_done = m_output->frameDone();
  r.frames_done = int(r.frame_done.size());
  r.first_input = m_input->firstRequest();
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
  return r;
}

} // namespace mpsim::sim
