#pragma once
// NumPy .npy files (format versions 1.0, 2.0 and 3.0), C order, little-endian:
// int8, uint8, int16, uint16, int32, int64, float32, float64 and bool.
// Errors are mpsim::LoadError whose message starts with the file path and says what is wrong.
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/func/Tensor.hpp"

namespace mpsim::func {

enum class NpyType { Int8, UInt8, Int16, UInt16, Int32, Int64, Float32, Float64, Bool };
const char* toString(NpyType t); // "int8", ...
const char* npyDescr(NpyType t); // "|i1", "<i4", ...
int npyItemSize(NpyType t);

struct NpyArray {
  NpyType type = NpyType::Int32;
  std::vector<int64_t> shape;       // empty: a scalar (one element)
  std::vector<unsigned char> bytes; // little-endian element data, C order
  std::string path;                 // where it was read from (for messages)

  int64_t elements() const;
  /// Integer view of every element. Floating-point elements must be integral and within int64 range,
  /// otherwise LoadError names the file and the first offending flat index.
  std::vector<int64_t> toInt64() const;
  std::vector<double> toDouble() const;
};

/// What a .npy header says. readNpyHeader checks the header and that the file holds exactly the data
/// bytes it promises (the file size is taken from the file system; the data are not read).
struct NpyHeader {
  NpyType type = NpyType::Int32;
  std::vector<int64_t> shape;
  int64_t elements = 1;     // product of shape, overflow-checked
  uint64_t data_offset = 0; // bytes before the data
  uint64_t data_bytes = 0;  // elements * item size
};
/// Headers longer than this are refused (NumPy's own writers produce at most a few hundred bytes).
constexpr uint64_t kMaxNpyHeaderBytes = uint64_t{1} << 20;
NpyHeader readNpyHeader(const std::string& path);

/// Reads the header (readNpyHeader) and then exactly the data bytes it promises; a header whose shape
/// does not match the file size (truncated data, extra bytes, an overflowing or huge shape) is refused
/// before any data are read.
NpyArray readNpy(const std::string& path);
/// Writes `data` (elements of `type`, C order) with the given shape; header padded to 64 bytes (v1.0,
/// or v2.0 when the header does not fit 65535 bytes).
void writeNpy(const std::string& path, NpyType type, const std::vector<int64_t>& shape, const void* data);

/// Maps an array of rank 0..4 onto graph::Shape, aligned to the right as NumPy broadcasting does:
/// (W), (H, W), (C, H, W), (N, C, H, W). Higher ranks are accepted only when the extra leading
/// dimensions are 1.
graph::Shape npyShapeToNchw(const std::vector<int64_t>& shape, const std::string& path);

/// A shape as NumPy prints it: "(3, 2, 1, 1)", "(4,)", "()".
std::string npyShapeStr(const std::vector<int64_t>& shape);

/// The array as an integer tensor (npyShapeToNchw; int64 / float elements must hold values that fit
/// int32), or in int64 storage.
Tensor toTensor(const NpyArray& a);
AccTensor toAccTensor(const NpyArray& a);

/// Reads an integer tensor (int32 storage; int64 / float files must hold values that fit).
Tensor readTensor(const std::string& path);
/// Reads a tensor into int64 storage (accumulators, thresholds).
AccTensor readAccTensor(const std::string& path);

/// Writes a tensor as int32 (Tensor) or int64 (AccTensor). `shape` overrides the 4-D NCHW shape
/// (same element count), e.g. {K, C} for fully-connected weights.
void writeNpy(const std::string& path, const Tensor& t, std::vector<int64_t> shape = {});
void writeNpy(const std::string& path, const AccTensor& t, std::vector<int64_t> shape = {});
/// Writes a tensor in the narrowest of int8, uint8, int16, uint16, int32 and int64 that holds all its
/// values (int8 for an empty one): the functional run's weights and thresholds, 1 byte per weight of
/// up to 8 bits. Every reader of integer .npy files (readTensor, NumPy) takes any of them.
void writeNarrowNpy(const std::string& path, const Tensor& t, std::vector<int64_t> shape = {});
void writeNarrowNpy(const std::string& path, const AccTensor& t, std::vector<int64_t> shape = {});

} // namespace mpsim::func
