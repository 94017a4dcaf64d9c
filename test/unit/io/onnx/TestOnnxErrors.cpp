// ONNX import errors: precise messages naming the node, the dispatch table as the operator list of the
// errors and of docs/onnx-import.md, invalid Quant scales.
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

#include "OnnxTestUtil.hpp"
#include "io/onnx/OpTable.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/io/OnnxImport.hpp"

using namespace mpsim;
using graph::LayerKind;
using namespace mpsim::test;

TEST_CASE("onnx: precise errors", "[unit][onnx]") {
  CHECK(errorOf("").find("t.onnx: the file is empty") != std::string::npos);
  CHECK(errorOf("this is not protobuf \xff\xff\xff").find("not a valid ONNX model") != std::string::npos);
  {
    std::string e;
    try {
      io::importOnnx("/nonexistent/x.onnx");
    } catch (const LoadError& ex) {
      e = ex.what();
    }
    CHECK(e == "/nonexistent/x.onnx: cannot open ONNX model (No such file or directory)");
  }
  auto base = [](Pb extraNode, bool withInit = true) {
    Pb g;
    g.m(11, valueInfo("x", {1, 4}));
    g.m(12, valueInfo("y", {1, 2}));
    if (withInit) g.m(5, floatTensor("w", {4, 2}, 1.0f));
    g.m(1, extraNode);
    return model(g);
  };
  // Unsupported operator: names the node, its op type and the supported list.
  std::string e = errorOf(base(node("Sin", {"x"}, {"y"}, "sine")));
  CHECK(e.find("t.onnx: node 'sine' (Sin): unsupported operator; supported: Quant, BipolarQuant") != std::string::npos);
  // Missing initializer.
  e = errorOf(base(node("MatMul", {"x", "w"}, {"y"}, "mm"), false));
  CHECK(
      e.find("node 'mm' (MatMul): input 'w' is neither a graph input, an initializer nor the output of another node") !=
      std::string::npos);
  // Activations x activations.
  e = errorOf(base(node("MatMul", {"x", "x"}, {"y"}, "mm2")));
  CHECK(e.find("node 'mm2' (MatMul): both operands are activation tensors") != std::string::npos);
  // Dynamic shapes.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 3}, "H"));
    g.m(12, valueInfo("y", {1}));
    g.m(1, node("Relu", {"x"}, {"y"}, "r"));
    e = errorOf(model(g));
    CHECK(e.find("graph input 'x' has dynamic dimension #2 ('H'); dynamic shapes are not supported") !=
          std::string::npos);
  }
  // Weights that do not fit the input.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 5}));
    g.m(12, valueInfo("y", {1, 2}));
    g.m(5, floatTensor("w", {4, 2}, 1.0f));
    g.m(1, node("MatMul", {"x", "w"}, {"y"}, "mm"));
    e = errorOf(model(g));
    CHECK(e.find("node 'mm' (MatMul): weights [4x2] do not match the 5 input features of [1x5]") != std::string::npos);
  }
  // Non-integer bit width.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 4}));
    g.m(12, valueInfo("y", {1, 4}));
    g.m(5, tensorVals("s", {}, {1}));
    g.m(5, tensorVals("z", {}, {0}));
    g.m(5, tensorVals("b", {}, {2.5f}));
    g.m(1, node("Quant", {"x", "s", "z", "b"}, {"y"}, "q", {}, "qonnx.custom_op.general"));
    e = errorOf(model(g));
    CHECK(e.find("node 'q' (Quant): bit width 2.5") != std::string::npos);
  }
  // Cycle.
  {
    Pb g;
    g.m(11, valueInfo("x", {1, 4}));
    g.m(12, valueInfo("y", {1, 4}));
    g.m(1, node("Add", {"x", "b"}, {"a"}, "n1"));
    g.m(1, node("Relu", {"a"}, {"b"}, "n2"));
    g.m(1, node("Relu", {"a"}, {"y"}, "n3"));
    e = errorOf(model(g));
    CHECK(e.find("is part of a cycle") != std::string::npos);
  }
}

