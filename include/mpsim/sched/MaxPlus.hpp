#pragma once
// The plain max-plus recurrence of a mapped design (docs/segments.md, bench/maxplus_reference.cpp):
// engines in topological order, frame after frame; every input token j is read in order at its
// port's cost,
//     r_j = max(r_{j-1} + read_cost, w_j + 1)          (w_j: the cycle it was written)
// and each output token
//     o_k = max(o_{k-1} + out_cost, max over inputs r_{last token k needs} + tail)
// is written at o_k + latency, with ample FIFOs and line buffers (no back-pressure) and no DRAM
// model. Its cycles are a lower bound on the simulation's; the segment scheduler uses its frames
// as the closed form of a pipeline's fill latency.
#include <cstdint>
#include <vector>

#include "mpsim/sched/Mapping.hpp"

namespace mpsim::sched {

/// The DRAM as the max-plus recurrence sees it (optional): each DRAM reader (input DMA, weight
/// streamer) takes its tokens no faster than its bytes at the peak rate, and the first token of
/// every reader waits for the DRAM latency and its first transfer, the readers sharing the
/// bandwidth fairly at the start (reader i done after sum over readers j of min(b_j, b_i) bytes).
struct MaxPlusDram {
  double bytes_per_cycle = 0; // 0: no DRAM terms
  int64_t latency_cycles = 0;
  int64_t burst_bytes = 4096;
};

class MaxPlus {
public:
  explicit MaxPlus(const Mapping& m, const MaxPlusDram& dram = {});
  /// Evaluates the next frame; returns the cycle its last output token is written (the latest over
  /// the output DMAs).
  uint64_t frame();
  /// Back to frame 0 (every engine idle at cycle 0).
  void reset();
  /// Output tokens of every engine in one frame.
  int64_t tokensPerFrame() const { return m_tokensPerFrame; }

private:
  struct Engine {
    std::vector<int> inStreams;
    std::vector<std::vector<int64_t>> needLast; // per input port, per output token
    std::vector<int64_t> readCost;              // per input port
    std::vector<std::vector<uint64_t>> readEnd; // per input port: read cycles of the frame's tokens
    std::vector<int64_t> readCount;             // per input port: tokens of the frame read
    std::vector<uint64_t> lastRead;             // per input port: the last read's end
    std::vector<int> outStreams;
    int64_t T = 0, outCost = 1, tail = 0, latency = 1;
    bool output = false;
    uint64_t first = 0; // the earliest cycle of frame 0's first output (DRAM readers)
    uint64_t o = 0;     // the last output's cycle
    bool started = false;
  };
  std::vector<Engine> m_engines;
  std::vector<std::size_t> m_order;
  std::vector<std::vector<uint64_t>> m_written; // per stream: write cycles of the current frame's tokens
  int64_t m_tokensPerFrame = 0;
};

/// The cycles at which frames 0..frames-1 are done by the max-plus recurrence.
std::vector<uint64_t> maxPlusFrameDone(const Mapping& m, int frames, const MaxPlusDram& dram = {});

} // namespace mpsim::sched
