#include "mpsim/func/Kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace mpsim::func {

using graph::ActType;
using graph::Shape;

// ---------------------------------------------------------------- operand types
Operand Operand::weight(graph::WeightType t, int bits) {
  switch (t) {
  case graph::WeightType::Signed: return {bits, OperandKind::Signed};
  case graph::WeightType::Unsigned: return {bits, OperandKind::Unsigned};
  case graph::WeightType::Bipolar: return {1, OperandKind::Bipolar};
  }
  return {bits, OperandKind::Signed};
}

namespace {
void checkBits(const Operand& t) {
  if (t.kind == OperandKind::Bipolar) {
    if (t.bits != 1) throw KernelError("bipolar operands have 1 bit, got " + std::to_string(t.bits));
    return;
  }
  if (t.bits < 1 || t.bits > 16)
    throw KernelError("operand width " + std::to_string(t.bits) + " bits is outside 1..16");
}
} // namespace

int64_t Operand::storedMin() const {
  checkBits(*this);
  return kind == OperandKind::Signed ? -(int64_t{1} << (bits - 1)) : 0;
}
int64_t Operand::storedMax() const {
  checkBits(*this);
  switch (kind) {
  case OperandKind::Signed: return (int64_t{1} << (bits - 1)) - 1;
  case OperandKind::Unsigned: return (int64_t{1} << bits) - 1;
  case OperandKind::Bipolar: return 1;
  }
  return 0;
}
int64_t Operand::valueMin() const { return kind == OperandKind::Bipolar ? -1 : storedMin(); }
int64_t Operand::valueMax() const { return kind == OperandKind::Bipolar ? 1 : storedMax(); }
std::string Operand::str() const {
  switch (kind) {
  case OperandKind::Signed: return "int" + std::to_string(bits);
  case OperandKind::Unsigned: return "uint" + std::to_string(bits);
  case OperandKind::Bipolar: return "bipolar";
  }
  return "?";
}

void checkRange(const Tensor& x, const Operand& t, const std::string& what) {
  const int64_t lo = t.storedMin(), hi = t.storedMax();
  // Vectorisable scan first; locate the offender only when there is one.
  const int32_t* d = x.data();
  const std::size_t n = x.size();
  int32_t mn = std::numeric_limits<int32_t>::max(), mx = std::numeric_limits<int32_t>::min();
  for (std::size_t i = 0; i < n; ++i) {
    mn = std::min(mn, d[i]);
    mx = std::max(mx, d[i]);
  }
  if (n == 0 || (mn >= lo && mx <= hi)) return;
  for (std::size_t i = 0; i < n; ++i)
    if (d[i] < lo || d[i] > hi)
      throw KernelError(what + ": value " + std::to_string(d[i]) + " at flat index " + std::to_string(i) +
                        " is outside " + t.str() + " [" + std::to_string(lo) + ", " + std::to_string(hi) + "]" +
                        (t.kind == OperandKind::Bipolar ? " (bipolar operands are stored as bits 0/1)" : ""));
}

uint64_t accumulatorBound(const Operand& x, const Operand& w, int64_t length) {
  if (length < 0) throw KernelError("negative dot-product length");
  const uint64_t ax = static_cast<uint64_t>(std::max(-x.valueMin(), x.valueMax()));
  const uint64_t aw = static_cast<uint64_t>(std::max(-w.valueMin(), w.valueMax()));
  uint64_t bound = 0;
  if (__builtin_mul_overflow(ax * aw, static_cast<uint64_t>(length), &bound) ||
      bound > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw KernelError("accumulator of " + std::to_string(length) + " products of " + x.str() + " x " + w.str() +
                      " could exceed int64");
  return bound;
}

AccWidth accumulatorWidth(const Operand& x, const Operand& w, int64_t length) {
  return accumulatorBound(x, w, length) <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) ? AccWidth::Int32
                                                                                                      : AccWidth::Int64;
}

ConvGeometry ConvGeometry::of(const graph::Layer& l) {
  ConvGeometry g;
  static_cast<PoolGeometry&>(g) = PoolGeometry::of(l);
  g.groups = l.groups;
  g.out_channels = l.out_channels;
  return g;
}

// ---------------------------------------------------------------- convolution
namespace {

// Four dot products sharing the activation operand: the compiler turns the int16 x int16 -> int32
// sums into packed multiply-add (pmaddwd) on any x86-64.
template <typename T, typename W, typename Acc>
__attribute__((always_inline)) inline void dot4(const T* __restrict x, const W* __restrict w0, const W* __restrict w1, const W* __restrict w2,
                 const W* __restrict w3, int64_t n, Acc* __restrict a) {
  Acc s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Acc xv = x[i];
    s0 += xv * static_cast<Acc>(w0[i]);
    s1 += xv * static_cast<Acc>(w1[i]);
    s2 += xv * static_cast<Acc>(w2[i]);
    s3 += xv * static_cast<Acc>(w3[i]);
  }
  a[0] += s0;
  a[1] += s1;
  a[2] += s2;
  a[3] += s3;
}

template <typename T, typename W, typename Acc> __attribute__((always_inline)) inline Acc dot1(const T* __restrict x, const W* __restrict w, int64_t n) {
  Acc s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<Acc>(x[i]) * static_cast<Acc>(w[i]);
  return s;
}

struct ConvDims {
  int64_t N, C, H, W, K, P, Q, G, Cg, Kg;
};

// Weights in kernel-position-major order ([K][kh][kw][Cg]), decoded (bipolar as -1/+1).
template <typename T> std::vector<T> layoutWeights(const Tensor& w, const std::vector<Operand>& wt, int64_t K,
                                                   int64_t Cg, int64_t kh, int64_t kw) {
  const int64_t kk = kh * kw, taps = kk * Cg;
  std::vector<T> wp(static_cast<std::size_t>(K * taps));
  for (int64_t k = 0; k < K; ++k) {
    const bool bip = (wt.size() == 1 ? wt[0] : wt[static_cast<std::size_t>(k)]).kind == OperandKind::Bipolar;
    const int32_t* src = w.data() + k * taps; // (Cg, kh, kw)
    T* dst = wp.data() + k * taps;            // (kh, kw, Cg): contiguous writes, reads at stride kk
    for (int64_t t = 0; t < kk; ++t)
      for (int64_t c = 0; c < Cg; ++c) {
        const int32_t v = src[c * kk + t];
        dst[t * Cg + c] = static_cast<T>(bip ? 2 * v - 1 : v);
      }
  }
  return wp;
}

