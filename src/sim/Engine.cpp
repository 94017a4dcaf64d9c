#include "mpsim/sim/Engine.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "mpsim/common/Math.hpp"
#include "mpsim/common/Progress.hpp"

namespace mpsim::sim {
using sched::NeedKind;

const char* stateName(EngineState s) {
  switch (s) {
  case EngineState::Running: return "running";
  case EngineState::WaitingForInput: return "waiting for input";
  case EngineState::WaitingForOutput: return "waiting for output space";
  case EngineState::Blocked: return "blocked";
  case EngineState::Done: return "done";
  }
  return "?";
}

EngineBase::EngineBase(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                       std::vector<Stream*> inputs, std::vector<Stream*> outputs)
    : sc_module(n), m_spec(spec), m_ctx(ctx), m_outs(std::move(outputs)) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    Port p;
    p.stream = inputs[i];
    p.spec = spec.in[i];
    size_t cap = size_t(std::max<int64_t>(1, p.spec.capacity));
    p.readEnd.assign(cap, 0);
    p.relTime.assign(cap, 0);
    m_ports.push_back(std::move(p));
  }
  m_cur.name = m_last.name = spec.name;
}

void EngineBase::syncTo(uint64_t cycle) {
  if (!m_ctx.reference) return;
  sc_core::sc_time at = m_ctx.period * double(cycle);
  if (at > sc_core::sc_time_stamp()) sc_core::wait(at - sc_core::sc_time_stamp());
}

bool EngineBase::readOne(Port& p) {
  const uint64_t j = p.readCount;
  const uint64_t cap = uint64_t(std::max<int64_t>(1, p.spec.capacity));
  if (j >= cap && p.released <= j - cap) return false; // buffer full: token j-cap still held
  uint64_t start = p.lastReadEnd;
  if (j >= cap) start = std::max(start, p.relTime[j % cap]);
  if (p.stream->empty()) readAhead(); // hardware keeps filling its other buffers meanwhile
  syncTo(start);
  m_state = EngineState::WaitingForInput;
  m_waitOn = p.stream;
  m_waitWrite = false;
  uint64_t t = p.stream->pop();
  m_state = EngineState::Running;
  uint64_t end = std::max(start + uint64_t(p.spec.read_cost), t + 1);
  p.stream->readDone(end);
  if (m_ctx.func && p.spec.need != NeedKind::Pass) p.data.push_back(p.stream->popped());
  p.readEnd[j % cap] = end;
  p.lastReadEnd = end;
  ++p.readCount;
  while (!p.pendingRelease.empty() && p.pendingRelease.front().first <= j) p.pendingRelease.pop_front();
  if (j < p.releaseTarget && p.released == j) {
    // Not needed by any output: dropped once read, but never before the output that passed it.
    uint64_t passed = p.pendingRelease.empty() ? 0 : p.pendingRelease.front().second;
    p.relTime[j % cap] = std::max(end, passed);
    p.released = j + 1;
    if (m_steady) m_steady->record(p.relChannel, p.relTime[j % cap]);
  }
  m_localMax = std::max(m_localMax, end);
  return true;
}

uint64_t EngineBase::readUpTo(Port& p, uint64_t lastNeeded) {
  const uint64_t cap = uint64_t(std::max<int64_t>(1, p.spec.capacity));
  while (p.readCount <= lastNeeded) {
    if (!readOne(p)) {
      blockForever("line buffer too small: holds " + std::to_string(cap) + " tokens but an output needs token " +
                   std::to_string(lastNeeded % uint64_t(p.spec.tokens_per_frame)) + " of the frame while token " +
                   std::to_string((p.readCount - cap) % uint64_t(p.spec.tokens_per_frame)) + " is still needed");
    }
  }
  return p.readEnd[lastNeeded % cap];
}

void EngineBase::readAhead() {
  for (auto& p : m_ports) {
    const uint64_t cap = uint64_t(std::max<int64_t>(1, p.spec.capacity));
    while (!p.stream->empty() && p.readCount < total(p) && (p.readCount < cap || p.released > p.readCount - cap)) {
      readOne(p);
    }
  }
}

