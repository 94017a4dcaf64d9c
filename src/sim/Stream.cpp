#include "mpsim/sim/Stream.hpp"

#include <algorithm>

#include "mpsim/sim/SteadyState.hpp"
#include "mpsim/sim/Timeline.hpp"

namespace mpsim::sim {

Stream::Stream(std::string name, int64_t depth) : m_name(std::move(name)), m_depth(std::max<int64_t>(1, depth)) {}

uint64_t Stream::waitSlot() {
  while (full()) {
    m_writerWaiting = true;
    sc_core::wait(m_readEv);
  }
  m_writerWaiting = false;
  if (m_written < uint64_t(m_depth)) return 0;
  // The slot of token j = written - depth: its read end. Token j has been read: the FIFO is not
  // full, and a reader records each read end (readDone) right after popping, without waiting in
  // between, so read ends cover every token popped. Fast-forward's horizon relies on this one-depth
  // look-back (EngineBase::memoryFrames).
  const uint64_t base = m_read - uint64_t(m_readEnd.size());
  const uint64_t j = m_written - uint64_t(m_depth);
  return j >= base && j < m_read ? m_readEnd[size_t(j - base)] : 0;
}

void Stream::push(uint64_t t) {
  m_queue.push_back(t);
  m_pendingWrites.push_back(t);
  ++m_written;
  if (m_steady) m_steady->record(m_writeChannel, t);
  if (m_readerWaiting) m_writtenEv.notify(sc_core::SC_ZERO_TIME); // no event when nobody waits
}

void Stream::push(uint64_t t, Payload data) {
  m_functional = true;
  m_data.push_back(std::move(data));
  push(t);
}

uint64_t Stream::pop() {
  while (m_queue.empty()) {
    m_readerWaiting = true;
    sc_core::wait(m_writtenEv);
  }
  m_readerWaiting = false;
  uint64_t t = m_queue.front();
  m_queue.pop_front();
  if (m_functional) {
    m_popped = std::move(m_data.front());
    m_data.pop_front();
  }
  return t;
}

void Stream::readDone(uint64_t cycle) {
  m_readEnd.push_back(cycle);
  if (int64_t(m_readEnd.size()) > m_depth) m_readEnd.pop_front();
  ++m_read;
  if (m_steady) m_steady->record(m_readChannel, cycle);
  m_reads.push_back(cycle);
  settleOccupancy(cycle, false);
  if (m_writerWaiting) m_readEv.notify(sc_core::SC_ZERO_TIME);
}

// Occupancy at a write at cycle w = writes so far (including it) - reads ended at or before w.
// A write can be settled once a read ending after it is known (later reads end later still).
void Stream::settleOccupancy(uint64_t readEnd, bool final) {
  while (!m_pendingWrites.empty() && (final || m_pendingWrites.front() < readEnd)) {
    uint64_t w = m_pendingWrites.front();
    while (!m_reads.empty() && m_reads.front() <= w) {
      if (m_trace) m_trace->set(m_reads.front(), int64_t(m_settledWrites) - int64_t(m_countedReads + 1));
      m_reads.pop_front();
      ++m_countedReads;
    }
    ++m_settledWrites;
    m_maxOcc = std::max<int64_t>(m_maxOcc, int64_t(m_settledWrites) - int64_t(m_countedReads));
    if (m_trace) m_trace->set(w, int64_t(m_settledWrites) - int64_t(m_countedReads));
    m_pendingWrites.pop_front();
  }
  if (final && m_trace) { // the reads after the last write: the FIFO drains
    for (uint64_t r : m_reads) {
      ++m_countedReads;
      m_trace->set(r, int64_t(m_settledWrites) - int64_t(m_countedReads));
    }
    m_reads.clear();
  }
}

int64_t Stream::maxOccupancy() {
  settleOccupancy(0, true);
  return m_maxOcc;
}

} // namespace mpsim::sim
