// A small virtual platform around mpsim's Accelerator (docs/embedding.md): a host CPU model and the
// accelerator share a bus to the platform's memory, all three written here, by the user.
//
//   host (initiator) ----+
//                        bus --> memory (plain TLM-2.0 target: memcpy + a fixed delay)
//   accelerator ---------+
//
// The host writes the input frames into the input DMA's address region, waits for the accelerator's
// done event, then reads the output region back with debug transport. sc_main loads a built-in zoo
// network or a run config through the library, runs sc_start and prints the accelerator's frame
// rate and the traffic each address region saw at the memory.
//
// Usage: embed_vp [zoo-model | run-config.yaml] [frames] [key=value ...]   (default: tfc 4)
// A zoo model runs on a ZCU102 at 200 MHz unless key=value overrides say otherwise.
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include <mpsim/flow/Flow.hpp>
#include <mpsim/sim/Accelerator.hpp>
#include <mpsim/sim/Simulator.hpp>

namespace {

/// The platform's memory: sparse 4 KiB pages, a fixed access time, no knowledge of mpsim.
struct Memory : sc_core::sc_module {
  tlm_utils::simple_target_socket<Memory> socket;
  sc_core::sc_time latency{60, sc_core::SC_NS};
  std::unordered_map<uint64_t, std::vector<unsigned char>> pages;
  std::map<uint64_t, uint64_t> bytesByRegion; // address >> Accelerator::kRegionShift

  explicit Memory(sc_core::sc_module_name n) : sc_module(n), socket("socket") {
    socket.register_b_transport(this, &Memory::b_transport);
    socket.register_transport_dbg(this, &Memory::transport_dbg);
  }
  void copy(tlm::tlm_generic_payload& t) {
    unsigned char* data = t.get_data_ptr();
    for (uint64_t i = 0, a = t.get_address(); i < t.get_data_length(); ++i, ++a) {
      auto& page = pages[a / 4096];
      if (page.empty()) page.assign(4096, 0);
      if (t.is_write())
        page[a % 4096] = data[i];
      else
        data[i] = page[a % 4096];
    }
    t.set_response_status(tlm::TLM_OK_RESPONSE);
  }
  void b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
    copy(t);
    bytesByRegion[t.get_address() >> mpsim::sim::Accelerator::kRegionShift] += t.get_data_length();
    delay += latency;
  }
  unsigned transport_dbg(tlm::tlm_generic_payload& t) {
    copy(t);
    return t.get_data_length();
  }
};

/// A one-target bus: forwards every request to the memory, adding one hop of delay.
struct Bus : sc_core::sc_module {
  tlm_utils::multi_passthrough_target_socket<Bus> targets;
  tlm_utils::simple_initiator_socket<Bus> memory;
  explicit Bus(sc_core::sc_module_name n) : sc_module(n), targets("targets"), memory("memory") {
    targets.register_b_transport(this, &Bus::b_transport);
    targets.register_transport_dbg(this, &Bus::transport_dbg);
  }
  void b_transport(int, tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
    delay += sc_core::sc_time(5, sc_core::SC_NS);
    memory->b_transport(t, delay);
  }
  unsigned transport_dbg(int, tlm::tlm_generic_payload& t) { return memory->transport_dbg(t); }
};

/// The host: loads the input frames into the input DMA's region, then waits for the accelerator.
struct Host : sc_core::sc_module {
  SC_HAS_PROCESS(Host);
  tlm_utils::simple_initiator_socket<Host> socket;
  const mpsim::sim::Accelerator& acc;
  uint64_t inputBytes;
  double doneAt = -1;

