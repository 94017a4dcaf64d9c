// DMA engines: input and output DMA, weight streamer. Spec, closed form (port and DRAM), resources.
#include <algorithm>
#include <cmath>

#include "mpsim/common/Math.hpp"
#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched {

namespace dma {

EngineSpec input(const graph::Layer& l, const config::IoConfig& io) {
  EngineSpec e;
  e.name = l.name;
  e.layer = l.name;
  e.kind = EngineKind::InputDma;
  // A host-flattened input (graph::Layer::host_flattened) is one token of all its values.
  const int64_t tokens = l.host_flattened ? 1 : l.out_shape.pixels();
  e.out_tokens_per_frame = tokens;
  const int64_t bitsPerToken = l.out_shape.c * l.out_shape.pixels() / tokens * l.out.bits;
  e.out_cost = ceilDiv(bitsPerToken, int64_t(io.in_bits_per_cycle));
  e.bytes_per_token = ceilDiv(bitsPerToken, int64_t(8));
  e.bytes_per_frame = ceilDiv(bitsPerToken * tokens, int64_t(8));
  e.latency = 1;
  e.pe = io.in_bits_per_cycle;
  return e;
}

EngineSpec output(const graph::Layer& l, const graph::Shape& inShape, const config::IoConfig& io) {
  EngineSpec e;
  e.name = l.name;
  e.layer = l.name;
  e.kind = EngineKind::OutputDma;
  const int64_t bitsPerToken = inShape.c * l.in.bits;
  PortSpec p;
  p.tokens_per_frame = inShape.pixels();
  p.read_cost = ceilDiv(bitsPerToken, int64_t(io.out_bits_per_cycle));
  e.in.push_back(p);
  e.out_tokens_per_frame = 1;
  e.bytes_per_token = ceilDiv(bitsPerToken, int64_t(8));
  e.bytes_per_frame = ceilDiv(bitsPerToken * inShape.pixels(), int64_t(8));
  e.pe = io.out_bits_per_cycle;
  return e;
}

namespace {
// The DRAM latency in cycles, not rounded: the closed forms use it as a time (rounded up once).
double latencyCycles(const config::HardwareConfig& h) { return h.dram.latency_ns * h.clock_mhz / 1e3; }
} // namespace

int64_t burstPace(int64_t passBytes, int64_t passCycles, const config::HardwareConfig& h) {
  const int64_t burst = std::min<int64_t>(h.dram.burst_bytes, passBytes);
  if (passBytes <= 0 || burst <= 0) return 0;
  const int64_t n = ceilDiv(passBytes, burst);
  const double latency = latencyCycles(h);
  const double slack = double(passCycles) - double(burst) / h.units.dram_bytes_per_cycle - latency;
  return slack > 0 ? int64_t(std::floor(slack / double(n))) : 0;
}

EngineSpec weightStreamer(const EngineSpec& mac, const config::HardwareConfig& h) {
  EngineSpec w;
  w.name = mac.layer + ".weights";
  w.layer = mac.layer;
  w.kind = EngineKind::WeightStreamer;
  w.out_tokens_per_frame = mac.in.at(1).tokens_per_frame;
  w.bytes_per_token = weightPassBytes(mac.weight_bits);
  w.bytes_per_frame = w.bytes_per_token * w.out_tokens_per_frame;
  w.out_cost = 0;
  w.latency = 0;
  // The layer works through a pass's weights in its compute time for the pass's pixels.
  w.burst_pace = burstPace(w.bytes_per_token, mac.out_cost * std::min(mac.in.at(1).reuse, mac.out_tokens_per_frame), h);
  return w;
}

int64_t weightPasses(const graph::Layer& l, int64_t reuse) {
  const int64_t pixels = l.out_shape.pixels();
  return ceilDiv(pixels, std::min(reuse, pixels));
}

int64_t weightPassBytes(int64_t weightBits) { return ceilDiv(weightBits, int64_t(8)); }

int64_t portCycles(const EngineSpec& e) {
  if (e.kind == EngineKind::InputDma) return e.out_tokens_per_frame * e.out_cost;
  if (e.kind == EngineKind::OutputDma) return e.in[0].tokens_per_frame * e.in[0].read_cost;
  return 0;
}

int64_t requestCycles(int64_t unitBytes, int64_t units, const config::HardwareConfig& h) {
  if (unitBytes <= 0 || units <= 0) return 0;
  const double perChannel = h.units.dram_bytes_per_cycle, total = h.units.dram_total_bytes_per_cycle;
  // Not rounded to whole cycles (the simulated DRAM rounds it): the bound is then a time in
  // seconds, rounded up once, so a higher clock lowers the frame rate by less than one cycle.
  const double latency = latencyCycles(h);
  const int64_t burst = std::min<int64_t>(h.dram.burst_bytes, unitBytes);
  const int64_t n = ceilDiv(unitBytes, burst);
  const double last = double(unitBytes - (n - 1) * burst);
  const double transfer = double(burst) / perChannel;
  const double period = std::max(double(burst) / total, (transfer + latency) / 2);
  const double unit = double(n - 1) * period + last / perChannel + latency;
  return int64_t(std::ceil(double(units) * unit - 1e-9));
}

int64_t cycles(const EngineSpec& e, const config::HardwareConfig& h) {
  const int64_t dram = int64_t(std::ceil(double(e.bytes_per_frame) / h.units.dram_total_bytes_per_cycle));
  const bool streamer = e.kind == EngineKind::WeightStreamer;
  const int64_t requests = streamer ? requestCycles(e.bytes_per_token, e.out_tokens_per_frame, h)
                                    : requestCycles(e.bytes_per_frame, 1, h);
  return std::max({portCycles(e), dram, requests});
}

hw::Resources resources(const EngineSpec& e, const hw::CostCoefficients& c) {
  const int64_t port = std::max<int64_t>(1, e.pe);
  const int64_t tokenBits = e.bytes_per_token * 8;
  const int64_t stream = std::max<int64_t>(1, std::min(tokenBits, port));
  const int64_t tokens = e.kind == EngineKind::OutputDma ? e.in.at(0).tokens_per_frame : e.out_tokens_per_frame;
  // Bits moved per frame in whole (byte-padded) stream words, FINN's transfer size.
  const int64_t perToken = ceilDiv(stream, int64_t(8)) * 8 * ceilDiv(tokenBits, stream);
  return hw::dmaResources(stream, perToken * tokens, port, c);
}

hw::Resources streamerResources(const config::HardwareConfig& h) {
  const int64_t port = h.io.in_bits_per_cycle;
  return hw::dmaResources(port, port, port, h.cost);
}

} // namespace dma

} // namespace mpsim::sched
