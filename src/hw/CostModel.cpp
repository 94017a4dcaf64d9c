#include "mpsim/hw/CostModel.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <map>
#include <numeric>

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

int64_t bram18For(int64_t depth, int64_t width, bool sevenSeries) {
  if (depth <= 0 || width <= 0) return 0;
  if (depth > 32768) {
    if (sevenSeries) return 2 * ceilDiv(depth, 32768) * width; // 32K x 1 slices, multiplexed in LUTs
    // Columns of the narrowest RAMB36 aspect ratio that holds the word (up to 72 bits), cascaded
    // in depth (a 6-bit word: 4K x 9).
    static constexpr int64_t kWidth[] = {1, 2, 4, 9, 18, 36, 72};
    static constexpr int64_t kDepth[] = {32768, 16384, 8192, 4096, 2048, 1024, 512};
    size_t i = 0;
    while (i + 1 < std::size(kWidth) && kWidth[i] < width) ++i;
    return 2 * ceilDiv(depth, kDepth[i]) * ceilDiv(width, kWidth[i]);
  }
  int64_t d = 512;
  while (d < depth) d *= 2;
  const int64_t w36 = d == 512 ? 72 : 36864 / d; // RAMB36 width at that depth: 72, 36, 18, 9, 4, 2, 1
  const int64_t full = width / w36, rest = width - full * w36;
  int64_t n = 2 * full;
  if (rest > 0) n += (d <= 16384 && rest <= w36 / 2) ? 1 : 2; // a RAMB18 holds half the width
  return n;
}

double lutramLuts(int64_t depth, int64_t width, const CostCoefficients& c) {
  if (depth <= 0 || width <= 0) return 0;
  if (depth <= 64) return double(width);
  return double(width) * double(ceilDiv(depth, 64)) * 64.0 / c.lutram_bits_per_lut;
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
  const double addr = std::max(1, log2Ceil(depth));
  r.lut = c.buffer_lut_base + c.buffer_lut_per_bit * double(width) + c.buffer_lut_per_addr_bit * addr;
  r.ff = c.buffer_ff_base + c.buffer_ff_per_bit * double(width) + c.buffer_ff_per_addr_bit * addr;
  if (depth <= 2) // a register or two
    r.ff += double(depth * width);
  else if (depth <= c.srl_max_depth) // shift registers: one SRL32 per bit
    r.lut += double(width) * std::ceil(double(depth) / double(c.srl_max_depth));
  else if (depth <= c.lutram_max_depth) // distributed RAM
    r.lut += lutramLuts(depth, width, c);
  else
    r.bram18 += double(bram18For(depth, width));
  return r;
}

Resources streamResources(int64_t depth, int64_t bits, const CostCoefficients& c, int64_t maxWord) {
  if (bits <= 0 || depth <= 0) return Resources{};
  const int64_t word = std::min(bits, std::max<int64_t>(1, maxWord));
  return bufferResources(depth * ceilDiv(bits, word), word, c);
}

Resources dwcResources(int64_t inBits, int64_t outBits, const CostCoefficients& c) {
  Resources r;
  const double wide = double(std::max(inBits, outBits));
  r.lut = c.dwc_lut_base + c.dwc_lut_per_bit * wide + c.dwc_lut_per_down_bit * double(inBits > outBits ? inBits : 0);
  r.ff = c.dwc_ff_base + c.dwc_ff_per_bit * wide;
  return r;
}

