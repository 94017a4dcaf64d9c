// The input: and host: sections (docs/system.md, docs/run-config.md): strict keys, ranges, presets,
// and arrival traces: every bad row is an error naming file and line; a huge trace is read only as
// far as the frames simulated; arrival generation is deterministic.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "ConfigTestUtil.hpp"
#include "TempDir.hpp"
#include "mpsim/config/System.hpp"
#include "mpsim/hw/Device.hpp"

using namespace mpsim;
using namespace mpsim::test;

namespace {
const std::string kBase = "network: {model: tfc}\nhardware: {device: zcu104}\n";
}

TEST_CASE("input: and host: absent leave the config without them", "[config][system]") {
  auto run = config::loadRunString(kBase, "t.yaml");
  CHECK_FALSE(run.config.input);
  CHECK_FALSE(run.config.host);
  const YAML::Node eff = config::effectiveConfig(run.config);
  CHECK_FALSE(eff["input"]);
  CHECK_FALSE(eff["host"]);
}

TEST_CASE("input and host: unknown keys, missing keys and ranges are located errors", "[config][system]") {
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: periodic, fps: 30, speed: 2}}\n"), "input.arrivals.speed",
                "unknown key");
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: periodic}}\n"), "missing required key 'input.arrivals.fps'");
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {fps: 30}}\n"), "missing required key 'input.arrivals.kind'");
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: camera, fps: 30}}\n"), "input.arrivals.kind", "periodic");
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: periodic, fps: 30}, buffer_frames: 0}\n"),
                "input.buffer_frames");
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: periodic, fps: 30}, policy: wait}\n"), "input.policy",
                "drop");
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: periodic, fps: 100, jitter_us: 5000}}\n"),
                "input.arrivals.jitter_us", "half the period");
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: poisson, fps: -1}}\n"), "input.arrivals.fps");
  CHECK_MESSAGE(runErrors(kBase + "host: {batch: 0}\n"), "host.batch");
  CHECK_MESSAGE(runErrors(kBase + "host: {preset: zcu999}\n"), "host.preset", "no host preset 'zcu999'");
  CHECK_MESSAGE(runErrors(kBase + "host: {shell: {ports: 2}}\n"), "host.shell.ports", "unknown key");
  CHECK_MESSAGE(runErrors(kBase + "host: {driver_overhead_us: -3}\n"), "host.driver_overhead_us");
  CHECK_MESSAGE(runErrors(kBase + "hosts: {batch: 3}\n"), "hosts: unknown key", "host");
  CHECK_MESSAGE(runErrors(kBase + "host: {batch: 2}\ninput: {arrivals: {kind: periodic, fps: 30}}\n"),
                "cannot be combined");
}

TEST_CASE("host presets cover the boards of the device database and are overridable", "[config][system]") {
  for (const char* b : {"zcu102", "zcu104", "pynq-z1", "ultra96", "u250", "u280", "kv260", "vck190", "vek280", "vcu118"}) {
    INFO(b);
    CHECK(config::findHostPreset(b) != nullptr);
  }
  // Every device of the database has one (a device added without one gets `preset: none`, zero costs).
  for (const auto& d : hw::devices()) {
    INFO(d.name);
    CHECK(config::findHostPreset(d.name) != nullptr);
  }
  auto run = config::loadRunString(kBase + "host: {batch: 7, copy_in_gbps: 3, shell: {port_bits: 64}}\n", "t.yaml");
  REQUIRE(run.config.host);
  CHECK(run.config.host->preset == "xczu7ev");
  CHECK(run.config.host->batch == 7);
  CHECK(run.config.host->copy_in_gbps == 3);
  CHECK(run.config.host->shell.port_bits == 64);
  CHECK(run.config.host->shell.outstanding == config::findHostPreset("zcu104")->host.shell.outstanding);
  // The effective config reloads to the same host.
  auto again = config::loadRunString(YAML::Dump(config::effectiveConfig(run.config)), "eff.yaml");
  REQUIRE(again.config.host);
  CHECK(config::hostYaml(*again.config.host)["shell"]["port_bits"].as<int>() == 64);
  CHECK(YAML::Dump(config::hostYaml(*again.config.host)) == YAML::Dump(config::hostYaml(*run.config.host)));
}

