// Benchmark of the functional-mode integer convolution on one core.
// Usage: bench_kernels [repetitions]   (default 5; the best time of the repetitions is reported)
// Layer: ResNet-18 conv2_x, 64x56x56 -> 64, 3x3, stride 1, padding 1 (115.6 M MAC per frame).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "mpsim/func/Kernels.hpp"

using namespace mpsim;
using namespace mpsim::func;

namespace {
double benchConv(const char* label, Operand xt, Operand wt, int reps) {
  std::mt19937 rng(42);
  const graph::Shape xs{1, 64, 56, 56};
  ConvGeometry g;
  g.kh = g.kw = 3;
  g.pad_h = g.pad_w = 1;
  g.out_channels = 64;
  Tensor x(xs), w(graph::Shape{64, 64, 3, 3});
  std::uniform_int_distribution<int32_t> dx(static_cast<int32_t>(xt.storedMin()), static_cast<int32_t>(xt.storedMax()));
  std::uniform_int_distribution<int32_t> dw(static_cast<int32_t>(wt.storedMin()), static_cast<int32_t>(wt.storedMax()));
  for (auto& v : x.values()) v = dx(rng);
  for (auto& v : w.values()) v = dw(rng);
  const double macs = 56.0 * 56 * 64 * 64 * 9;
  double best = 1e30;
  int64_t checksum = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const AccTensor y = conv2d(x, xt, w, {wt}, g);
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    checksum += y[static_cast<std::size_t>(r) % y.size()];
  }
  const double gmacs = macs / best / 1e9;
  std::printf("%-22s x %-8s w %-8s %8.2f ms  %6.2f GMAC/s  (checksum %lld)\n", label, xt.str().c_str(),
              wt.str().c_str(), best * 1e3, gmacs, static_cast<long long>(checksum));
  return gmacs;
}
} // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  std::printf("conv 64x56x56 -> 64, 3x3, pad 1: %.1f M MAC, best of %d, one thread\n", 56.0 * 56 * 64 * 64 * 9 / 1e6,
              reps);
  benchConv("8-bit", {8, OperandKind::Unsigned}, {8, OperandKind::Signed}, reps);
  benchConv("4-bit", {4, OperandKind::Unsigned}, {4, OperandKind::Signed}, reps);
  benchConv("2-bit", {2, OperandKind::Unsigned}, {2, OperandKind::Signed}, reps);
  benchConv("bipolar", {1, OperandKind::Bipolar}, {1, OperandKind::Bipolar}, reps);
  benchConv("16-bit (int64 acc)", {16, OperandKind::Signed}, {16, OperandKind::Signed}, reps);
  return 0;
}

// libsystemc (linked through mpsim_core) defines its own main() that calls sc_main(); ours above
// takes precedence, but the library's reference must still resolve.
extern "C" int sc_main(int, char**) { return 0; }
