#include "mpsim/config/FinnFolding.hpp"

#include "mpsim/io/JsonFile.hpp"

#include <fstream>

#include <nlohmann/json.hpp>

#include "mpsim/common/Error.hpp"

namespace mpsim::config {

namespace {
bool startsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
} // namespace

FinnFoldingResult readFinnFolding(const std::string& path, const graph::Graph& g) {
  const auto j = io::readJsonFile<nlohmann::ordered_json>(path, kMaxConfigBytes, "FINN folding config");
  if (!j.is_object()) throw LoadError(path + ": expected a JSON object of node name -> attributes");

  // FINN node families and the graph layers they fold, matched in order.
  struct Family {
    const char* what;   // for messages
    const char* layers; // mpsim's layers of that family
    bool strict;        // more nodes than layers is an error (else: the extra nodes are skipped)
    std::vector<const char*> prefixes;
    std::vector<const graph::Layer*> list;
    size_t n = 0;
  };
  std::vector<Family> fam = {
      {"matrix-vector", "conv/fc", true, {"MVAU", "MatrixVectorActivation", "StreamingFCLayer"}, {}},
      {"vector-vector", "depthwise", true, {"VVAU", "VectorVectorActivation", "Vector_Vector_Activate"}, {}},
      // Standalone thresholding and label-select nodes fold mpsim's quantizer and labelselect layers;
      // networks that fuse thresholds into the MAC layers or end without a head have none.
      {"thresholding", "quantizer", false, {"Thresholding"}, {}},
      {"label-select", "labelselect", false, {"LabelSelect"}, {}},
  };
  for (const auto& l : g.layers()) {
    if (l.isWeighted())
      fam[l.isDepthwise() ? 1 : 0].list.push_back(&l);
    else if (l.kind == graph::LayerKind::Quantizer)
      fam[2].list.push_back(&l);
    else if (l.kind == graph::LayerKind::LabelSelect)
      fam[3].list.push_back(&l);
  }

  FinnFoldingResult r;
  std::vector<std::string> errors;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& node = it.key();
    if (node == "Defaults") continue;
    Family* f = nullptr;
    for (auto& x : fam)
      for (const char* p : x.prefixes)
        if (!f && startsWith(node, p)) f = &x;
    if (!f) {
      ++r.skipped;
      continue;
    }
    const auto& attrs = it.value();
    if (!attrs.is_object()) {
      errors.push_back(path + ": " + node + ": expected an object of attributes");
      continue;
    }
    auto& list = f->list;
    size_t& n = f->n;
    if (n >= list.size() && !f->strict) {
      ++r.skipped;
      ++n;
      continue;
    }
    if (n >= list.size()) {
      errors.push_back(path + ": " + node + " is " + f->what + " node #" + std::to_string(n + 1) + " but " + g.name() +
                       " has only " + std::to_string(list.size()) + " " + f->layers + " layers");
      ++n;
      continue;
    }
    const graph::Layer& l = *list[n++];
    LayerMapping m;
    m.where = path + ": " + node;
    auto intAttr = [&](const char* key, std::optional<int>& out) {
      if (!attrs.contains(key)) return;
      if (!attrs[key].is_number_integer() || attrs[key].get<int64_t>() < 1)
        errors.push_back(path + ": " + node + "." + key + ": expected a positive integer");
      else
        out = attrs[key].get<int>();
    };
    intAttr("PE", m.pe);
    intAttr("SIMD", m.simd);
    if (attrs.contains("resType") && attrs["resType"].is_string()) {
      std::string t = attrs["resType"].get<std::string>();
      if (t == "lut" || t == "dsp") m.pe_kind = parseEnum(hw::kPeKindNames, t);
    }
    if (attrs.contains("ram_style") && attrs["ram_style"].is_string()) {
      std::string s = attrs["ram_style"].get<std::string>();
      m.ram_style = parseEnum(kFinnRamStyleNames, s);
      if (!m.ram_style)
        errors.push_back(path + ": " + node + ".ram_style: '" + s + "' is not one of " +
                         enumChoices(kFinnRamStyleNames));
    }
    r.layers[l.name] = m;
    r.notes.push_back(node + " -> " + l.name);
  }
  if (!errors.empty()) throw LoadError(errors);
  if (fam[0].n < fam[0].list.size() || fam[1].n < fam[1].list.size())
    r.notes.push_back("the folding config covers " + std::to_string(fam[0].n) + " of " +
                      std::to_string(fam[0].list.size()) + " conv/fc and " + std::to_string(fam[1].n) + " of " +
                      std::to_string(fam[1].list.size()) + " depthwise layers; the others keep their mapping");
  return r;
}

} // namespace mpsim::config