void EngineBase::release(Port& p, uint64_t target, uint64_t t) {
  if (target > p.readCount && target > p.releaseTarget) p.pendingRelease.emplace_back(target, t);
  p.releaseTarget = std::max(p.releaseTarget, target);
  const uint64_t cap = uint64_t(std::max<int64_t>(1, p.spec.capacity));
  uint64_t upTo = std::min(target, p.readCount);
  for (uint64_t j = p.released; j < upTo; ++j) {
    p.relTime[j % cap] = t;
    if (m_steady) m_steady->record(p.relChannel, t);
  }
  p.released = std::max(p.released, upTo);
}

const Payload& EngineBase::tokenData(const Port& p, uint64_t j) const {
  if (j < p.dataBase || j - p.dataBase >= p.data.size() || !p.data[size_t(j - p.dataBase)])
    throw std::logic_error(m_spec.name + ": functional simulation: no values for token " + std::to_string(j) + " of " +
                           p.stream->name() + " (" + std::to_string(p.readCount) + " read)");
  return p.data[size_t(j - p.dataBase)];
}

void EngineBase::dropData(Port& p, uint64_t j) {
  while (p.dataBase < j && !p.data.empty()) {
    p.data.pop_front();
    ++p.dataBase;
  }
}

uint64_t EngineBase::writeAll(uint64_t t, const Payload& data) {
  uint64_t w = t;
  m_lastFull = nullptr;
  for (size_t i = 0; i < m_outs.size(); ++i) {
    Stream* s = m_outs[i];
    if (s->full()) readAhead();
    m_state = EngineState::WaitingForOutput;
    m_waitOn = s;
    m_waitWrite = true;
    const uint64_t slot = s->waitSlot();
    if (slot > w) {
      w = slot;
      m_lastFull = s;
    }
    m_state = EngineState::Running;
  }
  syncTo(w);
  if (spdlog::should_log(spdlog::level::trace)) spdlog::trace("{}: token written at {} (ready {})", m_spec.name, w, t);
  if (m_ctx.func)
    for (Stream* s : m_outs) s->push(w, data);
  else
    for (Stream* s : m_outs) s->push(w);
  if (!m_anyOut) m_firstOut = w;
  m_anyOut = true;
  m_lastOut = w;
  ++m_tokensOut;
  m_localMax = std::max(m_localMax, w);
  return w;
}

void EngineBase::account(uint64_t outIndex, uint64_t busy, uint64_t starved, uint64_t blocked, uint64_t dramWait,
                         uint64_t o) {
  m_cur.busy += busy;
  m_cur.starved += starved;
  m_cur.blocked += blocked;
  m_cur.dram_wait += dramWait;
  m_localMax = std::max(m_localMax, o);
  uint64_t perFrame = uint64_t(std::max<int64_t>(1, m_spec.out_tokens_per_frame));
  if ((outIndex + 1) % perFrame == 0) endFrame();
}

void EngineBase::endFrame() {
  m_frames.push_back(FrameStats{m_cur.busy, m_cur.starved, m_cur.blocked, m_cur.dram_wait});
  m_last = m_cur;
  m_cur = EngineStats{};
  m_cur.name = m_spec.name;
  markFrame();
}

uint64_t EngineBase::framesStarted() const {
  uint64_t f = ceilDiv(m_tokensOut, uint64_t(std::max<int64_t>(1, m_spec.out_tokens_per_frame)));
  for (const auto& p : m_ports) f = std::max(f, ceilDiv(p.readCount, uint64_t(std::max<int64_t>(1, p.spec.tokens_per_frame))));
  return f;
}

void EngineBase::markFrame() { m_marks.push_back(FrameMark{m_tokensOut, dramCounters()}); }

void EngineBase::attachSteadyState(SteadyState& ss) {
  m_steady = &ss;
  for (auto& p : m_ports) { // the input FIFO's writes and read ends, and the port's releases
    const uint64_t T = uint64_t(std::max<int64_t>(1, p.spec.tokens_per_frame));
    const int w = ss.addChannel(T), r = ss.addChannel(T);
    p.stream->attachSteadyState(&ss, w, r);
    p.relChannel = ss.addChannel(T);
  }
}