// Direct convolution on a zero-padded, group-major channel-last copy of the input
// ([G][Hp][Wp][Cg]) and kernel-position-major weights ([K][kh][kw][Cg]): for every output pixel and
// kernel row the kw*Cg operands (Cg when dilated horizontally) are contiguous in both arrays.
template <typename T, typename W, typename Acc>
void convCore(const Tensor& x, const Operand& xt, const std::vector<W>& wp, const ConvGeometry& g, const ConvDims& d,
              AccTensor& out) {
  const int64_t kh = g.kh, kw = g.kw;
  const int64_t Hp = d.H + 2 * g.pad_h, Wp = d.W + 2 * g.pad_w;
  const int64_t taps = kh * kw * d.Cg;
  // Scratch reused across calls (the functional simulation convolves one window per token).
  static thread_local std::vector<T> xp;
  xp.resize(static_cast<std::size_t>(d.G * Hp * Wp * d.Cg));
  const bool padded = g.pad_h > 0 || g.pad_w > 0; // without padding every element is overwritten
  const bool bip = xt.kind == OperandKind::Bipolar;
  const int64_t rowStride = Wp * d.Cg;
  const int64_t segment = g.dil_w == 1 ? kw * d.Cg : d.Cg;
  const int64_t segments = g.dil_w == 1 ? 1 : kw;
  for (int64_t n = 0; n < d.N; ++n) {
    if (padded) std::fill(xp.begin(), xp.end(), T(0));
    for (int64_t c = 0; c < d.C; ++c) {
      const int64_t gi = c / d.Cg, cc = c % d.Cg;
      const int32_t* src = x.data() + ((n * d.C + c) * d.H) * d.W;
      for (int64_t h = 0; h < d.H; ++h) {
        T* dst = xp.data() + ((gi * Hp + h + g.pad_h) * Wp + g.pad_w) * d.Cg + cc;
        for (int64_t ww = 0; ww < d.W; ++ww)
          dst[ww * d.Cg] = static_cast<T>(bip ? 2 * src[h * d.W + ww] - 1 : src[h * d.W + ww]);
      }
    }
    int64_t* o = out.data() + n * d.K * d.P * d.Q;
    for (int64_t gi = 0; gi < d.G; ++gi) {
      const T* xg = xp.data() + gi * Hp * rowStride;
      const int64_t k0 = gi * d.Kg, k1 = k0 + d.Kg;
      for (int64_t p = 0; p < d.P; ++p)
        for (int64_t q = 0; q < d.Q; ++q) {
          const T* xb = xg + (p * g.stride_h) * rowStride + (q * g.stride_w) * d.Cg;
          const int64_t pix = p * d.Q + q;
          int64_t k = k0;
          for (; k + 4 <= k1; k += 4) {
            Acc a[4] = {0, 0, 0, 0};
            const W* wk = wp.data() + k * taps;
            for (int64_t r = 0; r < kh; ++r)
              for (int64_t s = 0; s < segments; ++s) {
                const T* xs = xb + r * g.dil_h * rowStride + s * g.dil_w * d.Cg;
                const W* ws = wk + (r * kw + s) * d.Cg;
                dot4<T, W, Acc>(xs, ws, ws + taps, ws + 2 * taps, ws + 3 * taps, segment, a);
              }
            for (int j = 0; j < 4; ++j) o[(k + j) * d.P * d.Q + pix] = a[j];
          }
          for (; k < k1; ++k) {
            Acc a = 0;
            const W* wk = wp.data() + k * taps;
            for (int64_t r = 0; r < kh; ++r)
              for (int64_t s = 0; s < segments; ++s)
                a += dot1<T, W, Acc>(xb + r * g.dil_h * rowStride + s * g.dil_w * d.Cg, wk + (r * kw + s) * d.Cg, segment);
            o[k * d.P * d.Q + pix] = a;
          }
        }
    }
  }
}

bool fitsInt16(const Operand& t) {
  return std::min(t.valueMin(), t.storedMin()) >= -32768 && std::max(t.valueMax(), t.storedMax()) <= 32767;
}

} // namespace

PreparedConv::PreparedConv(const Tensor& w, const std::vector<Operand>& wTypes, const Operand& xType,
                           const ConvGeometry& g, int64_t inChannels)
    : m_g(g), m_x(xType), m_C(inChannels), m_K(g.out_channels) {
  if (g.kh < 1 || g.kw < 1 || g.stride_h < 1 || g.stride_w < 1 || g.dil_h < 1 || g.dil_w < 1 || g.pad_h < 0 ||
      g.pad_w < 0 || g.groups < 1)
    throw KernelError("conv: kernel, stride, dilation and groups must be >= 1 and padding >= 0");
  if (m_K < 1) throw KernelError("conv: out_channels must be >= 1");
  if (m_C % g.groups != 0 || m_K % g.groups != 0)
    throw KernelError("conv: groups " + std::to_string(g.groups) + " must divide input channels " +
                      std::to_string(m_C) + " and output channels " + std::to_string(m_K));
  m_Cg = m_C / g.groups;
  const Shape wantW{m_K, m_Cg, g.kh, g.kw};
  if (w.shape() != wantW)
    throw KernelError("conv: weights have shape " + w.shape().str() + ", expected " + wantW.str() +
                      " (K, C/groups, kh, kw)");
  if (wTypes.size() != 1 && static_cast<int64_t>(wTypes.size()) != m_K)
    throw KernelError("conv: " + std::to_string(wTypes.size()) + " weight types for " + std::to_string(m_K) +
                      " output channels (give 1 or one per channel)");
  checkBits(xType);
  const int64_t taps = m_Cg * g.kh * g.kw;
  bool narrow = fitsInt16(xType);
  uint64_t bound = 0;
  if (wTypes.size() == 1) {
    checkRange(w, wTypes[0], "conv weights");
    narrow = narrow && fitsInt16(wTypes[0]);
    bound = accumulatorBound(xType, wTypes[0], taps);
  } else {
    for (std::size_t k = 0; k < static_cast<std::size_t>(m_K); ++k) {
      const Operand& t = wTypes[k];
      checkBits(t);
      const int32_t* wk = w.data() + static_cast<int64_t>(k) * taps;
      for (int64_t i = 0; i < taps; ++i)
        if (wk[i] < t.storedMin() || wk[i] > t.storedMax())
          throw KernelError("conv weights of output channel " + std::to_string(k) + ": element " + std::to_string(i) +
                            " = " + std::to_string(wk[i]) + " is outside " + t.str() + " (" +
                            std::to_string(t.storedMin()) + ".." + std::to_string(t.storedMax()) + ")");
      narrow = narrow && fitsInt16(t);
      bound = std::max(bound, accumulatorBound(xType, t, taps));
    }
  }
  m_narrow = narrow && bound <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max());
  // Weights whose decoded values fit int8 (widths up to 8 bits signed, 7 unsigned, bipolar) are
  // kept as int8: half the memory and the memory traffic of int16, widened in registers.
  const bool fits8 = std::all_of(wTypes.begin(), wTypes.end(), [](const Operand& t) {
    return std::min(t.valueMin(), t.storedMin()) >= -128 && std::max(t.valueMax(), t.storedMax()) <= 127;
  });
  if (m_narrow && fits8)
    m_w8 = layoutWeights<int8_t>(w, wTypes, m_K, m_Cg, g.kh, g.kw);
  else if (m_narrow)
    m_w16 = layoutWeights<int16_t>(w, wTypes, m_K, m_Cg, g.kh, g.kw);
  else
    m_w32 = layoutWeights<int32_t>(w, wTypes, m_K, m_Cg, g.kh, g.kw);
}

