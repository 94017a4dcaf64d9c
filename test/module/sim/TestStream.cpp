// Stream bench (sim/Stream.hpp): a producer and a consumer thread around one FIFO. Checks the FIFO
// order of tokens and their values, the occupancy bounded by the depth (in the kernel and in
// simulated time), blocking in the kernel on a full and on an empty FIFO, and the timestamps: pop()
// returns a token's write cycle, and the write of token k gets the slot freed by the read of token
// k - depth (same cycle allowed). SystemC elaborates once per process: each bench runs in a child.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>

#include "mpsim/sim/Isolated.hpp"
#include "mpsim/sim/Stream.hpp"

using namespace mpsim;

namespace {

struct BenchOptions {
  int64_t depth = 2;
  int64_t tokens = 6;
  uint64_t readCycles = 10; // consumer: cycles to read one token (its read ends that much later)
  bool fastReader = false;  // consumer: a token written at w is fully read at w + 1 (no other delay)
  int producerStartNs = 0;  // kernel time before the producer starts
  int consumerStartNs = 0;  // kernel time before the consumer starts
  bool payload = false;     // functional mode: every token carries {k, 100 + k}
};

// Producer: token k at local cycle max(previous + 1, slot free); consumer: reads each token from
// max(its own time, write cycle) and records the read end. Observations go to JSON (the bench runs
// in a child process).
struct StreamBench : sc_core::sc_module {
  SC_HAS_PROCESS(StreamBench);
  BenchOptions o;
  sim::Stream s;
  nlohmann::json j;
  StreamBench(sc_core::sc_module_name n, const BenchOptions& opt) : sc_module(n), o(opt), s("s", opt.depth) {
    j["slots"] = j["writes"] = j["popped"] = j["values"] = j["read_ends"] = nlohmann::json::array();
    j["max_kernel_occupancy"] = 0;
    SC_THREAD(producer);
    SC_THREAD(consumer);
  }
  void sample() { j["max_kernel_occupancy"] = std::max(j["max_kernel_occupancy"].get<int64_t>(), s.occupancyNow()); }
  void producer() {
    if (o.producerStartNs > 0) {
      sc_core::wait(o.producerStartNs, sc_core::SC_NS);
      // The consumer started first and waits in the kernel on the empty FIFO.
      j["reader_waiting_before_first_write"] = s.readerWaiting();
      j["empty_before_first_write"] = s.empty();
    }
    uint64_t t = 0;
    for (int64_t k = 0; k < o.tokens; ++k) {
      if (k == o.depth) j["full_before_write_depth"] = s.full();
      const uint64_t slot = s.waitSlot();
      if (k == o.depth) j["slot_depth_returned_at_ns"] = sc_core::sc_time_stamp().to_seconds() * 1e9;
      t = std::max(k == 0 ? 0 : t + 1, slot);
      if (o.payload)
        s.push(t, std::make_shared<const std::vector<int32_t>>(std::vector<int32_t>{int32_t(k), int32_t(100 + k)}));
      else
        s.push(t);
      j["slots"].push_back(slot);
      j["writes"].push_back(t);
      sample();
    }
  }
  void consumer() {
    if (o.consumerStartNs > 0) {
      sc_core::wait(o.consumerStartNs, sc_core::SC_NS);
      // The producer filled the FIFO and waits in the kernel for a slot.
      j["writer_waiting_before_first_read"] = s.writerWaiting();
      j["written_before_first_read"] = s.tokensWritten();
      j["occupancy_before_first_read"] = s.occupancyNow();
    }
    uint64_t end = 0;
    for (int64_t k = 0; k < o.tokens; ++k) {
      const uint64_t w = s.pop();
      if (k == 0) j["first_pop_at_ns"] = sc_core::sc_time_stamp().to_seconds() * 1e9;
      j["popped"].push_back(w);
      if (o.payload)
        j["values"].push_back(s.popped() ? nlohmann::json(*s.popped()) : nlohmann::json("missing payload"));
      else
        j["values"].push_back(s.popped() ? "unexpected payload" : "none");
      end = o.fastReader ? std::max(end, w + 1) : std::max(end, w) + o.readCycles;
      s.readDone(end);
      j["read_ends"].push_back(end);
      sample();
    }
    j["max_occupancy"] = s.maxOccupancy();
    j["tokens_written"] = s.tokensWritten();
    j["empty_at_end"] = s.empty();
  }
};

nlohmann::json runBench(const BenchOptions& o) {
  return sim::runInChild([&] {
    StreamBench b("bench", o);
    sc_core::sc_start();
    b.j["depth"] = b.s.depth();
    return b.j;
  });
}

std::vector<uint64_t> u64s(const nlohmann::json& a) { return a.get<std::vector<uint64_t>>(); }

} // namespace

