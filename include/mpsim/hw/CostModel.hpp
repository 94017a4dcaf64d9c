#pragma once
// Analytical FPGA cost model (docs/cost-model.md). Defaults follow the published FINN-R forms as
// FINN's estimators apply them; every coefficient can be overridden from hardware.cost_model.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mpsim/common/EnumNames.hpp"
#include "mpsim/graph/Layer.hpp"
#include "mpsim/hw/Device.hpp"

namespace mpsim::hw {

/// How a MAC layer's multipliers are built.
enum class PeKind { Lut, Dsp, BitSerial };
inline constexpr EnumName<PeKind> kPeKindNames[] = {
    {PeKind::Lut, "lut"}, {PeKind::Dsp, "dsp"}, {PeKind::BitSerial, "bitserial"}};
inline const char* toString(PeKind k) { return enumName(kPeKindNames, k); }

/// Where a memory lives.
enum class MemKind { None, Lutram, Bram, Uram, Dram };
inline constexpr EnumName<MemKind> kMemKindNames[] = {{MemKind::None, "none"},
                                                      {MemKind::Lutram, "lutram"},
                                                      {MemKind::Bram, "bram"},
                                                      {MemKind::Uram, "uram"},
                                                      {MemKind::Dram, "dram"}};
inline const char* toString(MemKind k) { return enumName(kMemKindNames, k); }

struct Resources {
  double lut = 0, ff = 0, dsp = 0, bram18 = 0, uram = 0;
  Resources& operator+=(const Resources& o) {
    lut += o.lut;
    ff += o.ff;
    dsp += o.dsp;
    bram18 += o.bram18;
    uram += o.uram;
    return *this;
  }
};

struct CostCoefficients {
  // Matrix-vector unit LUTs: base + scale * PE * (SIMD * mult + addertree + acc + thresholds).
  double mvu_lut_base = 300;
  double mvu_lut_scale = 1.1;
  // Flip-flops: base + scale * PE * (SIMD * (W + A) + acc) (pipeline registers of the lanes).
  double mvu_ff_base = 200;
  double mvu_ff_scale = 1.0;
  // Buffers and memories by depth: up to 2 entries registers, up to srl_max_depth shift registers
  // (SRL32), up to lutram_max_depth distributed RAM (FINN: weight memories with depth <= 128), BRAM
  // (or URAM) beyond.
  int64_t srl_max_depth = 32;
  int64_t lutram_max_depth = 128;
  // Entries of one bit a LUT holds as distributed RAM (LUT6: 64x1).
  double lutram_bits_per_lut = 64;
  // Bit-serial lane: LUTs per lane per activation bit (AND array + shift-add).
  double bitserial_lut_per_bit = 1.0;
  // Small engines (sliding window, pooling, add, fork, concat, quantizer) and DMAs.
  double engine_lut_base = 100;
  double engine_lut_per_bit = 1.0; // per bit of the datapath width (PE * bits)
  double dma_lut = 600;
  double dma_ff = 900;
  // Scale/shift requantiser: DSPs per PE.
  double scale_shift_dsp_per_pe = 1;
};

/// Utilisation caps applied to the device totals (FINN's defaults).
struct Budget {
  double lut = 0.70, ff = 0.50, bram = 0.80, uram = 0.80, dsp = 0.80; // defaults of hardware.budget
};

/// MACs one DSP slice of `kind` performs per cycle for W x A bit operands (packing of narrow
/// products; wide operands need several slices: returns 1/n then).
double dspMacsPerSlice(DspKind kind, int w, int a);

/// BRAM18 blocks for a depth x width memory using the primitive's aspect ratios
/// (16K x 1, 8K x 2, 4K x 4, 2K x 9, 1K x 18, 512 x 36).
int64_t bram18For(int64_t depth, int64_t width);
/// URAM blocks (4K x 72) for a depth x width memory.
int64_t uramFor(int64_t depth, int64_t width);

/// A MAC layer as the cost model sees it.
struct MacUnit {
  int64_t mw = 0, mh = 0; // dot-product length, output channels
  int64_t pixels = 1;     // output pixels per frame
  int64_t pe = 1, simd = 1;
  bool depthwise = false;
  int64_t kernel = 1; // K_h*K_w (depthwise SIMD folds over it)
  int w = 8, a = 8;   // weight bits (widest), input activation bits
  bool aSigned = false;
  std::vector<std::pair<int, int64_t>> groups; // (weight bits, channels), widest first; sums to mh
  int accBits = 32;
  int outBits = 8;
  graph::Requant requant = graph::Requant::Thresholds;
  PeKind kind = PeKind::Lut;
  MemKind weights = MemKind::Bram; // where the weights live (Dram: streamed)
  int64_t weightReuse = 1;         // Dram: output pixels served per weight pass (their inputs are buffered)
};

MacUnit macUnitOf(const graph::Layer& l, int64_t pe, int64_t simd, PeKind kind, MemKind weights);

/// Cycles per output pixel of a MAC unit (the closed form, per PE kind; docs/cost-model.md).
int64_t macCyclesPerPixel(const MacUnit& u);
/// Weight memory: depth (words) and width (bits) per channel group.
struct WeightMemory {
  int64_t depth = 0, width = 0;
};
std::vector<WeightMemory> weightMemories(const MacUnit& u);
/// Resources of the unit, its weight memory and thresholds.
Resources macResources(const MacUnit& u, DspKind dsp, const CostCoefficients& c);

/// A buffer of `depth` entries of `width` bits: SRL/LUTRAM when small, else BRAM18.
Resources bufferResources(int64_t depth, int64_t width, const CostCoefficients& c);
/// A stream FIFO of `depth` tokens of `bits` bits: laid out as words of at most 72 bits, each word
/// a buffer (bufferResources).
Resources streamResources(int64_t depth, int64_t bits, const CostCoefficients& c);
/// Datapath logic of a non-MAC engine `width` bits wide.
Resources engineResources(int64_t width, const CostCoefficients& c);
/// LabelSelect (top-k) engine: PE lanes each compare one score of `scoreBits` against the k
/// running top scores, plus k (score, index) registers with their shift/insert multiplexers
/// (docs/cost-model.md). No BRAM, no DSP.
Resources labelSelectResources(int64_t pe, int64_t k, int scoreBits, int indexBits, const CostCoefficients& c);

} // namespace mpsim::hw
