#pragma once
// DRAM as a TLM-2.0 target (blocking transport with annotated delay). Channels are interleaved at
// burst granularity. Each channel delivers bytes_per_cycle; its time is divided into buckets of
// kBucketCycles, and a request starting at cycle t takes capacity from t's bucket onwards, so
// concurrent initiators contend for bandwidth without depending on the (decoupled) order in which
// their requests reach the model, as long as no bucket is saturated. A request completes at
// (end of its data transfer) + access latency.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

#include "mpsim/sim/Result.hpp"

namespace mpsim::sim {

struct DramTiming {
  int channels = 1;
  double bytes_per_cycle = 16; // per channel
  uint64_t latency_cycles = 20;
  uint64_t burst_bytes = 4096;
  sc_core::sc_time period = sc_core::sc_time(5, sc_core::SC_NS);
};

class Dram : public sc_core::sc_module {
public:
  static constexpr uint64_t kBucketCycles = 64;
  tlm_utils::multi_passthrough_target_socket<Dram> socket;

  Dram(sc_core::sc_module_name name, const DramTiming& timing);
  /// Registers an initiator name for socket index `id` (statistics).
  void nameInitiator(int id, const std::string& name);
  std::vector<DramInitiatorStats> stats() const { return m_stats; }
  const DramTiming& timing() const { return m_timing; }

  /// Cycle at which `bytes` requested at cycle t on `channel` have been transferred (no latency).
  uint64_t transfer(int channel, uint64_t t, uint64_t bytes);

private:
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);

  /// Bytes used per bucket of one channel. The first buckets (kDenseBuckets over all channels) are a
  /// plain array, fast for the usual designs; later ones are run-length coded: [start, end) buckets
  /// each hold `used` bytes, buckets in no run are unused. So memory grows with the number of
  /// requests, not with simulated time, and a slow DRAM (one burst spanning millions of buckets) or
  /// a long idle time costs no more than a fast one.
  static constexpr uint64_t kDenseBuckets = uint64_t(1) << 23;
  struct Run {
    uint64_t end;
    double used;
  };
  struct Usage {
    std::vector<double> dense; // buckets [0, dense.size()), grown on demand up to denseCap
    uint64_t denseCap = 0;
    std::map<uint64_t, Run> runs; // buckets >= denseCap
  };
  static void setRun(std::map<uint64_t, Run>& u, uint64_t b, double used);

  DramTiming m_timing;
  std::vector<Usage> m_used; // per channel
  std::vector<DramInitiatorStats> m_stats;
};

/// Carries the initiator's local time (cycle) of a request and, on return, its completion cycle.
/// Decoupled initiators can be ahead of the kernel's time, or behind it, which an annotated delay
/// (never negative) cannot express.
struct RequestCycle : tlm::tlm_extension<RequestCycle> {
  uint64_t cycle = 0;
  tlm::tlm_extension_base* clone() const override { return new RequestCycle(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    cycle = static_cast<const RequestCycle&>(other).cycle;
  }
};

/// Initiator-side helper: issues one burst read or write at cycle t and returns its completion
/// cycle. It first waits in the kernel until t (when t is ahead of the kernel), so that requests
/// of different initiators reach the DRAM in about the order of their times.
class DramPort {
public:
  tlm_utils::simple_initiator_socket<DramPort>* socket = nullptr;
  uint64_t base = 0;
  sc_core::sc_time period;
  uint64_t access(bool write, uint64_t addr, uint64_t bytes, uint64_t t);
};

} // namespace mpsim::sim
