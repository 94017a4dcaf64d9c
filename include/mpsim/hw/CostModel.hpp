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

/// How a matrix-vector unit buffers its input vector while the MH/PE output folds reuse it
/// (docs/cost-model.md, "LUT, FF, DSP of a MAC unit").
enum class InputBuffer {
  Registers, // finn-hlslib's HLS MVAU: inputBuf[SF] completely partitioned (what the six builds measured)
  Memory     // a SF-deep, SIMD*A-wide memory placed by depth (bufferResources), e.g. finn-rtllib's replay buffer
};
inline constexpr EnumName<InputBuffer> kInputBufferNames[] = {{InputBuffer::Registers, "registers"},
                                                              {InputBuffer::Memory, "memory"}};
inline const char* toString(InputBuffer k) { return enumName(kInputBufferNames, k); }

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
  // The forms and where each default comes from: docs/cost-model.md. Coefficients named *_per_* and
  // *_base enter the estimate linearly; their defaults are the least-squares fit over the per-layer
  // synthesis results in test/data/synth (bench/fit_cost_model.py).
  //
  // Matrix-vector unit, LUT multipliers (finn-hlslib's MVAU / VVAU):
  //   LUT = scale * (base + per_mul_bit * PE*SIMD*W*A + per_acc_bit * PE*acc
  //                  + per_threshold_bit * PE*T*acc + per_input_bit * MW*A)
  // with T thresholds per channel and the input-vector buffer MW*A counted when MH > PE.
  double mvu_lut_base = 40.82;
  double mvu_lut_per_mul_bit = 0.5182;
  double mvu_lut_per_acc_bit = 13.28;
  double mvu_lut_per_threshold_bit = 0.5214;
  double mvu_lut_per_input_bit = 0.4316;
  double mvu_lut_scale = 1.0;
  //   FF = scale * (base + per_lane_bit * PE*SIMD*(W+A) + per_acc_bit * PE*acc + per_threshold_bit
  //                 * PE*T*acc + per_input_bit * MW*A)
  double mvu_ff_base = 0;
  double mvu_ff_per_lane_bit = 0;
  double mvu_ff_per_acc_bit = 17.32;
  double mvu_ff_per_threshold_bit = 0;
  double mvu_ff_per_input_bit = 1.05;
  double mvu_ff_scale = 1.0;
  // The input-vector buffer (counted when MH > PE): `registers` is the per_input_bit terms above (MW*A
  // bits in registers and their read multiplexer); `memory` drops them and places a ceil(MW/SIMD)
  // deep, SIMD*A wide buffer (bufferResources: SRL, LUTRAM or BRAM18 by depth).
  InputBuffer mvu_input_buffer = InputBuffer::Registers;
  // Threshold memories (one per PE and threshold, TMEM = ceil(MH/PE) deep, acc bits wide): in BRAM
  // when at least this deep and this wide, else in LUTs (counted in *_per_threshold_bit).
  int64_t threshold_bram_min_depth = 64;
  int64_t threshold_bram_min_width = 9;
  // Buffers and memories by depth: up to 2 entries registers, up to srl_max_depth shift registers
  // (SRL32), up to lutram_max_depth distributed RAM, BRAM (or URAM) beyond.
  int64_t srl_max_depth = 32;
  int64_t lutram_max_depth = 128;
  // ram_style auto: weight memories of at most this many bits in LUTRAM (what Vivado infers for
  // FINN's decoupled weight streamer), else BRAM.
  int64_t weight_lutram_max_bits = 4096;
  // Distributed RAM deeper than 64 entries: bits per LUT including the read multiplexers (64 / 1.5);
  // up to 64 entries a LUT holds 64 entries of one bit.
  double lutram_bits_per_lut = 64.0 / 1.5;
  // Buffer control (FIFO pointers, handshakes): LUT / FF per buffer, per data bit, per address bit.
  double buffer_lut_base = 0;
  double buffer_lut_per_bit = 0.9528;
  double buffer_lut_per_addr_bit = 5.141;
  double buffer_ff_base = 0;
  double buffer_ff_per_bit = 0.1036;
  double buffer_ff_per_addr_bit = 3.803;
  // Bit-serial lane: LUTs per lane per activation bit (AND array + shift-add).
  double bitserial_lut_per_bit = 1.0;
  // Sliding-window unit: LUT / FF = base + per_bit * SIMD*A (datapath) + per_register_bit * bits of a
  // line buffer short enough for registers, plus the line buffer's memory (LUTRAM up to
  // linebuffer_lutram_max_bits, FINN's default ram_style distributed, else BRAM).
  double swu_lut_base = 307.2;
  double swu_lut_per_bit = 2.731;
  double swu_lut_per_register_bit = 3.164;
  double swu_ff_base = 368.5;
  double swu_ff_per_bit = 6.208;
  double swu_ff_per_register_bit = 1.962;
  int64_t linebuffer_lutram_max_bits = 65536;
  // Window pooling: LUT / FF = base + per_bit * PE*A, plus the row of partial results (LUTRAM).
  double pool_lut_base = 392.2;
  double pool_lut_per_bit = 1.535;
  double pool_ff_base = 174;
  double pool_ff_per_bit = 4.384;
  // Thresholding (quantizer): LUT = base + per_threshold_bit * PE*T*A_in (comparators; the
  // threshold memory in LUTs when it is not in BRAM), FF = base + per_bit * PE*(A_in + A_out).
  double thr_lut_base = 17.62;
  double thr_lut_per_threshold_bit = 0.3137;
  double thr_ff_base = 0;
  double thr_ff_per_bit = 4.422;
  // Data-width converter: LUT = base + per_bit * max(in, out) + per_down_bit * in (when in > out),
  // FF = base + per_bit * max(in, out).
  double dwc_lut_base = 55.68;
  double dwc_lut_per_bit = 0.4923;
  double dwc_lut_per_down_bit = 0.9768;
  double dwc_ff_base = 70.66;
  double dwc_ff_per_bit = 3.711;
  // Other small engines (add, fork, concat, global pool, label select).
  double engine_lut_base = 100;
  double engine_lut_per_bit = 1.0; // per bit of the datapath width (PE * bits)
  // DMAs and weight streamers (dmaResources, FINN's IODMA): LUT / FF = dma_* + dma_*_per_bit * X,
  // X = lcm(AXI interface width, stream width), the widest word of its width converters;
  // BRAM18 = dma_bram18 (the AXI read buffer), or a 512-deep X-wide buffer when the converters go
  // through the lcm (neither width divides the other). Fitted on the 10 IODMAs of test/data/synth.
  double dma_lut = 730.1;
  double dma_lut_per_bit = 1.516;
  double dma_ff = 1158;
  double dma_ff_per_bit = 4.817;
  double dma_bram18 = 1;
  // Scale/shift requantiser: DSPs per PE.
  double scale_shift_dsp_per_pe = 1;
};

