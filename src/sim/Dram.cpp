#include "mpsim/sim/Dram.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <new>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>

namespace mpsim::sim {

Dram::Dram(sc_core::sc_module_name name, const DramTiming& timing)
    : sc_module(name), socket("socket"), m_timing(timing) {
  const size_t n = size_t(std::max(1, timing.channels));
  for (size_t i = 0; i < n; ++i) m_used.emplace_back(timing.bytes_per_cycle, BandwidthChannel::kDenseBuckets / n);
  socket.register_b_transport(this, &Dram::b_transport);
  socket.register_transport_dbg(this, &Dram::transport_dbg);
}

// Sets bucket b of the run-length coded part to `used`, splitting the run that holds it.
BandwidthChannel::BandwidthChannel(double bytesPerCycle, uint64_t denseBuckets)
    : m_bpc(bytesPerCycle), denseCap(denseBuckets) {}

uint64_t Dram::transfer(int channel, uint64_t t, uint64_t bytes) { return m_used[size_t(channel)].transfer(t, bytes); }

void Dram::forgetBefore(uint64_t cycle) {
  for (auto& c : m_used) c.forgetBefore(cycle);
}

void BandwidthChannel::forgetBefore(uint64_t cycle) {
  const uint64_t b = cycle / kBucketCycles;
  if (b <= forgotten) return;
  forgotten = b;
  // The array part: its dead prefix is moved out once it is at least half the array (amortised
  // O(1) per bucket).
  const uint64_t dead = std::min<uint64_t>(b, base + dense.size()) - std::min(b, base);
  if (b > base && dead >= dense.size() / 2 && dead > 0) {
    dense.erase(dense.begin(), dense.begin() + std::ptrdiff_t(dead));
    base += dead;
  }
  // The run-length coded part: runs that end before b.
  while (!runs.empty() && runs.begin()->second.end <= b) runs.erase(runs.begin());
}

void BandwidthChannel::setRun(std::map<uint64_t, Run>& u, uint64_t b, double used) {
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

uint64_t BandwidthChannel::transfer(uint64_t t, uint64_t bytes) {
  BandwidthChannel& u = *this;
  const double bpc = m_bpc;
  const double cap = bpc * double(kBucketCycles);
  double remaining = double(bytes);
  double cur = double(t);
  while (remaining > 0) {
    const uint64_t b = uint64_t(cur) / kBucketCycles;
    const double bucketEnd = double((b + 1) * kBucketCycles);
    const double timeLeft = bucketEnd - cur;
    if (b < u.forgotten) throw std::logic_error("DRAM model: a transfer at cycle " + std::to_string(t) +
                                                " starts in the bandwidth accounting already forgotten");
    if (b < u.denseCap) {
      // The array part: one bucket at a time.
      const uint64_t i = b - u.base;
      if (u.dense.size() <= i)
        u.dense.resize(std::min<uint64_t>(u.denseCap - u.base, std::max<uint64_t>(i + 1024, 2 * i)), 0.0);
      double& used = u.dense[size_t(i)];
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

bool Dram::moveData(tlm::tlm_generic_payload& trans, bool& zero) {
  unsigned char* data = trans.get_data_ptr();
  const uint64_t len = trans.get_data_length();
  if (!data || len == 0) return true; // timing only
  if (trans.get_byte_enable_ptr() && trans.get_byte_enable_length() > 0) {
    trans.set_response_status(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    return false;
  }
  if (trans.get_streaming_width() != 0 && trans.get_streaming_width() < len) {
    trans.set_response_status(tlm::TLM_BURST_ERROR_RESPONSE);
    return false;
  }
  const bool write = trans.is_write();
  if (!write && !trans.is_read()) return true; // TLM_IGNORE_COMMAND
  if (m_pages.empty()) {                       // nothing stored: reads are zeros, writes of zeros store nothing
    if (!write) {
      if (!zero) std::memset(data, 0, len);
      return true;
    }
    if (zero || std::all_of(data, data + len, [](unsigned char c) { return c == 0; })) return true;
  }
  uint64_t addr = trans.get_address();
  for (uint64_t done = 0; done < len;) {
    const uint64_t page = addr / kPageBytes, off = addr % kPageBytes;
    const uint64_t n = std::min(len - done, kPageBytes - off);
    auto it = m_pages.find(page);
    if (write) {
      if (it == m_pages.end()) {
        const unsigned char* src = data + done;
        if (zero || std::all_of(src, src + n, [](unsigned char c) { return c == 0; })) { // zeros: nothing to store
          done += n;
          addr += n;
          continue;
        }
        it = m_pages.emplace(page, std::unique_ptr<unsigned char[]>(new unsigned char[kPageBytes]())).first;
      }
      std::memcpy(it->second.get() + off, data + done, n);
    } else if (it == m_pages.end()) {
      if (!zero) std::memset(data + done, 0, n);
    } else {
      std::memcpy(data + done, it->second.get() + off, n);
      zero = false;
    }
    done += n;
    addr += n;
  }
  return true;
}

void Dram::b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  const sc_core::sc_time start = sc_core::sc_time_stamp() + delay;
  RequestCycle* rc = nullptr;
  trans.get_extension(rc);
  const uint64_t t = rc ? rc->cycle : uint64_t(std::llround(start / m_timing.period));
  const uint64_t addr = trans.get_address();
  const uint64_t bytes = trans.get_data_length();
  bool zero = rc && rc->zero_data;
  if (!moveData(trans, zero)) return;
  const int channel = channelOf(m_timing, addr);
  uint64_t done = transfer(channel, t, bytes) + m_timing.latency_cycles;
  spdlog::trace("dram: initiator {} {} {} bytes at cycle {} on channel {}: done {}", id,
                trans.is_write() ? "write" : "read", bytes, t, channel, done);
  if (rc) {
    rc->cycle = done;
    rc->answered = true;
    rc->zero_data = zero;
  }
  const sc_core::sc_time doneAt = m_timing.period * double(done);
  delay = doneAt > sc_core::sc_time_stamp() ? doneAt - sc_core::sc_time_stamp() : sc_core::SC_ZERO_TIME;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

unsigned Dram::transport_dbg(int, tlm::tlm_generic_payload& trans) {
  bool zero = false;
  if (!moveData(trans, zero)) return 0;
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
  return trans.get_data_ptr() ? trans.get_data_length() : 0;
}

void DramPort::Free::operator()(unsigned char* p) const { std::free(p); }

void DramPort::setTieBreak(uint64_t order) {
  // Below one cycle (beyond the steps of a cycle the order wraps around: ties are then ordered in groups).
  const uint64_t steps = std::max<uint64_t>(1, m_period.value());
  m_tie = sc_core::sc_time::from_value(sc_core::sc_time::value_type(order % steps));
}

DramPort::~DramPort() {
  if (m_trans.get_extension<RequestCycle>() == &m_rc) m_trans.clear_extension(&m_rc);
}

void DramPort::setup(tlm::tlm_initiator_socket<>& socket, uint64_t base, sc_core::sc_time period, uint64_t maxBytes) {
  m_socket = &socket;
  m_base = base;
  m_period = period;
  m_data.reset(static_cast<unsigned char*>(std::calloc(std::max<uint64_t>(1, maxBytes), 1)));
  if (!m_data) throw std::bad_alloc();
  m_trans.set_data_ptr(m_data.get());
  m_trans.set_byte_enable_ptr(nullptr);
  m_trans.set_byte_enable_length(0);
  m_trans.set_dmi_allowed(false);
}

uint64_t DramPort::access(bool write, uint64_t addr, uint64_t bytes, uint64_t t) {
  m_trans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  m_trans.set_address(m_base + addr);
  m_trans.set_data_ptr(m_data.get());
  m_trans.set_data_length(unsigned(bytes));
  m_trans.set_streaming_width(unsigned(bytes));
  m_trans.set_byte_enable_ptr(nullptr);
  m_trans.set_dmi_allowed(false);
  m_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  const sc_core::sc_time at = m_period * double(t) + m_tie;
  if (at > sc_core::sc_time_stamp()) sc_core::wait(at - sc_core::sc_time_stamp());
  m_rc.cycle = t;
  m_rc.answered = false;
  m_rc.zero_data = m_zero;
  m_trans.set_extension(&m_rc);
  const sc_core::sc_time before = sc_core::sc_time_stamp();
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  (*m_socket)->b_transport(m_trans, delay);
  if (m_trans.is_response_error()) SC_REPORT_ERROR("mpsim/dram", "DRAM access failed");
  (write ? m_stats.write_bytes : m_stats.read_bytes) += bytes;
  ++m_stats.requests;
  m_zero = m_rc.answered && m_rc.zero_data;
  if (m_rc.answered) return m_rc.cycle;
  // A plain target: the request took the time spent in b_transport plus the annotated delay.
  const double cycles = (sc_core::sc_time_stamp() - before + delay) / m_period;
  return t + uint64_t(std::ceil(cycles - 1e-9));
}

} // namespace mpsim::sim
