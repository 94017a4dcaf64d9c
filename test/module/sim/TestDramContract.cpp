// [module] The DRAM model's contract as a TLM-2.0 target (sim/Dram.hpp), driven through its socket
// by test initiators the way the accelerator's DMAs, a user's CPU model or a debugger would:
// completion time of a request (transfer at the channel's rate, then the access latency), the
// annotated delay seen by a plain initiator, bandwidth shared by concurrent initiators whatever the
// order in which their requests reach the model, channel interleaving at burst granularity, and the
// model as a memory (data written is read back, b_transport and transport_dbg share one store,
// unsupported payloads get an error response).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "mpsim/sim/Dram.hpp"
#include "mpsim/sim/Isolated.hpp"

using namespace mpsim;

namespace {

constexpr double kPeriodNs = 5; // 200 MHz

sim::DramTiming timing(int channels, double bytesPerCycle, uint64_t latency, uint64_t burst = 4096) {
  sim::DramTiming t;
  t.channels = channels;
  t.bytes_per_cycle = bytesPerCycle;
  t.latency_cycles = latency;
  t.burst_bytes = burst;
  t.period = sc_core::sc_time(kPeriodNs, sc_core::SC_NS);
  return t;
}

/// One initiator: runs `script` in a thread with a helper that issues a request and returns its
/// completion cycle (from the RequestCycle extension, like mpsim's DMAs, or, `plain`, from the
/// annotated delay as any TLM-2.0 initiator sees it).
struct Initiator : sc_core::sc_module {
  SC_HAS_PROCESS(Initiator);
  tlm_utils::simple_initiator_socket<Initiator> socket;
  std::function<void(Initiator&)> script;
  explicit Initiator(sc_core::sc_module_name n, std::function<void(Initiator&)> s)
      : sc_module(n), socket("socket"), script(std::move(s)) {
    SC_THREAD(run);
  }
  void run() { script(*this); }

  struct Answer {
    uint64_t done = 0; // cycle
    tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
  };
  /// Request at cycle t (the thread first waits until t in the kernel).
  Answer access(tlm::tlm_command cmd, uint64_t addr, unsigned char* data, unsigned len, uint64_t t, bool plain,
                unsigned char* byteEnable = nullptr, unsigned streamingWidth = 0) {
    const sc_core::sc_time at(double(t) * kPeriodNs, sc_core::SC_NS);
    if (at > sc_core::sc_time_stamp()) sc_core::wait(at - sc_core::sc_time_stamp());
    tlm::tlm_generic_payload p;
    p.set_command(cmd);
    p.set_address(addr);
    p.set_data_ptr(data);
    p.set_data_length(len);
    p.set_streaming_width(streamingWidth ? streamingWidth : len);
    p.set_byte_enable_ptr(byteEnable);
    p.set_byte_enable_length(byteEnable ? len : 0);
    p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
    sim::RequestCycle rc;
    rc.cycle = t;
    if (!plain) p.set_extension(&rc);
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(p, delay);
    if (!plain) p.clear_extension(&rc);
    Answer a;
    a.status = p.get_response_status();
    a.done =
        plain ? uint64_t(std::llround((sc_core::sc_time_stamp() + delay).to_seconds() * 1e9 / kPeriodNs)) : rc.cycle;
    return a;
  }
  unsigned debug(tlm::tlm_command cmd, uint64_t addr, unsigned char* data, unsigned len) {
    tlm::tlm_generic_payload p;
    p.set_command(cmd);
    p.set_address(addr);
    p.set_data_ptr(data);
    p.set_data_length(len);
    p.set_streaming_width(len);
    return socket->transport_dbg(p);
  }
};

uint64_t cyclesFor(uint64_t bytes, double bytesPerCycle) {
  return uint64_t(std::ceil(double(bytes) / bytesPerCycle - 1e-9));
}

} // namespace

TEST_CASE("DRAM contract: a request on an idle channel completes at t + bytes / rate + latency, "
          "with the extension and as a plain initiator sees it",
          "[module][sim][dram]") {
  const nlohmann::json j = sim::runInChild([] {
    sim::Dram dram("dram", timing(1, 16, 40));
    nlohmann::json out;
    Initiator a("a", [&](Initiator& i) {
      std::vector<unsigned char> buf(4096);
      out["ext"] = i.access(tlm::TLM_READ_COMMAND, 0, buf.data(), 4096, 100, false).done;
      // Long after the first: the channel is idle again. Plain: delay annotated relative to now.
      const auto p = i.access(tlm::TLM_WRITE_COMMAND, 8192, buf.data(), 1000, 10000, true);
      out["plain"] = p.done;
      out["plain_ok"] = p.status == tlm::TLM_OK_RESPONSE;
      // A timing-only payload (no data pointer) is served too.
      out["timing_only"] = i.access(tlm::TLM_READ_COMMAND, 0, nullptr, 640, 20000, false).done;
    });
    a.socket.bind(dram.socket);
    sc_core::sc_start();
    return out;
  });
  CHECK(j["ext"] == 100 + 4096 / 16 + 40);
  CHECK(j["plain"] == 10000 + cyclesFor(1000, 16) + 40);
  CHECK(j["plain_ok"].get<bool>());
  CHECK(j["timing_only"] == 20000 + 640 / 16 + 40);
}