AccTensor PreparedConv::run(const Tensor& x) const {
  const Shape& xs = x.shape();
  if (xs.c != m_C)
    throw KernelError("conv: input " + xs.str() + " has " + std::to_string(xs.c) + " channels, the weights expect " +
                      std::to_string(m_C));
  const ConvGeometry& g = m_g;
  ConvDims d{};
  d.N = xs.n;
  d.C = xs.c;
  d.H = xs.h;
  d.W = xs.w;
  d.K = m_K;
  d.G = g.groups;
  d.Cg = m_Cg;
  d.Kg = d.K / d.G;
  const int64_t effH = int64_t{g.dil_h} * (g.kh - 1) + 1, effW = int64_t{g.dil_w} * (g.kw - 1) + 1;
  if (d.H + 2 * g.pad_h < effH || d.W + 2 * g.pad_w < effW)
    throw KernelError("conv: input " + xs.str() + " with padding is smaller than the (dilated) kernel");
  d.P = (d.H + 2 * g.pad_h - effH) / g.stride_h + 1;
  d.Q = (d.W + 2 * g.pad_w - effW) / g.stride_w + 1;
  checkRange(x, m_x, "conv input");
  AccTensor out(Shape{d.N, d.K, d.P, d.Q});
  if (m_narrow && !m_w8.empty()) { // widened once per call (this path convolves whole images)
    static thread_local std::vector<int16_t> w16;
    w16.assign(m_w8.begin(), m_w8.end());
    convCore<int16_t, int16_t, int32_t>(x, m_x, w16, g, d, out);
  } else if (m_narrow)
    convCore<int16_t, int16_t, int32_t>(x, m_x, m_w16, g, d, out);
  else
    convCore<int32_t, int32_t, int64_t>(x, m_x, m_w32, g, d, out);
  return out;
}

namespace {
// Two inputs times four output channels: each weight load serves both inputs, each input load all
// four channels (int16 x int16 -> int32 sums become packed multiply-add, as in dot4).
template <typename T, typename W, typename Acc>
__attribute__((always_inline)) inline void dot2x4(const T* __restrict x0, const T* __restrict x1, const W* __restrict w0, const W* __restrict w1,
                   const W* __restrict w2, const W* __restrict w3, int64_t n, Acc* __restrict a0, Acc* __restrict a1) {
  Acc s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Acc u = x0[i], v = x1[i];
    const Acc c0 = w0[i], c1 = w1[i], c2 = w2[i], c3 = w3[i];
    s00 += u * c0;
    s01 += u * c1;
    s02 += u * c2;
    s03 += u * c3;
    s10 += v * c0;
    s11 += v * c1;
    s12 += v * c2;
    s13 += v * c3;
  }
  a0[0] = s00;
  a0[1] = s01;
  a0[2] = s02;
  a0[3] = s03;
  a1[0] = s10;
  a1[1] = s11;
  a1[2] = s12;
  a1[3] = s13;
}

// Rows of weights stored narrower than the operands (int8) widened into a scratch buffer, once per
// block of inputs that uses them (the multiply-add kernels are fastest on equal widths).
template <typename T, typename W> inline const T* widenRows(const W* w, int64_t n) {
  if constexpr (std::is_same_v<T, W>) {
    (void)n;
    return w;
  } else {
    static thread_local std::vector<T> buf;
    buf.assign(w, w + n);
    return buf.data();
  }
}

// An AVX2 clone next to the portable code, picked at load time (GCC; clang, which builds the fuzz
// target, does not multiversion function templates: portable code only).
#if defined(__GNUC__) && !defined(__clang__)
#define MPSIM_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define MPSIM_AVX2_CLONE
#endif

