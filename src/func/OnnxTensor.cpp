#include "mpsim/func/OnnxTensor.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include <onnx/onnx_pb.h>

#include "mpsim/common/Error.hpp"

namespace mpsim::func {

int64_t OnnxTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

namespace {
template <typename T> void fromRaw(const std::string& raw, int64_t n, std::vector<int64_t>& out) {
  out.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    out[static_cast<std::size_t>(i)] = static_cast<int64_t>(v);
  }
}
template <typename T> void fromRawF(const std::string& raw, int64_t n, std::vector<double>& out) {
  out.resize(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, raw.data() + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
    out[static_cast<std::size_t>(i)] = static_cast<double>(v);
  }
}
} // namespace

OnnxTensor readOnnxTensor(const std::string& path) {
  auto fail = [&](const std::string& what) { throw LoadError(path + ": " + what); };
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open TensorProto file");
  std::stringstream ss;
  ss << f.rdbuf();
  onnx::TensorProto t;
  if (!t.ParseFromString(ss.str())) fail("not a serialized onnx TensorProto (protobuf parse error)");
  OnnxTensor r;
  r.name = t.name();
  r.dataType = t.data_type();
  for (int64_t d : t.dims()) {
    if (d < 0) fail("negative dimension");
    r.dims.push_back(d);
  }
  const int64_t n = r.elements();
  const bool raw = t.has_raw_data();
  auto needBytes = [&](int64_t item) {
    if (static_cast<int64_t>(t.raw_data().size()) != n * item)
      fail("raw_data holds " + std::to_string(t.raw_data().size()) + " bytes, " + std::to_string(n) +
           " elements need " + std::to_string(n * item));
  };
  auto needCount = [&](int64_t have) {
    if (have != n) fail("holds " + std::to_string(have) + " values, dims need " + std::to_string(n));
  };
  switch (r.dataType) {
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT16:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::BOOL:
    if (raw) {
      switch (r.dataType) {
      case onnx::TensorProto::UINT8:
        needBytes(1);
        fromRaw<uint8_t>(t.raw_data(), n, r.ints);
        break;
      case onnx::TensorProto::BOOL:
        needBytes(1);
        fromRaw<uint8_t>(t.raw_data(), n, r.ints);
        break;
      case onnx::TensorProto::INT8:
        needBytes(1);
        fromRaw<int8_t>(t.raw_data(), n, r.ints);
        break;
      case onnx::TensorProto::UINT16:
        needBytes(2);
        fromRaw<uint16_t>(t.raw_data(), n, r.ints);
        break;
      case onnx::TensorProto::INT16:
        needBytes(2);
        fromRaw<int16_t>(t.raw_data(), n, r.ints);
        break;
      default:
        needBytes(4);
        fromRaw<int32_t>(t.raw_data(), n, r.ints);
        break;
      }
    } else {
      needCount(t.int32_data_size());
      r.ints.assign(t.int32_data().begin(), t.int32_data().end());
    }
    break;
  case onnx::TensorProto::INT64:
    if (raw) {
      needBytes(8);
      fromRaw<int64_t>(t.raw_data(), n, r.ints);
    } else {
      needCount(t.int64_data_size());
      r.ints.assign(t.int64_data().begin(), t.int64_data().end());
    }
    break;
  case onnx::TensorProto::FLOAT:
    if (raw) {
      needBytes(4);
      fromRawF<float>(t.raw_data(), n, r.floats);
    } else {
      needCount(t.float_data_size());
      r.floats.assign(t.float_data().begin(), t.float_data().end());
    }
    break;
  case onnx::TensorProto::DOUBLE:
    if (raw) {
      needBytes(8);
      fromRawF<double>(t.raw_data(), n, r.floats);
    } else {
      needCount(t.double_data_size());
      r.floats.assign(t.double_data().begin(), t.double_data().end());
    }
    break;
  default:
    fail("unsupported TensorProto data_type " + std::to_string(r.dataType) +
         " (int8/uint8/int16/uint16/int32/int64/bool/float/double are supported)");
  }
  return r;
}

} // namespace mpsim::func
