// ONNX importer: FINN data types, rounding modes, layer naming and creation, shapes, mapping hints.
#include "Importer.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace mpsim::io::onnx_import {

double roundMode(double v, const std::string& m) {
  if (m == "CEIL") return std::ceil(v);
  if (m == "FLOOR") return std::floor(v);
  if (m == "ROUND_TO_ZERO" || m == "DOWN") return std::trunc(v);
  if (m == "UP") return v < 0 ? std::floor(v) : std::ceil(v);
  if (m == "HALF_UP") return std::round(v); // half away from zero
  if (m == "HALF_DOWN") {
    double f = std::floor(v);
    if (v - f != 0.5) return std::round(v);
    return v >= 0 ? f : f + 1; // a tie goes towards zero
  }
  return std::nearbyint(v); // default rounding mode: to nearest, ties to even
}

std::optional<DType> parseDType(std::string s) {
  auto num = [](const std::string& t) -> std::optional<int> {
    if (t.empty() || t.size() > 3) return std::nullopt;
    for (char ch : t)
      if (ch < '0' || ch > '9') return std::nullopt;
    int n = std::stoi(t);
    if (n < 1 || n > 64) return std::nullopt;
    return n;
  };
  if (s == "BIPOLAR") return DType{1, true, true};
  if (s == "BINARY") return DType{1, false, false};
  if (s == "TERNARY") return DType{2, true, false};
  if (s.rfind("UINT", 0) == 0) {
    if (auto n = num(s.substr(4))) return DType{*n, false, false};
  } else if (s.rfind("INT", 0) == 0) {
    if (auto n = num(s.substr(3))) return DType{*n, true, false};
  } else if (s.rfind("SCALEDINT<", 0) == 0 && s.back() == '>') {
    if (auto n = num(s.substr(10, s.size() - 11))) return DType{*n, true, false};
  } else if (s.rfind("FIXED<", 0) == 0 && s.back() == '>') {
    auto comma = s.find(',');
    if (comma != std::string::npos)
      if (auto n = num(s.substr(6, comma - 6))) return DType{*n, true, false};
  }
  return std::nullopt;
}

std::string Importer::uniqueName(const onnx::NodeProto& n) {
  std::string base = n.name();
  if (base.empty()) base = n.op_type() + "_" + std::to_string(m_unnamed[n.op_type()]++);
  std::string clean;
  for (char ch : base) {
    unsigned char u = static_cast<unsigned char>(ch);
    clean += (u < 0x20 || u >= 0x7f || ch == '"' || ch == '\\' || ch == ',') ? '_' : ch;
  }
  if (clean.empty()) clean = "layer";
  if (clean.size() > 120) clean.resize(120);
  // "input", "output" and "output<N>" name the network's ends (graph outputs are named so below);
  // a layer may not take them. Any name ending in "_<k>" is none of them, so the loop ends.
  auto reserved = [](const std::string& s) {
    if (s == "input") return true;
    if (s.rfind("output", 0) != 0) return false;
    return std::all_of(s.begin() + 6, s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::string name = clean;
  for (int k = 1; m_names.count(name) || reserved(name); ++k) name = clean + "_" + std::to_string(k);
  m_names.insert(name);
  return name;
}

Layer& Importer::newLayer(const onnx::NodeProto& n, LayerKind kind, std::vector<std::string> inputs) {
  Layer l;
  l.name = uniqueName(n);
  l.kind = kind;
  l.inputs = std::move(inputs);
  if (l.isWeighted()) l.weight_bits = 8;
  m_index[l.name] = m_layers.size();
  m_layers.push_back(std::move(l));
  return m_layers.back();
}

Shape Importer::canon(const onnx::NodeProto& n, const Dyn& d) const {
  const auto& v = d.dims;
  double total = 1;
  for (auto x : v) {
    if (x < 1) failNode(n, "activation tensor " + dimsStr(v) + " has an empty dimension");
    total *= double(x);
  }
  if (total > double(int64_t(1) << 32))
    failNode(n, "activation tensor " + dimsStr(v) + " is too large (more than 2^32 elements)");
  switch (v.size()) {
  case 1: return Shape{1, v[0], 1, 1};
  case 2: return Shape{1, v[1], 1, 1};
  case 3: return Shape{1, v[1], v[2], 1};
  case 4: return d.chLast ? Shape{1, v[3], v[1], v[2]} : Shape{1, v[1], v[2], v[3]};
  default:
    failNode(n, "activation tensor of rank " + std::to_string(v.size()) + " " + dimsStr(v) +
                    " is not supported (ranks 2 to 4, batch 1)");
  }
}

void Importer::hint(const std::string& layerName, const onnx::NodeProto& n, bool simd) {
  OnnxMappingHint h;
  h.layer = layerName;
  if (attr(n, "PE")) h.pe = smallInt(n, "PE", attrInt(n, "PE", 1), 1, 1 << 20);
  if (simd && attr(n, "SIMD")) h.simd = smallInt(n, "SIMD", attrInt(n, "SIMD", 1), 1, 1 << 20);
  if (attr(n, "ram_style")) h.ram_style = attrStr(n, "ram_style", "auto");
  if (h.pe || h.simd || h.ram_style) m_hints.push_back(h);
}

} // namespace mpsim::io::onnx_import
