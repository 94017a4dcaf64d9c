#pragma once
// Engines of the dataflow template. Each is one SC_THREAD with its own local time in cycles; it
// blocks in the kernel only on an empty input or a full output stream (timestamped mode) or, in
// reference mode, also waits in the kernel until its local time before every token.
//
// Per output token k (global index over frames) an engine:
//  1. reads, on every input port, the tokens up to the last one that k needs (NeedKind), each read
//     taking read_cost cycles at the engine's rate and ending no earlier than the token's write
//     cycle + 1; reading token j needs the buffer slot freed by token j - capacity;
//  2. computes: o_k = max(o_{k-1} + out_cost, inputs ready + tail);
//  3. writes the token at o_k + latency into every output stream, later if a stream is full
//     (the engine then stalls: blocked cycles).
// Before blocking on a full output it keeps reading inputs into its buffer as far as the buffer
// allows, as hardware would.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>

#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sim/Dram.hpp"
#include "mpsim/sim/Functional.hpp"
#include "mpsim/sim/Result.hpp"
#include "mpsim/sim/SteadyState.hpp"
#include "mpsim/sim/Stream.hpp"
#include "mpsim/sim/Timeline.hpp"

namespace mpsim {
class Progress;
} // namespace mpsim

namespace mpsim::sim {

/// Frame arrivals in front of the input DMA (docs/system.md): arrival cycles, the input buffer and
/// what happened to each arrival (filled in by the input DMA as it takes frames).
struct ArrivalQueue {
  std::vector<uint64_t> cycles; // sorted
  int64_t buffer_frames = -1;   // frames that may wait; -1: unbounded
  bool block = false;           // a full buffer holds the source (else the frame is dropped)
  std::size_t next = 0;         // next arrival to decide on
  ArrivalRecord record;
  bool exhausted = false; // every arrival decided and the last admitted frame taken
};

struct EngineContext {
  int frames = 1;
  /// The frames the engines run for, when it may change during the run (fast-forward lowers it,
  /// Accelerator); null: `frames`.
  const uint64_t* run_frames = nullptr;
  bool reference = false; // wait() per token
  sc_core::sc_time period;
  uint64_t burst_bytes = 4096;
  const FunctionalData* func = nullptr; // functional mode: tokens carry values (null: timing only)
  Progress* progress = nullptr;         // told the frames done by the output DMA (null: none)
  double input_interval = 0;            // the input DMA's pace: cycles per frame (0: as fast as it can)
  std::function<void()> frame_written;  // called by the output DMA after each frame (null: none)
  ArrivalQueue* arrivals = nullptr;     // frame arrivals (null: frames back to back)
};

/// What an engine is doing. Reports show it as text (stateName, EngineBase::state()).
enum class EngineState { Running, WaitingForInput, WaitingForOutput, Blocked, Done };
/// The report text of a state: "running", "waiting for input", "waiting for output space",
/// "blocked" (an engine that blocks for good reports its reason instead), "done".
const char* stateName(EngineState s);

class EngineBase : public sc_core::sc_module {
public:
  EngineBase(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
             std::vector<Stream*> inputs, std::vector<Stream*> outputs);