TEST_CASE("stream: tokens and their values leave in the order they entered", "[module][sim]") {
  BenchOptions o;
  o.depth = 3;
  o.tokens = 9;
  o.payload = true;
  const auto r = runBench(o);
  REQUIRE(r["values"].size() == 9);
  for (int k = 0; k < 9; ++k) {
    INFO("token " << k);
    CHECK(r["values"][size_t(k)] == nlohmann::json({k, 100 + k}));
  }
  // pop() returns the write cycles in write order.
  CHECK(r["popped"] == r["writes"]);
  CHECK(r["tokens_written"] == 9);
  CHECK(r["empty_at_end"] == true);
  // Without values a token carries none.
  o.payload = false;
  const auto bare = runBench(o);
  CHECK(bare["values"] == nlohmann::json(std::vector<std::string>(9, "none")));
  CHECK(bare["popped"] == bare["writes"]);
}

TEST_CASE("stream: the write of token k waits for the read of token k - depth, occupancy never exceeds the depth",
          "[module][sim]") {
  // A slow reader (10 cycles per token) behind a producer that could write every cycle: the FIFO
  // fills, then each write takes the slot the read of token k - depth frees, in the same cycle.
  for (int64_t depth : {1, 2, 3, 5}) {
    INFO("depth " << depth);
    BenchOptions o;
    o.depth = depth;
    o.tokens = 12;
    const auto r = runBench(o);
    const auto writes = u64s(r["writes"]), slots = u64s(r["slots"]), reads = u64s(r["read_ends"]);
    REQUIRE(writes.size() == 12);
    REQUIRE(reads.size() == 12);
    for (size_t k = 0; k < 12; ++k) {
      INFO("token " << k);
      CHECK(reads[k] == 10 * (k + 1)); // the reader is the bottleneck
      if (int64_t(k) < depth) {
        CHECK(slots[k] == 0); // a free slot from the start
        CHECK(writes[k] == k);
      } else {
        CHECK(slots[k] == reads[k - size_t(depth)]);
        CHECK(writes[k] == reads[k - size_t(depth)]);
      }
    }
    CHECK(r["max_occupancy"] == depth); // full in simulated time
    CHECK(r["max_kernel_occupancy"].get<int64_t>() <= depth);
  }
  // A stream of depth 0 holds one token.
  BenchOptions zero;
  zero.depth = 0;
  zero.tokens = 3;
  const auto z = runBench(zero);
  CHECK(z["depth"] == 1);
  CHECK(z["max_occupancy"] == 1);
  CHECK(u64s(z["writes"]) == std::vector<uint64_t>{0, 10, 20});
}

TEST_CASE("stream: occupancy is measured in simulated time, not in kernel order", "[module][sim]") {
  // The reader takes each token one cycle after its write: at any cycle at most one token is in the
  // FIFO, although in the kernel the producer may run ahead by the whole depth.
  BenchOptions o;
  o.depth = 4;
  o.tokens = 10;
  o.fastReader = true;
  o.consumerStartNs = 1; // the producer runs ahead in the kernel and fills the FIFO
  const auto r = runBench(o);
  std::vector<uint64_t> expectWrites, expectReads;
  for (uint64_t k = 0; k < 10; ++k) {
    expectWrites.push_back(k);
    expectReads.push_back(k + 1);
  }
  CHECK(u64s(r["writes"]) == expectWrites);
  CHECK(u64s(r["read_ends"]) == expectReads);
  CHECK(r["occupancy_before_first_read"] == 4);
  CHECK(r["max_kernel_occupancy"] == 4);
  CHECK(r["max_occupancy"] == 1);
}

TEST_CASE("stream: a writer blocks on a full FIFO and a reader on an empty one", "[module][sim]") {
  SECTION("full: the producer waits in the kernel until the consumer reads") {
    BenchOptions o;
    o.depth = 2;
    o.tokens = 5;
    o.consumerStartNs = 3;
    const auto r = runBench(o);
    CHECK(r["writer_waiting_before_first_read"] == true);
    CHECK(r["written_before_first_read"] == 2); // exactly the depth, then blocked
    CHECK(r["occupancy_before_first_read"] == 2);
    CHECK(r["full_before_write_depth"] == true);
    // The slot for token `depth` came only once the consumer ran, at 3 ns.
    CHECK(r["slot_depth_returned_at_ns"].get<double>() == Approx(3));
    CHECK(r["tokens_written"] == 5);
    CHECK(r["popped"] == r["writes"]);
  }
  SECTION("empty: the consumer waits in the kernel until the producer writes") {
    BenchOptions o;
    o.depth = 2;
    o.tokens = 3;
    o.producerStartNs = 5;
    const auto r = runBench(o);
    CHECK(r["reader_waiting_before_first_write"] == true);
    CHECK(r["empty_before_first_write"] == true);
    CHECK(r["first_pop_at_ns"].get<double>() == Approx(5));
    CHECK(u64s(r["popped"]) == std::vector<uint64_t>{0, 1, 10}); // token 2 takes token 0's slot
    CHECK(r["max_occupancy"] == 2);
  }
}
