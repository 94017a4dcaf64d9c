#pragma once
// DRAM as a TLM-2.0 target (blocking transport with annotated delay). Channels are interleaved at
// burst granularity. Each channel delivers bytes_per_cycle; its time is divided into buckets of
// kBucketCycles, and a request starting at cycle t takes capacity from t's bucket onwards, so
// concurrent initiators contend for bandwidth without depending on the (decoupled) order in which
// their requests reach the model, as long as no bucket is saturated. A request completes at
// (end of its data transfer) + access latency.
//
// Data: the model is also a memory. Writes store their bytes in a sparse backing store of 4 KiB
// pages; reads copy them back, and bytes never written read as zero. A write of zeros to a page that
// holds nothing allocates nothing, so the accelerator's own traffic (whose payload bytes are zeros,
// docs/embedding.md) costs no memory. transport_dbg reads and writes the same store without timing.
// A payload without a data pointer is served for timing only.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include "mpsim/sim/Result.hpp"

namespace mpsim::sim {

struct DramTiming {
  int channels = 1;
  double bytes_per_cycle = 16; // per channel
  uint64_t latency_cycles = 20;
  uint64_t burst_bytes = 4096; // channel interleaving granularity
  sc_core::sc_time period = sc_core::sc_time(5, sc_core::SC_NS);
};

/// The bandwidth of one channel (a DRAM channel, a port): bytes_per_cycle, its time cut into
/// buckets of kBucketCycles; a transfer starting at cycle t takes capacity from t's bucket onwards.
class BandwidthChannel {
public:
  static constexpr uint64_t kBucketCycles = 64;
  /// denseBuckets: buckets kept in a plain array before the run-length coded part.
  BandwidthChannel(double bytesPerCycle, uint64_t denseBuckets);
  /// Cycle at which `bytes` requested at cycle t have been transferred.
  uint64_t transfer(uint64_t t, uint64_t bytes);
  /// No transfer will start before `cycle` any more: the buckets before it are dropped (memory
  /// stays bounded over a long run). A later transfer before it is a logic error.
  void forgetBefore(uint64_t cycle);
  /// Bytes used per bucket. The first buckets (kDenseBuckets over all channels of a DRAM) are a
  /// plain array, fast for the usual designs; later ones are run-length coded: [start, end) buckets
  /// each hold `used` bytes, buckets in no run are unused. So memory grows with the number of
  /// requests, not with simulated time, and a slow DRAM (one burst spanning millions of buckets) or
  /// a long idle time costs no more than a fast one.
  static constexpr uint64_t kDenseBuckets = uint64_t(1) << 23;

private:
  struct Run {
    uint64_t end;
    double used;
  };
  static void setRun(std::map<uint64_t, Run>& u, uint64_t b, double used);
  double m_bpc;
  std::vector<double> dense; // buckets [base, base + dense.size()), grown on demand up to denseCap
  uint64_t denseCap = 0;
  uint64_t base = 0;     // first bucket kept (forgetBefore)
  uint64_t forgotten = 0; // buckets before this one are forgotten
  std::map<uint64_t, Run> runs; // buckets >= denseCap
};

class Dram : public sc_core::sc_module {
public:
  static constexpr uint64_t kBucketCycles = 64;
  static constexpr uint64_t kPageBytes = 4096; // backing store granularity
  tlm_utils::multi_passthrough_target_socket<Dram> socket;

  Dram(sc_core::sc_module_name name, const DramTiming& timing);
  const DramTiming& timing() const { return m_timing; }

  /// The channel serving `addr`: channels interleave at burst_bytes.
  static int channelOf(const DramTiming& timing, uint64_t addr) {
    return int((addr / timing.burst_bytes) % uint64_t(std::max(1, timing.channels)));
  }
  /// Cycle at which `bytes` requested at cycle t on `channel` have been transferred (no latency).
  uint64_t transfer(int channel, uint64_t t, uint64_t bytes);
  /// No request will start before `cycle` any more (every initiator's next request is at or after
  /// it): bandwidth accounting before it is dropped on every channel.
  void forgetBefore(uint64_t cycle);
  /// Pages of the backing store that hold data (written with a non-zero byte).
  std::size_t storedPages() const { return m_pages.size(); }

private:
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned transport_dbg(int id, tlm::tlm_generic_payload& trans);
  /// Copies the payload's data to or from the backing store; false (and an error response) when
  /// the payload asks for what the store does not support (byte enables, streaming width).
  /// `zero`: the data buffer holds only zeros (zeros need not be written into it); false on return
  /// when it may not any more.
  bool moveData(tlm::tlm_generic_payload& trans, bool& zero);