TEST_CASE("DRAM contract: concurrent initiators share a channel's bandwidth, whatever the order their "
          "requests reach the model",
          "[module][sim][dram]") {
  // Three initiators each stream 64 KiB in 1 KiB bursts, all requested from cycle 0 on and issued
  // ahead of the kernel (each initiator's next request at the completion cycle of its last one, as
  // the DMAs do). One channel of 8 bytes per cycle: 196,608 bytes take 24,576 cycles in total, so
  // the last of them completes at 24,576 + latency however the kernel interleaves the three
  // threads. Run twice with the initiators declared in opposite orders.
  auto run = [](bool reversed) {
    return sim::runInChild([reversed] {
      sim::Dram dram("dram", timing(1, 8, 30));
      nlohmann::json out = nlohmann::json::array();
      std::vector<std::unique_ptr<Initiator>> inits;
      for (int k = 0; k < 3; ++k) {
        const int id = reversed ? 2 - k : k;
        inits.push_back(std::make_unique<Initiator>(("i" + std::to_string(id)).c_str(), [&out, id](Initiator& i) {
          std::vector<unsigned char> buf(1024);
          uint64_t t = 0, last = 0;
          for (int b = 0; b < 64; ++b) {
            last = i.access(tlm::TLM_READ_COMMAND, uint64_t(id) << 20 | uint64_t(b) * 1024, buf.data(), 1024, t, false)
                       .done;
            t = last - 30; // the transfer ended; the latency overlaps the next request
          }
          out.push_back({{"id", id}, {"done", last}});
        }));
        inits.back()->socket.bind(dram.socket);
      }
      sc_core::sc_start();
      return out;
    });
  };
  const nlohmann::json fwd = run(false), rev = run(true);
  auto finish = [](const nlohmann::json& a) {
    uint64_t m = 0, lo = UINT64_MAX;
    for (const auto& e : a) {
      m = std::max(m, e["done"].get<uint64_t>());
      lo = std::min(lo, e["done"].get<uint64_t>());
    }
    return std::make_pair(lo, m);
  };
  const auto [fwdFirst, fwdLast] = finish(fwd);
  const auto [revFirst, revLast] = finish(rev);
  const uint64_t total = 3 * 64 * 1024 / 8;
  // Bandwidth is conserved: nobody finishes before the whole traffic could have been moved, and the
  // channel never idles while requests wait (the last one ends within a 64-cycle bucket of it).
  CHECK(fwdLast >= total + 30);
  CHECK(fwdLast <= total + 30 + sim::Dram::kBucketCycles);
  // Shared, not served one after the other: the first initiator to finish is not done after a
  // third of the traffic, but near the end.
  CHECK(fwdFirst > 2 * total / 3);
  // Independent of the kernel order of the initiators.
  CHECK(fwdLast == revLast);
  CHECK(fwdFirst == revFirst);
}

TEST_CASE("DRAM contract: channels interleave at burst granularity and add their bandwidth", "[module][sim][dram]") {
  // 128 KiB in 4 KiB bursts from one initiator issuing two requests at a time (one per burst
  // address): with one channel they share its rate; with two channels consecutive bursts go to
  // different channels and the whole transfer takes half as long.
  auto run = [](int channels) {
    return sim::runInChild([channels] {
      sim::Dram dram("dram", timing(channels, 16, 0, 4096));
      nlohmann::json out;
      Initiator a("a", [&](Initiator& i) {
        std::vector<unsigned char> buf(4096);
        uint64_t t = 0;
        for (int b = 0; b < 32; b += 2) {
          const uint64_t d0 = i.access(tlm::TLM_READ_COMMAND, uint64_t(b) * 4096, buf.data(), 4096, t, false).done;
          const uint64_t d1 = i.access(tlm::TLM_READ_COMMAND, uint64_t(b + 1) * 4096, buf.data(), 4096, t, false).done;
          t = std::max(d0, d1);
        }
        out["done"] = t;
      });
      a.socket.bind(dram.socket);
      sc_core::sc_start();
      return out;
    });
  };
  const uint64_t one = run(1)["done"].get<uint64_t>(), two = run(2)["done"].get<uint64_t>();
  CHECK(one == 32 * 4096 / 16);
  CHECK(two == 32 * 4096 / 16 / 2);
}

