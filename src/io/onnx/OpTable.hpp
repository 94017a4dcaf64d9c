#pragma once
// The ONNX importer's supported op types, from its dispatch table (OpTable.cpp). Free of protobuf
// so that tests can compare the list with the error messages and docs/onnx-import.md.
#include <string>
#include <vector>

namespace mpsim::io::onnx_import {

struct SupportedOp {
  std::string op;
  bool listed = true; // named in the "unsupported operator; supported: ..." error
};

/// Every op type the dispatch table handles, in table order.
std::vector<SupportedOp> supportedOps();
/// The list the unsupported-operator errors give after "supported: ".
std::string supportedOpsText();

} // namespace mpsim::io::onnx_import
