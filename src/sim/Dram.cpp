#include "mpsim/sim/Dram.hpp"

#include <cmath>

#include <spdlog/spdlog.h>

namespace mpsim::sim {

Dram::Dram(sc_core::sc_module_name name, const DramTiming& timing)
    : sc_module(name), socket("socket"), m_timing(timing), m_used(size_t(std::max(1, timing.channels))) {
  socket.register_b_transport(this, &Dram::b_transport);
}

void Dram::nameInitiator(int id, const std::string& name) {
  if (m_stats.size() <= size_t(id)) m_stats.resize(size_t(id) + 1);
  m_stats[size_t(id)].name = name;
}

uint64_t Dram::transfer(int channel, uint64_t t, uint64_t bytes) {
  auto& used = m_used[size_t(channel)];
  const double bpc = m_timing.bytes_per_cycle;
  const double cap = bpc * double(kBucketCycles);
  double remaining = double(bytes);
  double cur = double(t);
  while (remaining > 0) {
    size_t b = size_t(uint64_t(cur) / kBucketCycles);
    if (used.size() <= b) used.resize(b + 1024, 0.0);
    double bucketEnd = double((b + 1) * kBucketCycles);
    // Capacity left in this bucket from `cur` on, and not already taken by others.
    double timeLeft = bucketEnd - cur;
    double freeBytes = std::min(cap - used[b], timeLeft * bpc);
    if (freeBytes <= 1e-9) {
      cur = bucketEnd;
      continue;
    }
    double take = std::min(freeBytes, remaining);
    used[b] += take;
    remaining -= take;
    cur += take / bpc;
  }
  return uint64_t(std::ceil(cur - 1e-9));
}

void Dram::b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;
  RequestCycle* rc = nullptr;
  trans.get_extension(rc);
  const uint64_t t = rc ? rc->cycle : uint64_t(std::llround(start / m_timing.period));
  const uint64_t addr = trans.get_address();
  const uint64_t bytes = trans.get_data_length();
  int channel = int((addr / m_timing.burst_bytes) % uint64_t(m_timing.channels));
  uint64_t done = transfer(channel, t, bytes) + m_timing.latency_cycles;
  spdlog::trace("dram: initiator {} {} {} bytes at cycle {} on channel {}: done {}", id, trans.is_write() ? "write" : "read", bytes, t, channel, done);
  if (m_stats.size() <= size_t(id)) m_stats.resize(size_t(id) + 1);
  auto& s = m_stats[size_t(id)];
  (trans.is_write() ? s.write_bytes : s.read_bytes) += bytes;
  ++s.requests;
  if (rc) rc->cycle = done;
  const sc_core::sc_time doneAt = m_timing.period * double(done);
  delay = doneAt > sc_core::sc_time_stamp() ? doneAt - sc_core::sc_time_stamp() : sc_core::SC_ZERO_TIME;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

uint64_t DramPort::access(bool write, uint64_t addr, uint64_t bytes, uint64_t t) {
  tlm::tlm_generic_payload trans;
  trans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  trans.set_address(base + addr);
  trans.set_data_ptr(nullptr); // timing only: no data moves through the DRAM model
  trans.set_data_length(unsigned(bytes));
  trans.set_streaming_width(unsigned(bytes));
  trans.set_byte_enable_ptr(nullptr);
  trans.set_dmi_allowed(false);
  trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  const sc_core::sc_time at = period * double(t);
  if (at > sc_core::sc_time_stamp()) sc_core::wait(at - sc_core::sc_time_stamp());
  RequestCycle rc;
  rc.cycle = t;
  trans.set_extension(&rc);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  (*socket)->b_transport(trans, delay);
  trans.clear_extension(&rc);
  if (trans.is_response_error()) SC_REPORT_ERROR("mpsim/dram", "DRAM access failed");
  return rc.cycle;
}

} // namespace mpsim::sim