// runWindows' core: inputs already laid out like the weights ([G][kh][kw][Cg] each, L values),
// blocks of inputs against every weight row of their group.
template <typename T, typename W, typename Acc>
MPSIM_AVX2_CLONE void windowsCore(const T* xb, int64_t count, int64_t L, const std::vector<W>& wp, int64_t K,
                                  int64_t G, int64_t* out) {
  const int64_t taps = L / G, Kg = K / G;
  constexpr int64_t kBlock = 64; // inputs per pass over the weights (each block of rows widened once)
  for (int64_t b0 = 0; b0 < count; b0 += kBlock) {
    const int64_t b1 = std::min(count, b0 + kBlock);
    for (int64_t gi = 0; gi < G; ++gi) {
      const int64_t k0 = gi * Kg, k1 = k0 + Kg;
      int64_t k = k0;
      for (; k + 4 <= k1; k += 4) {
        const T* w = widenRows<T, W>(wp.data() + k * taps, 4 * taps);
        int64_t b = b0;
        for (; b + 2 <= b1; b += 2) {
          Acc a0[4], a1[4];
          dot2x4<T, T, Acc>(xb + b * L + gi * taps, xb + (b + 1) * L + gi * taps, w, w + taps, w + 2 * taps,
                         w + 3 * taps, taps, a0, a1);
          for (int j = 0; j < 4; ++j) {
            out[b * K + k + j] = a0[j];
            out[(b + 1) * K + k + j] = a1[j];
          }
        }
        for (; b < b1; ++b) {
          Acc a[4] = {0, 0, 0, 0};
          dot4<T, T, Acc>(xb + b * L + gi * taps, w, w + taps, w + 2 * taps, w + 3 * taps, taps, a);
          for (int j = 0; j < 4; ++j) out[b * K + k + j] = a[j];
        }
      }
      for (; k < k1; ++k)
        for (int64_t b = b0; b < b1; ++b)
          out[b * K + k] = dot1<T, W, Acc>(xb + b * L + gi * taps, wp.data() + k * taps, taps);
    }
  }
}

// Window b ((C, kh, kw), or (kh, kw, C) when channelLast) to the weights' [G][kh][kw][Cg] order,
// decoded, range-checked.
template <typename T>
const T* layoutWindows(const int32_t* const* rows, int64_t count, int64_t C, int64_t Cg, int64_t kk,
                       const Operand& xt, bool channelLast) {
  static thread_local std::vector<T> xb;
  const int64_t L = C * kk;
  xb.resize(static_cast<std::size_t>(count * L));
  const bool bip = xt.kind == OperandKind::Bipolar;
  const int64_t lo = xt.storedMin(), hi = xt.storedMax();
  for (int64_t b = 0; b < count; ++b) {
    const int32_t* src = rows[b];
    int32_t mn = std::numeric_limits<int32_t>::max(), mx = std::numeric_limits<int32_t>::min();
    for (int64_t i = 0; i < L; ++i) {
      mn = std::min(mn, src[i]);
      mx = std::max(mx, src[i]);
    }
    if (L > 0 && (mn < lo || mx > hi)) checkRange(Tensor(Shape{1, 1, 1, L}, std::vector<int32_t>(src, src + L)), xt, "conv input");
    T* dst = xb.data() + b * L;
    if ((kk == 1 || (channelLast && Cg == C)) && !bip) { // already in the weights' order
      for (int64_t i = 0; i < L; ++i) dst[i] = static_cast<T>(src[i]);
      continue;
    }
    if (channelLast) {
      for (int64_t gi = 0; gi < C / Cg; ++gi)
        for (int64_t t = 0; t < kk; ++t) {
          T* d = dst + (gi * kk + t) * Cg;
          const int32_t* sc = src + t * C + gi * Cg;
          for (int64_t cc = 0; cc < Cg; ++cc) d[cc] = static_cast<T>(bip ? 2 * sc[cc] - 1 : sc[cc]);
        }
      continue;
    }
    for (int64_t gi = 0; gi < C / Cg; ++gi) // contiguous writes, reads at stride kk
      for (int64_t t = 0; t < kk; ++t) {
        T* d = dst + (gi * kk + t) * Cg;
        const int32_t* sc = src + gi * Cg * kk + t;
        if (bip)
          for (int64_t cc = 0; cc < Cg; ++cc) d[cc] = static_cast<T>(2 * sc[cc * kk] - 1);
        else
          for (int64_t cc = 0; cc < Cg; ++cc) d[cc] = static_cast<T>(sc[cc * kk]);
      }
  }
  return xb.data();
}
} // namespace

void PreparedConv::runWindows(const int32_t* const* rows, int64_t count, int64_t* out, WindowOrder order) const {
  const bool last = order == WindowOrder::ChannelLast;
  const ConvGeometry& g = m_g;
  if (g.stride_h != 1 || g.stride_w != 1 || g.pad_h != 0 || g.pad_w != 0 || g.dil_h != 1 || g.dil_w != 1)
    throw KernelError("conv: runWindows needs stride 1, no padding and no dilation (one window per input)");
  if (count < 0) throw KernelError("conv: negative number of windows");
  if (count == 0) return;
  const int64_t kk = int64_t{g.kh} * g.kw, L = m_C * kk;
  if (m_narrow && !m_w8.empty())
    windowsCore<int16_t, int8_t, int32_t>(layoutWindows<int16_t>(rows, count, m_C, m_Cg, kk, m_x, last), count, L, m_w8,
                                          m_K, g.groups, out);
  else if (m_narrow)
    windowsCore<int16_t, int16_t, int32_t>(layoutWindows<int16_t>(rows, count, m_C, m_Cg, kk, m_x, last), count, L, m_w16,
                                           m_K, g.groups, out);
  else
    windowsCore<int32_t, int32_t, int64_t>(layoutWindows<int32_t>(rows, count, m_C, m_Cg, kk, m_x, last), count, L, m_w32,
                                           m_K, g.groups, out);
}

AccTensor conv2d(const Tensor& x, const Operand& xType, const Tensor& w, const std::vector<Operand>& wTypes,
                 const ConvGeometry& g) {
  return PreparedConv(w, wTypes, xType, g, x.shape().c).run(x);
}

AccTensor fullyConnected(const Tensor& x, const Operand& xType, const Tensor& w, const std::vector<Operand>& wTypes,
                         int64_t outFeatures) {
  const Shape& xs = x.shape();
  const int64_t features = xs.c * xs.h * xs.w;
  if (outFeatures < 1) throw KernelError("fully connected: output features must be >= 1");
  if (static_cast<int64_t>(w.size()) != outFeatures * features)
    throw KernelError("fully connected: weights have " + std::to_string(w.size()) + " elements (shape " +
                      w.shape().str() + "), expected " + std::to_string(outFeatures) + " x " +
                      std::to_string(features));
  Tensor xf = x;
  xf.reshape(Shape{xs.n, features, 1, 1});
  Tensor wf = w;
  wf.reshape(Shape{outFeatures, features, 1, 1});
  ConvGeometry g;
  g.out_channels = outFeatures;
  return conv2d(xf, xType, wf, wTypes, g);
}

