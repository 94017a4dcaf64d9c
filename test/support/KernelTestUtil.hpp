#pragma once
// Shorthands for the integer-kernel tests: tensors from values, operand ranges, conv geometry.
#include <utility>
#include <vector>

#include "mpsim/func/Kernels.hpp"

namespace mpsim::test {

inline func::Tensor T4(graph::Shape s, std::vector<int32_t> v) { return func::Tensor(s, std::move(v)); }
inline std::vector<int64_t> vals(const func::AccTensor& t) { return t.values(); }
inline std::vector<int32_t> vals(const func::Tensor& t) { return t.values(); }

inline const func::Operand kU8{8, func::OperandKind::Unsigned}, kS8{8, func::OperandKind::Signed},
    kBip{1, func::OperandKind::Bipolar};

inline func::ConvGeometry geom(int k, int kh, int kw, int stride = 1, int pad = 0, int dil = 1, int groups = 1) {
  func::ConvGeometry g;
  g.kh = kh;
  g.kw = kw;
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  g.dil_h = g.dil_w = dil;
  g.groups = groups;
  g.out_channels = k;
  return g;
}

} // namespace mpsim::test
