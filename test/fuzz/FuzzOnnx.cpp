// libFuzzer target over the ONNX importer: any byte string must import or be rejected with a
// LoadError, never crash, hang or leak. Built with clang (-DMPSIM_FUZZ=ON); run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mpsim/common/Error.hpp"
#include "mpsim/io/OnnxImport.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    mpsim::io::importOnnxBytes(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
  } catch (const mpsim::LoadError&) {
    // Rejected with a message: the expected outcome for most inputs.
  }
  return 0;
}

// libsystemc (linked through mpsim_core) references sc_main from its own main(); libFuzzer provides
// the process's main, so this one is never called.
extern "C" int sc_main(int, char**) { return 0; }
