#pragma once
// Internal to the ONNX importer: how the float value of an imported activation tensor follows from
// the integer mpsim computes for it, so that initialiser values become integer weights and
// thresholds. The "base" integer is either a layer's accumulator (when the layer's requantiser is
// still open) or a stored activation (decoded: bipolar as -1/+1). The chain is the model's own
// element-wise operators in their order (scales, biases, BatchNorm, ReLU, Clip), each with one
// parameter for all channels or one per channel, evaluated in double precision.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mpsim::io::detail {

struct ChainStep {
  enum class Op { Mul, Add, Div, Relu, Clip };
  Op op = Op::Mul;
  std::vector<double> p; // Mul/Add/Div: one value or one per channel
  double lo = 0, hi = 0; // Clip bounds
};

class ValueChain {
public:
  /// value = base (no operator yet).
  static ValueChain identity() { return ValueChain(); }
  /// Values cannot be derived; `why` says which operator or input prevents it.
  static ValueChain unknown(std::string why);

  bool known() const { return m_why.empty(); }
  const std::string& why() const { return m_why; }
  /// Marks the chain unknown (keeps the first reason).
  void lose(const std::string& why) {
    if (known()) m_why = why.empty() ? "unknown" : why;
  }

  void mul(std::vector<double> p) { push({ChainStep::Op::Mul, std::move(p)}); }
  void add(std::vector<double> p) { push({ChainStep::Op::Add, std::move(p)}); }
  void div(std::vector<double> p) { push({ChainStep::Op::Div, std::move(p)}); }
  void relu() { push({ChainStep::Op::Relu, {}}); }
  void clip(double lo, double hi) { push({ChainStep::Op::Clip, {}, lo, hi}); }

  /// Value of channel c for base integer x.
  double eval(int64_t c, double x) const;
  /// True when every step is Mul/Add/Div with one parameter for all channels: then
  /// value = scale * x + offset for every channel.
  bool perTensorAffine(double& scale, double& offset) const;
  /// Channels the chain's parameters describe (0: all parameters are scalars).
  int64_t channels() const;
  /// Re-indexes per-channel parameters after flattening C channels of `pixels` pixels each into
  /// C * pixels features (NCHW order: feature = c * pixels + p).
  void expandForFlatten(int64_t pixels);
  /// True when every per-channel parameter has exactly `channels` entries.
  bool consistentWith(int64_t channels) const;

private:
  void push(ChainStep s) {
    if (known()) m_steps.push_back(std::move(s));
  }
  std::vector<ChainStep> m_steps;
  std::string m_why;
};

/// Smallest integer x in [lo, hi + 1] for which reached(x) holds, `reached` being monotone
/// (false ... false true ... true) over [lo, hi]; hi + 1 when it never holds.
int64_t firstReached(int64_t lo, int64_t hi, const std::function<bool(int64_t)>& reached);

} // namespace mpsim::io::detail
