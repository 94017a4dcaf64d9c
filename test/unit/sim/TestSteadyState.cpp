// The periodic steady state detector (sim/SteadyState): found exactly when every channel repeats
// with one shift over the horizon (and the stride), never on a pattern that only nearly repeats.
#include <catch2/catch.hpp>

#include <functional>
#include <vector>

#include "mpsim/sim/SteadyState.hpp"

using mpsim::sim::SteadyState;

namespace {

// Feeds `frames` frames of two channels (3 and 2 events per frame) whose event k of frame f is at
// time(ch, f, k); returns the frame at which the steady state was found (-1: never).
int64_t feed(SteadyState& ss, int frames, const std::function<uint64_t(int, int, int)>& time) {
  const int a = ss.addChannel(3), b = ss.addChannel(2);
  int64_t foundAt = -1;
  ss.setOnFound([&] { foundAt = int64_t(ss.frame()); });
  for (int f = 0; f < frames && foundAt < 0; ++f) {
    for (int k = 0; k < 3; ++k) ss.record(a, time(0, f, k));
    for (int k = 0; k < 2; ++k) ss.record(b, time(1, f, k));
  }
  return foundAt;
}

} // namespace

TEST_CASE("SteadyState finds a pattern that repeats with one period after a transient", "[unit][sim]") {
  SteadyState ss(2, 1);
  ss.setFrames(100);
  // Frames 0..3 are a transient (frame f's events later by (4 - f)^2 cycles, no constant shift);
  // from frame 4 on, every frame is the previous one 100 cycles later.
  const int64_t at = feed(ss, 100, [](int ch, int f, int k) {
    const uint64_t transient = f < 4 ? uint64_t((4 - f) * (4 - f)) : 0;
    return uint64_t(1000 + 100 * f + 10 * k + 3 * ch) + transient;
  });
  // Frames f - 2 .. f must each equal the frame before, their first difference (against the
  // previous frame's last event) included: 4 is the first periodic frame, frame 5's first
  // difference equals frame 4's only from frame 6 on (frame 3's last event is in the transient), so
  // f - 2 = 6 gives f = 8.
  CHECK(at == 8);
  CHECK(ss.found());
  CHECK(ss.period() == 100);
  CHECK(ss.windowStart() == 6);
}

TEST_CASE("SteadyState does not fire on a pattern that differs in one event", "[unit][sim]") {
  SteadyState ss(2, 1);
  ss.setFrames(100);
  // One event of channel 1 alternates by one cycle between frames: never periodic with stride 1.
  const int64_t at = feed(ss, 100, [](int ch, int f, int k) {
    return uint64_t(100 * f + 10 * k) + (ch == 1 && k == 1 ? uint64_t(f % 2) : 0);
  });
  CHECK(at == -1);
  CHECK_FALSE(ss.found());
}

TEST_CASE("SteadyState with a stride finds patterns that repeat every s frames", "[unit][sim]") {
  // The same alternating pattern repeats every 2 frames, 200 cycles later.
  auto time = [](int ch, int f, int k) { return uint64_t(100 * f + 10 * k) + (ch == 1 && k == 1 ? uint64_t(f % 2) : 0); };
  SteadyState ss(2, 2);
  ss.setFrames(100);
  const int64_t at = feed(ss, 100, time);
  CHECK(at >= 0);
  CHECK(ss.period() == 200);
  CHECK(ss.stride() == 2);
}

TEST_CASE("SteadyState needs different shifts to agree across channels", "[unit][sim]") {
  // Channel 0 repeats every 100 cycles, channel 1 every 101: not one period.
  SteadyState ss(1, 1);
  ss.setFrames(100);
  const int64_t at =
      feed(ss, 100, [](int ch, int f, int k) { return uint64_t((ch == 0 ? 100 : 101) * f + 10 * k); });
  CHECK(at == -1);
}

TEST_CASE("SteadyState asks for extra frames and stops when told never", "[unit][sim]") {
  auto time = [](int, int f, int k) { return uint64_t(100 * f + 10 * k); };
  {
    SteadyState ss(1, 1);
    ss.setFrames(100);
    uint64_t asked = 0;
    ss.setExtraFrames([&](uint64_t P) {
      asked = P;
      return 3;
    });
    const int64_t at = feed(ss, 100, time);
    CHECK(asked == 100);
    // Without extra frames: frames f - 1 .. f from f = 2 on (frame 1 is the first with a previous
    // frame for its first difference, frame 0 none); with 3 more, f - 4 >= 2.
    CHECK(at == 6);
  }
  {
    SteadyState ss(1, 1);
    ss.setFrames(100);
    ss.setExtraFrames([](uint64_t) { return -1; });
    CHECK(feed(ss, 100, time) == -1);
    CHECK_FALSE(ss.active());
  }
  {
    SteadyState ss(1, 1);
    ss.setFrames(4); // found at frame 3 = the last frame: nothing to skip
    CHECK(feed(ss, 4, time) == -1);
  }
}

TEST_CASE("SteadyState keeps the last stride frames of a channel's times when asked", "[unit][sim]") {
  SteadyState ss(1, 2);
  const int c = ss.addChannel(2, true);
  for (int f = 0; f < 5; ++f)
    for (int k = 0; k < 2; ++k) ss.record(c, uint64_t(100 * f + k));
  // Frames 3 (slot 1) and 4 (slot 0): event k of frame f at (f % 2) * 2 + k.
  const std::vector<uint64_t> want{400, 401, 300, 301};
  CHECK(ss.latest(c) == want);
}
