// [module] The embeddable Accelerator (docs/embedding.md): bound to a user's plain memory target
// (memcpy, fixed annotated delay, RequestCycle ignored), and unbound (the internal DRAM model).
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <unordered_map>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "SimTestUtil.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/sim/Accelerator.hpp"
#include "mpsim/sim/Isolated.hpp"

using namespace mpsim;

namespace {

const std::string kChainCfg = std::string("network: {model: ") + MPSIM_SOURCE_DIR +
                              "/test/data/chain.yaml}\nhardware: {device: zcu104, clock_mhz: 200}\n";
const std::vector<std::string> kSets = {"mapping.layers.fc.weights=dram", "simulation.frames=3"};

using Design = flow::Design;
Design chainDesign() {
  return flow::map(flow::loadText(kChainCfg, "<test>", kSets, MPSIM_SOURCE_DIR "/configs/examples"));
}

/// A user's memory: a plain TLM-2.0 target. It copies data to and from a sparse store, annotates a
/// fixed delay, knows nothing of mpsim's extension, and counts the bytes per 2^40 address region.
struct UserMemory : sc_core::sc_module {
  tlm_utils::simple_target_socket<UserMemory> socket;
  const sc_core::sc_time latency{100, sc_core::SC_NS};
  std::unordered_map<uint64_t, std::vector<unsigned char>> pages; // 4 KiB pages
  std::map<uint64_t, uint64_t> readBytes, writeBytes, requests;   // by region
  uint64_t nullData = 0;

  explicit UserMemory(sc_core::sc_module_name n) : sc_module(n), socket("socket") {
    socket.register_b_transport(this, &UserMemory::b_transport);
  }
  void b_transport(tlm::tlm_generic_payload& t, sc_core::sc_time& delay) {
    unsigned char* data = t.get_data_ptr();
    const uint64_t addr = t.get_address(), len = t.get_data_length();
    if (!data) {
      ++nullData;
      t.set_response_status(tlm::TLM_GENERIC_ERROR_RESPONSE);
      return;
    }
    for (uint64_t i = 0; i < len; ++i) {
      const uint64_t a = addr + i;
      auto& page = pages[a / 4096];
      if (page.empty()) page.assign(4096, 0);
      if (t.is_write())
        page[a % 4096] = data[i];
      else
        data[i] = page[a % 4096];
    }
    const uint64_t region = addr >> sim::Accelerator::kRegionShift;
    (t.is_write() ? writeBytes : readBytes)[region] += len;
    ++requests[region];
    delay += latency;
    t.set_response_status(tlm::TLM_OK_RESPONSE);
  }
};

/// Waits for the accelerator's done event and records when it came.
struct Host : sc_core::sc_module {
  SC_HAS_PROCESS(Host);
  const sim::Accelerator& acc;
  double doneAt = -1;
  Host(sc_core::sc_module_name n, const sim::Accelerator& a) : sc_module(n), acc(a) { SC_THREAD(run); }
  void run() {
    sc_core::wait(acc.done());
    doneAt = sc_core::sc_time_stamp().to_seconds();
  }
};

} // namespace

TEST_CASE("the Accelerator bound to a user's plain memory completes its frames through it",
          "[module][sim][accelerator]") {
  auto j = sim::runInChild([] {
    Design d = chainDesign();
    const sim::AcceleratorParams p = sim::acceleratorParams(d.run.config, flow::simOptions(d));
    UserMemory mem("mem");
    sim::Accelerator acc("acc", d.mapping, p);
    acc.socket.bind(mem.socket);
    Host host("host", acc);
    sc_core::sc_start();
    const sim::SimResult r = acc.result();
    nlohmann::json out;
    out["result"] = r;
    out["internal_dram"] = acc.internalDram() != nullptr;
    out["finished"] = acc.finished();
    out["null_data"] = mem.nullData;
    out["done_at"] = host.doneAt;
    out["period"] = p.period().to_seconds();
    for (size_t i = 0; i < acc.regions().size(); ++i) {
      const auto& reg = acc.regions()[i];
      out["regions"].push_back({{"engine", reg.engine},
                                {"module", reg.module},
                                {"base", reg.base},
                                {"read", mem.readBytes[i]},
                                {"write", mem.writeBytes[i]},
                                {"requests", mem.requests[i]}});
    }
    out["other_regions"] = mem.requests.size() > acc.regions().size();
    return out;
  });
  const auto r = j["result"].get<sim::SimResult>();
  CHECK_FALSE(j["internal_dram"].get<bool>());
  CHECK(j["finished"].get<bool>());
  CHECK(j["null_data"] == 0);
  CHECK_FALSE(r.deadlock.detected);
  REQUIRE(r.frames_done == 3);
  // The done event came when the output DMA had issued its last write (the initiators run ahead of
  // the kernel: the write completes at frame_done.back(), no earlier).
  CHECK(j["done_at"].get<double>() > 0);

  // Three initiators, each in its own region, in mapping order: the input DMA, fc's weight
  // streamer, the output DMA; all their traffic reached the user's memory.
  Design d = chainDesign();
  auto bytesPerFrame = [&](const std::string& e) {
    return uint64_t(d.mapping.engines.at(size_t(d.mapping.indexOf(e))).bytes_per_frame);
  };
  const auto& regs = j["regions"];
  REQUIRE(regs.size() == 3);
  CHECK_FALSE(j["other_regions"].get<bool>());
  CHECK(regs[0]["engine"] == "input");
  CHECK(regs[1]["engine"] == "fc.weights");
  CHECK(regs[1]["module"] == "acc.fc_weights"); // SystemC names: '.' replaced
  CHECK(regs[2]["engine"] == "output");
  for (size_t i = 0; i < 3; ++i) {
    CHECK(regs[i]["base"].get<uint64_t>() == uint64_t(i) << sim::Accelerator::kRegionShift);
    CHECK(regs[i]["read"].get<uint64_t>() == r.dram.at(i).read_bytes);
    CHECK(regs[i]["write"].get<uint64_t>() == r.dram.at(i).write_bytes);
    CHECK(regs[i]["requests"].get<uint64_t>() == r.dram.at(i).requests);
  }
  CHECK(regs[0]["read"].get<uint64_t>() == 3 * bytesPerFrame("input"));
  CHECK(regs[0]["write"].get<uint64_t>() == 0);
  CHECK(regs[1]["read"].get<uint64_t>() == 3 * bytesPerFrame("fc.weights"));
  CHECK(regs[2]["write"].get<uint64_t>() == 3 * bytesPerFrame("output"));
  CHECK(regs[2]["read"].get<uint64_t>() == 0);
  // The memory ignores the extension: the initiators take request cycle + the annotated 100 ns
  // (20 cycles at 200 MHz). The first input burst is requested at cycle 0 and so ready at 20: the
  // input DMA's first token cannot be written before.
  CHECK(r.first_input == 0);
  for (const auto& e : r.engines)
    if (e.name == "input") CHECK(e.first_output >= 20);
  CHECK(r.frame_done.at(0) >= 20);
  CHECK(j["done_at"].get<double>() <= double(r.frame_done.back()) * j["period"].get<double>() * (1 + 1e-9));
}

