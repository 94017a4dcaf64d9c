#pragma once
// A FIFO stream between two engines, in tokens of one pixel (all channels) or one window.
// Timestamped technique (Helmstetter et al., DATE 2013): each token carries the cycle at which it
// entered the FIFO, and the FIFO remembers when each slot was freed, so producer and consumer run
// decoupled in local time and block in the kernel only when the FIFO is really empty or full.
// Timing contract: a token written at cycle w can be fully read at w+1 at the earliest; the write of
// token k needs the slot freed by the read of token k-depth (same cycle allowed).
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <systemc>

namespace mpsim::sim {

class CounterTrack;
class SteadyState;

/// Functional mode: the values a token carries (one pixel's C values, or one window's C*kh*kw
/// values in (kh, kw, C) order; docs/functional.md). Null when the simulation is not functional.
using Payload = std::shared_ptr<const std::vector<int32_t>>;

class Stream {
public:
  Stream(std::string name, int64_t depth);

  const std::string& name() const { return m_name; }
  int64_t depth() const { return m_depth; }

  // ---- writer ----
  bool full() const { return int64_t(m_queue.size()) >= m_depth; }
  /// Blocks (in the kernel) while the FIFO is full; returns the cycle at which the slot for the
  /// next token is free.
  uint64_t waitSlot();
  /// Appends a token that is complete at cycle t (with its values in functional mode).
  void push(uint64_t t);
  void push(uint64_t t, Payload data);

  // ---- reader ----
  bool empty() const { return m_queue.empty(); }
  /// Blocks while empty; removes the next token and returns its write cycle.
  uint64_t pop();
  /// Functional mode: the values of the token just popped (null when none were pushed).
  const Payload& popped() const { return m_popped; }
  /// Records the cycle at which the token just popped was fully read (frees its slot then).
  void readDone(uint64_t cycle);

  // ---- statistics and deadlock analysis ----
  uint64_t tokensWritten() const { return m_written; }
  int64_t maxOccupancy();
  int64_t occupancyNow() const { return int64_t(m_queue.size()); }
  bool readerWaiting() const { return m_readerWaiting; }
  bool writerWaiting() const { return m_writerWaiting; }
  int producer = -1, consumer = -1;
  int index = -1; // in the mapping's streams

  /// Records the occupancy over simulated time into `track` (sim/Timeline.hpp); null: off.
  void attachTrace(CounterTrack* track) { m_trace = track; }
  /// Fast-forward: records every write cycle as channel `writes` of `ss`, every read end as `reads`.
  void attachSteadyState(SteadyState* ss, int writes, int reads) {
    m_steady = ss;
    m_writeChannel = writes;
    m_readChannel = reads;
  }

private:
  void settleOccupancy(uint64_t readEnd, bool final);

  std::string m_name;
  int64_t m_depth;
  std::deque<uint64_t> m_queue; // write cycles of tokens written and not yet popped
  std::deque<Payload> m_data;   // functional mode only: values of those tokens (same order)
  bool m_functional = false;    // set by the first push with values
  Payload m_popped;
  // Read ends of the last min(depth, reads) tokens (token m_read - size() first): what a ring of
  // `depth` slots would hold, without allocating a nominal depth that is never used.
  std::deque<uint64_t> m_readEnd;
  uint64_t m_written = 0, m_read = 0;
  sc_core::sc_event m_writtenEv, m_readEv;
  bool m_readerWaiting = false, m_writerWaiting = false;
  // Max occupancy in simulated time: merge of the write and read-end sequences.
  std::deque<uint64_t> m_pendingWrites; // write cycles not yet settled
  uint64_t m_settledWrites = 0;
  std::deque<uint64_t> m_reads; // read ends not yet counted
  uint64_t m_countedReads = 0;
  int64_t m_maxOcc = 0;
  CounterTrack* m_trace = nullptr;
  SteadyState* m_steady = nullptr;
  int m_writeChannel = -1, m_readChannel = -1;
};

} // namespace mpsim::sim