  const sched::EngineSpec& spec() const { return m_spec; }
  EngineStats stats() const;
  /// Latest local time reached.
  uint64_t localTime() const { return m_localMax; }
  /// For deadlock reports: what the engine waits for when it stopped (its state's text, or the
  /// reason it blocked for good).
  std::string state() const;
  EngineState status() const { return m_state; }
  Stream* waitOn() const { return m_waitOn; }
  bool waitsForWrite() const { return m_waitWrite; }
  /// Fast-forward (sim/SteadyState.hpp): registers the event sequences this engine and its input
  /// FIFOs carry from frame to frame as channels of `ss` and records them from now on.
  virtual void attachSteadyState(SteadyState& ss);
  /// The longest memory of this engine's rules, in frames (SteadyState's horizon).
  virtual int memoryFrames() const;
  /// What the engine had done at the end of each of its complete frames (fast-forward
  /// extrapolates from the last ones).
  struct FrameMark {
    uint64_t tokens_out = 0;
    DramInitiatorStats dram; // DMAs and weight streamers: bytes and requests so far
  };
  const std::vector<FrameMark>& frameMarks() const { return m_marks; }
  /// Frames this engine has started: read a token of, or written a token of.
  uint64_t framesStarted() const;
  /// Records this engine's intervals into `track` (null: not recorded) and, for DMAs, the frame
  /// markers into `timeline`.
  void attachTimeline(Timeline* timeline, EngineTrack* track) {
    m_timeline = timeline;
    m_track = track;
  }

protected:
  /// Timeline (off: one pointer test): [from, to) spent in `a`, waiting on stream `s` (or none).
  void traceInterval(Activity a, const Stream* s, uint64_t from, uint64_t to) {
    if (m_track) m_track->add(a, s ? s->index : -1, from, to);
  }

  struct Port {
    Stream* stream = nullptr;
    sched::PortSpec spec;
    uint64_t readCount = 0; // tokens read so far
    uint64_t lastReadEnd = 0;
    std::vector<uint64_t> readEnd; // ring, capacity entries
    std::vector<uint64_t> relTime; // ring, capacity entries
    uint64_t released = 0;         // tokens [0, released) released
    uint64_t releaseTarget = 0;    // tokens below this are released as soon as they are read
    // Releases that passed tokens not read yet: (target, cycle). A token j read later is released
    // at max(its read end, cycle of the first entry with target > j), whatever the read order.
    std::deque<std::pair<uint64_t, uint64_t>> pendingRelease;
    int64_t lastNeeded = -1; // global index of the last token the previous output needed
    // Functional mode: values of tokens [dataBase, dataBase + data.size()), kept until no later
    // output needs them (independently of the timing model's buffer slots, so values never
    // influence timing).
    std::deque<Payload> data;
    uint64_t dataBase = 0;
    int relChannel = -1; // fast-forward: the channel of this port's release cycles
    std::vector<int64_t> needLast; // DataflowEngine: need(k).last, the last token output k needs
    std::vector<int64_t> keepFrom; // DataflowEngine: smallest need(j).first over outputs j >= k of a frame
                                   // (keepFrom[T] = tokens per frame: everything released at frame end)
  };

  uint64_t runFrames() const { return m_ctx.run_frames ? *m_ctx.run_frames : uint64_t(m_ctx.frames); }
  /// Tokens of port p over all frames.
  uint64_t total(const Port& p) const { return uint64_t(p.spec.tokens_per_frame) * runFrames(); }
  /// Reads one token on port p. Returns false if the buffer has no free slot (needs a release).
  bool readOne(Port& p);
  /// Reads tokens until `lastNeeded` (global index) has been read; flags a line-buffer deadlock.
  uint64_t readUpTo(Port& p, uint64_t lastNeeded);
  /// Non-blocking: reads whatever is available and fits the buffer, on every port.
  void readAhead();
  /// Releases buffered tokens below `target` at cycle t.
  void release(Port& p, uint64_t target, uint64_t t);
  /// Writes one token (with its values in functional mode) to every output: returns the cycle it
  /// was written (>= t).
  uint64_t writeAll(uint64_t t, const Payload& data = nullptr);
  /// Functional mode: values of token j (global index) of port p, which must still be buffered.
  const Payload& tokenData(const Port& p, uint64_t j) const;
  /// Functional mode: forgets the values of tokens below j (global index).
  static void dropData(Port& p, uint64_t j);
  void syncTo(uint64_t cycle);
  /// Frame accounting: call after each output with its cycles.
  void account(uint64_t outIndex, uint64_t busy, uint64_t starved, uint64_t blocked, uint64_t dramWait, uint64_t o);
  void blockForever(const std::string& why);