TEST_CASE("arrival traces: each malformed row is an error naming file and line", "[config][system]") {
  TempDir tmp;
  struct Case {
    const char* text;
    const char* line;
    const char* what;
  };
  const Case cases[] = {
      {"frame,time_ms\n0,0\n1,5\n2,4\n", ":4:", "earlier than the previous"},
      {"frame,time_ms\n0,-1\n", ":2:", "negative"},
      {"# c\nframe,time_ms\n0,0\n0,1\n", ":4:", "does not increase"},
      {"frame,time_ms\n0,abc\n", ":2:", "not a number"},
      {"frame,time_ms\n-1,0\n", ":2:", "not a non-negative integer"},
      {"frame,time_ms\n0,1,2\n", ":2:", "expected 2 columns"},
      {"frame,seconds\n0,0\n", ":1:", "header"},
      {"# only comments\n", "", "no rows"},
      {"frame,time_s\n0,2e6\n", ":2:", "beyond"},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string f = tmp.write("t" + std::to_string(i++) + ".csv", c.text);
    INFO(c.text);
    const auto errs = runErrors(kBase + "input: {arrivals: {kind: trace, file: " + f + "}}\n");
    CHECK_MESSAGE(errs, f + std::string(c.line), c.what, "input.arrivals.file");
  }
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: trace, file: " + tmp / "missing.csv" + "}}\n"),
                "missing.csv", "input.arrivals.file");
  // A line without an end: refused at the line limit, not read into memory.
  const std::string longLine = tmp.write("long.csv", "frame,time_ms\n" + std::string(100000, '1'));
  CHECK_MESSAGE(runErrors(kBase + "input: {arrivals: {kind: trace, file: " + longLine + "}}\n"), "long.csv:2:",
                "longer than");
}

TEST_CASE("arrival traces: only simulation.frames rows are read and units convert", "[config][system]") {
  TempDir tmp;
  const std::string f = tmp / "big.csv";
  {
    std::ofstream o(f);
    o << "# a large trace\nframe,time_us\n";
    for (int i = 0; i < 300000; ++i) o << i << "," << i * 10 << "\n";
    o << "garbage that is never read\n";
  }
  auto run = config::loadRunString(kBase + "simulation: {frames: 5}\ninput: {arrivals: {kind: trace, file: " + f + "}}\n",
                                   "t.yaml");
  REQUIRE(run.config.input);
  const auto& t = run.config.input->arrivals.times_s;
  REQUIRE(t.size() == 5);
  CHECK(t[4] == Approx(40e-6));
  const auto cycles = config::arrivalCycles(*run.config.input, 200, 5);
  CHECK(cycles == std::vector<uint64_t>{0, 2000, 4000, 6000, 8000});
}

TEST_CASE("arrival generation: periodic exact, jitter bounded, Poisson reproducible", "[config][system]") {
  config::InputConfig in;
  in.arrivals.kind = config::ArrivalKind::Periodic;
  in.arrivals.fps = 1000; // 200000 cycles at 200 MHz
  auto p = config::arrivalCycles(in, 200, 4);
  CHECK(p == std::vector<uint64_t>{0, 200000, 400000, 600000});
  in.arrivals.jitter_us = 50; // +-10000 cycles
  auto j = config::arrivalCycles(in, 200, 200);
  for (size_t n = 0; n < j.size(); ++n) {
    CHECK(double(j[n]) >= double(n) * 200000 - 10000);
    CHECK(double(j[n]) <= double(n) * 200000 + 10000);
  }
  CHECK(j != config::arrivalCycles([&] { auto c = in; c.arrivals.seed = 2; return c; }(), 200, 200));
  in.arrivals.kind = config::ArrivalKind::Poisson;
  auto a = config::arrivalCycles(in, 200, 2000), b = config::arrivalCycles(in, 200, 2000);
  CHECK(a == b);
  CHECK(std::is_sorted(a.begin(), a.end()));
  // Mean gap within 10 % of 1 / rate (2000 exponential gaps: the standard error is about 2 %).
  CHECK(double(a.back()) / 1999.0 == Approx(200000).epsilon(0.1));
}