Resources dmaResources(int64_t streamBits, int64_t transferBits, int64_t portBits, const CostCoefficients& c) {
  const int64_t w = std::max<int64_t>(8, ceilDiv(streamBits, int64_t(8)) * 8);
  const int64_t port = std::max<int64_t>(8, portBits);
  const int64_t intf = std::gcd(std::max(transferBits, w), port);
  const int64_t x = std::lcm(intf, w);
  Resources r;
  r.lut = c.dma_lut + c.dma_lut_per_bit * double(x);
  r.ff = c.dma_ff + c.dma_ff_per_bit * double(x);
  // One width divides the other: a single converter and the AXI read buffer (dma_bram18). Else
  // FINN's IODMA converts through an X-bit stream held in RAMB36 at 512 x 72 plus one more RAMB36
  // (the two EEG input DMAs: X = 1216 -> 18 RAMB36, X = 1984 -> 29 RAMB36, both measured).
  const bool throughLcm = x != std::max(intf, w);
  r.bram18 = throughLcm ? double(2 * (ceilDiv(x, int64_t(72)) + 1)) : c.dma_bram18;
  return r;
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
  const bool seven = dsp == DspKind::DSP48E1;
  auto lanes = groupLanes(u);
  const int acc = u.accBits;
  double mulBits = 0, laneBits = 0, accBits = 0, serialLuts = 0, pes = 0;
  for (size_t g = 0; g < u.groups.size(); ++g) {
    const int w = u.groups[g].first, a = u.a;
    const double pe = double(lanes[g]), simd = double(u.simd);
    switch (u.kind) {
    case PeKind::Lut: mulBits += pe * simd * double(w) * double(a); break;
    case PeKind::Dsp: r.dsp += std::ceil(pe * simd / dspMacsPerSlice(dsp, w, a)); break;
    case PeKind::BitSerial:
      serialLuts += pe * simd * c.bitserial_lut_per_bit * double(a);
      accBits += pe * double(w); // the weight-bit shift of the accumulator
      break;
    }
    laneBits += pe * simd * double(w + a);
    accBits += pe * double(acc);
    pes += pe;
  }
  // Requantiser: thresholds compared in parallel (finn-hlslib), one memory per PE and threshold,
  // ceil(MH/PE) deep and acc bits wide: BRAM when deep and wide enough, else LUTs (in the
  // per-threshold-bit coefficient); or a scale/shift multiplier per PE.
  double thrBits = 0;
  if (u.requant == graph::Requant::Thresholds) {
    const int64_t nthr = (int64_t(1) << std::min(u.outBits, 20)) - 1;
    thrBits = pes * double(nthr) * double(acc);
    const int64_t tdepth = ceilDiv(u.mh, int64_t(pes));
    if (tdepth >= c.threshold_bram_min_depth && acc >= c.threshold_bram_min_width)
      r.bram18 += pes * double(nthr) * double(bram18For(tdepth, acc, seven));
  } else if (u.requant == graph::Requant::ScaleShift) {
    accBits += pes * double(acc);
    r.dsp += pes * c.scale_shift_dsp_per_pe;
  }
  // The input vector is buffered when the output channels take several passes over it (MH > PE):
  // MW x A bits in registers (the per-input-bit terms), or a ceil(MW/SIMD) x SIMD*A memory.
  const bool buffered = double(u.mh) > pes;
  const bool inRegisters = c.mvu_input_buffer == InputBuffer::Registers;
  const double inputBits = buffered && inRegisters ? double(u.mw) * double(u.a) : 0.0;
  if (buffered && !inRegisters) r += bufferResources(ceilDiv(u.mw, u.simd), u.simd * u.a, c);
  r.lut += c.mvu_lut_scale * (c.mvu_lut_base + c.mvu_lut_per_mul_bit * mulBits + c.mvu_lut_per_acc_bit * accBits +
                              c.mvu_lut_per_threshold_bit * thrBits + c.mvu_lut_per_input_bit * inputBits) +
           serialLuts;
  r.ff += c.mvu_ff_scale * (c.mvu_ff_base + c.mvu_ff_per_lane_bit * laneBits + c.mvu_ff_per_acc_bit * accBits +
                            c.mvu_ff_per_threshold_bit * thrBits + c.mvu_ff_per_input_bit * inputBits);
  // Weight memory.
  for (const auto& m : weightMemories(u)) {
    switch (u.weights) {
    case MemKind::Lutram: r.lut += lutramLuts(m.depth, m.width, c); break;
    case MemKind::Bram: r.bram18 += double(bram18For(m.depth, m.width, seven)); break;
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

const std::vector<LinearCoefficient>& linearCoefficients() {
  using C = CostCoefficients;
  static const std::vector<LinearCoefficient> table = {
      {"mvu_lut_base", &C::mvu_lut_base, "mvau", "lut"},
      {"mvu_lut_per_mul_bit", &C::mvu_lut_per_mul_bit, "mvau", "lut"},
      {"mvu_lut_per_acc_bit", &C::mvu_lut_per_acc_bit, "mvau", "lut"},
      {"mvu_lut_per_threshold_bit", &C::mvu_lut_per_threshold_bit, "mvau", "lut"},
      {"mvu_lut_per_input_bit", &C::mvu_lut_per_input_bit, "mvau", "lut"},
      {"mvu_ff_base", &C::mvu_ff_base, "mvau", "ff"},
      {"mvu_ff_per_lane_bit", &C::mvu_ff_per_lane_bit, "mvau", "ff"},
      {"mvu_ff_per_acc_bit", &C::mvu_ff_per_acc_bit, "mvau", "ff"},
      {"mvu_ff_per_threshold_bit", &C::mvu_ff_per_threshold_bit, "mvau", "ff"},
      {"mvu_ff_per_input_bit", &C::mvu_ff_per_input_bit, "mvau", "ff"},
      {"buffer_lut_base", &C::buffer_lut_base, "fifo", "lut"},
      {"buffer_lut_per_bit", &C::buffer_lut_per_bit, "fifo", "lut"},
      {"buffer_lut_per_addr_bit", &C::buffer_lut_per_addr_bit, "fifo", "lut"},
      {"buffer_ff_base", &C::buffer_ff_base, "fifo", "ff"},
      {"buffer_ff_per_bit", &C::buffer_ff_per_bit, "fifo", "ff"},
      {"buffer_ff_per_addr_bit", &C::buffer_ff_per_addr_bit, "fifo", "ff"},
      {"swu_lut_base", &C::swu_lut_base, "swu", "lut"},
      {"swu_lut_per_bit", &C::swu_lut_per_bit, "swu", "lut"},
      {"swu_lut_per_register_bit", &C::swu_lut_per_register_bit, "swu", "lut"},
      {"swu_ff_base", &C::swu_ff_base, "swu", "ff"},
      {"swu_ff_per_bit", &C::swu_ff_per_bit, "swu", "ff"},
      {"swu_ff_per_register_bit", &C::swu_ff_per_register_bit, "swu", "ff"},
      {"pool_lut_base", &C::pool_lut_base, "pool", "lut"},
      {"pool_lut_per_bit", &C::pool_lut_per_bit, "pool", "lut"},
      {"pool_ff_base", &C::pool_ff_base, "pool", "ff"},
      {"pool_ff_per_bit", &C::pool_ff_per_bit, "pool", "ff"},
      {"thr_lut_base", &C::thr_lut_base, "thresholding", "lut"},
      {"thr_lut_per_threshold_bit", &C::thr_lut_per_threshold_bit, "thresholding", "lut"},
      {"thr_ff_base", &C::thr_ff_base, "thresholding", "ff"},
      {"thr_ff_per_bit", &C::thr_ff_per_bit, "thresholding", "ff"},
      {"dwc_lut_base", &C::dwc_lut_base, "dwc", "lut"},
      {"dwc_lut_per_bit", &C::dwc_lut_per_bit, "dwc", "lut"},
      {"dwc_lut_per_down_bit", &C::dwc_lut_per_down_bit, "dwc", "lut"},
      {"dwc_ff_base", &C::dwc_ff_base, "dwc", "ff"},
      {"dwc_ff_per_bit", &C::dwc_ff_per_bit, "dwc", "ff"},
      {"dma_lut", &C::dma_lut, "dma", "lut"},
      {"dma_lut_per_bit", &C::dma_lut_per_bit, "dma", "lut"},
      {"dma_ff", &C::dma_ff, "dma", "ff"},
      {"dma_ff_per_bit", &C::dma_ff_per_bit, "dma", "ff"},
  };
  return table;
}

} // namespace mpsim::hw