/// A coefficient the estimate is affine in, by its hardware.cost_model name and the engine family
/// (validation-bench op) whose estimate it enters: what bench/fit_cost_model.py fits.
struct LinearCoefficient {
  const char* name;
  double CostCoefficients::*field;
  const char* family;   // mvau, swu, pool, thresholding, dwc, fifo, dma
  const char* resource; // lut or ff
};
const std::vector<LinearCoefficient>& linearCoefficients();

/// Utilisation caps applied to the device totals (FINN's defaults).
struct Budget {
  double lut = 0.70, ff = 0.50, bram = 0.80, uram = 0.80, dsp = 0.80; // defaults of hardware.budget
};

/// MACs one DSP slice of `kind` performs per cycle for W x A bit operands (packing of narrow
/// products; wide operands need several slices: returns 1/n then).
double dspMacsPerSlice(DspKind kind, int w, int a);

/// BRAM18 blocks for a depth x width memory as Vivado maps it (docs/cost-model.md): the depth
/// rounded up to a power of two picks the RAMB36 aspect ratio (512 x 72 ... 32K x 1), the width
/// takes whole RAMB36 and a RAMB18 for a remainder of at most half a RAMB36's width; deeper than 32K,
/// 7-series parts use 32K x 1 slices (sevenSeries), UltraScale+ and later cascade columns of the
/// narrowest aspect ratio that holds the word (4K x 9 for 5 to 9 bits).
int64_t bram18For(int64_t depth, int64_t width, bool sevenSeries = false);
/// LUTs of a depth x width distributed RAM: one per bit up to 64 entries, else width * ceil(depth/64)
/// * 64 / lutram_bits_per_lut (the read multiplexers).
double lutramLuts(int64_t depth, int64_t width, const CostCoefficients& c);
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
/// A stream FIFO of `depth` tokens of `bits` bits, laid out as words of at most `maxWord` bits (a
/// buffer of depth * ceil(bits / word) words, bufferResources). The mapping's streams carry whole
/// pixels, which FINN's streams fold into narrower words: they use 72-bit words; a FIFO whose
/// width is the real stream width (the validation bench) passes that width.
Resources streamResources(int64_t depth, int64_t bits, const CostCoefficients& c, int64_t maxWord = 72);
/// Data-width converter from `inBits` to `outBits` per token (not yet placed by the mapping; the
/// validation bench checks it).
Resources dwcResources(int64_t inBits, int64_t outBits, const CostCoefficients& c);
/// A DMA (FINN's IODMA, also mpsim's weight streamer) between an AXI port of `portBits` and a
/// stream of `streamBits` (rounded up to whole bytes, as FINN pads AXI streams) that moves
/// `transferBits` per frame: FINN's interface width is gcd(transferBits, portBits), and its width
/// converters go through X = lcm(interface, stream) bits (docs/cost-model.md, "Other engines").
Resources dmaResources(int64_t streamBits, int64_t transferBits, int64_t portBits, const CostCoefficients& c);
/// Datapath logic of a non-MAC engine `width` bits wide.
Resources engineResources(int64_t width, const CostCoefficients& c);
/// LabelSelect (top-k) engine: PE lanes each compare one score of `scoreBits` against the k
/// running top scores, plus k (score, index) registers with their shift/insert multiplexers
/// (docs/cost-model.md). No BRAM, no DSP.
Resources labelSelectResources(int64_t pe, int64_t k, int scoreBits, int indexBits, const CostCoefficients& c);

} // namespace mpsim::hw