int EngineBase::memoryFrames() const {
  // A FIFO's writer looks back one depth of read ends (Stream::waitSlot: the slot of token
  // written - depth, read by then), a port's reader one buffer capacity of releases; one more
  // frame for the token being decided.
  uint64_t m = 1;
  for (const auto& p : m_ports) {
    const uint64_t T = uint64_t(std::max<int64_t>(1, p.spec.tokens_per_frame));
    m = std::max({m, ceilDiv(uint64_t(p.stream->depth()), T), ceilDiv(uint64_t(std::max<int64_t>(1, p.spec.capacity)), T)});
  }
  return int(std::min<uint64_t>(m + 1, 1u << 20));
}

void EngineBase::blockForever(const std::string& why) {
  m_state = EngineState::Blocked;
  m_blockedWhy = why;
  m_waitOn = nullptr;
  sc_core::wait(m_never);
}

std::string EngineBase::state() const {
  return m_state == EngineState::Blocked ? m_blockedWhy : std::string(stateName(m_state));
}

EngineStats EngineBase::stats() const {
  EngineStats s = m_last;
  s.name = m_spec.name;
  s.first_output = m_firstOut;
  s.last_output = m_lastOut;
  s.tokens_out = m_tokensOut;
  s.state = state();
  s.frames = m_frames;
  return s;
}

// ---------------------------------------------------------------------------------------------

DataflowEngine::DataflowEngine(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                               std::vector<Stream*> inputs, std::vector<Stream*> outputs)
    : EngineBase(n, spec, ctx, std::move(inputs), std::move(outputs)) {
  // A token is held until no later output of the frame needs it: from the smallest need(j).first
  // over the outputs j >= k (need(k).first is not monotonic with padding: output row 1 needs input
  // row 0 as much as output row 0 does). Buffer slots and functional values follow it.
  const int64_t T = m_spec.out_tokens_per_frame;
  for (auto& p : m_ports) {
    p.keepFrom.assign(size_t(T + 1), p.spec.tokens_per_frame);
    p.needLast.assign(size_t(std::max<int64_t>(0, T)), 0);
    for (int64_t k = T - 1; k >= 0; --k) {
      const auto nd = sched::needOf(m_spec, p.spec, k);
      p.keepFrom[size_t(k)] = std::min(p.keepFrom[size_t(k + 1)], nd.first);
      p.needLast[size_t(k)] = nd.last;
    }
  }
  if (ctx.func) m_fn = std::make_unique<TokenFunction>(*ctx.func, m_spec);
  SC_THREAD(run);
}