  sched::EngineSpec m_spec;
  EngineContext m_ctx;
  std::vector<Port> m_ports;
  std::vector<Stream*> m_outs;
  uint64_t m_localMax = 0;
  EngineState m_state = EngineState::Running;
  std::string m_blockedWhy; // EngineState::Blocked: the reason
  Stream* m_waitOn = nullptr;
  bool m_waitWrite = false;
  // Stats of the current and of the last complete frame interval.
  EngineStats m_cur, m_last;
  std::vector<FrameStats> m_frames; // every complete frame interval
  void endFrame();                  // m_cur becomes the last complete frame interval
  /// Appends the frame mark of the frame that just completed.
  void markFrame();
  /// DMAs and weight streamers: the DRAM counters so far (zero for other engines).
  virtual DramInitiatorStats dramCounters() const { return {}; }
  std::vector<FrameMark> m_marks;
  SteadyState* m_steady = nullptr;
  uint64_t m_firstOut = 0, m_lastOut = 0, m_tokensOut = 0;
  bool m_anyOut = false;
  sc_core::sc_event m_never;
  Timeline* m_timeline = nullptr;
  EngineTrack* m_track = nullptr;
  Stream* m_lastFull = nullptr; // writeAll: the output whose free slot came last (null: none waited)
};

/// SWU, matrix-vector, vector, pooling, add, fork, concat, quantizer: the generic token engine.
class DataflowEngine : public EngineBase {
public:
  SC_HAS_PROCESS(DataflowEngine);
  DataflowEngine(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                 std::vector<Stream*> inputs, std::vector<Stream*> outputs);

private:
  void run();
  std::unique_ptr<TokenFunction> m_fn; // functional mode
};

/// An engine that is also a TLM initiator of the memory: its requests go through `socket` (the
/// Accelerator's), at addresses in its own region [addressBase, addressBase + region size).
class DramInitiator : public EngineBase {
public:
  DramInitiator(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                std::vector<Stream*> inputs, std::vector<Stream*> outputs, tlm::tlm_initiator_socket<>& socket,
                uint64_t addressBase);
  /// Bytes and requests issued so far, under the engine's name.
  DramInitiatorStats dramStats() const;
  uint64_t addressBase() const { return m_port.base(); }
  /// This initiator's place among the requests of one cycle (DramPort::setTieBreak).
  void setRequestOrder(uint64_t i) { m_port.setTieBreak(i); }
  /// The largest burst this initiator issues (its data buffer's size).
  uint64_t maxBurstBytes() const;
  /// Records the bytes this initiator moves over time (null: off).
  void attachBytesTrack(BytesTrack* t) { m_bytes = t; }
  /// Fast-forward: the DRAM requests of one frame, burst after burst (address relative to
  /// addressBase(), bytes) for global burst index g (over frames).
  /// DMAs: bursts of ctx.burst_bytes over a frame of bytes_per_frame (the last may be partial).
  virtual uint64_t burstsPerFrame() const;
  virtual void burst(uint64_t g, uint64_t& addr, uint64_t& bytes) const;
  void attachSteadyState(SteadyState& ss) override;
  int memoryFrames() const override;
  /// Fast-forward: the channel of this initiator's request cycles (-1: none).
  int requestChannel() const { return m_reqChannel; }
  /// Every request this initiator issues from now on is at or after this cycle.
  uint64_t requestFloor() const { return m_floor; }

protected:
  /// Frames moved through DRAM in bursts of burst_bytes (a frame's last burst may be partial), with
  /// at most two in flight: burst n is requested no earlier than the cycle at which burst n - 2
  /// freed its buffer (input DMA: consumed by the pipeline; output DMA: written).
  struct Bursts {
    static constexpr uint64_t kRing = 8;
    uint64_t frameBytes, burst, perFrame;
    uint64_t next = 0;          // global index (over frames) of the next burst to issue
    uint64_t freed[kRing] = {}; // cycle at which burst b freed its buffer, at b % kRing
    Bursts(uint64_t bytesPerFrame, uint64_t burstBytes);
    /// Burst g (global index over frames): its address (from the initiator's buffer) and bytes.
    void at(uint64_t g, uint64_t& addr, uint64_t& bytes) const {
      addr = g * burst;
      bytes = std::min(burst, frameBytes - (g % perFrame) * burst);
    }
    /// Earliest request cycle of the next burst, not before t.
    uint64_t requestAt(uint64_t t) const { return next >= 2 ? std::max(t, freed[(next - 2) % kRing]) : t; }
    void setFreed(uint64_t b, uint64_t t) { freed[b % kRing] = t; }
  };
  /// Issues burst q.next (a read, or a posted write) at cycle rq and advances q; returns the cycle
  /// at which it completes.
  uint64_t issue(Bursts& q, bool write, uint64_t rq);
  /// One memory request through m_port (recorded when tracing): returns its completion cycle.
  uint64_t access(bool write, uint64_t addr, uint64_t bytes, uint64_t t) {
    const uint64_t done = m_port.access(write, addr, bytes, t);
    if (m_bytes) m_bytes->add(done, bytes);
    if (m_steady) {
      m_steady->record(m_reqChannel, t);
      m_steady->record(m_doneChannel, done);
    }
    return done;
  }
  DramInitiatorStats dramCounters() const override { return m_port.stats(); }

