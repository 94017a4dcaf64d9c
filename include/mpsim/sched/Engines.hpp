#pragma once
// The engine families of the dataflow template, one home each (docs/architecture.md): for every
// family its spec (EngineSpec: per-token costs, ports, need functions), its closed-form cycles per
// frame, its legal folding range and its resources. The mapping builds engines with them, the
// scheduler searches with their closed forms and ranges, the resource estimate and the report read
// them; nothing else restates a family's formula.
//
//   family        layers                         source
//   mac           conv, fc (MVU), depthwise (VVU)  src/sched/engines/Mac.cpp
//   swu           sliding window of a conv       src/sched/engines/SlidingWindow.cpp
//   pool          maxpool, avgpool, global pool  src/sched/engines/Pooling.cpp
//   elementwise   add, concat, quantizer, fork   src/sched/engines/Elementwise.cpp
//   labelselect   top-k                          src/sched/engines/LabelSelect.cpp
//   dma           input / output DMA, weight streamer  src/sched/engines/Dma.cpp
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/config/RunConfig.hpp"
#include "mpsim/graph/Layer.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/sched/EngineSpec.hpp"

namespace mpsim::sched {

/// Divisors of n in increasing order (legal foldings divide the folded dimension).
std::vector<int64_t> divisors(int64_t n);

struct Fold {
  int64_t pe = 1, simd = 1;
  int64_t cycles = 0; // per frame
};

/// Matrix-vector units (conv, fc: MVU) and vector units (depthwise conv: VVU).
namespace mac {
/// PE folds the output channels; SIMD the dot product (K_h*K_w*C_in), for depthwise K_h*K_w.
int64_t maxPe(const graph::Layer& l);
int64_t maxSimd(const graph::Layer& l);
/// Cycles per frame at PE x SIMD:
///   matrix-vector: OFM_H*OFM_W * ceil(MH/PE) * ceil(MW/SIMD), and at least the cycles to read
///   a flattened input at SIMD elements per token and cycle (fc over a spatial tensor);
///   depthwise: OFM_H*OFM_W * ceil(C/PE) * ceil(K_h*K_w/SIMD);
///   bit-serial units take a cycle per weight bit (docs/cost-model.md).
int64_t cycles(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind = hw::PeKind::Lut);
/// Legal folding (PE and SIMD divide their dimensions) with the fewest lanes PE*SIMD whose cycles
/// meet `target`; ties prefer the smaller PE. If no folding meets it, the fully parallel one.
Fold foldForTarget(const graph::Layer& l, int64_t target, hw::PeKind kind = hw::PeKind::Lut);
/// Every legal folding whose cycles meet `target`, in increasing PE, then SIMD: the candidates
/// among which the scheduler picks the cheapest (memory packing makes a wider folding cheaper at
/// times, so a faster target never gets a cheaper design). Never empty: if no folding meets the
/// target, the fully parallel one.
std::vector<Fold> foldsForTarget(const graph::Layer& l, int64_t target, hw::PeKind kind = hw::PeKind::Lut);
/// PE kind used when the config names none: LUT multipliers up to 4-bit operands, DSPs above.
hw::PeKind defaultKind(const graph::Layer& l);
/// Weight memory for ram_style auto: LUTRAM for small memories (hw::CostCoefficients::
/// weight_lutram_max_bits), else BRAM.
hw::MemKind autoWeightMemory(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind,
                             const hw::CostCoefficients& c);
/// The unit; `inShape` is the shape of the tokens it reads (after a flatten: the producer's), a
/// sliding window in front (swu::needed) makes it read windows. weightReuse > 0: weights stream
/// from DRAM, one pass per weightReuse output pixels (a second port, Pass need).
EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, int64_t pe, int64_t simd, hw::PeKind kind,
                  hw::MemKind mem, int64_t weightReuse);
hw::Resources resources(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind, hw::MemKind mem,
                        int64_t weightReuse, const config::HardwareConfig& h);
/// The same with requantiser `requant` instead of the layer's own.
hw::Resources resourcesWith(const graph::Layer& l, graph::Requant requant, int64_t pe, int64_t simd, hw::PeKind kind,
                            hw::MemKind mem, int64_t weightReuse, const config::HardwareConfig& h);
/// From the engine's own folding, PE kind, weight memory and requantiser.
hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const config::HardwareConfig& h);
/// The requantisers the layer may have: both thresholds and scale/shift where network.quant says
/// `requant: auto`, else its own.
std::vector<graph::Requant> requantChoices(const graph::Layer& l);
/// For a manual mapping of an `auto` layer without mapping.layers.<n>.requant: the requantiser whose
/// unit takes the smaller largest share of the device (thresholds on a tie); else the layer's own.
graph::Requant cheaperRequant(const graph::Layer& l, int64_t pe, int64_t simd, hw::PeKind kind, hw::MemKind mem,
                              int64_t weightReuse, const config::HardwareConfig& h);
} // namespace mac