void DataflowEngine::run() {
  const uint64_t T = uint64_t(m_spec.out_tokens_per_frame);
  const uint64_t outCost = uint64_t(m_spec.out_cost), tail = uint64_t(m_spec.tail), lat = uint64_t(m_spec.latency);
  uint64_t oPrev = 0;
  for (uint64_t g = 0; g < T * runFrames(); ++g) {
    const uint64_t f = g / T, k = g % T;
    uint64_t dataReady = 0, weightReady = 0, ownRead = 0;
    const Stream *dataOn = nullptr, *weightOn = nullptr; // the inputs that came last (timeline)
    for (auto& p : m_ports) {
      const uint64_t Tp = uint64_t(p.spec.tokens_per_frame);
      const int64_t last = int64_t(f * Tp) + p.needLast[size_t(k)];
      uint64_t r = readUpTo(p, uint64_t(last));
      if (p.spec.need == NeedKind::Pass) {
        if (r >= weightReady) weightOn = p.stream;
        weightReady = std::max(weightReady, r);
      } else {
        if (r >= dataReady) dataOn = p.stream;
        dataReady = std::max(dataReady, r);
        // Cycles this output spends taking in new tokens at the engine's own rate.
        ownRead = std::max(ownRead, uint64_t(std::max<int64_t>(0, last - p.lastNeeded)) * uint64_t(p.spec.read_cost));
      }
      p.lastNeeded = std::max(p.lastNeeded, last);
    }
    Payload data;
    if (m_fn) {
      // Computed before the release below: every token this output needs is still buffered.
      data = (*m_fn)(k, [&](std::size_t port, uint64_t j) -> const Payload& {
        const Port& p = m_ports[port];
        return tokenData(p, f * uint64_t(p.spec.tokens_per_frame) + j);
      });
      for (auto& p : m_ports) dropData(p, f * uint64_t(p.spec.tokens_per_frame) + uint64_t(p.keepFrom[size_t(k + 1)]));
    }
    const uint64_t ideal = oPrev + outCost;
    const uint64_t dataOk = std::max(ideal, dataReady + tail);
    uint64_t o = std::max(dataOk, weightReady + tail);
    const uint64_t dramWait = o - dataOk;
    const uint64_t interval = o - oPrev;
    const uint64_t busy = std::min(interval, std::max(outCost, ownRead));
    // Release what the next output no longer needs.
    for (auto& p : m_ports) {
      const uint64_t Tp = uint64_t(p.spec.tokens_per_frame);
      uint64_t target = f * Tp + uint64_t(p.keepFrom[size_t(k + 1)]);
      release(p, target, o);
    }
    const uint64_t oReady = o;
    uint64_t w = writeAll(o + lat, data);
    uint64_t blocked = w - (o + lat);
    o = w - lat;
    if (m_track) { // waiting for data, then for weights, then busy, then blocked on the output
      const uint64_t dw = std::min(dramWait, interval - busy);
      const uint64_t s0 = oPrev + (interval - busy - dw);
      traceInterval(Activity::Starved, dataOn, oPrev, s0);
      traceInterval(Activity::DramWait, weightOn, s0, s0 + dw);
      traceInterval(Activity::Busy, nullptr, oReady - busy, oReady);
      traceInterval(Activity::Blocked, m_lastFull, oReady, o);
    }
    account(g, busy, interval - busy, blocked, dramWait, o);
    oPrev = o;
  }
  // Take in what nobody needed (e.g. rows a stride skips) so that producers can finish.
  for (auto& p : m_ports) {
    const uint64_t all = total(p);
    release(p, all, oPrev);
    if (all > 0 && p.readCount < all) readUpTo(p, all - 1);
  }
  m_state = EngineState::Done;
}

// ---------------------------------------------------------------------------------------------

DramInitiator::DramInitiator(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                             std::vector<Stream*> inputs, std::vector<Stream*> outputs,
                             tlm::tlm_initiator_socket<>& socket, uint64_t addressBase)
    : EngineBase(n, spec, ctx, std::move(inputs), std::move(outputs)) {
  m_port.setup(socket, addressBase, ctx.period, maxBurstBytes());
}

uint64_t DramInitiator::maxBurstBytes() const {
  // DMAs move frames, weight streamers passes, in bursts of at most burst_bytes.
  const int64_t unit =
      m_spec.kind == sched::EngineKind::WeightStreamer ? m_spec.bytes_per_token : m_spec.bytes_per_frame;
  return std::min<uint64_t>(m_ctx.burst_bytes, uint64_t(std::max<int64_t>(1, unit)));
}

DramInitiatorStats DramInitiator::dramStats() const {
  DramInitiatorStats s = m_port.stats();
  s.name = m_spec.name;
  return s;
}

uint64_t DramInitiator::burstsPerFrame() const {
  return Bursts(uint64_t(std::max<int64_t>(1, m_spec.bytes_per_frame)), m_ctx.burst_bytes).perFrame;
}

void DramInitiator::burst(uint64_t g, uint64_t& addr, uint64_t& bytes) const {
  Bursts(uint64_t(std::max<int64_t>(1, m_spec.bytes_per_frame)), m_ctx.burst_bytes).at(g, addr, bytes);
}

void DramInitiator::attachSteadyState(SteadyState& ss) {
  EngineBase::attachSteadyState(ss);
  const uint64_t E = burstsPerFrame();
  m_reqChannel = ss.addChannel(E, true); // its times: Accelerator::dramExtraFrames
  m_doneChannel = ss.addChannel(E);
}

int DramInitiator::memoryFrames() const {
  // Bursts in flight: a request waits for the burst two before it (Bursts::requestAt).
  return std::max(EngineBase::memoryFrames(), int(ceilDiv(uint64_t(2), burstsPerFrame())) + 1);
}