namespace {
PreparedConv prepareLayer(const graph::Layer& l, const Tensor& w) {
  const Operand xt = Operand::activation(l.in);
  if (l.kind == graph::LayerKind::Conv)
    return PreparedConv(w, weightTypes(l), xt, ConvGeometry::of(l), l.in_shapes.at(0).c);
  if (l.kind != graph::LayerKind::FullyConnected)
    throw KernelError("layer '" + l.name + "' (" + graph::toString(l.kind) + ") has no weights");
  if (l.out_channels < 1 || static_cast<int64_t>(w.size()) % l.out_channels != 0)
    throw KernelError("fully connected '" + l.name + "': " + std::to_string(w.size()) + " weights for " +
                      std::to_string(l.out_channels) + " output features");
  const int64_t features = static_cast<int64_t>(w.size()) / l.out_channels;
  Tensor wf = w;
  wf.reshape(Shape{l.out_channels, features, 1, 1});
  ConvGeometry g;
  g.out_channels = l.out_channels;
  return PreparedConv(wf, weightTypes(l), xt, g, features);
}
} // namespace

WeightedKernel::WeightedKernel(const graph::Layer& l, const Tensor& w)
    : m_fc(l.kind == graph::LayerKind::FullyConnected), m_conv(prepareLayer(l, w)) {}

AccTensor WeightedKernel::accumulate(const Tensor& x) const {
  if (!m_fc) return m_conv.run(x);
  const Shape& xs = x.shape();
  const int64_t features = xs.c * xs.h * xs.w;
  if (features != m_conv.inChannels())
    throw KernelError("fully connected: input " + xs.str() + " has " + std::to_string(features) +
                      " features, the weights expect " + std::to_string(m_conv.inChannels()));
  Tensor xf = x;
  xf.reshape(Shape{xs.n, features, 1, 1});
  return m_conv.run(xf);
}

std::vector<Operand> weightTypes(const graph::Layer& l) {
  if (l.channel_bits.empty()) return {Operand::weight(l.weight_type, l.weight_bits)};
  std::vector<Operand> r;
  r.reserve(l.channel_bits.size());
  for (int b : l.channel_bits) r.push_back(Operand::weight(l.weight_type, b));
  return r;
}

ParamShape weightsFileShape(const graph::Layer& l) {
  if (l.kind == graph::LayerKind::Conv)
    return {{l.out_channels, l.in_shapes.empty() ? 0 : l.in_shapes[0].c / std::max(1, l.groups), l.kh, l.kw},
            "(K, C/groups, K_h, K_w)"};
  return {{l.out_channels, l.dotLength()}, "(K, MW)"};
}

ParamShape thresholdsFileShape(const graph::Layer& l) {
  const int64_t channels = l.isWeighted() ? l.out_channels : l.out_shape.c;
  return {{channels, l.out.thresholdCount()}, "(channels, 2^B - 1)"};
}

AccTensor weightedLayer(const graph::Layer& l, const Tensor& x, const Tensor& w) {
  const Operand xt = Operand::activation(l.in);
  if (l.kind == graph::LayerKind::Conv) return conv2d(x, xt, w, weightTypes(l), ConvGeometry::of(l));
  if (l.kind == graph::LayerKind::FullyConnected) return fullyConnected(x, xt, w, weightTypes(l), l.out_channels);
  throw KernelError("layer '" + l.name + "' (" + graph::toString(l.kind) + ") has no weights");
}

Tensor requantize(const graph::Layer& l, const AccTensor& acc, const LayerParams& p) {
  switch (l.requant) {
  case graph::Requant::Thresholds: return multiThreshold(acc, p.thresholds, l.out);
  case graph::Requant::ScaleShift: return scaleShift(acc, p.scale, l.out);
  case graph::Requant::None: break;
  }
  return saturate(acc, l.out);
}

// ---------------------------------------------------------------- requantisation
int64_t actMin(const ActType& t) { return Operand::activation(t).storedMin(); }
int64_t actMax(const ActType& t) { return Operand::activation(t).storedMax(); }

Tensor saturate(const AccTensor& acc, const ActType& out) {
  const int64_t lo = actMin(out), hi = actMax(out);
  Tensor r(acc.shape());
  const int64_t* a = acc.data();
  int32_t* y = r.data();
  for (std::size_t i = 0; i < acc.size(); ++i) y[i] = static_cast<int32_t>(std::clamp(a[i], lo, hi));
  return r;
}

Tensor multiThreshold(const AccTensor& acc, const AccTensor& thresholds, const ActType& out) {
  const Shape& s = acc.shape();
  const PreparedRequant q(thresholds, out, s.c);
  Tensor r(s);
  const int64_t plane = s.h * s.w;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c) {
      const int64_t* a = acc.data() + (n * s.c + c) * plane;
      int32_t* y = r.data() + (n * s.c + c) * plane;
      for (int64_t i = 0; i < plane; ++i) y[i] = q.value(c, a[i]);
    }
  return r;
}

int64_t roundShift(int64_t v, int s) {
  if (s < 0 || s > 62) throw KernelError("shift " + std::to_string(s) + " is outside 0..62");
  if (s == 0) return v;
  int64_t t = 0;
  if (__builtin_add_overflow(v, int64_t{1} << (s - 1), &t))
    throw KernelError("rounding " + std::to_string(v) + " >> " + std::to_string(s) + " overflows int64");
  // Floor division by 2^s (well defined for negative values, unlike >> before C++20).
  const int64_t d = int64_t{1} << s;
  int64_t q = t / d;
  if (t % d != 0 && t < 0) --q;
  return q;
}

int64_t roundDiv(int64_t num, int64_t den) {
  if (den <= 0) throw KernelError("roundDiv: divisor must be positive");
  int64_t twice = 0, t = 0, d2 = 0;
  if (__builtin_mul_overflow(num, 2, &twice) || __builtin_add_overflow(twice, den, &t) ||
      __builtin_mul_overflow(den, 2, &d2))
    throw KernelError("roundDiv: " + std::to_string(num) + " / " + std::to_string(den) + " overflows int64");
  int64_t q = t / d2;
  if (t % d2 != 0 && t < 0) --q;
  return q;
}