/// Sliding-window units in front of a conv's MAC unit (line buffer, windows out).
namespace swu {
/// A conv with a kernel larger than 1x1, a stride or padding (a 1x1 stride-1 conv and an fc read pixels).
bool needed(const graph::Layer& l);
/// The unit in front of `consumer` (the layer's MAC unit): it emits as many window elements per
/// cycle as the consumer takes; beyond C that is several pixels of the window per cycle (FINN's
/// parallel-window mode), up to the whole window.
EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, const EngineSpec& consumer);
/// The same unit without its closed-form cycles (left 0): for callers that may not need them.
EngineSpec unit(const graph::Layer& l, const graph::Shape& inShape, const EngineSpec& consumer);
hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const hw::CostCoefficients& c);
/// Line buffer in pixels (shared with the window pooling unit).
int64_t lineBufferPixels(const graph::Layer& l, const graph::Shape& in);
/// Steady-state cycles per frame of an engine that reads one stream of pixels through a line
/// buffer (a Window need: a sliding-window unit, a window pooling unit) when it runs alone: the
/// line-buffer recurrence of docs/simulation.md evaluated frame after frame until the interval
/// repeats. It is max(reading a frame, emitting a frame) plus the refill at each frame boundary
/// (the first windows of a frame wait for rows the buffer could not take in while the last
/// windows of the previous frame still held them). Throws std::logic_error if the buffer cannot
/// hold a window (the mapping never builds one).
int64_t steadyStateCycles(const EngineSpec& e);
/// An upper bound of steadyStateCycles without evaluating it: every read and every output of a
/// frame one after another (the recurrence's earliest times are never later than that order).
int64_t serialCycles(const EngineSpec& e);
} // namespace swu

/// Window pooling (maxpool, avgpool) and global average pooling, PE channels per cycle.
namespace pool {
int64_t maxPe(const graph::Layer& l);
int64_t cycles(const graph::Layer& l, int64_t pe);
EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, int64_t pe);
hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const hw::CostCoefficients& c);
} // namespace pool

/// Element-wise engines, PE channels per cycle: add, concat, quantizer (thresholds) and the fork
/// that duplicates a stream for several consumers.
namespace elementwise {
int64_t maxPe(const graph::Layer& l);
int64_t cycles(const graph::Layer& l, int64_t pe);
EngineSpec engine(const graph::Layer& l, const std::vector<graph::Shape>& inputs, int64_t pe);
/// A fork of a tensor of `channels` x `pixels` as fast as its producer delivers (producerOutCost
/// cycles per token): the smallest PE that keeps up.
EngineSpec fork(const std::string& tensor, int64_t channels, int64_t pixels, int64_t producerOutCost);
/// `l`: the layer (null for a fork of 8-bit channels); a quantizer is costed as FINN's thresholding
/// unit, the others by their datapath width.
hw::Resources resources(const EngineSpec& e, const graph::Layer* l, const hw::CostCoefficients& c);
} // namespace elementwise

/// Label select (top-k) with PE comparator lanes.
namespace labelselect {
int64_t maxPe(const graph::Layer& l); // the class scores
/// Scans the frame's tokens (ceil(C_token / PE) cycles each; one token of C scores after a fc),
/// then writes the k indices one per cycle (finn-hlslib's LabelSelect_Batch).
int64_t cycles(const graph::Layer& l, int64_t pe);
EngineSpec engine(const graph::Layer& l, const graph::Shape& inShape, int64_t pe);
hw::Resources resources(const EngineSpec& e, const graph::Layer& l, const hw::CostCoefficients& c);
} // namespace labelselect