  DramTiming m_timing;
  std::vector<BandwidthChannel> m_used;                                   // per channel
  std::unordered_map<uint64_t, std::unique_ptr<unsigned char[]>> m_pages; // page index -> kPageBytes
};

/// A timing-only extension: carries the initiator's local time (cycle) of a request and, on return,
/// its completion cycle. Decoupled initiators can be ahead of the kernel's time, or behind it, which
/// an annotated delay (never negative) cannot express. A target that models cycles (sim::Dram) sets
/// `cycle` to the completion cycle and `answered` to true; a plain target may ignore the extension:
/// the initiator then takes completion = request cycle + (time spent in b_transport + the annotated
/// delay), rounded up to whole cycles.
/// `zero_data` is a speed hint: on the way in, the payload's data buffer holds only zeros; on the
/// way back (answered requests only), it still does. A target may then skip writing zeros into it
/// (sim::Dram does, for a read of memory never written); one that ignores the hint loses nothing.
struct RequestCycle : tlm::tlm_extension<RequestCycle> {
  uint64_t cycle = 0;
  bool answered = false;
  bool zero_data = false;
  tlm::tlm_extension_base* clone() const override { return new RequestCycle(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    const auto& o = static_cast<const RequestCycle&>(other);
    cycle = o.cycle;
    answered = o.answered;
    zero_data = o.zero_data;
  }
};

/// Initiator-side helper of one DMA or weight streamer: issues one burst read or write at cycle t
/// through a socket and returns its completion cycle. It first waits in the kernel until t (when t
/// is ahead of the kernel), so that requests of different initiators reach the memory in about the
/// order of their times. The payload, its RequestCycle extension and a data buffer of the largest
/// burst the initiator issues are allocated once, so a transaction costs no heap allocation. The
/// buffer's bytes are not the network's data: reads land in it and are discarded, writes send it
/// (zeros, unless the target wrote into it).
class DramPort {
public:
  DramPort() = default;
  ~DramPort();
  DramPort(const DramPort&) = delete;
  DramPort& operator=(const DramPort&) = delete;

  /// Sets where requests go: `socket`, at addresses base + offset, for bursts of up to maxBytes.
  void setup(tlm::tlm_initiator_socket<>& socket, uint64_t base, sc_core::sc_time period, uint64_t maxBytes);
  uint64_t access(bool write, uint64_t addr, uint64_t bytes, uint64_t t);
  /// Requests of the same cycle from different initiators reach the DRAM model, which serves them
  /// in the order they arrive, in the order of `order` (the initiator's index): each waits until
  /// `order` time-resolution steps into its cycle (less than a cycle; the request keeps its cycle).
  /// Without it, the kernel's order of processes woken at the same time decides, which follows the
  /// run's history: a periodic steady state then need not repeat exactly (SteadyState).
  void setTieBreak(uint64_t order);
  uint64_t base() const { return m_base; }
  /// Bytes and requests issued so far (name left empty).
  const DramInitiatorStats& stats() const { return m_stats; }

private:
  struct Free {
    void operator()(unsigned char* p) const;
  };
  tlm::tlm_initiator_socket<>* m_socket = nullptr;
  uint64_t m_base = 0;
  sc_core::sc_time m_period;
  sc_core::sc_time m_tie = sc_core::SC_ZERO_TIME; // setTieBreak
  std::unique_ptr<unsigned char[], Free> m_data; // calloc'ed: untouched pages cost no memory
  bool m_zero = true;                            // m_data holds only zeros (RequestCycle::zero_data)
  RequestCycle m_rc;
  tlm::tlm_generic_payload m_trans;
  DramInitiatorStats m_stats;
};

} // namespace mpsim::sim
