// The DRAM model's bandwidth accounting (sim/Dram: Dram::transfer): exact for slow DRAM, a bucket's
// capacity shared by the requests in it.
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "mpsim/sim/Dram.hpp"
#include "mpsim/sim/Isolated.hpp"

using namespace mpsim;

TEST_CASE("DRAM bandwidth accounting stays small and exact for slow DRAM", "[unit][robust][sim]") {
  // SystemC modules are made in a child process (one elaboration per process).
  const nlohmann::json r = sim::runInChild([] {
    sim::DramTiming t;
    t.bytes_per_cycle = 1e-6 * 1e3 / 200; // 1e-6 GB/s at 200 MHz: 5e-6 bytes per cycle
    sim::Dram dram("dram_slow", t);
    nlohmann::json j;
    // One 4 KiB burst spans 8.2e8 cycles, 1.3e7 buckets of 64 cycles: done in a few steps.
    j["first"] = dram.transfer(0, 0, 4096);
    j["second"] = dram.transfer(0, 0, 4096);                           // queues behind the first
    j["third"] = dram.transfer(0, 3 * j["first"].get<uint64_t>(), 64); // starts after both: full rate
    sim::DramTiming f;
    f.bytes_per_cycle = 16;
    sim::Dram fast("dram_fast", f);
    j["fast"] = {fast.transfer(0, 0, 512), fast.transfer(0, 0, 512), fast.transfer(0, 10, 16)};
    return j;
  });
  const double bpc = 1e-6 * 1e3 / 200;
  const uint64_t one = uint64_t(std::ceil(4096 / bpc - 1e-9));
  CHECK(r["first"].get<uint64_t>() == one);
  CHECK(r["second"].get<uint64_t>() == 2 * one);
  CHECK(r["third"].get<uint64_t>() == 3 * one + uint64_t(std::ceil(64 / bpc - 1e-9)));
  // A bucket's capacity is shared by the requests in it whatever their order: two 512-byte requests
  // at cycle 0 both fit the 1024 bytes of bucket [0, 64) and both end at 32; a third at cycle 10
  // finds it full and waits for the next bucket.
  CHECK(r["fast"] == nlohmann::json({32, 32, 65}));
}

TEST_CASE("DRAM bandwidth accounting forgets what is before every initiator's next request", "[unit][sim]") {
  const nlohmann::json r = sim::runInChild([] {
    sim::DramTiming t;
    t.bytes_per_cycle = 16;
    sim::Dram kept("dram_kept", t), trimmed("dram_trimmed", t);
    nlohmann::json j;
    // The same requests into both, one of them forgetting the past as time goes on: the same
    // completions, and a request before what was forgotten is refused.
    bool same = true;
    for (uint64_t k = 0; k < 20000; ++k) {
      const uint64_t at = k * 300, n = 4096 + (k % 7) * 512;
      same = same && kept.transfer(0, at, n) == trimmed.transfer(0, at, n);
      same = same && kept.transfer(0, at + 10, 512) == trimmed.transfer(0, at + 10, 512);
      if (k % 100 == 99) trimmed.forgetBefore(at);
    }
    j["same"] = same;
    try {
      trimmed.transfer(0, 100, 64);
      j["refused"] = false;
    } catch (const std::logic_error&) {
      j["refused"] = true;
    }
    return j;
  });
  CHECK(r["same"].get<bool>());
  CHECK(r["refused"].get<bool>());
}
