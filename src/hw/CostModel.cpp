#include "mpsim/hw/CostModel.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "mpsim/common/Math.hpp"

namespace mpsim::hw {

double dspMacsPerSlice(DspKind kind, int w, int a) {
  const int hi = std::max(w, a), lo = std::min(w, a);
  switch (kind) {
  case DspKind::DSP48E2: // 27x18 multiplier: two INT8 MACs sharing an operand (WP486), four INT4 (WP521)
    if (hi <= 4) return 4;
    if (hi <= 8) return 2;
    if (hi <= 27 && lo <= 18) return 1;
    return 1.0 / double(ceilDiv(hi, 27) * ceilDiv(lo, 18));
  case DspKind::DSP48E1: // 25x18: two narrow (<= 4 bit) products with a shared operand
    if (hi <= 4) return 2;
    if (hi <= 25 && lo <= 18) return 1;
    return 1.0 / double(ceilDiv(hi, 25) * ceilDiv(lo, 18));
  case DspKind::DSP58: // 27x24 with a 3-element INT8 dot-product mode
    if (hi <= 8) return 3;
    if (hi <= 27 && lo <= 24) return 1;
    return 1.0 / double(ceilDiv(hi, 27) * ceilDiv(lo, 24));
  }
  return 1;
}

int64_t bram18For(int64_t depth, int64_t width) {
  if (depth <= 0 || width <= 0) return 0;
  if (width == 1) return ceilDiv(depth, 16384);
  if (width == 2) return ceilDiv(depth, 8192);
  if (width <= 4) return ceilDiv(depth, 4096) * ceilDiv(width, 4);
  if (width <= 9) return ceilDiv(depth, 2048) * ceilDiv(width, 9);
  if (width <= 18 || depth > 512) return ceilDiv(depth, 1024) * ceilDiv(width, 18);
  return ceilDiv(depth, 512) * ceilDiv(width, 36);
}

int64_t uramFor(int64_t depth, int64_t width) {
  if (depth <= 0 || width <= 0) return 0;
  return ceilDiv(depth, 4096) * ceilDiv(width, 72);
}

MacUnit macUnitOf(const graph::Layer& l, int64_t pe, int64_t simd, PeKind kind, MemKind weights) {
  MacUnit u;
  u.depthwise = l.isDepthwise();
  u.kernel = int64_t(l.kh) * l.kw;
  u.mw = u.depthwise ? u.kernel : l.dotLength();
  u.mh = l.out_channels;
  u.pixels = l.out_shape.h * l.out_shape.w;
  u.pe = pe;
  u.simd = simd;
  u.w = l.maxWeightBits();
  u.a = l.in.bits;
  u.aSigned = l.in.is_signed;
  if (l.channel_bits.empty()) {
    u.groups = {{l.weight_bits, l.out_channels}};
  } else {
    std::map<int, int64_t, std::greater<int>> count;
    for (int b : l.channel_bits) ++count[b];
    for (const auto& [b, n] : count) u.groups.emplace_back(b, n);
  }
  u.accBits = l.accBits();
  u.outBits = l.out.bits;
  u.requant = l.requant;
  u.kind = kind;
  u.weights = weights;
  return u;
}

namespace {
// Lanes of each channel group: proportional to its share of the output channels (at least one).
std::vector<int64_t> groupLanes(const MacUnit& u) {
  std::vector<int64_t> lanes;
  for (const auto& [b, n] : u.groups) {
    (void)b;
    lanes.push_back(u.groups.size() == 1 ? u.pe : std::max<int64_t>(1, ceilDiv(u.pe * n, u.mh)));
  }
  return lanes;
}
} // namespace

int64_t macCyclesPerPixel(const MacUnit& u) {
  const int64_t inner = ceilDiv(u.mw, u.simd);
  if (u.kind == PeKind::BitSerial) {
    // Weight bits are processed one per cycle: a channel of w bits occupies a lane for w passes.
    int64_t bitChannels = 0;
    for (const auto& [b, n] : u.groups) bitChannels += int64_t(b) * n;
    return ceilDiv(bitChannels, u.pe) * inner;
  }
  auto lanes = groupLanes(u);
  int64_t outer = 0;
  for (size_t g = 0; g < u.groups.size(); ++g) outer = std::max(outer, ceilDiv(u.groups[g].second, lanes[g]));
  return outer * inner;
}

std::vector<WeightMemory> weightMemories(const MacUnit& u) {
  std::vector<WeightMemory> out;
  auto lanes = groupLanes(u);
  for (size_t g = 0; g < u.groups.size(); ++g) {
    WeightMemory m;
    m.depth = ceilDiv(u.mw, u.simd) * ceilDiv(u.groups[g].second, lanes[g]);
    m.width = lanes[g] * u.simd * u.groups[g].first;
    out.push_back(m);
  }
  return out;
}

Resources bufferResources(int64_t depth, int64_t width, const CostCoefficients& c) {
  // Placement by depth only (as the tools do), so that narrower data never costs more of anything.
  Resources r;
  if (depth <= 0 || width <= 0) return r;
  if (depth <= 2) { // a register or two
    r.ff = double(depth * width);
    r.lut = 8;
  } else if (depth <= c.srl_max_depth) { // shift registers: one SRL32 per bit
    r.lut = double(width) * std::ceil(double(depth) / double(c.srl_max_depth)) + 8;
    r.ff = double(width) + 8;
  } else if (depth <= c.lutram_max_depth) { // distributed RAM
    r.lut = double(width) * std::ceil(double(depth) / c.lutram_bits_per_lut) + 16;
    r.ff = double(width) + 16;
  } else {
    r.bram18 = double(bram18For(depth, width));
    r.lut = 24;
    r.ff = double(width) + 24;
  }
  return r;
}

Resources streamResources(int64_t depth, int64_t bits, const CostCoefficients& c) {
  if (bits <= 0) return Resources{};
  const int64_t word = std::min<int64_t>(bits, 72);
  return bufferResources(depth * ceilDiv(bits, word), word, c);
}

Resources engineResources(int64_t width, const CostCoefficients& c) {
  Resources r;
  r.lut = c.engine_lut_base + c.engine_lut_per_bit * double(width);
  r.ff = c.engine_lut_base + double(width);
  return r;
}

Resources labelSelectResources(int64_t pe, int64_t k, int scoreBits, int indexBits, const CostCoefficients& c) {
  Resources r;
  const double comparators = double(pe) * double(k) * double(scoreBits); // PE x k comparators of A bits
  const double topRegs = double(k) * double(scoreBits + indexBits);      // k (score, index) entries
  r.lut = c.engine_lut_base + c.engine_lut_per_bit * (comparators + topRegs);
  r.ff = c.engine_lut_base + topRegs + double(indexBits); // the entries plus the running class index
  return r;
}

Resources macResources(const MacUnit& u, DspKind dsp, const CostCoefficients& c) {
  Resources r;
  auto lanes = groupLanes(u);
  const int acc = u.accBits;
  double perPe = 0;
  for (size_t g = 0; g < u.groups.size(); ++g) {
    const int w = u.groups[g].first, a = u.a;
    const double pe = double(lanes[g]);
    double mult = 0, adder = 0;
    switch (u.kind) {
    case PeKind::Lut:
      mult = double(u.simd) * double((2 * ceilDiv(w + a, 6) - 1) * (w + a));
      adder = double((w + a) * (2 * u.simd - 1));
      break;
    case PeKind::Dsp:
      adder = double((w + a) * (2 * u.simd - 1));
      r.dsp += std::ceil(pe * double(u.simd) / dspMacsPerSlice(dsp, w, a));
      break;
    case PeKind::BitSerial:
      mult = double(u.simd) * c.bitserial_lut_per_bit * double(a);
      adder = double((a + 1) * (2 * u.simd - 1));
      break;
    }
    double accLuts = double(acc + (u.kind == PeKind::BitSerial ? w : 0));
    perPe += pe * (mult + adder + accLuts);
    r.ff += c.mvu_ff_scale * pe * (double(u.simd) * double(w + a) + double(acc));
  }
  double pes = 0;
  for (int64_t l : lanes) pes += double(l);
  // Requantiser: thresholds compared by binary search (outBits comparators of acc bits per PE,
  // as FINN's RTL thresholding unit does), threshold memory (2^B - 1) * acc bits per channel;
  // or a scale/shift multiplier per PE.
  double requantLuts = 0;
  if (u.requant == graph::Requant::Thresholds) {
    const int64_t nthr = (int64_t(1) << std::min(u.outBits, 20)) - 1;
    requantLuts = pes * double(u.outBits * acc);
    const int64_t tdepth = ceilDiv(u.mh, int64_t(pes));
    Resources tm = bufferResources(tdepth, nthr * acc, c);
    // One threshold memory per PE.
    r.lut += pes * tm.lut;
    r.ff += pes * tm.ff;
    r.bram18 += pes * tm.bram18;
  } else if (u.requant == graph::Requant::ScaleShift) {
    requantLuts = pes * double(acc);
    r.dsp += pes * c.scale_shift_dsp_per_pe;
  }
  r.lut += c.mvu_lut_base + c.mvu_lut_scale * (perPe + requantLuts);
  r.ff += c.mvu_ff_base;
  // Weight memory.
  for (const auto& m : weightMemories(u)) {
    switch (u.weights) {
    case MemKind::Lutram: r.lut += double(m.width) * std::ceil(double(m.depth) / c.lutram_bits_per_lut); break;
    case MemKind::Bram: r.bram18 += double(bram18For(m.depth, m.width)); break;
    case MemKind::Uram: r.uram += double(uramFor(m.depth, m.width)); break;
    case MemKind::Dram:
    case MemKind::None: break;
    }
  }
  // Streamed weights serve `weightReuse` output pixels per pass: their input windows wait in a buffer.
  if (u.weights == MemKind::Dram && u.weightReuse > 1)
    r += bufferResources(std::min(u.weightReuse, u.pixels) * ceilDiv(u.mw, u.simd), u.simd * u.a, c);
  return r;
}

} // namespace mpsim::hw
