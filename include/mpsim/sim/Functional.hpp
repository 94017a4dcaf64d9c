#pragma once
// Functional (bit-exact) simulation: the data the SystemC engines carry and compute. Tokens carry
// their values (sim::Payload) alongside their timestamps; every engine computes its output token
// from the values of the input tokens it read, with the integer kernels of func::. Timing does not
// depend on the values, so a functional run has exactly the timing of a timing-only run.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mpsim/func/Kernels.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sim/Stream.hpp"

namespace mpsim::sim {

/// Everything a functional run needs beyond the graph: per-layer parameters and the input frames.
struct FunctionalData {
  const graph::Graph* graph = nullptr;
  std::map<std::string, func::LayerParams> params; // weighted layers, quantizers, adds
  func::Tensor input;                              // (N, C, H, W); simulated frame f uses frame f % N
  /// Frames of named input layers (a segment's crossing tensors, docs/segments.md), as `input`; an
  /// input layer not named here reads `input`.
  std::map<std::string, func::Tensor> inputs;
  uint64_t seed = 1;
};

/// Generates every layer's weights (the declared widths and signedness, per-channel widths
/// honoured), thresholds (sorted, around the accumulator's spread, within its range) or scale/shift
/// parameters from `seed`, deterministically; the input frames from `inputNpy` (checked against the
/// input layer's shape and type) or, when empty, `frames` seeded frames. Throws LoadError.
FunctionalData makeFunctionalData(const graph::Graph& g, uint64_t seed, const std::string& inputNpy, int frames);

/// Writes DIR/input.npy, DIR/weights/<layer>.npy, DIR/weights/<layer>.thresholds.npy and
/// DIR/network.json (the layers, types and parameter files), so that test/func_ref.py can recompute
/// the network independently (`func_ref.py network DIR OUT.npy`).
void writeFunctionalData(const FunctionalData& d, const std::string& dir);

/// Values of token j (index within the frame) of input port `port`.
using TokenGetter = std::function<const Payload&(std::size_t port, uint64_t j)>;

/// The computation of one engine: output token k of a frame from its input tokens.
///
/// Tokens are computed in batches (docs/functional.md, "Batched tokens"): operator() records which
/// input payloads output k needs (shared, so they stay alive) and returns its payload still empty;
/// the engine computes its pending outputs together, as one GEMM-like kernel call for MVU/VVU, when
/// kBatch are pending, at the last token of a frame, or as soon as anyone needs the values of one
/// of them (a consumer computing its own outputs, see force()). An engine whose layer feeds the
/// network output, and engines that need every token of a frame, compute each token at once.
/// Values are exactly those of computing each token alone; timing never looks at them.
class TokenFunction {
public:
  static constexpr std::size_t kBatch = 64;

  TokenFunction(const FunctionalData& d, const sched::EngineSpec& spec);
  ~TokenFunction();
  TokenFunction(const TokenFunction&) = delete;
  TokenFunction& operator=(const TokenFunction&) = delete;
  Payload operator()(uint64_t k, const TokenGetter& in);
  /// Computes the pending outputs of this engine (and first those of the engines they depend on).
  void flush();
  /// Makes sure the values of `p` are computed (a no-op for computed payloads and null).
  static void force(const Payload& p);

  struct Owner; // the engine computing a pending payload (cleared when the engine goes away)

private:
  struct Pending {
    std::shared_ptr<std::vector<int32_t>> out; // the payload handed out, filled when computed
    std::size_t first = 0;                     // its input payloads: m_inputs[first ...]
  };
  /// Input `i` (window position, port) of pending output p.
  const Payload& input(const Pending& p, std::size_t i) const { return m_inputs[p.first + i]; }
  void captureWindow(uint64_t k, const TokenGetter& in);
  void compute(); // the pending outputs, every input computed
  void computeWindows(std::vector<Pending>& batch, int32_t fill) const;
  func::Tensor gatherAll(std::size_t port, const TokenGetter& in) const;
  std::vector<TokenFunction*> pendingProducers() const;

  const sched::EngineSpec& m_spec;
  const graph::Layer* m_layer = nullptr;
  graph::Layer m_local; // the layer applied to one assembled window (stride 1, no padding, no dilation)
  const func::LayerParams* m_params = nullptr;
  func::LayerParams m_none;
  std::optional<func::WeightedKernel> m_kernel;   // MVU/VVU: weights prepared once for every token
  std::optional<func::PreparedRequant> m_requant; // MVU/VVU and quantizers: checked once
  int64_t m_channels = 0;                         // channels of port 0's tokens
  bool m_decodeBipolar = false; // SWU -> MVU/VVU of a bipolar-input layer: windows hold -1/+1, 0 padded
  bool m_eager = false;         // compute every token when it is asked for
  std::shared_ptr<Owner> m_owner;
  std::vector<Pending> m_pending;
  std::vector<Payload> m_inputs; // the input payloads the pending outputs need (shared: kept alive)
  uint64_t m_mark = 0; // flush(): visited in the current traversal
};

/// Values of pixel k of simulated frame f of the input (the input DMA's tokens); with one token per
/// frame for an input of several pixels (host-flattened), the whole frame in C, H, W order.
Payload inputToken(const FunctionalData& d, const std::string& inputLayer, uint64_t f, uint64_t k,
                   int64_t tokensPerFrame);

} // namespace mpsim::sim
