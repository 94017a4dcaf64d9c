#include "mpsim/sim/Traffic.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "mpsim/common/Error.hpp"

namespace mpsim::sim {

TrafficMaster::TrafficMaster(sc_core::sc_module_name name, const config::MasterConfig& cfg, double accMhz,
                             sc_core::sc_time period, uint64_t base, uint64_t horizon, std::function<bool()> done)
    : sc_module(name), socket("socket"), m_cfg(cfg), m_accMhz(accMhz), m_horizon(horizon), m_done(std::move(done)),
      m_period(period), m_base(base) {
  const uint64_t maxBytes =
      cfg.kind == config::MasterKind::Synthetic ? uint64_t(cfg.burst_bytes) : std::max<uint64_t>(1, cfg.max_bytes);
  if (cfg.priority)
    m_data.assign(size_t(maxBytes), 0);
  else
    m_port.setup(socket, base, period, maxBytes);
  SC_THREAD(run);
}

TrafficMaster::~TrafficMaster() {
  if (m_trans.get_extension<RequestCycle>() == &m_rc) m_trans.clear_extension(&m_rc);
}

uint64_t TrafficMaster::access(bool write, uint64_t addr, uint64_t bytes, uint64_t t) {
  if (!m_cfg.priority) return m_port.access(write, addr, bytes, t);
  const uint64_t early = t > config::kPriorityLeadCycles ? t - config::kPriorityLeadCycles : 0;
  const sc_core::sc_time at = m_period * double(early);
  if (at > sc_core::sc_time_stamp()) sc_core::wait(at - sc_core::sc_time_stamp());
  m_trans.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
  m_trans.set_address(m_base + addr);
  m_trans.set_data_ptr(m_data.data());
  m_trans.set_data_length(unsigned(bytes));
  m_trans.set_streaming_width(unsigned(bytes));
  m_trans.set_byte_enable_ptr(nullptr);
  m_trans.set_byte_enable_length(0);
  m_trans.set_dmi_allowed(false);
  m_trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  m_rc.cycle = t;
  m_rc.answered = false;
  m_rc.zero_data = false;
  m_trans.set_extension(&m_rc);
  const sc_core::sc_time before = sc_core::sc_time_stamp();
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  socket->b_transport(m_trans, delay);
  if (m_trans.is_response_error()) SC_REPORT_ERROR("mpsim/background", "memory access failed");
  (write ? m_written : m_read) += bytes;
  ++m_requests;
  if (m_rc.answered) return m_rc.cycle;
  return t + uint64_t(std::ceil((sc_core::sc_time_stamp() - before + delay) / m_period - 1e-9));
}

void TrafficMaster::run() {
  const size_t k = size_t(std::max(1, m_cfg.outstanding));
  std::vector<uint64_t> inFlight(k, 0);
  std::unique_ptr<config::MemTraceReader> reader;
  auto open = [&] {
    reader = std::make_unique<config::MemTraceReader>(m_cfg.file_path, m_cfg.kind, m_cfg.clock_mhz, m_accMhz,
                                                      uint64_t(m_cfg.bytes));
  };
  const bool synthetic = m_cfg.kind == config::MasterKind::Synthetic;
  // Synthetic: one burst every burst / bandwidth, reads spread evenly by read_share, addresses
  // sequential in a 1 GiB window.
  const double interval =
      synthetic ? double(m_cfg.burst_bytes) / (m_cfg.gbps * 1e9) * m_accMhz * 1e6 : 0; // cycles per burst
  uint64_t offset = 0; // repeat: cycles added to the trace's times
  try {
    if (!synthetic) open();
    for (uint64_t i = 0;; ++i) {
      if (m_done && m_done()) break;
      config::MemRequest q;
      if (synthetic) {
        q.cycle = uint64_t(std::llround(double(i) * interval));
        q.write = std::floor(double(i + 1) * (1 - m_cfg.read_share)) > std::floor(double(i) * (1 - m_cfg.read_share));
        q.bytes = uint64_t(m_cfg.burst_bytes);
        q.address = (i * q.bytes) % (uint64_t(1) << 30);
      } else if (!reader->next(q)) {
        if (!m_cfg.repeat) break;
        offset += m_cfg.span_cycles + 1;
        open();
        if (!reader->next(q)) break;
      }
      if (!synthetic) q.cycle += offset;
      const uint64_t at = std::max(q.cycle, inFlight[i % k]);
      if (at >= m_horizon) {
        m_horizonHit = true;
        break;
      }
      const uint64_t done = access(q.write, q.address, q.bytes, at);
      inFlight[i % k] = done;
      if (!m_any) m_first = at;
      m_any = true;
      m_last = std::max(m_last, done);
    }
  } catch (const LoadError& e) { // the trace changed since it was checked
    SC_REPORT_ERROR("mpsim/background", e.what());
  }
}

BackgroundStats TrafficMaster::stats() const {
  BackgroundStats s;
  s.name = m_cfg.name;
  s.read_bytes = m_port.stats().read_bytes + m_read;
  s.write_bytes = m_port.stats().write_bytes + m_written;
  s.requests = m_port.stats().requests + m_requests;
  s.first_cycle = m_first;
  s.last_cycle = m_last;
  s.stopped_at_horizon = m_horizonHit;
  return s;
}

} // namespace mpsim::sim