  Host(sc_core::sc_module_name n, const mpsim::sim::Accelerator& a, uint64_t bytes)
      : sc_module(n), socket("socket"), acc(a), inputBytes(bytes) {
    SC_THREAD(run);
  }
  void run() {
    std::vector<unsigned char> frame(inputBytes);
    for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<unsigned char>(i * 31 + 7);
    tlm::tlm_generic_payload t;
    t.set_command(tlm::TLM_WRITE_COMMAND);
    t.set_address(acc.regions().front().buffer); // where the input DMA reads its frames
    t.set_data_ptr(frame.data());
    t.set_data_length(static_cast<unsigned>(frame.size()));
    t.set_streaming_width(static_cast<unsigned>(frame.size()));
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    socket->b_transport(t, delay);
    sc_core::wait(delay);
    sc_core::wait(acc.done());
    doneAt = sc_core::sc_time_stamp().to_seconds();
  }
};

bool endsWith(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

} // namespace

int sc_main(int argc, char* argv[]) {
  spdlog::set_level(spdlog::level::warn);
  const std::string what = argc > 1 ? argv[1] : "tfc";
  const int frames = argc > 2 ? std::stoi(argv[2]) : 4;
  std::vector<std::string> sets{"simulation.frames=" + std::to_string(frames)};
  for (int i = 3; i < argc; ++i) sets.emplace_back(argv[i]);

  try {
    // The library's flow: a run config (a file, or a zoo network with the defaults), scheduled or
    // mapped as it says, and the Accelerator's parameters.
    const mpsim::flow::Design design = mpsim::flow::map(
        endsWith(what, ".yaml") || endsWith(what, ".yml")
            ? mpsim::flow::load(what, sets)
            : mpsim::flow::loadText("network: {model: " + what + "}\nhardware: {device: zcu102, clock_mhz: 200}\n",
                                    "<embed_vp>", sets));
    const mpsim::config::Run& run = design.run;
    const mpsim::sched::Mapping& mapping = design.mapping;
    const mpsim::sim::AcceleratorParams params =
        mpsim::sim::acceleratorParams(run.config, mpsim::flow::simOptions(design));

    Memory mem("mem");
    Bus bus("bus");
    mpsim::sim::Accelerator acc("acc", mapping, params);
    const auto& in = mapping.engines.at(static_cast<size_t>(mapping.indexOf(acc.regions().front().engine)));
    Host host("host", acc, static_cast<uint64_t>(in.bytes_per_frame));
    host.socket.bind(bus.targets);
    acc.socket.bind(bus.targets); // bound: no internal DRAM model
    bus.memory.bind(mem.socket);

    sc_core::sc_start();

    const mpsim::sim::SimResult r = acc.result();
    if (r.deadlock.detected) {
      std::printf("deadlock at cycle %llu\n", static_cast<unsigned long long>(r.deadlock.cycle));
      return 4;
    }
    std::printf("%s: %d of %d frames done, internal DRAM model: %s\n", run.graph.name().c_str(), r.frames_done,
                r.frames, acc.internalDram() ? "yes" : "no");
    for (size_t i = 0; i < acc.regions().size(); ++i) {
      const auto& reg = acc.regions()[i];
      std::printf("  region %zu at 0x%012llx %-24s %-16s %llu bytes\n", i, static_cast<unsigned long long>(reg.base),
                  reg.engine.c_str(), reg.module.c_str(), static_cast<unsigned long long>(mem.bytesByRegion[i]));
    }
    // The steady-state interval: between the last two frames' completions.
    if (r.frame_done.size() >= 2) {
      const uint64_t interval = r.frame_done.back() - r.frame_done[r.frame_done.size() - 2];
      std::printf("%.2f fps (%llu cycles per frame at %g MHz); done event at %.3f us\n",
                  params.clock_mhz * 1e6 / static_cast<double>(interval), static_cast<unsigned long long>(interval),
                  params.clock_mhz, host.doneAt * 1e6);
    }
    // The output region, read back with debug transport through the accelerator's socket.
    std::vector<unsigned char> out(16, 0xff);
    tlm::tlm_generic_payload t;
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_address(acc.regions().back().buffer); // where the output DMA writes its frames
    t.set_data_ptr(out.data());
    t.set_data_length(static_cast<unsigned>(out.size()));
    std::printf("output region: %u bytes read back by debug transport\n", acc.debugTransport(t));
    return r.frames_done == r.frames ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embed_vp: %s\n", e.what());
    return 1;
  }
}
