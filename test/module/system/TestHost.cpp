// The host and shell model (docs/system.md): the end-to-end batch time is the driver overhead plus
// the simulated batch (plus the copies when asked), the shell's port limits an I/O-heavy design to
// its bandwidth, and presets come from the device.
#include <catch2/catch.hpp>

#include "SimTestUtil.hpp"

using namespace mpsim;
using mpsim::test::simulateText;

namespace {
std::string chainRun(const std::string& extra) { return mpsim::test::chainRunText("", "", extra); }
} // namespace

TEST_CASE("host: end-to-end batch time = driver overhead + simulated batch (+ copies)", "[module][system]") {
  const auto r = simulateText(chainRun("host:\n  preset: none\n  batch: 10\n  driver_overhead_us: 100\n"
                                       "  copy_in_gbps: 0.5\n  copy_out_gbps: 0.25\n  include_copies: true\n"
                                       "  shell: {port_bits: 512, setup_ns: 0}\n"));
  const auto& h = r.report["system"]["host"];
  INFO(h.dump(2));
  CHECK(r.report["summary"]["frames"].get<int>() == 10); // the batch is what is simulated
  const double accUs = double(r.result.frame_done.back() - r.result.first_input) / 200.0;
  CHECK(h["accelerator_batch_us"].get<double>() == Approx(accUs).margin(1e-6));
  double inB = 0, outB = 0;
  for (const auto& e : r.mapping.engines) {
    if (e.kind == sched::EngineKind::InputDma) inB += double(e.bytes_per_frame);
    if (e.kind == sched::EngineKind::OutputDma) outB += double(e.bytes_per_frame);
  }
  REQUIRE(inB == 1152); // 8 x 12 x 12 pixels of 8 bits
  const double copyIn = 10.0 * inB / (0.5 * 1e3), copyOut = 10.0 * outB / (0.25 * 1e3); // bytes / (GB/s) in us
  CHECK(h["copy_in_us"].get<double>() == Approx(copyIn).margin(1e-6));
  CHECK(h["copy_out_us"].get<double>() == Approx(copyOut).margin(1e-6));
  const double total = 100 + accUs + copyIn + copyOut;
  CHECK(h["end_to_end"]["runtime_us"].get<double>() == Approx(total).margin(1e-5));
  CHECK(h["end_to_end"]["fps"].get<double>() == Approx(10 * 1e6 / total).epsilon(1e-6));
  CHECK(h["accelerator_fps"].get<double>() == r.report["summary"]["fps"].get<double>());
  CHECK(h["end_to_end"]["fps"].get<double>() < h["accelerator_fps"].get<double>());
}

TEST_CASE("host: a narrow shell port makes the design I/O-bound at the port's bandwidth", "[module][system]") {
  const auto wide = simulateText(chainRun("simulation: {frames: 8}\n"));
  // 8 bits at 20 MHz: 20 MB/s, 0.1 byte per accelerator cycle: 1152 input bytes take 11520 cycles.
  const auto narrow = simulateText(chainRun("host:\n  preset: none\n  batch: 8\n"
                                            "  shell: {port_bits: 8, port_mhz: 20, burst_bytes: 256}\n"));
  INFO("wide " << wide.interval() << " narrow " << narrow.interval());
  REQUIRE(wide.interval() < 11520 / 2);
  CHECK(double(narrow.interval()) == Approx(11520).epsilon(0.02));
  // The same port without a host section is not in the path: results unchanged.
  const auto again = simulateText(chainRun("simulation: {frames: 8}\n"));
  CHECK(again.report.dump() == wide.report.dump());
  CHECK_FALSE(wide.report.contains("system"));
}

TEST_CASE("host: preset auto takes the device's board numbers and every value is overridable", "[module][system]") {
  const auto r = simulateText(chainRun("host: {batch: 4}\n"));
  const auto& h = r.report["system"]["host"];
  CHECK(h["preset"] == "xczu7ev");
  const auto* p = config::findHostPreset("zcu104");
  REQUIRE(p);
  CHECK(h["driver_overhead_us"].get<double>() == p->host.driver_overhead_us);
  CHECK(h["shell"]["outstanding"].get<int>() == p->host.shell.outstanding);
  CHECK_FALSE(h["include_copies"].get<bool>()); // FINN's throughput test times execute_on_buffers only
  const auto o = simulateText(chainRun("host: {batch: 4, driver_overhead_us: 5, shell: {outstanding: 2}}\n"));
  CHECK(o.report["system"]["host"]["driver_overhead_us"].get<double>() == 5);
  CHECK(o.report["system"]["host"]["shell"]["outstanding"].get<int>() == 2);
}
