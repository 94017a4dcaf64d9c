// Robustness: hostile and extreme inputs end in a clear LoadError (or a meaningful result), never a
// crash, hang or silently wrong result. Each case here is a defect found by outside testing; the
// command-line corpus is test/hostile/ (run by CTest through test/hostile/run_hostile.py).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/io/OnnxImport.hpp"

using namespace mpsim;

namespace {

std::string readBytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Replaces the first occurrence of `from` (which must be present) by `to` of the same length.
void patch(std::string& bytes, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  auto at = bytes.find(from);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("onnx: nodes named input, output, outputN or output_x import under unique names", "[unit][onnx][robust]") {
  // The name field of a NodeProto is field 3 (tag 0x1a) with a length byte: renaming keeps the length.
  std::string bytes = readBytes(std::string(MPSIM_TEST_DATA) + "/onnx/TFC_2W2A.onnx");
  patch(bytes, std::string("\x1a\x09MatMul_20", 11), std::string("\x1a\x09output_20", 11));
  patch(bytes, std::string("\x1a\x09MatMul_32", 11), std::string("\x1a\x09output_32", 11));
  patch(bytes, std::string("\x1a\x09MatMul_44", 11), std::string("\x1a\x09outputs44", 11));
  // Before the fix the importer looped forever on any name starting with "output".
  io::OnnxImport r = io::importOnnxBytes(bytes, "renamed.onnx");
  std::set<std::string> names;
  for (const auto& l : r.graph.layers()) {
    CHECK(names.insert(l.name).second);
    CHECK(l.name != "input_");
  }
  CHECK(names.count("output_20"));
  CHECK(names.count("output_32"));
  CHECK(names.count("outputs44"));
  CHECK(names.count("output")); // the graph output itself
  CHECK(r.graph.at("output").kind == graph::LayerKind::Output);
}

TEST_CASE("onnx: a MAC node named exactly output or output0 is renamed, not merged with the graph output",
          "[unit][onnx][robust]") {
  std::string bytes = readBytes(std::string(MPSIM_TEST_DATA) + "/onnx/TFC_2W2A.onnx");
  patch(bytes, std::string("\x1a\x09MatMul_20", 11), std::string("\x1a\x09output000", 11));
  patch(bytes, std::string("\x1a\x09MatMul_32", 11), std::string("\x1a\x09\x6f\x75tput\x20\x20\x20", 11));
  io::OnnxImport r = io::importOnnxBytes(bytes, "renamed.onnx");
  CHECK(r.graph.find("output000_1"));
  CHECK(!r.graph.find("output000"));
  CHECK(r.graph.find("output   ")); // not reserved: spaces are not digits
  CHECK(r.graph.at("output").kind == graph::LayerKind::Output);
}