TEST_CASE("onnx: the dispatch table is the operator list of the errors and of docs/onnx-import.md", "[unit][onnx]") {
  const auto ops = io::onnx_import::supportedOps();
  const std::string text = io::onnx_import::supportedOpsText();
  REQUIRE(ops.size() > 40);
  // Both errors give the table's list.
  Pb g;
  g.m(11, valueInfo("x", {1, 4}));
  g.m(12, valueInfo("y", {1, 4}));
  g.m(1, node("Sin", {"x"}, {"y"}, "sine"));
  CHECK(errorOf(model(g)) == "t.onnx: node 'sine' (Sin): unsupported operator; supported: " + text);
  Pb g2;
  g2.m(11, valueInfo("x", {1, 4}));
  g2.m(12, valueInfo("y", {1, 4}));
  g2.m(5, floatTensor("c", {4}, 1.0f));
  g2.m(1, node("Cos", {"c"}, {"y"}, "cosine"));
  CHECK(errorOf(model(g2)) == "t.onnx: node 'cosine' (Cos): unsupported on constant inputs; supported: " + text);
  // The words of the list are the table's listed op types (and the words around them).
  std::set<std::string> words;
  std::string w;
  for (char ch : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(ch)))
      w += ch;
    else if (!w.empty())
      words.insert(w), w.clear();
  }
  std::map<std::string, bool> listed;
  for (const auto& o : ops) {
    INFO(o.op);
    CHECK(listed.emplace(o.op, o.listed).second); // one row per op type
    if (o.listed) CHECK(words.count(o.op) == 1);
  }
  for (const auto& x : words) {
    INFO(x);
    const bool prose = x == "and" || x == "the" || x == "FINN" || x == "fpgadataflow" || x == "nodes";
    CHECK((prose || (listed.count(x) && listed[x])));
  }
  // docs/onnx-import.md, "Supported operators", names every op type of the table.
  const std::string doc = readFile(std::string(MPSIM_SOURCE_DIR) + "/docs/onnx-import.md");
  const size_t from = doc.find("## Supported operators"), to = doc.find("\n## ", from + 1);
  REQUIRE(from != std::string::npos);
  const std::string section = doc.substr(from, to == std::string::npos ? std::string::npos : to - from);
  for (const auto& o : ops) {
    INFO(o.op);
    CHECK(section.find("`" + o.op + "`") != std::string::npos);
  }
}

TEST_CASE("onnx: a Quant scale of 0, NaN or infinity is an error naming the node", "[unit][onnx][robust]") {
  const std::string q = "qonnx.custom_op.general";
  for (float bad : {0.0f, std::nanf(""), INFINITY, -INFINITY}) {
    INFO("scale " << bad);
    // On an activation.
    {
      Pb g;
      g.m(11, valueInfo("x", {1, 4}));
      g.m(12, valueInfo("y", {1, 4}));
      g.m(5, tensorVals("s", {}, {bad}));
      g.m(5, tensorVals("z", {}, {0}));
      g.m(5, tensorVals("b", {}, {4}));
      g.m(1, node("Quant", {"x", "s", "z", "b"}, {"y"}, "aq", {attrI("signed", 0)}, q));
      const std::string e = errorOf(model(g));
      CHECK(e.find("node 'aq' (Quant): scale element 0 is") != std::string::npos);
      CHECK(e.find("a quantiser scale must be a finite non-zero number") != std::string::npos);
    }
    // On weights (one channel of two).
    {
      Pb g;
      g.m(11, valueInfo("x", {1, 3}));
      g.m(12, valueInfo("y", {1, 2}));
      g.m(5, tensorVals("w", {3, 2}, {0.3f, -0.2f, 0.1f, 0.4f, -0.5f, 0.25f}));
      g.m(5, tensorVals("ws", {2}, {0.1f, bad}));
      g.m(5, tensorVals("z", {}, {0}));
      g.m(5, tensorVals("b4", {}, {4}));
      g.m(5, tensorVals("is", {}, {0.5f}));
      g.m(1, node("Quant", {"x", "is", "z", "b4"}, {"xq"}, "inquant", {attrI("signed", 0)}, q));
      g.m(1, node("Quant", {"w", "ws", "z", "b4"}, {"wq"}, "wquant", {attrI("signed", 1)}, q));
      g.m(1, node("MatMul", {"xq", "wq"}, {"y"}, "fc"));
      const std::string e = errorOf(model(g));
      CHECK(e.find("node 'wquant' (Quant): scale element 1 is") != std::string::npos);
    }
  }
}