Tensor scaleShift(const AccTensor& acc, const ScaleShift& p, const ActType& out) {
  const Shape& s = acc.shape();
  LayerParams lp;
  lp.scale = p;
  graph::Layer l;
  l.requant = graph::Requant::ScaleShift;
  l.out = out;
  const PreparedRequant prepared(l, lp, s.c);
  Tensor r(s);
  const int64_t plane = s.h * s.w;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c) {
      const int64_t* a = acc.data() + (n * s.c + c) * plane;
      int32_t* y = r.data() + (n * s.c + c) * plane;
      for (int64_t i = 0; i < plane; ++i) y[i] = prepared.value(c, a[i]);
    }
  return r;
}

// ---------------------------------------------------------------- prepared requantiser
PreparedRequant::PreparedRequant(const graph::Layer& l, const LayerParams& p, int64_t channels) : m_C(channels) {
  m_lo = actMin(l.out);
  m_hi = actMax(l.out);
  switch (l.requant) {
  case graph::Requant::Thresholds:
    prepareThresholds(p.thresholds, l.out);
    break;
  case graph::Requant::ScaleShift:
    prepareScaleShift(p.scale, l.out);
    break;
  case graph::Requant::None: m_mode = Mode::Saturate; break;
  }
}

PreparedRequant::PreparedRequant(const AccTensor& thresholds, const ActType& out, int64_t channels) : m_C(channels) {
  m_lo = actMin(out);
  m_hi = actMax(out);
  prepareThresholds(thresholds, out);
}

void PreparedRequant::prepareThresholds(const AccTensor& thresholds, const ActType& out) {
  m_mode = Mode::Thresholds;
  const int64_t T = thresholds.shape().w;
  const int64_t rows = T == 0 ? 0 : static_cast<int64_t>(thresholds.size()) / T;
  if (T < 1 || (rows != 1 && rows != m_C))
    throw KernelError("thresholds: shape " + thresholds.shape().str() + " gives " + std::to_string(rows) + " rows of " +
                      std::to_string(T) + "; need 1 row or one per channel (" + std::to_string(m_C) + ")");
  const int64_t levels = actMax(out) - actMin(out); // 2^bits - 1
  if (T > levels)
    throw KernelError("thresholds: " + std::to_string(T) + " thresholds per channel do not fit a " +
                      std::to_string(out.bits) + "-bit output (at most " + std::to_string(levels) + ")");
  m_T = T;
  m_bias = actMin(out);
  m_sharedRow = rows == 1;
  m_th.assign(thresholds.data(), thresholds.data() + rows * T);
  // Sorted rows (checked here, once, not per value): a branch-free binary search; unsorted rows
  // (allowed) are counted.
  m_search.assign(static_cast<std::size_t>(rows), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t* th = m_th.data() + r * T;
    m_search[static_cast<std::size_t>(r)] = std::is_sorted(th, th + T);
  }
  m_allSorted = std::all_of(m_search.begin(), m_search.end(), [](char v) { return v != 0; });
}

void PreparedRequant::prepareScaleShift(const ScaleShift& p, const ActType& out) {
  (void)out;
  m_mode = Mode::ScaleShift;
  auto perChannel = [&](std::size_t n, const char* what) {
    if (n != 1 && static_cast<int64_t>(n) != m_C)
      throw KernelError(std::string("scale/shift: ") + what + " has " + std::to_string(n) +
                        " values; give 1 or one per channel (" + std::to_string(m_C) + ")");
  };
  perChannel(p.scale.size(), "scale");
  perChannel(p.shift.size(), "shift");
  if (!p.bias.empty()) perChannel(p.bias.size(), "bias");
  const std::size_t C = static_cast<std::size_t>(m_C);
  m_scale.resize(C);
  m_add.resize(C);
  m_shift.resize(C);
  for (std::size_t c = 0; c < C; ++c) {
    m_scale[c] = p.scale.size() == 1 ? p.scale[0] : p.scale[c];
    m_add[c] = p.bias.empty() ? 0 : p.bias.size() == 1 ? p.bias[0] : p.bias[c];
    m_shift[c] = p.shift.size() == 1 ? p.shift[0] : p.shift[c];
  }
}

namespace {
// How many of the n >= 1 sorted thresholds th are <= a (std::upper_bound's index), by a binary
// search without branches on the data (conditional moves): log2(n) steps that never mispredict.
inline int64_t reached(const int64_t* th, int64_t n, int64_t a) {
  const int64_t* base = th;
  while (n > 1) {
    const int64_t half = n / 2;
    base = base[half] <= a ? base + half : base;
    n -= half;
  }
  return (base - th) + (*base <= a);
}
} // namespace

inline int32_t PreparedRequant::level(int64_t c, int64_t a) const {
  const int64_t row = m_sharedRow ? 0 : c;
  const int64_t* th = m_th.data() + row * m_T;
  if (m_search[static_cast<std::size_t>(row)]) return static_cast<int32_t>(reached(th, m_T, a) + m_bias);
  int64_t cnt = 0; // unsorted thresholds: counted
  for (int64_t t = 0; t < m_T; ++t) cnt += a >= th[t];
  return static_cast<int32_t>(cnt + m_bias);
}

int32_t PreparedRequant::value(int64_t c, int64_t a) const {
  switch (m_mode) {
  case Mode::Saturate: break;
  case Mode::Thresholds: return level(c, a);
  case Mode::ScaleShift: {
    const std::size_t ci = static_cast<std::size_t>(c);
    const int64_t m = m_scale[ci], b = m_add[ci];
    int64_t v = 0;
    if (__builtin_mul_overflow(a, m, &v) || __builtin_add_overflow(v, b, &v))
      throw KernelError("scale/shift: " + std::to_string(a) + " * " + std::to_string(m) + " + " + std::to_string(b) +
                        " overflows int64 (channel " + std::to_string(c) + ")");
    return static_cast<int32_t>(std::clamp(roundShift(v, m_shift[ci]), m_lo, m_hi));
  }
  }
  return static_cast<int32_t>(std::clamp(a, m_lo, m_hi));
}

