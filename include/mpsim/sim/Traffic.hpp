#pragma once
// A background master on the shared DRAM (docs/system.md, "Background DRAM traffic"): a TLM-2.0
// initiator that replays a memory trace (DRAMSys .stl, or CSV) or generates synthetic traffic
// (bandwidth, burst size, read share) into the DRAM model beside the accelerator, with at most
// `outstanding` requests in flight (request i waits for request i - outstanding). It stops when the
// accelerator has finished (`done`), when its trace ends (unless it repeats), or at the horizon.
// A priority master's requests reach the memory config::kPriorityLeadCycles before their cycle
// (their RequestCycle says the cycle), so they take their share of a bucket first.
#include <cstdint>
#include <functional>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "mpsim/config/System.hpp"
#include "mpsim/sim/Dram.hpp"
#include "mpsim/sim/Result.hpp"

namespace mpsim::sim {

class TrafficMaster : public sc_core::sc_module {
public:
  SC_HAS_PROCESS(TrafficMaster);
  ~TrafficMaster() override;
  tlm_utils::simple_initiator_socket<TrafficMaster> socket;

  /// base: the start of the master's address window; accMhz / period: the accelerator's clock.
  TrafficMaster(sc_core::sc_module_name name, const config::MasterConfig& cfg, double accMhz,
                sc_core::sc_time period, uint64_t base, uint64_t horizon, std::function<bool()> done);
  BackgroundStats stats() const;

private:
  void run();
  /// One request at cycle t (a priority master issues it early): its completion cycle.
  uint64_t access(bool write, uint64_t addr, uint64_t bytes, uint64_t t);
  config::MasterConfig m_cfg;
  double m_accMhz;
  uint64_t m_horizon;
  std::function<bool()> m_done;
  DramPort m_port; // normal masters
  sc_core::sc_time m_period;
  uint64_t m_base = 0;
  std::vector<unsigned char> m_data; // priority masters: their own payload
  RequestCycle m_rc;
  tlm::tlm_generic_payload m_trans;
  uint64_t m_read = 0, m_written = 0, m_requests = 0;
  uint64_t m_first = 0, m_last = 0;
  bool m_any = false, m_horizonHit = false;
};

} // namespace mpsim::sim