TEST_CASE("the Accelerator left unbound uses the internal DRAM: simulate()'s cycles, and transport_dbg works",
          "[module][sim][accelerator]") {
  auto j = sim::runInChild([] {
    Design d = chainDesign();
    const sim::AcceleratorParams p = sim::acceleratorParams(d.run.config, flow::simOptions(d));
    sim::Accelerator acc("acc", d.mapping, p);
    sc_core::sc_start();
    nlohmann::json out;
    out["result"] = acc.result();
    if (!acc.internalDram()) throw std::runtime_error("no internal DRAM");
    out["dram_name"] = acc.internalDram()->name();
    out["swu_module"] = sc_core::sc_find_object("acc.c1_swu") != nullptr;
    out["pages_after_run"] = acc.internalDram()->storedPages(); // the accelerator's zeros store nothing

    // Debug transport through the accelerator's socket into the DRAM model: write, read back, and
    // a never-written address reads as zeros.
    const uint64_t base = acc.regions().at(2).base + 4000; // straddles a 4 KiB page boundary
    std::vector<unsigned char> w(200), back(200, 0xff), zeros(64, 0xff);
    for (size_t i = 0; i < w.size(); ++i) w[i] = (unsigned char)(i * 7 + 1);
    tlm::tlm_generic_payload t;
    t.set_command(tlm::TLM_WRITE_COMMAND);
    t.set_address(base);
    t.set_data_ptr(w.data());
    t.set_data_length(unsigned(w.size()));
    out["dbg_write"] = acc.debugTransport(t);
    t.set_command(tlm::TLM_READ_COMMAND);
    t.set_data_ptr(back.data());
    out["dbg_read"] = acc.debugTransport(t);
    out["same"] = back == w;
    t.set_address(acc.regions().at(0).base + 12345);
    t.set_data_ptr(zeros.data());
    t.set_data_length(unsigned(zeros.size()));
    acc.debugTransport(t);
    out["zeros"] = std::all_of(zeros.begin(), zeros.end(), [](unsigned char c) { return c == 0; });
    out["pages"] = acc.internalDram()->storedPages();
    return out;
  });
  const auto r = j["result"].get<sim::SimResult>();
  CHECK(r.frames_done == 3);
  CHECK_FALSE(r.deadlock.detected);
  CHECK(j["dram_name"] == "acc.dram");
  CHECK(j["swu_module"].get<bool>());
  CHECK(j["pages_after_run"] == 0);
  CHECK(j["dbg_write"] == 200);
  CHECK(j["dbg_read"] == 200);
  CHECK(j["same"].get<bool>());
  CHECK(j["zeros"].get<bool>());
  CHECK(j["pages"] == 2);

  // The same cycles, engine, stream and DRAM statistics as simulate() (which is this module plus
  // the time slices).
  Design d = chainDesign();
  const auto s = sim::simulateIsolated(d.mapping, d.run.config, flow::simOptions(d));
  nlohmann::json a = r, b = s;
  a.erase("wall_seconds");
  b.erase("wall_seconds");
  CHECK(a == b);
}

TEST_CASE("SystemC module names of engines are legal, unique and deterministic", "[unit][sim][accelerator]") {
  const auto n = sim::legalModuleNames({"conv1.swu", "conv1_swu", "", "a b/c:d", "dram", "conv1.swu"}, {"dram"});
  CHECK(n == std::vector<std::string>{"conv1_swu", "conv1_swu_2", "e2", "a_b_c_d", "dram_2", "conv1_swu_3"});
}