void PreparedRequant::apply(const int64_t* acc, int32_t* y) const { apply(acc, 1, y); }

void PreparedRequant::apply(const int64_t* acc, int64_t count, int32_t* y) const {
  const int64_t C = m_C;
  if (m_mode == Mode::Saturate) {
    for (int64_t i = 0; i < count * C; ++i) y[i] = static_cast<int32_t>(std::clamp(acc[i], m_lo, m_hi));
    return;
  }
  if (m_mode != Mode::Thresholds || !m_allSorted) {
    for (int64_t b = 0; b < count; ++b)
      for (int64_t c = 0; c < C; ++c) y[b * C + c] = value(c, acc[b * C + c]);
    return;
  }
  // Channel by channel, so that a channel's thresholds stay in L1 for all the rows; reached() for
  // eight rows in lockstep, so that their loads overlap.
  for (int64_t c = 0; c < C; ++c) {
    const int64_t* th = m_th.data() + (m_sharedRow ? 0 : c) * m_T;
    int64_t b = 0;
    constexpr int64_t kLanes = 8;
    for (; b + kLanes <= count; b += kLanes) {
      const int64_t* p[kLanes];
      int64_t a[kLanes];
      for (int64_t j = 0; j < kLanes; ++j) {
        p[j] = th;
        a[j] = acc[(b + j) * C + c];
      }
      for (int64_t n = m_T; n > 1;) {
        const int64_t half = n / 2;
        for (int64_t j = 0; j < kLanes; ++j) p[j] = p[j][half] <= a[j] ? p[j] + half : p[j];
        n -= half;
      }
      for (int64_t j = 0; j < kLanes; ++j)
        y[(b + j) * C + c] = static_cast<int32_t>((p[j] - th) + (*p[j] <= a[j]) + m_bias);
    }
    for (; b < count; ++b) y[b * C + c] = static_cast<int32_t>(reached(th, m_T, acc[b * C + c]) + m_bias);
  }
}

Tensor requantizeFloat(const AccTensor& acc, const std::vector<double>& multiplier, int64_t zeroPoint,
                       const ActType& out) {
  const Shape& s = acc.shape();
  if (multiplier.size() != 1 && static_cast<int64_t>(multiplier.size()) != s.c)
    throw KernelError("requantize: " + std::to_string(multiplier.size()) + " multipliers for " + std::to_string(s.c) +
                      " channels");
  const double lo = static_cast<double>(actMin(out)), hi = static_cast<double>(actMax(out));
  Tensor r(s);
  const int64_t plane = s.h * s.w;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c) {
      const double m = multiplier.size() == 1 ? multiplier[0] : multiplier[static_cast<std::size_t>(c)];
      const int64_t* a = acc.data() + (n * s.c + c) * plane;
      int32_t* y = r.data() + (n * s.c + c) * plane;
      for (int64_t i = 0; i < plane; ++i) {
        // std::nearbyint rounds half to even in the default rounding mode.
        const double v = std::nearbyint(static_cast<double>(a[i]) * m) + static_cast<double>(zeroPoint);
        y[i] = static_cast<int32_t>(std::clamp(v, lo, hi));
      }
    }
  return r;
}

// ---------------------------------------------------------------- pooling, add
namespace {
struct PoolDims {
  int64_t P, Q;
};
PoolDims poolDims(const Shape& s, const PoolGeometry& g, const char* what) {
  if (g.kh < 1 || g.kw < 1 || g.stride_h < 1 || g.stride_w < 1 || g.dil_h < 1 || g.dil_w < 1 || g.pad_h < 0 ||
      g.pad_w < 0)
    throw KernelError(std::string(what) + ": kernel, stride and dilation must be >= 1 and padding >= 0");
  const int64_t effH = int64_t{g.dil_h} * (g.kh - 1) + 1, effW = int64_t{g.dil_w} * (g.kw - 1) + 1;
  if (g.pad_h >= effH || g.pad_w >= effW)
    throw KernelError(std::string(what) + ": padding must be smaller than the window");
  if (s.h + 2 * g.pad_h < effH || s.w + 2 * g.pad_w < effW)
    throw KernelError(std::string(what) + ": input " + s.str() + " is smaller than the window");
  return {(s.h + 2 * g.pad_h - effH) / g.stride_h + 1, (s.w + 2 * g.pad_w - effW) / g.stride_w + 1};
}

template <typename F> Tensor poolLoop(const Tensor& x, const PoolGeometry& g, const char* what, F&& reduce) {
  const Shape& s = x.shape();
  const PoolDims pd = poolDims(s, g, what);
  Tensor r(Shape{s.n, s.c, pd.P, pd.Q});
  for (int64_t nc = 0; nc < s.n * s.c; ++nc) {
    const int32_t* plane = x.data() + nc * s.h * s.w;
    int32_t* y = r.data() + nc * pd.P * pd.Q;
    for (int64_t p = 0; p < pd.P; ++p)
      for (int64_t q = 0; q < pd.Q; ++q) {
        const int64_t h0 = p * g.stride_h - g.pad_h, w0 = q * g.stride_w - g.pad_w;
        y[p * pd.Q + q] = reduce(plane, s, h0, w0);
      }
  }
  return r;
}
} // namespace

Tensor maxPool(const Tensor& x, const PoolGeometry& g) {
  return poolLoop(x, g, "maxpool", [&](const int32_t* plane, const Shape& s, int64_t h0, int64_t w0) {
    int32_t m = std::numeric_limits<int32_t>::min();
    for (int64_t r = 0; r < g.kh; ++r) {
      const int64_t h = h0 + r * g.dil_h;
      if (h < 0 || h >= s.h) continue;
      for (int64_t c = 0; c < g.kw; ++c) {
        const int64_t w = w0 + c * g.dil_w;
        if (w >= 0 && w < s.w) m = std::max(m, plane[h * s.w + w]);
      }
    }
    return m;
  });
}

