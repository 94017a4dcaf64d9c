#pragma once
// Loads one serialized ONNX TensorProto (the input_*.pb / output_*.pb files of ONNX backend test
// cases) into integer or floating-point values. Errors are mpsim::LoadError naming the file.
#include <cstdint>
#include <string>
#include <vector>

namespace mpsim::func {

struct OnnxTensor {
  std::string name;
  int dataType = 0;           // onnx::TensorProto::DataType (1 float, 2 uint8, 3 int8, 6 int32, 7 int64, ...)
  std::vector<int64_t> dims;  // empty: scalar
  std::vector<int64_t> ints;  // integer and bool types
  std::vector<double> floats; // float and double types
  int64_t elements() const;
  bool isFloat() const { return dataType == 1 || dataType == 11; }
};

OnnxTensor readOnnxTensor(const std::string& path);

} // namespace mpsim::func
