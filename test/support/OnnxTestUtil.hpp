#pragma once
// Helpers for ONNX importer tests: fixture paths (a missing fixture fails the test that needs it),
// graph totals, the import error of a byte string, and a tiny protobuf writer for hand-made models.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "FileText.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/io/OnnxImport.hpp"

namespace mpsim::test {

inline bool exists(const std::string& p) { return std::filesystem::exists(p); }
// A test input that must be there: a missing file is a failure of the test that needs it, never a skip.
inline std::string required(const std::string& p) {
  if (!exists(p)) FAIL("missing test fixture " << p << " (test/data is part of the repository; restore it from git)");
  return p;
}
inline std::string fixture(const std::string& name) { return required(std::string(MPSIM_TEST_DATA) + "/onnx/" + name); }
// Reference models vendored from ../shared/reference (same layout below test/data/reference).
inline std::string reference(const std::string& rel) {
  return required(std::string(MPSIM_TEST_DATA) + "/reference/onnx/" + rel);
}
inline std::string buildDataflow(const std::string& name) {
  return required(std::string(MPSIM_TEST_DATA) + "/finn/build_dataflow/" + name);
}

struct Totals {
  int64_t macs = 0, wbits = 0;
  int weighted = 0;
};
inline Totals totals(const graph::Graph& g) {
  Totals t;
  for (const auto& l : g.layers()) {
    t.macs += l.macs();
    t.wbits += l.weightMemoryBits();
    if (l.isWeighted()) ++t.weighted;
  }
  return t;
}

inline std::vector<const graph::Layer*> ofKind(const graph::Graph& g, graph::LayerKind k) {
  std::vector<const graph::Layer*> r;
  for (const auto& l : g.layers())
    if (l.kind == k) r.push_back(&l);
  return r;
}

inline const io::OnnxMappingHint* hintFor(const io::OnnxImport& r, const std::string& layer) {
  for (const auto& h : r.mapping)
    if (h.layer == layer) return &h;
  return nullptr;
}

inline std::string errorOf(const std::string& bytes) {
  try {
    io::importOnnxBytes(bytes, "t.onnx");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}

// ---- a tiny protobuf writer for hand-made ONNX models (field numbers from onnx.proto) ----
struct Pb {
  std::string b;
  Pb& varint(uint64_t v) {
    while (v >= 0x80) {
      b += char((v & 0x7f) | 0x80);
      v >>= 7;
    }
    b += char(v);
    return *this;
  }
  Pb& key(int field, int wire) { return varint(uint64_t(field) << 3 | uint64_t(wire)); }
  Pb& i(int field, int64_t v) { return key(field, 0).varint(uint64_t(v)); }
  Pb& s(int field, const std::string& v) {
    key(field, 2).varint(v.size());
    b += v;
    return *this;
  }
  Pb& m(int field, const Pb& v) { return s(field, v.b); }
  Pb& f(int field, float v) {
    key(field, 5);
    char c[4];
    std::memcpy(c, &v, 4);
    b.append(c, 4);
    return *this;
  }
};
inline Pb valueInfo(const std::string& name, std::vector<int64_t> dims, const std::string& symbolic = "") {
  Pb shape;
  for (auto d : dims) shape.m(1, Pb().i(1, d));
  if (!symbolic.empty()) shape.m(1, Pb().s(2, symbolic));
  return Pb().s(1, name).m(2, Pb().m(1, Pb().i(1, 1).m(2, shape)));
}
inline Pb floatTensor(const std::string& name, std::vector<int64_t> dims, float fill) {
  Pb t;
  int64_t n = 1;
  for (auto d : dims) {
    t.i(1, d);
    n *= d;
  }
  t.i(2, 1).s(8, name);
  std::string raw;
  for (int64_t k = 0; k < n; ++k) {
    char c[4];
    std::memcpy(c, &fill, 4);
    raw.append(c, 4);
  }
  return t.s(9, raw);
}
inline Pb tensorVals(const std::string& name, std::vector<int64_t> dims, std::vector<float> vals) {
  Pb t;
  for (auto d : dims) t.i(1, d);
  t.i(2, 1).s(8, name);
  std::string raw;
  for (float v : vals) {
    char c[4];
    std::memcpy(c, &v, 4);
    raw.append(c, 4);
  }
  return t.s(9, raw);
}
inline Pb node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
               const std::string& name, std::vector<Pb> attrs = {}, const std::string& domain = "") {
  Pb n;
  for (auto& x : in) n.s(1, x);
  for (auto& x : out) n.s(2, x);
  n.s(3, name).s(4, op);
  for (auto& a : attrs) n.m(5, a);
  if (!domain.empty()) n.s(7, domain);
  return n;
}
inline Pb attrI(const std::string& name, int64_t v) { return Pb().s(1, name).i(3, v).i(20, 2); }
inline Pb attrInts(const std::string& name, std::vector<int64_t> v) {
  Pb a;
  a.s(1, name);
  for (auto x : v) a.i(8, x);
  return a.i(20, 7);
}
inline std::string model(const Pb& graph) { return Pb().i(1, 7).m(7, graph).m(8, Pb().i(2, 13)).b; }

// A conv with per-output-channel weight widths [8, 8, 4, 2], then ReLU and a 4-bit activation Quant,
// then global average pooling, Flatten and a 3-bit Gemm.
inline std::string perChannelModel() {
  Pb g;
  g.s(2, "perchannel");
  g.m(11, valueInfo("x", {1, 3, 8, 8}));
  g.m(12, valueInfo("y", {1, 5}));
  g.m(5, floatTensor("w", {4, 3, 3, 3}, 0.5f));
  g.m(5, tensorVals("s", {4, 1, 1, 1}, {0.1f, 0.1f, 0.2f, 0.3f}));
  g.m(5, tensorVals("z", {}, {0}));
  g.m(5, tensorVals("bw", {4, 1, 1, 1}, {8, 8, 4, 2}));
  g.m(5, tensorVals("as", {}, {0.5f}));
  g.m(5, tensorVals("ab", {}, {4}));
  g.m(5, floatTensor("fw", {5, 4}, 0.25f));
  g.m(5, tensorVals("fb", {}, {3}));
  g.m(5, floatTensor("bias", {5}, 0.0f));
  g.m(1, node("Quant", {"w", "s", "z", "bw"}, {"wq"}, "wquant", {attrI("signed", 1), attrI("narrow", 1)},
              "qonnx.custom_op.general"));
  g.m(1, node("Conv", {"x", "wq"}, {"c"}, "conv", {attrInts("kernel_shape", {3, 3}), attrInts("pads", {1, 1, 1, 1})}));
  g.m(1, node("Relu", {"c"}, {"r"}, "relu"));
  g.m(1, node("Quant", {"r", "as", "z", "ab"}, {"q"}, "aquant", {attrI("signed", 0)}, "qonnx.custom_op.general"));
  g.m(1, node("GlobalAveragePool", {"q"}, {"p"}, "gap"));
  g.m(1, node("Flatten", {"p"}, {"f"}, "flatten"));
  g.m(1, node("Quant", {"fw", "as", "z", "fb"}, {"fwq"}, "fquant", {attrI("signed", 1)}, "qonnx.custom_op.general"));
  g.m(1, node("Gemm", {"f", "fwq", "bias"}, {"y"}, "fc", {attrI("transB", 1)}));
  return model(g);
}

} // namespace mpsim::test