DramInitiator::Bursts::Bursts(uint64_t bytesPerFrame, uint64_t burstBytes)
    : frameBytes(bytesPerFrame), burst(burstBytes), perFrame(ceilDiv(bytesPerFrame, burstBytes)) {}

uint64_t DramInitiator::issue(Bursts& q, bool write, uint64_t rq) {
  uint64_t addr = 0, bytes = 0;
  q.at(q.next, addr, bytes);
  const uint64_t done = access(write, addr, bytes, rq);
  ++q.next;
  return done;
}

InputDma::InputDma(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                   std::vector<Stream*> outputs, tlm::tlm_initiator_socket<>& socket, uint64_t addressBase)
    : DramInitiator(n, spec, ctx, {}, std::move(outputs), socket, addressBase) {
  SC_THREAD(run);
}

void InputDma::run() {
  const uint64_t T = uint64_t(m_spec.out_tokens_per_frame);
  const uint64_t outCost = uint64_t(m_spec.out_cost), lat = uint64_t(m_spec.latency);
  Bursts q(uint64_t(std::max<int64_t>(1, m_spec.bytes_per_frame)), m_ctx.burst_bytes);
  uint64_t lastRq = 0, maxDone = 0, oPrev = 0, consumedFrom = 0;
  uint64_t gate = 0; // arrivals: the current frame's bursts start no earlier than it entered the buffer
  ArrivalQueue* const aq = m_ctx.arrivals;
  for (uint64_t g = 0; g < T * runFrames(); ++g) {
    const uint64_t f = g / T, k = g % T;
    if (aq && k == 0 && !admit(*aq, f, gate)) break; // no arrival left
    const uint64_t byteEnd = ceilDiv((k + 1) * q.frameBytes, T);
    const uint64_t gb = f * q.perFrame + (byteEnd - 1) / q.burst;
    while (q.next <= gb) {
      const uint64_t rq = std::max(q.requestAt(lastRq), gate); // two bursts in flight
      m_floor = rq;                                             // later bursts: not before it
      if (aq && q.next == f * q.perFrame) aq->record.start.push_back(rq);
      if (q.next == 0) m_firstRequest = rq;
      maxDone = std::max(maxDone, issue(q, false, rq));
      lastRq = rq;
    }
    // From the previous token: outCost cycles at the port rate (busy), then waiting for the
    // token's DRAM data (starved, all of it DRAM wait), then for space in the output FIFO (blocked).
    const uint64_t paced = m_ctx.input_interval > 0
                               ? uint64_t((double(f) + double(k) / double(T)) * m_ctx.input_interval)
                               : 0;
    const uint64_t ideal = std::max({oPrev, paced, gate}) + outCost;
    uint64_t o = std::max(ideal, maxDone);
    const uint64_t dramWait = o - ideal;
    const uint64_t oReady = o;
    uint64_t w = writeAll(o + lat, m_ctx.func ? inputToken(*m_ctx.func, m_spec.layer, f, k, m_spec.out_tokens_per_frame) : nullptr);
    uint64_t blocked = w - (o + lat);
    o = w - lat;
    if (m_timeline && k == 0) m_timeline->frameEntered(size_t(f), w);
    if (m_track) { // at the port rate, then waiting for the token's DRAM data, then blocked
      traceInterval(Activity::Busy, nullptr, oPrev, ideal);
      traceInterval(Activity::DramWait, nullptr, ideal, oReady);
      traceInterval(Activity::Blocked, m_lastFull, oReady, o);
    }
    // Bursts up to gb have been consumed up to this token (earlier ones are now final).
    for (uint64_t b = consumedFrom; b <= gb; ++b) q.setFreed(b, o);
    consumedFrom = gb;
    account(g, outCost, dramWait, blocked, dramWait, o);
    oPrev = o;
  }
  if (aq) aq->exhausted = true;
  m_state = EngineState::Done;
}

