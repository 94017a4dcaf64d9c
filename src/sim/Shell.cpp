#include "mpsim/sim/Shell.hpp"

#include <algorithm>
#include <cmath>

namespace mpsim::sim {

Shell::Shell(sc_core::sc_module_name name, const ShellTiming& timing)
    : sc_module(name), target("target"), initiator("initiator"), m_timing(timing),
      m_read(timing.port_bytes_per_cycle, BandwidthChannel::kDenseBuckets / 2),
      m_write(timing.port_bytes_per_cycle, BandwidthChannel::kDenseBuckets / 2),
      m_inFlight(size_t(std::max(1, timing.outstanding)), 0) {
  m_timing.burst_bytes = std::max<uint64_t>(1, m_timing.burst_bytes);
  target.register_b_transport(this, &Shell::b_transport);
  target.register_transport_dbg(this, &Shell::transport_dbg);
}

void Shell::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  RequestCycle* rc = nullptr;
  trans.get_extension(rc);
  const sc_core::sc_time now = sc_core::sc_time_stamp();
  const uint64_t t = rc ? rc->cycle : uint64_t(std::llround((now + delay) / m_timing.period));
  const bool zeroIn = rc && rc->zero_data;
  const uint64_t addr = trans.get_address();
  unsigned char* const data = trans.get_data_ptr();
  const unsigned len = trans.get_data_length();
  const unsigned width = trans.get_streaming_width();
  BandwidthChannel& port = trans.is_write() ? m_write : m_read;
  std::fill(m_inFlight.begin(), m_inFlight.end(), t);
  uint64_t done = t;
  bool zeroOut = true;
  const size_t k = m_inFlight.size();
  size_t i = 0;
  for (uint64_t off = 0; off < len || (len == 0 && off == 0); off += m_timing.burst_bytes, ++i) {
    const unsigned n = unsigned(std::min<uint64_t>(m_timing.burst_bytes, len - off));
    const uint64_t start = std::max(t, m_inFlight[i % k]) + m_timing.setup_cycles;
    const uint64_t portDone = port.transfer(start, n);
    trans.set_address(addr + off);
    trans.set_data_ptr(data ? data + off : nullptr);
    trans.set_data_length(n);
    trans.set_streaming_width(n);
    trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    uint64_t memDone = start;
    if (rc) {
      rc->cycle = start;
      rc->answered = false;
      rc->zero_data = zeroIn;
    }
    sc_core::sc_time d = sc_core::SC_ZERO_TIME;
    const sc_core::sc_time before = sc_core::sc_time_stamp();
    initiator->b_transport(trans, d);
    if (trans.is_response_error()) break;
    if (rc && rc->answered) {
      memDone = rc->cycle;
      zeroOut = zeroOut && rc->zero_data;
    } else {
      memDone = start + uint64_t(std::ceil((sc_core::sc_time_stamp() - before + d) / m_timing.period - 1e-9));
      zeroOut = false;
    }
    const uint64_t burstDone = std::max(memDone, portDone);
    m_inFlight[i % k] = burstDone;
    done = std::max(done, burstDone);
    ++m_bursts;
    if (len == 0) break;
  }
  const bool ok = !trans.is_response_error();
  trans.set_address(addr);
  trans.set_data_ptr(data);
  trans.set_data_length(len);
  trans.set_streaming_width(width);
  if (!ok) return;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  if (rc) {
    rc->cycle = done;
    rc->answered = true;
    rc->zero_data = zeroIn && zeroOut;
  }
  const sc_core::sc_time doneAt = m_timing.period * double(done);
  const sc_core::sc_time cur = sc_core::sc_time_stamp();
  delay = doneAt > cur ? doneAt - cur : sc_core::SC_ZERO_TIME;
}

unsigned Shell::transport_dbg(tlm::tlm_generic_payload& trans) { return initiator->transport_dbg(trans); }

} // namespace mpsim::sim
