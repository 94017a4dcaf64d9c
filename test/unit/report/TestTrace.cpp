// Timeline options (report/Trace.hpp): --trace-frames and --trace-engines.
#include <catch2/catch.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/report/Trace.hpp"

using namespace mpsim;

TEST_CASE("trace frames: --trace-frames accepts A:B, A: and A within the simulated frames", "[unit]") {
  auto f = report::parseTraceFrames("1:2", 4);
  CHECK(f.first == 1);
  CHECK(f.last == 2);
  f = report::parseTraceFrames("2:", 4);
  CHECK(f.first == 2);
  CHECK(f.last == -1);
  f = report::parseTraceFrames("3", 4);
  CHECK(f.first == 3);
  CHECK(f.last == 3);
}

TEST_CASE("trace frames: --trace-frames refuses bad syntax and frames not simulated, naming the option", "[unit]") {
  for (const char* bad : {"", ":", "a:b", "1-2", "2:1", "4", "0:4", "-1:2", "1:2:3", " 1"}) {
    INFO(bad);
    try {
      report::parseTraceFrames(bad, 4);
      FAIL("accepted");
    } catch (const UsageError& e) {
      const std::string m = e.what();
      CHECK(m.find("--trace-frames") != std::string::npos);
      CHECK(m.find("A:B") != std::string::npos);
      CHECK(m.find("0..3") != std::string::npos);
    }
  }
}

TEST_CASE("trace engines: --trace-engines selects by shell patterns and refuses a pattern that matches nothing", "[unit]") {
  sched::Mapping m;
  for (const char* n : {"input", "conv1.swu", "conv1", "layer1.0.conv1", "layer1.0.add", "output"}) {
    sched::EngineSpec e;
    e.name = n;
    m.engines.push_back(e);
  }
  auto sel = report::selectEngines(m, "conv1*,layer1.0.add");
  CHECK(sel == std::vector<bool>{false, true, true, false, true, false});
  CHECK_THROWS_WITH(report::selectEngines(m, "conv1,nosuch*"),
                    Catch::Contains("'nosuch*' matches no engine") && Catch::Contains("conv1.swu"));
  CHECK_THROWS_AS(report::selectEngines(m, "conv1,"), UsageError);
}
