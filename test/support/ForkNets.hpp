#pragma once
// Networks whose forks meet again at a concat (shortcut FIFOs of several lengths), and the run
// config that simulates one of them from a network file written into a temporary directory.
#include <fstream>
#include <string>

#include "TempDir.hpp"

namespace mpsim::test {

// Forks that meet again at a concat: input -> c0 -> fork -> {branches} -> concat -> c3 (12x12).
inline const char* kForkIdentity = R"(
name: fork_identity
input: {shape: [8, 12, 12], bits: 4}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c0, type: conv, out_channels: 8, kernel: 1}
  - {name: b1, type: conv, inputs: [c0], out_channels: 8, kernel: 3, padding: 1}
  - {name: cat, type: concat, inputs: [b1, c0]}
  - {name: c3, type: conv, out_channels: 8, kernel: 1}
)";
inline const char* kForkTwoConvs = R"(
name: fork_two_convs
input: {shape: [8, 12, 12], bits: 4}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c0, type: conv, out_channels: 8, kernel: 1}
  - {name: b1, type: conv, inputs: [c0], out_channels: 8, kernel: 3, padding: 1}
  - {name: b2, type: conv, inputs: [c0], out_channels: 8, kernel: 5, padding: 2}
  - {name: cat, type: concat, inputs: [b1, b2]}
  - {name: c3, type: conv, out_channels: 8, kernel: 1}
)";
inline const char* kForkThree = R"(
name: fork_three
input: {shape: [8, 12, 12], bits: 4}
defaults: {weights: 4, activations: 4}
layers:
  - {name: c0, type: conv, out_channels: 8, kernel: 1}
  - {name: b1, type: conv, inputs: [c0], out_channels: 8, kernel: 3, padding: 1}
  - {name: b2, type: conv, inputs: [c0], out_channels: 4, kernel: 1}
  - {name: cat, type: concat, inputs: [b1, b2, c0]}
  - {name: c3, type: conv, out_channels: 8, kernel: 1}
)";

inline std::string writeNet(const mpsim::test::TempDir& dir, const char* text) {
  const std::string path = (dir.path / "net.yaml").string();
  std::ofstream(path) << text;
  return "network: {model: " + path + "}\nhardware: {device: zcu104, clock_mhz: 200}\nsimulation: {frames: 6}\n";
}

} // namespace mpsim::test
