#pragma once
// Integer tensors of the bit-exact functional mode. Shape is graph::Shape (N, C, H, W), storage one
// contiguous C-order vector (W fastest), so a tensor is exactly what a .npy file of that shape holds.
// Tensor (int32) carries activations, weights and other narrow operands; AccTensor (int64) carries
// accumulators and thresholds. Elements are never allocated one by one.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpsim/graph/Layer.hpp"

namespace mpsim::func {

template <typename T> class BasicTensor {
public:
  using value_type = T;

  BasicTensor() = default;
  explicit BasicTensor(const graph::Shape& shape, T fill = 0) : m_shape(shape) {
    if (shape.n < 0 || shape.c < 0 || shape.h < 0 || shape.w < 0)
      throw std::invalid_argument("tensor shape " + shape.str() + " has a negative dimension");
    m_data.assign(static_cast<std::size_t>(shape.elements()), fill);
  }
  BasicTensor(const graph::Shape& shape, std::vector<T> data) : m_shape(shape), m_data(std::move(data)) {
    if (static_cast<int64_t>(m_data.size()) != shape.elements())
      throw std::invalid_argument("tensor shape " + shape.str() + " needs " + std::to_string(shape.elements()) +
                                  " elements, got " + std::to_string(m_data.size()));
  }

  const graph::Shape& shape() const { return m_shape; }
  /// Reinterprets the same elements under another shape with the same element count.
  void reshape(const graph::Shape& s) {
    if (s.elements() != m_shape.elements())
      throw std::invalid_argument("cannot reshape " + m_shape.str() + " to " + s.str());
    m_shape = s;
  }
  std::size_t size() const { return m_data.size(); }
  bool empty() const { return m_data.empty(); }
  T* data() { return m_data.data(); }
  const T* data() const { return m_data.data(); }
  std::vector<T>& values() { return m_data; }
  const std::vector<T>& values() const { return m_data; }

  std::size_t index(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return static_cast<std::size_t>(((n * m_shape.c + c) * m_shape.h + h) * m_shape.w + w);
  }
  T& at(int64_t n, int64_t c, int64_t h, int64_t w) { return m_data[index(n, c, h, w)]; }
  const T& at(int64_t n, int64_t c, int64_t h, int64_t w) const { return m_data[index(n, c, h, w)]; }
  /// Batch 0 (mpsim streams one frame at a time).
  T& operator()(int64_t c, int64_t h, int64_t w) { return m_data[index(0, c, h, w)]; }
  const T& operator()(int64_t c, int64_t h, int64_t w) const { return m_data[index(0, c, h, w)]; }
  T& operator[](std::size_t i) { return m_data[i]; }
  const T& operator[](std::size_t i) const { return m_data[i]; }

  bool operator==(const BasicTensor& o) const { return m_shape == o.m_shape && m_data == o.m_data; }
  bool operator!=(const BasicTensor& o) const { return !(*this == o); }

private:
  graph::Shape m_shape{1, 0, 0, 0};
  std::vector<T> m_data;
};

using Tensor = BasicTensor<int32_t>;
using AccTensor = BasicTensor<int64_t>;

/// Element-wise conversion between storage widths (throws when an int64 value does not fit int32).
inline Tensor narrow(const AccTensor& t) {
  Tensor r(t.shape());
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] < INT32_MIN || t[i] > INT32_MAX)
      throw std::out_of_range("value " + std::to_string(t[i]) + " at flat index " + std::to_string(i) +
                              " does not fit int32");
    r[i] = static_cast<int32_t>(t[i]);
  }
  return r;
}
inline AccTensor widen(const Tensor& t) {
  return AccTensor(t.shape(), std::vector<int64_t>(t.values().begin(), t.values().end()));
}

} // namespace mpsim::func
