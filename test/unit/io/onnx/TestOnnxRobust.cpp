// Hostile ONNX models: truncated and bit-flipped files give errors, never crashes; nodes named like the
// graph's own inputs and outputs import under unique names.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "FileText.hpp"
#include "OnnxTestUtil.hpp"
#include "io/onnx/OpTable.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/io/OnnxImport.hpp"

using namespace mpsim;
using graph::LayerKind;
using namespace mpsim::test;

namespace {

/// Replaces the first occurrence of `from` (which must be present) by `to` of the same length.
void patch(std::string& bytes, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  auto at = bytes.find(from);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("onnx: truncated and bit-flipped models give errors, never crashes", "[unit][onnx]") {
  std::vector<std::string> files = {fixture("residual_testcase.onnx"), fixture("model_test_qkeras_qconv2d_0.onnx"),
                                    fixture("eltwise_chanlast_testcase.onnx"), fixture("TFC_2W2A.onnx")};
  std::vector<std::string> corpus = {perChannelModel()};
  for (const auto& f : files) corpus.push_back(readFile(f));
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  auto next = [&]() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  int ok = 0, rejected = 0;
  for (const auto& bytes : corpus) {
    REQUIRE(bytes.size() > 100);
    auto attempt = [&](const std::string& b) {
      try {
        auto r = io::importOnnxBytes(b, "fuzz.onnx");
        REQUIRE(r.graph.finalized());
        ++ok;
      } catch (const LoadError& e) {
        CHECK(std::string(e.what()).rfind("fuzz.onnx", 0) == 0);
        ++rejected;
      }
    };
    // Truncations at 60 offsets spread over the file (the structure is mostly at the ends).
    for (int k = 1; k <= 60; ++k) {
      size_t cut = k <= 30 ? bytes.size() * size_t(k) / 31
                           : bytes.size() - size_t(k - 30) * std::min<size_t>(bytes.size() / 40, 97);
      attempt(bytes.substr(0, cut));
    }
    // Single and triple bit flips at pseudo-random offsets; half of them in the last 4 KiB where
    // the graph structure (nodes, attributes, shapes) of weight-heavy files lives.
    for (int k = 0; k < 150; ++k) {
      std::string b = bytes;
      int flips = k % 3 == 0 ? 3 : 1;
      for (int j = 0; j < flips; ++j) {
        size_t span = (k % 2) ? std::min<size_t>(b.size(), 4096) : b.size();
        size_t off = b.size() - span + size_t(next() % span);
        b[off] = char(b[off] ^ char(1u << (next() % 8)));
      }
      attempt(b);
    }
  }
  CHECK(rejected > 0);
  CHECK(ok + rejected == int(corpus.size()) * 210);
}

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