TEST_CASE("background: masters and their traces are checked when the config loads", "[config][system]") {
  TempDir tmp;
  auto bg = [&](const std::string& m) { return runErrors(kBase + "background:\n  - " + m + "\n"); };
  CHECK_MESSAGE(bg("{kind: synthetic}"), "missing required key 'background[0].gbps'");
  CHECK_MESSAGE(bg("{kind: synthetic, gbps: 1, speed: 3}"), "background[0].speed", "unknown key");
  CHECK_MESSAGE(bg("{kind: dma, gbps: 1}"), "background[0].kind", "synthetic");
  CHECK_MESSAGE(bg("{kind: synthetic, gbps: 1, read_share: 2}"), "background[0].read_share");
  CHECK_MESSAGE(runErrors(kBase + "background: {kind: synthetic}\n"), "background", "expected a list");
  CHECK_MESSAGE(bg("{kind: stl, file: " + tmp / "none.stl" + "}"), "none.stl", "background[0].file");
  struct Case {
    const char* name;
    const char* text;
    const char* line;
    const char* what;
  };
  const Case cases[] = {
      {"a.stl", "10: read 0x0\n5: read 0x40\n", ":2:", "earlier than the previous"},
      {"b.stl", "0: (-64) read 0x0\n", ":1:", "negative"},
      {"c.stl", "0: read 0x10000000000\n", ":1:", "outside the master's window"},
      {"d.stl", "0: fetch 0x0\n", ":1:", "expected read or write"},
      {"e.stl", "zero: read 0x0\n", ":1:", "not a non-negative integer cycle"},
      {"f.csv", "time_ns,op,address,bytes\n0,read,0,-8\n", ":2:", "negative"},
      {"g.csv", "time_ns,op,address,bytes\n5,read,0,8\n1,read,0,8\n", ":3:", "earlier than the previous"},
      {"h.csv", "time,op,address,bytes\n", ":1:", "header"},
      {"i.csv", "time_us,op,address,bytes\n0,write,0xffffffffff,2\n", ":2:", "outside the master's window"},
      {"j.csv", "time_us,op,address,bytes\n0,write,0,0\n", ":2:", "outside 1..16777216"},
  };
  for (const auto& c : cases) {
    const std::string f = tmp.write(c.name, c.text);
    const std::string kind = std::string(c.name).find(".stl") != std::string::npos ? "stl" : "csv";
    INFO(c.text);
    CHECK_MESSAGE(bg("{kind: " + kind + ", file: " + f + "}"), f + c.line, c.what);
  }
  const std::string ok = tmp.write("ok.stl", "# fine\n0: read 0x0\n4: (128) write 0x80 0x00\n");
  auto run = config::loadRunString(kBase + "background:\n  - {kind: stl, file: " + ok + "}\n", "t.yaml");
  REQUIRE(run.config.background.size() == 1);
  CHECK(run.config.background[0].requests == 2);
  CHECK(run.config.background[0].max_bytes == 128);
  CHECK(run.config.background[0].name == "master0");
}

TEST_CASE("every file under configs/system loads", "[config][system][files]") {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(MPSIM_SOURCE_DIR) + "/configs/system")) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().string());
    try {
      auto run = config::loadRun(e.path().string());
      CHECK((run.config.input || run.config.host || !run.config.background.empty()));
    } catch (const LoadError& err) {
      FAIL(err.what());
    }
    ++n;
  }
  CHECK(n >= 5);
}