bool InputDma::admit(ArrivalQueue& q, uint64_t n, uint64_t& entered) {
  // Frame i waits in the buffer from entering it until the DMA requests its first burst (start_i).
  // The DMA takes frames in order, so at cycle t the waiting frames are those i < n with
  // start_i > t: with B slots, the buffer has room at t exactly when n < B or start_{n-B} <= t.
  // The starts of frames before n are known here, and none depends on a later arrival.
  ArrivalRecord& r = q.record;
  while (q.next < q.cycles.size()) {
    const uint64_t a = q.cycles[q.next++];
    uint64_t room = 0; // the buffer has a free slot from this cycle on
    if (q.buffer_frames >= 0 && n >= uint64_t(q.buffer_frames)) room = r.start.at(size_t(n - uint64_t(q.buffer_frames)));
    if (room > a && !q.block) {
      r.dropped_at.push_back(a);
      continue;
    }
    // Block: the source holds the frame until a slot frees (and later frames behind it).
    entered = std::max({a, room, r.admitted.empty() ? uint64_t(0) : r.admitted.back()});
    r.arrival.push_back(a);
    r.admitted.push_back(entered);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------

OutputDma::OutputDma(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                     std::vector<Stream*> inputs, tlm::tlm_initiator_socket<>& socket, uint64_t addressBase)
    : DramInitiator(n, spec, ctx, std::move(inputs), {}, socket, addressBase) {
  SC_THREAD(run);
}

void OutputDma::run() {
  Port& p = m_ports.at(0);
  const uint64_t T = uint64_t(p.spec.tokens_per_frame);
  Bursts q(uint64_t(std::max<int64_t>(1, m_spec.bytes_per_frame)), m_ctx.burst_bytes);
  uint64_t frameStart = 0, busy = 0, blocked = 0, lastDone = 0;
  uint64_t cursor = 0; // timeline: recorded up to this cycle
  for (uint64_t f = 0; f < runFrames(); ++f) {
    uint64_t frameEnd = 0;
    for (uint64_t k = 0; k < T; ++k) {
      const uint64_t j = f * T + k;
      uint64_t end = readUpTo(p, j);
      m_floor = end; // writes are requested after the pixels that fill them are read
      if (m_ctx.func) {
        m_collected.push_back(tokenData(p, j));
        dropData(p, j + 1);
      }
      busy += uint64_t(p.spec.read_cost);
      if (m_track) { // waiting for the pixel, then reading it at the port rate
        const uint64_t b0 = std::max(cursor, end - std::min(end, uint64_t(p.spec.read_cost)));
        traceInterval(Activity::Starved, p.stream, cursor, b0);
        traceInterval(Activity::Busy, nullptr, b0, end);
        cursor = std::max(cursor, end);
      }
      release(p, j + 1, end);
      const uint64_t byteEnd = ceilDiv((k + 1) * q.frameBytes, T);
      // Complete bursts (or the frame's last, partial one) are written as soon as filled.
      const uint64_t fullBursts = (k + 1 == T) ? q.perFrame : byteEnd / q.burst;
      while (q.next < f * q.perFrame + fullBursts) {
        const uint64_t rq = q.requestAt(end); // two writes in flight
        if (rq > end) {
          blocked += rq - end;
          if (m_track) { // no free write buffer: waiting for DRAM writes
            traceInterval(Activity::DramWait, nullptr, std::max(cursor, end), rq);
            cursor = std::max(cursor, rq);
          }
          p.lastReadEnd = std::max(p.lastReadEnd, rq); // the DMA stalls until a write buffer frees
        }
        const uint64_t b = q.next;
        const uint64_t done = issue(q, true, rq);
        q.setFreed(b, done);
        frameEnd = std::max(frameEnd, done);
      }
    }
    frameEnd = std::max(frameEnd, lastDone);
    m_frameDone.push_back(frameEnd);
    if (m_timeline) m_timeline->frameLeft(size_t(f), frameEnd);
    if (m_ctx.progress) m_ctx.progress->update(f + 1);
    if (m_ctx.frame_written) m_ctx.frame_written();
    m_localMax = std::max(m_localMax, frameEnd);
    if (!m_anyOut) m_firstOut = frameEnd;
    m_anyOut = true;
    m_lastOut = frameEnd;
    ++m_tokensOut;
    const uint64_t interval = frameEnd - frameStart;
    m_last = EngineStats{};
    m_last.busy = std::min(busy, interval);
    m_last.blocked = std::min(blocked, interval - m_last.busy);
    m_last.starved = interval - m_last.busy - m_last.blocked;
    m_last.name = m_spec.name;
    m_frames.push_back(FrameStats{m_last.busy, m_last.starved, m_last.blocked, m_last.dram_wait});
    markFrame();
    busy = blocked = 0;
    frameStart = frameEnd;
    lastDone = frameEnd;
  }
  m_state = EngineState::Done;
  m_allDone.notify(sc_core::SC_ZERO_TIME);
}

// ---------------------------------------------------------------------------------------------

WeightStreamer::WeightStreamer(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                               std::vector<Stream*> outputs, tlm::tlm_initiator_socket<>& socket, uint64_t addressBase)
    : DramInitiator(n, spec, ctx, {}, std::move(outputs), socket, addressBase) {
  SC_THREAD(run);
}

uint64_t WeightStreamer::passBursts() const {
  return ceilDiv(uint64_t(std::max<int64_t>(1, m_spec.bytes_per_token)), m_ctx.burst_bytes);
}

uint64_t WeightStreamer::burstsPerFrame() const {
  return uint64_t(std::max<int64_t>(1, m_spec.out_tokens_per_frame)) * passBursts();
}

void WeightStreamer::burst(uint64_t g, uint64_t& addr, uint64_t& bytes) const {
  // One pass (every weight) per token, in bursts of burst_bytes from the buffer's start.
  const uint64_t pass = uint64_t(std::max<int64_t>(1, m_spec.bytes_per_token));
  const uint64_t k = g % passBursts();
  addr = k * m_ctx.burst_bytes;
  bytes = std::min(m_ctx.burst_bytes, pass - addr);
}

void WeightStreamer::run() {
  const uint64_t T = uint64_t(m_spec.out_tokens_per_frame);
  const uint64_t perPass = passBursts();
  // A pass written over one its layer is still using goes out at the rate the layer frees it
  // (sched::dma::burstPace); the first FIFO depth's passes fill free buffers at once.
  const uint64_t pace = uint64_t(std::max<int64_t>(0, m_spec.burst_pace));
  const uint64_t freeFill = uint64_t(std::max<int64_t>(1, m_outs.at(0)->depth()));
  uint64_t rqPrev = 0, oPrev = 0;
  for (uint64_t g = 0; g < T * runFrames(); ++g) {
    m_state = EngineState::WaitingForOutput;
    m_waitOn = m_outs.at(0);
    m_waitWrite = true;
    uint64_t slot = m_outs.at(0)->waitSlot(); // the weight buffer half this pass goes into is free
    m_state = EngineState::Running;
    uint64_t rq = std::max(slot, rqPrev);
    m_floor = rq; // this pass's bursts and later passes: not before it
    // Bursts go out one after another with at most two in flight.
    uint64_t done = rq, inFlight[2] = {rq, rq};
    const uint64_t step = g < freeFill ? 0 : pace;
    for (uint64_t i = 0; i < perPass; ++i) {
      uint64_t at = std::max(rq + i * step, inFlight[i % 2]), addr = 0, n = 0;
      burst(g * perPass + i, addr, n);
      uint64_t d = access(false, addr, n, at);
      inFlight[i % 2] = d;
      done = std::max(done, d);
    }
    uint64_t w = writeAll(done);
    // From the previous pass: waiting for buffer space (blocked: a free weight buffer half, or,
    // paced, the layer using up the pass before the last burst may go out), then for DRAM.
    const uint64_t interval = w - oPrev;
    const uint64_t space = std::max(slot, rq + (perPass - 1) * step);
    const uint64_t blocked = std::min(interval, space > oPrev ? space - oPrev : 0);
    if (m_track) { // no buffer space, then waiting for the pass's DRAM reads
      traceInterval(Activity::Blocked, m_outs.at(0), oPrev, oPrev + blocked);
      traceInterval(Activity::DramWait, nullptr, oPrev + blocked, w);
    }
    account(g, 0, interval - blocked, blocked, interval - blocked, w);
    rqPrev = rq;
    oPrev = w;
  }
  m_state = EngineState::Done;
}

} // namespace mpsim::sim
