// Timeline recording (sim/Timeline.hpp): merging of engine intervals and counter windows.
#include <catch2/catch.hpp>

#include "mpsim/sim/Timeline.hpp"

using namespace mpsim::sim;

TEST_CASE("engine intervals of one kind that touch are one slice", "[unit]") {
  EngineTrack t(10);
  t.add(Activity::Busy, -1, 0, 50);
  t.add(Activity::Busy, -1, 50, 120);
  t.add(Activity::Blocked, 3, 120, 200);
  t.add(Activity::Blocked, 3, 200, 260);
  t.finish();
  REQUIRE(t.slices().size() == 2);
  CHECK(t.slices()[0].begin == 0);
  CHECK(t.slices()[0].end == 120);
  CHECK(t.slices()[0].what == Activity::Busy);
  CHECK_FALSE(t.slices()[0].mixed);
  CHECK(t.slices()[1].what == Activity::Blocked);
  CHECK(t.slices()[1].fifo == 3);
  CHECK(t.slices()[1].end == 260);
}

TEST_CASE("short intervals join a slice, named by the activity with the most cycles", "[unit]") {
  EngineTrack t(100);
  // Per token 3 cycles starved on FIFO 1, 9 busy: 12-cycle tokens, below the resolution.
  for (uint64_t k = 0; k < 100; ++k) {
    t.add(Activity::Starved, 1, 12 * k, 12 * k + 3);
    t.add(Activity::Busy, -1, 12 * k + 3, 12 * k + 12);
  }
  t.finish();
  REQUIRE(!t.slices().empty());
  uint64_t busy = 0, starved = 0, end = 0;
  for (const auto& s : t.slices()) {
    CHECK(s.begin == end); // contiguous, in order
    end = s.end;
    CHECK(s.what == Activity::Busy);
    CHECK(s.end - s.begin <= 100 + 12);
    busy += s.cycles[size_t(Activity::Busy)];
    starved += s.cycles[size_t(Activity::Starved)];
  }
  CHECK(end == 1200);
  CHECK(busy == 900); // no cycle lost in merging
  CHECK(starved == 300);
  CHECK(t.slices().size() <= 1200 / 100 + 1);
}

TEST_CASE("a gap closes the slice, and long intervals of another kind start a new one", "[unit]") {
  EngineTrack t(10);
  t.add(Activity::Busy, -1, 0, 100);
  t.add(Activity::Busy, -1, 150, 200); // idle 100..150
  t.add(Activity::Starved, 2, 200, 400);
  t.finish();
  REQUIRE(t.slices().size() == 3);
  CHECK(t.slices()[1].begin == 150);
  CHECK(t.slices()[2].what == Activity::Starved);
  CHECK(t.slices()[2].fifo == 2);
}

TEST_CASE("a counter keeps each window's maximum and the final value", "[unit]") {
  CounterTrack c(10);
  c.set(1, 1);
  c.set(2, 2);
  c.set(3, 1); // window 0: max 2
  c.set(25, 3);
  c.set(26, 0); // window 2: max 3, then 0 held
  c.finish();
  const auto& p = c.points();
  REQUIRE(p.size() >= 3);
  CHECK(p[0] == std::make_pair<uint64_t, int64_t>(0, 2));
  CHECK(p[1] == std::make_pair<uint64_t, int64_t>(10, 1)); // the value held after window 0
  CHECK(p[2] == std::make_pair<uint64_t, int64_t>(20, 3));
  CHECK(p.back() == std::make_pair<uint64_t, int64_t>(30, 0));
  int64_t mx = 0;
  for (const auto& q : p) mx = std::max(mx, q.second);
  CHECK(mx == 3);
}

TEST_CASE("bytes are summed per window, in window order", "[unit]") {
  BytesTrack b(64);
  b.add(70, 100);
  b.add(10, 50); // completes out of order
  b.add(100, 1);
  REQUIRE(b.windows().size() == 2);
  CHECK(b.windows()[0] == std::make_pair<uint64_t, uint64_t>(0, 50));
  CHECK(b.windows()[1] == std::make_pair<uint64_t, uint64_t>(1, 101));
}