/// DMA engines: the input and output DMA (I/O port width, DRAM) and the weight streamer of a MAC
/// unit whose weights live in DRAM.
namespace dma {
EngineSpec input(const graph::Layer& l, const config::IoConfig& io);
EngineSpec output(const graph::Layer& l, const graph::Shape& inShape, const config::IoConfig& io);
/// The streamer feeding `mac`'s weight port: one token (all weights) per pass.
EngineSpec weightStreamer(const EngineSpec& mac, const config::HardwareConfig& h);
/// Cycles between the bursts of a weight pass that refills a buffer its layer is still working
/// through (sim::WeightStreamer: every pass after the first FIFO depth's): the layer consumes a pass
/// in `passCycles`, so burst i of the next pass goes out when burst i of the current one has been
/// used, less one burst's transfer and the latency so that the pass is complete when the layer
/// needs it: floor((passCycles - burst transfer - latency) / bursts), 0 when that leaves nothing.
/// Weights then stream at the rate the layer uses them, as through a shallow FIFO, instead of a
/// whole pass as fast as two bursts in flight allow (which starved layers whose passes are short
/// behind the large passes of others: ResNet-18 W2A2 on xczu7ev simulated 3.8 % below its
/// prediction at 86 % DRAM utilisation).
int64_t burstPace(int64_t passBytes, int64_t passCycles, const config::HardwareConfig& h);
/// Weight passes per frame of a layer whose weights stream with `reuse` output pixels per pass, and
/// the bytes of one pass (all `weightBits` of the layer's parameter memory).
int64_t weightPasses(const graph::Layer& l, int64_t reuse);
int64_t weightPassBytes(int64_t weightBits);
/// Cycles per frame: the port rate, the frame's DRAM bytes at all channels' peak rate, and the
/// request bound of requestCycles.
int64_t cycles(const EngineSpec& e, const config::HardwareConfig& h);
/// The I/O port alone (DMAs; 0 for a weight streamer).
int64_t portCycles(const EngineSpec& e);
/// One initiator's DRAM requests per frame: `units` groups (weight passes, or the frame) of
/// `unitBytes` each, in bursts of at most burst_bytes with two in flight (sim/Engine.cpp): a burst
/// completes latency cycles after its transfer on its channel, so one initiator moves at most two
/// bursts per (transfer + latency) whatever the channels' total rate, and each group waits for its
/// last burst: (n - 1) * max(burst / total rate, (transfer + latency) / 2) + last transfer + latency.
/// A weight streamer's pacing (burstPace) is not in it: paced, a pass takes at most its layer's
/// compute time for the pass, so the layer's own closed form is never below the paced streamer's.
int64_t requestCycles(int64_t unitBytes, int64_t units, const config::HardwareConfig& h);
/// Resources of an input / output DMA (hw::dmaResources): its stream carries tokens of
/// bytes_per_token, at most a port word (`pe`, the I/O port bits) per cycle: stream width
/// min(token bits, port bits), moving whole stream words per token.
hw::Resources resources(const EngineSpec& e, const hw::CostCoefficients& c);
/// A weight streamer's: a port-wide stream (hardware.io.in_bits_per_cycle).
hw::Resources streamerResources(const config::HardwareConfig& h);
} // namespace dma

/// Layers folded by PE alone (pooling, element-wise, label select), by the layer's family: the
/// largest PE (0 for layers of other families), the PE without a mapping entry, and the closed form.
int64_t maxLanes(const graph::Layer& l);
int64_t defaultLanes(const graph::Layer& l);
int64_t lanesCycles(const graph::Layer& l, int64_t pe);
/// The layer's engine at PE lanes and its resources (the scheduler's options).
EngineSpec lanesEngine(const graph::Layer& l, int64_t pe);
hw::Resources lanesResources(const graph::Layer& l, int64_t pe, const hw::CostCoefficients& c);

} // namespace mpsim::sched
