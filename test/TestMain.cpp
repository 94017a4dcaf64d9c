// Test runner: a plain Catch2 session. SystemC modules are elaborated inside TEST_CASEs; SystemC 2.3
// elaborates one design per process, so [module] tests that simulate run as separate CTest entries
// (catch_discover_tests runs each test case in its own process).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <spdlog/spdlog.h>
#include <systemc>

int sc_main(int argc, char* argv[]) {
  spdlog::set_level(spdlog::level::warn);
  return Catch::Session().run(argc, argv);
}

int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_core::sc_elab_and_sim(argc, argv);
}