TEST_CASE("DRAM contract: a memory: data written is read back through b_transport and transport_dbg alike",
          "[module][sim][dram]") {
  const nlohmann::json j = sim::runInChild([] {
    sim::Dram dram("dram", timing(2, 16, 10, 256));
    nlohmann::json out;
    Initiator a("a", [&](Initiator& i) {
      // A pattern across a page boundary and two channels (bursts of 256 bytes).
      std::vector<unsigned char> w(6000), r(6000, 0xAA);
      for (size_t k = 0; k < w.size(); ++k) w[k] = (unsigned char)(k * 7 + 3);
      const uint64_t base = 3 * sim::Dram::kPageBytes - 1000;
      out["pages_before"] = dram.storedPages();
      i.access(tlm::TLM_WRITE_COMMAND, base, w.data(), unsigned(w.size()), 0, false);
      i.access(tlm::TLM_READ_COMMAND, base, r.data(), unsigned(r.size()), 1000, true);
      out["readback"] = r == w;
      // Debug read sees the same bytes; a debug write is seen by a timed read.
      std::vector<unsigned char> d(100, 0);
      out["dbg_len"] = i.debug(tlm::TLM_READ_COMMAND, base + 50, d.data(), 100);
      out["dbg_read"] = std::memcmp(d.data(), w.data() + 50, 100) == 0;
      std::vector<unsigned char> dw(64, 0x5C), tr(64, 0);
      i.debug(tlm::TLM_WRITE_COMMAND, 1 << 20, dw.data(), 64);
      i.access(tlm::TLM_READ_COMMAND, 1 << 20, tr.data(), 64, 2000, false);
      out["dbg_write"] = tr == dw;
      // Never written: zeros (the buffer held other bytes before).
      std::vector<unsigned char> z(512, 0xFF);
      i.access(tlm::TLM_READ_COMMAND, 40 << 20, z.data(), 512, 3000, false);
      out["zeros"] = std::all_of(z.begin(), z.end(), [](unsigned char c) { return c == 0; });
      // Zeros written where nothing is stored allocate nothing.
      const auto pages = dram.storedPages();
      std::vector<unsigned char> zw(8192, 0);
      i.access(tlm::TLM_WRITE_COMMAND, 80 << 20, zw.data(), 8192, 4000, false);
      out["zero_write_pages"] = dram.storedPages() - pages;
      out["pages_after"] = pages;
    });
    a.socket.bind(dram.socket);
    sc_core::sc_start();
    return out;
  });
  CHECK(j["pages_before"] == 0);
  CHECK(j["readback"].get<bool>());
  CHECK(j["dbg_len"] == 100);
  CHECK(j["dbg_read"].get<bool>());
  CHECK(j["dbg_write"].get<bool>());
  CHECK(j["zeros"].get<bool>());
  CHECK(j["zero_write_pages"] == 0);
  // 6000 bytes from 1000 before a page boundary touch pages 2, 3 and 4; the debug write page 256.
  CHECK(j["pages_after"] == 4);
}

TEST_CASE("DRAM contract: payloads the model does not support get an error response and change nothing",
          "[module][sim][dram]") {
  const nlohmann::json j = sim::runInChild([] {
    sim::Dram dram("dram", timing(1, 16, 10));
    nlohmann::json out;
    Initiator a("a", [&](Initiator& i) {
      std::vector<unsigned char> w(64, 0x11), be(64, 0xFF), r(64, 0);
      out["byte_enable"] = int(i.access(tlm::TLM_WRITE_COMMAND, 0, w.data(), 64, 0, false, be.data()).status);
      out["streaming"] = int(i.access(tlm::TLM_WRITE_COMMAND, 0, w.data(), 64, 10, false, nullptr, 4).status);
      i.access(tlm::TLM_READ_COMMAND, 0, r.data(), 64, 20, false);
      out["unchanged"] = std::all_of(r.begin(), r.end(), [](unsigned char c) { return c == 0; });
      out["pages"] = dram.storedPages();
    });
    a.socket.bind(dram.socket);
    sc_core::sc_start();
    return out;
  });
  CHECK(j["byte_enable"] == int(tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE));
  CHECK(j["streaming"] == int(tlm::TLM_BURST_ERROR_RESPONSE));
  CHECK(j["unchanged"].get<bool>());
  CHECK(j["pages"] == 0);
}
