// Benchmark of the functional-mode integer convolution on one core.
// Usage: bench_kernels [repetitions]   (default 5; the best time of the repetitions is reported)
// Layer: ResNet-18 conv2_x, 64x56x56 -> 64, 3x3, stride 1, padding 1 (115.6 M MAC per frame), as
// one whole-image conv2d (calibration) and as the functional simulation computes it: windows of
// (64, 3, 3) in batches of 64 (PreparedConv::runWindows) and one window per call (run); also a
// ResNet-152 1x1 expansion (512 -> 2048 over 28x28 pixels) in batches of 64 pixels.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

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
// The functional simulation's way: im2col windows (C, kh, kw) of every output pixel, computed in
// batches of `batch` windows (runWindows), or one window per call (run) when batch is 0.
double benchWindows(const char* label, Operand xt, Operand wt, int64_t C, int64_t K, int k, int64_t pixels,
                    int64_t batch, int reps) {
  std::mt19937 rng(43);
  ConvGeometry g;
  g.kh = g.kw = k;
  g.out_channels = K;
  const int64_t L = C * k * k;
  Tensor w(graph::Shape{K, C, k, k});
  std::uniform_int_distribution<int32_t> dx(static_cast<int32_t>(xt.storedMin()), static_cast<int32_t>(xt.storedMax()));
  std::uniform_int_distribution<int32_t> dw(static_cast<int32_t>(wt.storedMin()), static_cast<int32_t>(wt.storedMax()));
  for (auto& v : w.values()) v = dw(rng);
  std::vector<int32_t> x(static_cast<std::size_t>(pixels * L));
  for (auto& v : x) v = dx(rng);
  const PreparedConv conv(w, {wt}, xt, g, C);
  std::vector<const int32_t*> rows(static_cast<std::size_t>(pixels));
  for (int64_t p = 0; p < pixels; ++p) rows[static_cast<std::size_t>(p)] = x.data() + p * L;
  std::vector<int64_t> out(static_cast<std::size_t>(pixels * K));
  const double macs = double(pixels) * double(L) * double(K);
  double best = 1e30;
  int64_t checksum = 0;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (batch > 0) {
      for (int64_t p = 0; p < pixels; p += batch)
        conv.runWindows(rows.data() + p, std::min(batch, pixels - p), out.data() + p * K);
    } else {
      for (int64_t p = 0; p < pixels; ++p) {
        const AccTensor y = conv.run(Tensor(graph::Shape{1, C, k, k}, std::vector<int32_t>(x.begin() + p * L, x.begin() + (p + 1) * L)));
        std::copy(y.values().begin(), y.values().end(), out.begin() + p * K);
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    checksum += out[static_cast<std::size_t>(r) % out.size()];
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
  std::printf("the same layer as 56x56 windows of (64, 3, 3), as the functional simulation computes it\n");
  for (int64_t batch : {int64_t{64}, int64_t{16}, int64_t{0}}) {
    const std::string how = batch > 0 ? "batches of " + std::to_string(batch) : std::string("one per call");
    benchWindows(("8-bit, " + how).c_str(), {8, OperandKind::Unsigned}, {8, OperandKind::Signed}, 64, 64, 3, 56 * 56,
                 batch, reps);
    benchWindows(("4-bit, " + how).c_str(), {4, OperandKind::Unsigned}, {4, OperandKind::Signed}, 64, 64, 3, 56 * 56,
                 batch, reps);
  }
  std::printf("1x1 conv 512 -> 2048 over 28x28 pixels (ResNet-152 layer3 expansion size), %.1f M MAC\n",
              28.0 * 28 * 512 * 2048 / 1e6);
  for (int64_t batch : {int64_t{64}, int64_t{0}})
    benchWindows(batch > 0 ? "4-bit, batches of 64" : "4-bit, one per call", {4, OperandKind::Unsigned},
                 {4, OperandKind::Signed}, 512, 2048, 1, 28 * 28, batch, reps);
  return 0;
}

// libsystemc (linked through mpsim_core) defines its own main() that calls sc_main(); ours above
// takes precedence, but the library's reference must still resolve.
extern "C" int sc_main(int, char**) { return 0; }