  DramPort m_port;
  int m_reqChannel = -1, m_doneChannel = -1;
  uint64_t m_floor = 0; // requestFloor()
  BytesTrack* m_bytes = nullptr;
};

/// Reads frames from DRAM in bursts (at most two outstanding) and streams pixels at the input
/// port width.
class InputDma : public DramInitiator {
public:
  SC_HAS_PROCESS(InputDma);
  InputDma(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
           std::vector<Stream*> outputs, tlm::tlm_initiator_socket<>& socket, uint64_t addressBase);
  uint64_t firstRequest() const { return m_firstRequest; }

private:
  void run();
  /// Decides the arrivals up to the next admitted frame (which becomes frame `n`): returns the
  /// cycle it entered the buffer, or false when no arrival is left.
  bool admit(ArrivalQueue& q, uint64_t n, uint64_t& entered);
  uint64_t m_firstRequest = 0;
};

/// Takes output pixels at the output port width and writes them to DRAM in bursts (posted, at
/// most two outstanding). A frame is done when its last burst is written.
class OutputDma : public DramInitiator {
public:
  SC_HAS_PROCESS(OutputDma);
  OutputDma(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
            std::vector<Stream*> inputs, tlm::tlm_initiator_socket<>& socket, uint64_t addressBase);
  const std::vector<uint64_t>& frameDone() const { return m_frameDone; }
  /// Notified (delta) when the last frame's last burst has been issued (it completes at
  /// frameDone().back()).
  const sc_core::sc_event& allDone() const { return m_allDone; }
  /// Functional mode: the values of every token taken, frame after frame (C values per pixel).
  const std::vector<Payload>& collected() const { return m_collected; }

private:
  void run();
  std::vector<uint64_t> m_frameDone;
  std::vector<Payload> m_collected;
  sc_core::sc_event m_allDone;
};

/// Streams a layer's weights from DRAM, one pass (all weights) per token, into a weight buffer.
class WeightStreamer : public DramInitiator {
public:
  SC_HAS_PROCESS(WeightStreamer);
  WeightStreamer(sc_core::sc_module_name n, const sched::EngineSpec& spec, const EngineContext& ctx,
                 std::vector<Stream*> outputs, tlm::tlm_initiator_socket<>& socket, uint64_t addressBase);
  uint64_t burstsPerFrame() const override;
  void burst(uint64_t g, uint64_t& addr, uint64_t& bytes) const override;

private:
  uint64_t passBursts() const; // bursts of one pass
  void run();
};

} // namespace mpsim::sim
