#pragma once
// Folding of MAC layers: the closed-form cycles of a matrix-vector (conv, fc) or vector
// (depthwise) unit for a given PE x SIMD, and the cheapest legal folding that meets a cycle target.
#include <cstdint>
#include <vector>

#include "mpsim/graph/Layer.hpp"
#include "mpsim/hw/CostModel.hpp"

namespace mpsim::sched {

struct Fold {
  int64_t pe = 1, simd = 1;
  int64_t cycles = 0; // per frame
};

/// Divisors of n in increasing order.
std::vector<int64_t> divisors(int64_t n);

/// Cycles per frame of a weighted layer at PE x SIMD:
///   matrix-vector: OFM_H*OFM_W * ceil(MH/PE) * ceil(MW/SIMD), and at least the cycles to read
///   a flattened input at SIMD elements per token and cycle (fc over a spatial tensor);
///   depthwise: OFM_H*OFM_W * ceil(C/PE) * ceil(K_h*K_w/SIMD).
///   bit-serial units take a cycle per weight bit (docs/cost-model.md).
int64_t mvCycles(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind = hw::PeKind::Lut);

/// Legal folding (PE divides MH, SIMD divides MW; for depthwise PE divides C, SIMD divides K_h*K_w)
/// with the fewest lanes PE*SIMD whose cycles meet `target`; ties prefer the smaller PE. If no
/// folding meets it, the fully parallel one.
Fold foldForTarget(const graph::Layer& l, int64_t target, hw::PeKind kind = hw::PeKind::Lut);

} // namespace mpsim::sched
