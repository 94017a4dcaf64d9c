#include "mpsim/sim/Dram.hpp"

#include <cmath>
#include <iterator>

#include <spdlog/spdlog.h>

namespace mpsim::sim {

Dram::Dram(sc_core::sc_module_name name, const DramTiming& timing)
    : sc_module(name), socket("socket"), m_timing(timing), m_used(size_t(std::max(1, timing.channels))) {
  for (auto& u : m_used) u.denseCap = kDenseBuckets / m_used.size();
  socket.register_b_transport(this, &Dram::b_transport);
}

void Dram::nameInitiator(int id, const std::string& name) {
  if (m_stats.size() <= size_t(id)) m_stats.resize(size_t(id) + 1);
  m_stats[size_t(id)].name = name;
}

// Sets bucket b of the run-length coded part to `used`, splitting the run that holds it.
void Dram::setRun(std::map<uint64_t, Run>& u, uint64_t b, double used) {
  auto it = u.upper_bound(b);
  if (it != u.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > b) { // b lies in run prev: cut it into [start, b) b [b + 1, end)
      const uint64_t start = prev->first;
      const Run r = prev->second;
      u.erase(prev);
      if (start < b) u.emplace(start, Run{b, r.used});
      if (b + 1 < r.end) u.emplace(b + 1, Run{r.end, r.used});
    }
  }
  u.emplace(b, Run{b + 1, used});
}

uint64_t Dram::transfer(int channel, uint64_t t, uint64_t bytes) {
  Usage& u = m_used[size_t(channel)];
  const double bpc = m_timing.bytes_per_cycle;
  const double cap = bpc * double(kBucketCycles);
  double remaining = double(bytes);
  double cur = double(t);
  while (remaining > 0) {
    const uint64_t b = uint64_t(cur) / kBucketCycles;
    const double bucketEnd = double((b + 1) * kBucketCycles);
    const double timeLeft = bucketEnd - cur;
    if (b < u.denseCap) {
      // The array part: one bucket at a time.
      if (u.dense.size() <= b) u.dense.resize(std::min<uint64_t>(u.denseCap, std::max<uint64_t>(b + 1024, 2 * b)), 0.0);
      double& used = u.dense[size_t(b)];
      // Capacity left in this bucket from `cur` on, and not already taken by others.
      const double freeBytes = std::min(cap - used, timeLeft * bpc);
      if (freeBytes <= 1e-9) {
        cur = bucketEnd;
        continue;
      }
      const double take = std::min(freeBytes, remaining);
      used += take;
      remaining -= take;
      cur += take / bpc;
      continue;
    }
    // The run-length coded part: the run holding bucket b, or the gap of unused buckets from b to
    // the next run.
    auto& runs = u.runs;
    double usedB = 0;
    uint64_t runEnd = UINT64_MAX;
    auto next = runs.upper_bound(b);
    if (next != runs.begin() && std::prev(next)->second.end > b) {
      usedB = std::prev(next)->second.used;
      runEnd = std::prev(next)->second.end;
    } else if (next != runs.end()) {
      runEnd = next->first;
    }
    const double freeBytes = std::min(cap - usedB, timeLeft * bpc);
    if (freeBytes <= 1e-9) {
      // Saturated: a full run is skipped whole (every bucket of it is full from its start).
      cur = usedB >= cap - 1e-9 ? double(runEnd * kBucketCycles) : bucketEnd;
      continue;
    }
    const double take = std::min(freeBytes, remaining);
    setRun(runs, b, usedB + take);
    remaining -= take;
    cur += take / bpc;
    // Whole unused buckets after b: filled in one step instead of one by one.
    if (remaining > cap && cur >= bucketEnd - 1e-9) {
      auto nx = runs.upper_bound(b + 1);
      const bool inRun = nx != runs.begin() && std::prev(nx)->second.end > b + 1;
      if (!inRun) {
        const uint64_t gapEnd = nx == runs.end() ? UINT64_MAX : nx->first;
        const uint64_t whole = uint64_t(remaining / cap) - (std::fmod(remaining, cap) == 0 ? 1 : 0);
        const uint64_t k = std::min<uint64_t>(whole, gapEnd - (b + 1));
        if (k > 0) {
          runs.emplace(b + 1, Run{b + 1 + k, cap});
          remaining -= double(k) * cap;
          cur = double((b + 1 + k) * kBucketCycles);
        }
      }
    }
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
  // The extension lives on this stack frame: detach it however b_transport returns (an exception
  // would otherwise let the payload's destructor free it).
  struct Detach {
    tlm::tlm_generic_payload& p;
    RequestCycle* e;
    ~Detach() { p.clear_extension(e); }
  } detach{trans, &rc};
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  (*socket)->b_transport(trans, delay);
  if (trans.is_response_error()) SC_REPORT_ERROR("mpsim/dram", "DRAM access failed");
  return rc.cycle;
}

} // namespace mpsim::sim
