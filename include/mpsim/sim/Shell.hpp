#pragma once
// The shell's port between the accelerator and memory (docs/system.md, "Shell"): a TLM-2.0
// interconnect with one target socket (bind the Accelerator's socket to it) and one initiator
// socket (bind it to the memory). Each request is split into bursts of at most burst_bytes; burst
// i of a request starts no earlier than burst i - outstanding completed, pays setup_cycles before
// its data moves, and moves at the port's width and clock on its read or write channel (AXI has
// one of each), shared by all initiators with the bucket model of the DRAM (sim::BandwidthChannel).
// A burst completes when both the port and the memory are done with it.
#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "mpsim/sim/Dram.hpp"

namespace mpsim::sim {

struct ShellTiming {
  uint64_t burst_bytes = 4096;
  int outstanding = 8;             // bursts of one request in flight
  uint64_t setup_cycles = 0;       // per burst (accelerator cycles)
  double port_bytes_per_cycle = 16; // per channel (read, write), in accelerator cycles
  sc_core::sc_time period = sc_core::sc_time(5, sc_core::SC_NS); // the accelerator's cycle
};

class Shell : public sc_core::sc_module {
public:
  tlm_utils::simple_target_socket<Shell> target;
  tlm_utils::simple_initiator_socket<Shell> initiator;

  Shell(sc_core::sc_module_name name, const ShellTiming& timing);
  const ShellTiming& timing() const { return m_timing; }
  /// Bursts forwarded so far.
  uint64_t bursts() const { return m_bursts; }

private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);

  ShellTiming m_timing;
  BandwidthChannel m_read, m_write;
  std::vector<uint64_t> m_inFlight; // completion of the last `outstanding` bursts of a request
  uint64_t m_bursts = 0;
};

} // namespace mpsim::sim
