#pragma once
// The one description of an engine and a stream shared by the analytical side (closed forms,
// resources, report) and the SystemC side (sim/Engine.hpp): per-token costs, ports with their need
// functions, window geometry.
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/graph/Layer.hpp"
#include "mpsim/hw/CostModel.hpp"

namespace mpsim::sched {

enum class EngineKind {
  InputDma,
  OutputDma,
  Swu,
  MatrixVector,
  Vector,
  Pool,
  GlobalPool,
  Add,
  Fork,
  Concat,
  Quantizer,
  LabelSelect,
  WeightStreamer
};
const char* toString(EngineKind k);

/// How an engine's output token k depends on the tokens of one input port (indices within a frame).
enum class NeedKind {
  OneToOne, // output k needs input k
  Window,   // sliding window over a raster-ordered image (line buffer)
  All,      // every output of the frame needs every input (fc over a flattened tensor, global pool)
  Pass,     // weights: output k needs weight pass k / reuse
};

/// The window of a sliding-window or pooling engine with its input and output image sizes.
struct WindowGeom : graph::Window {
  int64_t ih = 1, iw = 1, oh = 1, ow = 1;
  WindowGeom() = default;
  WindowGeom(const graph::Window& w, int64_t ih_, int64_t iw_, int64_t oh_, int64_t ow_)
      : graph::Window(w), ih(ih_), iw(iw_), oh(oh_), ow(ow_) {}
};

struct PortSpec {
  int stream = -1;
  int64_t tokens_per_frame = 0;
  int64_t read_cost = 0; // cycles to take in one token at this engine's rate
  int64_t capacity = 1;  // tokens the engine can hold (line buffer, input vector buffer)
  NeedKind need = NeedKind::OneToOne;
  int64_t reuse = 1; // Pass: output tokens per weight pass
};

struct EngineSpec {
  std::string name;  // unique; the layer name, or layer.swu / layer.fork / layer.weights
  std::string layer; // graph layer it implements
  EngineKind kind = EngineKind::MatrixVector;
  int64_t pe = 1, simd = 1;
  std::vector<PortSpec> in;
  std::vector<int> out; // stream ids (all carry the same tokens)
  int64_t out_tokens_per_frame = 0;
  int64_t out_cost = 1; // cycles between outputs at full rate
  int64_t tail = 0;     // cycles from the last needed input to the output (beyond read costs)
  int64_t latency = 1;  // pipeline depth, cycles from compute end to the token in the FIFO
  WindowGeom geom;
  int64_t macs = 0;
  int64_t weight_bits = 0; // parameter memory of the layer
  bool weights_in_dram = false;
  hw::PeKind pe_kind = hw::PeKind::Lut; // MAC engines
  graph::Requant requant = graph::Requant::None; // MAC engines: the requantiser built
  hw::MemKind weight_mem = hw::MemKind::None;
  int64_t bytes_per_token = 0;    // DMA engines: bytes moved per token (rounded up per frame)
  int64_t bytes_per_frame = 0;    // DMA / weight streamer: DRAM bytes per frame
  int64_t closed_form_cycles = 0; // cycles per frame from the closed form of this engine alone
  int64_t burst_pace = 0;         // weight streamer: cycles between a refilled pass's bursts (dma::burstPace)
};

struct StreamSpec {
  std::string name; // producer->consumer
  int producer = -1, consumer = -1;
  int port = 0; // consumer port
  int64_t depth = 2;
  int64_t bits_per_token = 0;
  bool shortcut = false;
  int64_t min_depth = 0;  // shortcut: smallest depth that cannot deadlock (from the branch's need functions)
  int64_t auto_depth = 0; // shortcut: depth used when mapping.fifos.shortcut_depth is auto
};

/// (first, last) input token index within a frame that output token k of port p needs.
struct Need {
  int64_t first, last;
};
Need needOf(const EngineSpec& e, const PortSpec& p, int64_t k);
/// Appends everything needOf(e, p, .) reads (the need kind, the port's tokens and reuse, the window
/// geometry): equal keys, equal need functions. For caches of what is computed from need functions.
void appendNeedKey(const EngineSpec& e, const PortSpec& p, std::vector<int64_t>& key);

} // namespace mpsim::sched