Tensor avgPool(const Tensor& x, const PoolGeometry& g, bool countPad) {
  return poolLoop(x, g, "avgpool", [&](const int32_t* plane, const Shape& s, int64_t h0, int64_t w0) {
    int64_t sum = 0, cnt = 0;
    for (int64_t r = 0; r < g.kh; ++r) {
      const int64_t h = h0 + r * g.dil_h;
      if (h < 0 || h >= s.h) continue;
      for (int64_t c = 0; c < g.kw; ++c) {
        const int64_t w = w0 + c * g.dil_w;
        if (w >= 0 && w < s.w) {
          sum += plane[h * s.w + w];
          ++cnt;
        }
      }
    }
    return static_cast<int32_t>(roundDiv(sum, countPad ? int64_t{g.kh} * g.kw : cnt));
  });
}

Tensor globalAvgPool(const Tensor& x) {
  const Shape& s = x.shape();
  const int64_t plane = s.h * s.w;
  if (plane < 1) throw KernelError("global average pool: empty input " + s.str());
  Tensor r(Shape{s.n, s.c, 1, 1});
  for (int64_t nc = 0; nc < s.n * s.c; ++nc) {
    const int32_t* p = x.data() + nc * plane;
    int64_t sum = 0;
    for (int64_t i = 0; i < plane; ++i) sum += p[i];
    r[static_cast<std::size_t>(nc)] = static_cast<int32_t>(roundDiv(sum, plane));
  }
  return r;
}

Tensor add(const Tensor& a, const Tensor& b, const AddParams& p, const ActType& out) {
  if (a.shape() != b.shape())
    throw KernelError("add: input shapes differ: " + a.shape().str() + " vs " + b.shape().str());
  const int64_t lo = actMin(out), hi = actMax(out);
  Tensor r(a.shape());
  for (std::size_t i = 0; i < a.size(); ++i) {
    int64_t va = 0, vb = 0, v = 0;
    if (__builtin_mul_overflow(int64_t{a[i]}, p.scale_a, &va) ||
        __builtin_mul_overflow(int64_t{b[i]}, p.scale_b, &vb) || __builtin_add_overflow(va, vb, &v) ||
        __builtin_add_overflow(v, p.bias, &v))
      throw KernelError("add: rescaled sum overflows int64 at flat index " + std::to_string(i));
    r[i] = static_cast<int32_t>(std::clamp(roundShift(v, p.shift), lo, hi));
  }
  return r;
}

Tensor labelSelect(const Tensor& x, int64_t k) {
  const Shape& s = x.shape();
  const int64_t classes = s.c * s.h * s.w;
  if (k < 1 || k > classes)
    throw KernelError("labelselect: k = " + std::to_string(k) + " is outside 1.." + std::to_string(classes) +
                      " (the class scores of input " + s.str() + ")");
  Tensor r(Shape{s.n, k, 1, 1});
  std::vector<int32_t> idx(static_cast<std::size_t>(classes));
  for (int64_t n = 0; n < s.n; ++n) {
    const int32_t* v = x.data() + n * classes;
    for (int64_t i = 0; i < classes; ++i) idx[static_cast<std::size_t>(i)] = static_cast<int32_t>(i);
    // Higher score first; equal scores keep ascending index order.
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [v](int32_t a, int32_t b) { return v[a] != v[b] ? v[a] > v[b] : a < b; });
    std::copy(idx.begin(), idx.begin() + k, r.data() + n * k);
  }
  return r;
}

// ---------------------------------------------------------------- layers
Tensor runLayer(const graph::Layer& l, const std::vector<const Tensor*>& inputs, const LayerParams& p) {
  using graph::LayerKind;
  auto in = [&](std::size_t i) -> const Tensor& {
    if (i >= inputs.size() || inputs[i] == nullptr)
      throw KernelError("layer '" + l.name + "': missing input " + std::to_string(i));
    return *inputs[i];
  };
  switch (l.kind) {
  case LayerKind::Conv:
  case LayerKind::FullyConnected: {
    return requantize(l, weightedLayer(l, in(0), p.weights), p);
  }
  case LayerKind::MaxPool: return maxPool(in(0), PoolGeometry::of(l));
  case LayerKind::AvgPool: return saturate(widen(avgPool(in(0), PoolGeometry::of(l), p.avgCountPad)), l.out);
  case LayerKind::GlobalAvgPool: return saturate(widen(globalAvgPool(in(0))), l.out);
  case LayerKind::Add: return add(in(0), in(1), p.add, l.out);
  case LayerKind::Quantizer: return multiThreshold(widen(in(0)), p.thresholds, l.out);
  case LayerKind::LabelSelect: return labelSelect(in(0), l.topk);
  case LayerKind::Input:
  case LayerKind::Output:
  case LayerKind::Fork: return in(0);
  case LayerKind::Flatten: {
    Tensor t = in(0);
    const Shape& s = t.shape();
    t.reshape(Shape{s.n, s.c * s.h * s.w, 1, 1});
    return t;
  }
  case LayerKind::Concat: {
    int64_t c = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) c += in(i).shape().c;
    const Shape& s0 = in(0).shape();
    Tensor r(Shape{s0.n, c, s0.h, s0.w});
    const int64_t plane = s0.h * s0.w;
    for (int64_t n = 0; n < s0.n; ++n) {
      int64_t off = 0;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = in(i);
        if (t.shape().n != s0.n || t.shape().h != s0.h || t.shape().w != s0.w)
          throw KernelError("concat '" + l.name + "': input " + std::to_string(i) + " has shape " + t.shape().str() +
                            ", expected N, H, W of " + s0.str());
        const int64_t len = t.shape().c * plane;
        // Values pass through unchanged; a bipolar input joining a signed output (the graph's
        // concat type holds every input's values) is decoded from its stored bits to -1 / +1.
        const bool decode = !l.out.bipolar && i < l.in_types.size() && l.in_types[i].bipolar;
        if (decode)
          std::transform(t.data() + n * len, t.data() + (n + 1) * len, r.data() + (n * c + off) * plane,
                         [](int32_t v) { return 2 * v - 1; });
        else
          std::copy(t.data() + n * len, t.data() + (n + 1) * len, r.data() + (n * c + off) * plane);
        off += t.shape().c;
      }
    }
    return r;
  }
  }
  throw KernelError("layer '" + l.name + "': unsupported kind");
}

} // namespace mpsim::func
