#include "mpsim/io/NetworkYaml.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/io/OnnxImport.hpp"
#include "mpsim/zoo/Zoo.hpp"

namespace mpsim::io {
using namespace mpsim::graph;

std::optional<ChannelSpec> readChannelSpec(Reader& r, const std::string& key) {
  if (!r.has(key)) {
    r.accept(key);
    return std::nullopt;
  }
  YAML::Node n = r.raw(key);
  ChannelSpec spec;
  if (n.IsSequence()) {
    auto list = r.optList<int>(key, inRangeInt(1, 32));
    if (!list) return std::nullopt;
    if (list->empty()) {
      r.error(key, "the list of per-channel widths is empty");
      return std::nullopt;
    }
    spec.list = *list;
    return spec;
  }
  r.accept(key);
  if (!n.IsMap()) {
    r.error(key,
            "expected a list of widths (one per output channel) or a mapping width: fraction, e.g. {8: 0.25, 4: 0.75}");
    return std::nullopt;
  }
  Reader m = r.child(key);
  double total = 0;
  bool ok = true;
  for (const auto& k : m.keys()) {
    char* end = nullptr;
    long bits = std::strtol(k.c_str(), &end, 10);
    if (!end || *end != '\0' || bits < 1 || bits > 32) {
      m.error(k, "expected a bit-width 1..32 as key (width: fraction of channels)");
      ok = false;
      m.accept(k);
      continue;
    }
    auto f = m.opt<double>(k, [](const double& v) {
      return (v > 0 && v <= 1) ? std::string() : "fraction " + formatNumber(v) + " must be in (0, 1]";
    });
    if (!f) {
      ok = false;
      continue;
    }
    spec.fractions.emplace_back(int(bits), *f);
    total += *f;
  }
  if (ok && spec.fractions.empty()) {
    r.error(key, "the width: fraction mapping is empty");
    return std::nullopt;
  }
  if (ok && std::fabs(total - 1.0) > 1e-6) {
    r.error(key, "fractions sum to " + formatNumber(total) + "; they must sum to 1");
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return spec;
}

// `activation_type: signed | unsigned | bipolar`, an alternative to `activations_signed` that can
// also say bipolar (values -1/+1 stored as one bit; implies activations: 1).
static void readActivationType(Reader& r, QuantOverride& o) {
  auto at = r.opt<std::string>("activation_type", oneOf({"signed", "unsigned", "bipolar"}));
  if (!at) return;
  if (o.activations_signed) {
    r.error("activation_type", "give either 'activation_type' or 'activations_signed', not both");
    return;
  }
  o.activations_bipolar = *at == "bipolar";
  o.activations_signed = *at != "unsigned";
  if (*at == "bipolar") {
    if (o.activations && *o.activations != 1)
      r.error("activation_type", "bipolar activations are 1 bit; 'activations' is " + std::to_string(*o.activations));
    o.activations = 1;
  }
}

QuantOverride readQuantOverride(Reader& r) {
  QuantOverride o;
  o.where = r.where();
  o.weights = r.opt<int>("weights", inRangeInt(1, 32));
  o.activations = r.opt<int>("activations", inRangeInt(1, 32));
  o.activations_signed = r.opt<bool>("activations_signed");
  readActivationType(r, o);
  o.weight_type = r.optEnum("weight_type", graph::kWeightTypeNames);
  o.channels = readChannelSpec(r, "channels");
  o.acc_bits = r.opt<int>("acc_bits", inRangeInt(1, 64));
  o.requant = r.opt<std::string>("requant", oneOf(graph::requantRuleValues()));
  return o;
}

QuantRules readQuantRules(Reader r) {
  QuantRules rules;
  rules.defaults.where = r.where();
  rules.defaults.weights = r.opt<int>("weights", inRangeInt(1, 32));
  rules.defaults.activations = r.opt<int>("activations", inRangeInt(1, 32));
  rules.defaults.activations_signed = r.opt<bool>("activations_signed");
  readActivationType(r, rules.defaults);
  rules.defaults.weight_type = r.optEnum("weight_type", graph::kWeightTypeNames);
  rules.defaults.requant = r.opt<std::string>("requant", oneOf(graph::requantRuleValues()));
  rules.input_bits = r.opt<int>("input_bits", inRangeInt(1, 32));
  rules.input_signed = r.opt<bool>("input_signed");
  for (const char* key : {"first_layer", "last_layer"}) {
    if (!r.has(key)) {
      r.accept(key);
      continue;
    }
    Reader c = r.child(key);
    QuantOverride o = readQuantOverride(c);
    c.finish();
    (std::string(key) == "first_layer" ? rules.first_layer : rules.last_layer) = o;
  }
  if (r.has("layers")) {
    Reader layers = r.child("layers");
    for (const auto& name : layers.keys()) {
      Reader c = layers.child(name);
      QuantOverride o = readQuantOverride(c);
      o.where = layers.where(name);
      c.finish();
      rules.layers[name] = o;
    }
  } else {
    r.accept("layers");
  }
  r.finish();
  return rules;
}

namespace {

void writeQuantOverride(YAML::Node n, const QuantOverride& o) {
  if (o.weights) n["weights"] = *o.weights;
  if (o.activations) n["activations"] = *o.activations;
  if (o.activations_bipolar && *o.activations_bipolar)
    n["activation_type"] = "bipolar";
  else if (o.activations_signed)
    n["activations_signed"] = *o.activations_signed;
  if (o.weight_type) n["weight_type"] = toString(*o.weight_type);
  if (o.channels) {
    if (!o.channels->list.empty()) {
      YAML::Node l(YAML::NodeType::Sequence);
      for (int b : o.channels->list) l.push_back(b);
      l.SetStyle(YAML::EmitterStyle::Flow);
      n["channels"] = l;
    } else {
      YAML::Node f(YAML::NodeType::Map);
      for (const auto& [bits, frac] : o.channels->fractions) f[std::to_string(bits)] = formatNumber(frac);
      f.SetStyle(YAML::EmitterStyle::Flow);
      n["channels"] = f;
    }
  }
  if (o.acc_bits) n["acc_bits"] = *o.acc_bits;
  if (o.requant) n["requant"] = *o.requant;
}

} // namespace

YAML::Node quantRulesYaml(const QuantRules& rules) {
  YAML::Node n(YAML::NodeType::Map);
  writeQuantOverride(n, rules.defaults);
  if (rules.input_bits) n["input_bits"] = *rules.input_bits;
  if (rules.input_signed) n["input_signed"] = *rules.input_signed;
  for (const auto& [key, o] :
       {std::pair{"first_layer", &rules.first_layer}, std::pair{"last_layer", &rules.last_layer}})
    if (*o) {
      YAML::Node c(YAML::NodeType::Map);
      writeQuantOverride(c, **o);
      c.SetStyle(YAML::EmitterStyle::Flow);
      n[key] = c;
    }
  if (!rules.layers.empty()) {
    YAML::Node layers(YAML::NodeType::Map);
    for (const auto& [name, o] : rules.layers) {
      YAML::Node c(YAML::NodeType::Map);
      writeQuantOverride(c, o);
      c.SetStyle(YAML::EmitterStyle::Flow);
      layers[name] = c;
    }
    n["layers"] = layers;
  }
  return n;
}

namespace {

// Output layers are added by the reader as "output" or "output<N>" (see `outputs`).
bool isOutputName(const std::string& n) {
  if (n.rfind("output", 0) != 0) return false;
  return std::all_of(n.begin() + 6, n.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// kernel: 3 or [3, 3]
bool readPair(Reader& r, const std::string& key, int& a, int& b, int lo) {
  if (!r.has(key)) {
    r.accept(key);
    return true;
  }
  if (r.raw(key).IsSequence()) {
    auto v = r.optList<int>(key, inRangeInt(lo, 1 << 20));
    if (!v) return false;
    if (v->size() != 2) {
      r.error(key, "expected one integer or a list of two [height, width]");
      return false;
    }
    a = (*v)[0];
    b = (*v)[1];
    return true;
  }
  auto v = r.opt<int>(key, inRangeInt(lo, 1 << 20));
  if (!v) return false;
  a = b = *v;
  return true;
}

graph::Graph readNetwork(std::shared_ptr<YamlDoc> doc) {
  Reader root(doc);
  Graph g(root.get<std::string>("name", std::filesystem::path(doc->file).stem().string()));
  g.setSource(doc->file);

  // Network-level defaults for every layer.
  Reader defaults = root.child("defaults");
  QuantOverride def = readQuantOverride(defaults);
  const Requant defRequant = defaults.getEnum("requant", Requant::Thresholds, graph::kRequantNames);
  defaults.finish();

  Reader in = root.child("input");
  std::string inName = in.get<std::string>("name", "input");
  auto shape = in.optList<int64_t>("shape", inRange(1, 1 << 24));
  if (!in.has("shape")) in.errorHere("missing required key 'input.shape' ([C, H, W])");
  // `type` and `signed` are alternatives; giving both in the file is an error. (Presence is what the
  // file says: opt() does not write defaults into the tree, get() does.)
  const bool bitsGiven = in.has("bits");
  auto inType = in.opt<std::string>("type", oneOf({"signed", "unsigned", "bipolar"}));
  auto inSignedGiven = in.opt<bool>("signed");
  const bool bipolarIn = inType && *inType == "bipolar";
  const int inBits = bitsGiven ? in.get<int>("bits", 8, inRangeInt(1, 32)) : (bipolarIn ? 1 : 8);
  if (!bitsGiven) in.accept("bits");
  const bool inSigned = inSignedGiven.value_or(false);
  auto inThresholds = in.opt<std::string>("thresholds_file");
  if (in.has("type") && in.has("signed")) in.error("type", "give either 'type' or 'signed', not both");
  if (bipolarIn && inBits != 1) in.error("type", "a bipolar input is 1 bit; 'bits' is " + std::to_string(inBits));
  in.finish();
  Layer input;
  input.name = inName;
  input.kind = LayerKind::Input;
  input.out = ActType{inBits, inSigned};
  if (inType) input.out = *inType == "bipolar" ? ActType::makeBipolar() : ActType{inBits, *inType == "signed"};
  if (inThresholds) {
    // Float input quantiser: (1, T) or (C, T), rows of T = 2^bits - 1 sorted thresholds.
    std::filesystem::path fp(*inThresholds);
    if (fp.is_relative()) fp = std::filesystem::path(doc->file).parent_path() / fp;
    const int64_t T = input.out.thresholdCount();
    try {
      const func::NpyArray a = func::readNpy(fp.string());
      std::vector<double> v = a.toDouble();
      const int64_t C = shape && !shape->empty() ? (*shape)[0] : 1;
      const bool shapeOk = a.shape.size() == 2 && a.shape[1] == T && (a.shape[0] == 1 || a.shape[0] == C);
      const int64_t rows = shapeOk ? a.shape[0] : 0;
      bool sorted = true;
      for (int64_t r = 0; r < rows; ++r) sorted = sorted && std::is_sorted(v.begin() + r * T, v.begin() + (r + 1) * T);
      if (!shapeOk)
        in.error("thresholds_file", fp.string() + " has shape " + func::npyShapeStr(a.shape) + "; need " +
                                        func::npyShapeStr({1, T}) + " or " + func::npyShapeStr({C, T}) + ": 1 or " +
                                        std::to_string(C) + " rows of " + std::to_string(T) +
                                        " thresholds (2^bits - 1)");
      else if (!sorted)
        in.error("thresholds_file", fp.string() + ": the thresholds of a row are not sorted");
      else
        input.input_thresholds = std::make_shared<const std::vector<double>>(std::move(v));
    } catch (const LoadError& e) {
      in.error("thresholds_file", e.what());
    }
  }
  input.line = int(in.node().Mark().line + 1);
  if (shape) {
    if (shape->size() == 3)
      input.out_shape = Shape{1, (*shape)[0], (*shape)[1], (*shape)[2]};
    else if (shape->size() == 1)
      input.out_shape = Shape{1, (*shape)[0], 1, 1};
    else
      in.error("shape", "expected [C, H, W] or [features]");
  }
  g.add(input);

  // Parameter files, checked against the layers' shapes once the graph is finalized.
  struct ParamFile {
    std::string layer, key, where, keyPath, path;
  };
  std::vector<ParamFile> paramFiles;

  std::string prev = inName;
  std::string lastName = inName;
  if (!root.has("layers")) root.errorHere("missing required key 'layers' (a list of layers)");
  root.accept("layers");
  YAML::Node layers = root.has("layers") ? root.raw("layers") : YAML::Node(YAML::NodeType::Sequence);
  if (root.has("layers") && !layers.IsSequence())
    root.error("layers", "expected a list of layers");
  else if (root.has("layers") && layers.size() == 0)
    root.error("layers", "the list is empty; a network needs at least one layer");
  if (layers.IsSequence()) {
    for (size_t i = 0; i < layers.size(); ++i) {
      std::string path = "layers[" + std::to_string(i) + "]";
      if (!layers[i].IsMap()) {
        doc->diag.error(locate(doc->file, layers[i]) + ": " + path + ": expected a mapping describing a layer");
        continue;
      }
      Reader r(doc, layers[i], path);
      Layer l;
      l.line = int(layers[i].Mark().line + 1);
      l.name = r.req<std::string>("name");
      if (isOutputName(l.name))
        r.error("name", "'" + l.name +
                            "' is reserved for the network's output layers (output, output0, output1, ...); "
                            "choose another name");
      std::string type = r.req<std::string>("type");
      auto kind = parseLayerKind(type);
      if (!kind && r.has("type") && r.raw("type").IsScalar())
        r.error("type", "'" + type + "' is not a layer type; valid: " + layerKindSpellings());
      if (kind && *kind == LayerKind::Input)
        r.error("type", "the network input is declared under 'input:', not as a layer");
      if (!kind) {
        // Without a type the other keys cannot be checked: report the type only (not a cascade of
        // missing or unknown keys of whatever type was meant).
        for (const auto& k : r.keys()) r.accept(k);
        prev = lastName = l.name;
        continue;
      }
      l.kind = *kind;
      if (auto ins = r.optList<std::string>("inputs"))
        l.inputs = *ins;
      else if (!r.has("inputs"))
        l.inputs = {prev};
      if (l.kind == LayerKind::Conv) {
        l.out_channels = r.req<int64_t>("out_channels", inRange(1, 1 << 24));
        int kh = 1, kw = 1;
        if (!r.has("kernel")) r.errorHere("missing required key 'kernel'");
        readPair(r, "kernel", kh, kw, 1);
        l.kh = kh;
        l.kw = kw;
        readPair(r, "stride", l.stride_h, l.stride_w, 1);
        readPair(r, "padding", l.pad_h, l.pad_w, 0);
        readPair(r, "dilation", l.dil_h, l.dil_w, 1);
        l.groups = r.get<int>("groups", 1, inRangeInt(1, 1 << 24));
      } else if (l.kind == LayerKind::FullyConnected) {
        l.out_channels = r.req<int64_t>("out_features", inRange(1, 1 << 24));
      } else if (l.kind == LayerKind::MaxPool || l.kind == LayerKind::AvgPool) {
        if (!r.has("kernel")) r.errorHere("missing required key 'kernel'");
        readPair(r, "kernel", l.kh, l.kw, 1);
        l.stride_h = l.kh;
        l.stride_w = l.kw;
        readPair(r, "stride", l.stride_h, l.stride_w, 1);
        readPair(r, "padding", l.pad_h, l.pad_w, 0);
      } else if (l.kind == LayerKind::LabelSelect) {
        // 1..C; the upper bound depends on the input and is checked by Graph::finalize.
        l.topk = r.opt<int>("k", [](const int& v) {
                    return v >= 1 ? std::string()
                                  : "value " + std::to_string(v) +
                                        " is out of range; valid: 1..C (C = the class scores of the input)";
                  }).value_or(1);
      }
      // Parameter files for functional simulation, relative to the network file.
      auto paramFile = [&](const char* key, std::string& out) {
        if (auto f = r.opt<std::string>(key)) {
          std::filesystem::path fp(*f);
          if (fp.is_relative()) fp = std::filesystem::path(doc->file).parent_path() / fp;
          std::error_code ec;
          if (!std::filesystem::exists(fp, ec))
            r.error(key, "file not found: " + fp.string());
          else
            paramFiles.push_back({l.name, key, r.where(key), r.keyPath(key), fp.string()});
          out = fp.string();
        }
      };
      paramFile("weights_file", l.weights_file);
      paramFile("thresholds_file", l.thresholds_file);
      if (!l.weights_file.empty() && kind && !(*kind == LayerKind::Conv || *kind == LayerKind::FullyConnected))
        r.error("weights_file", "layer '" + l.name + "' (" + type + ") has no weights");
      // Quantisation: layer keys over network defaults.
      QuantOverride o = readQuantOverride(r);
      if (l.isWeighted()) {
        int wb = o.weights.value_or(def.weights.value_or(8));
        l.weight_bits = wb;
        l.weight_type =
            o.weight_type.value_or(def.weight_type.value_or(wb == 1 ? WeightType::Bipolar : WeightType::Signed));
        // The layer's own `weights` replaces per-channel widths from the defaults.
        auto ch = o.channels ? o.channels : (o.weights ? std::nullopt : def.channels);
        if (ch) {
          try {
            l.channel_bits = ch->expand(l.out_channels);
            l.weight_bits = 0;
            for (int b : l.channel_bits) l.weight_bits = std::max(l.weight_bits, b);
          } catch (const std::invalid_argument& e) {
            if (o.channels)
              r.error("channels", e.what());
            else
              r.errorHere("defaults.channels: " + std::string(e.what()));
          }
        }
        // A bipolar type the layer did not ask for (derived from 1-bit default weights, or given in
        // `defaults`) becomes signed when the layer's widths are wider than 1 bit. Only a bipolar
        // type given together with wider widths in the same place is an error (reported by finalize).
        if (!o.weight_type && l.weight_type == WeightType::Bipolar && l.weight_bits > 1 &&
            (o.weights || o.channels || !def.weight_type))
          l.weight_type = WeightType::Signed;
        l.acc_bits_given = o.acc_bits.value_or(def.acc_bits.value_or(0));
      } else {
        if (o.weights || o.channels || o.weight_type || o.acc_bits)
          r.errorHere("layer '" + l.name + "' (" + type +
                      ") has no weights; weights, weight_type, channels and acc_bits apply to conv and fc");
      }
      if (requantises(l.kind)) {
        l.out.bits = o.activations.value_or(def.activations.value_or(8));
        l.out.is_signed = o.activations_signed.value_or(def.activations_signed.value_or(false));
        l.out.bipolar = o.activations_bipolar                     ? *o.activations_bipolar
                        : (o.activations || o.activations_signed) ? false
                                                                  : def.activations_bipolar.value_or(false);
        l.requant = r.getEnum("requant", defRequant, graph::kRequantNames);
        if (!l.thresholds_file.empty() && l.kind != LayerKind::Quantizer &&
            !(l.isWeighted() && l.requant == Requant::Thresholds))
          r.error("thresholds_file", "layer '" + l.name + "' (" + type +
                                         ") uses no thresholds; thresholds_file applies to conv "
                                         "and fc layers with requant: thresholds and to quantizer layers");
      } else if (!l.thresholds_file.empty()) {
        r.error("thresholds_file", "layer '" + l.name + "' (" + type +
                                       ") uses no thresholds; thresholds_file applies to conv "
                                       "and fc layers with requant: thresholds and to quantizer layers");
      } else if ((o.activations || o.activations_signed || o.activations_bipolar) && l.kind == LayerKind::LabelSelect) {
        r.errorHere("layer '" + l.name + "' (" + type +
                    ") outputs class indices (unsigned, ceil(log2(classes)) bits); "
                    "'activations' does not apply");
      } else if (o.activations || o.activations_signed || o.activations_bipolar) {
        r.errorHere("layer '" + l.name + "' (" + type +
                    ") passes its input type through; 'activations' does not apply");
      }
      r.finish();
      prev = l.name;
      lastName = l.name;
      g.add(std::move(l));
    }
  }
  auto outputs = root.optList<std::string>("outputs");
  std::vector<std::string> outs = outputs ? *outputs : std::vector<std::string>{lastName};
  for (size_t i = 0; i < outs.size(); ++i) {
    Layer o;
    o.kind = LayerKind::Output;
    o.name = outs.size() == 1 ? "output" : "output" + std::to_string(i);
    o.inputs = {outs[i]};
    g.add(std::move(o));
  }
  root.finish();
  doc->diag.throwIfAny();
  g.finalize();
  // Parameter files must have exactly the layer's shape (docs/network-format.md): a file of another
  // shape is never reinterpreted, even when it holds as many values.
  for (const auto& f : paramFiles) {
    const Layer& l = g.at(f.layer);
    const func::ParamShape want = f.key == "weights_file" ? func::weightsFileShape(l) : func::thresholdsFileShape(l);
    try {
      const func::NpyHeader h = func::readNpyHeader(f.path);
      if (h.shape != want.dims)
        doc->diag.error(f.where + ": " + f.keyPath + ": " + f.path + " has shape " + func::npyShapeStr(h.shape) +
                        "; layer '" + l.name + "' (" + toString(l.kind) + ") needs " + func::npyShapeStr(want.dims) +
                        " " + want.layout + (f.key == "thresholds_file" ? " for its " + l.out.str() + " output" : ""));
    } catch (const LoadError& e) {
      doc->diag.error(f.where + ": " + f.keyPath + ": " + e.what());
    }
  }
  doc->diag.throwIfAny();
  return g;
}

} // namespace

graph::Graph loadNetworkYaml(const std::string& path) { return readNetwork(YamlDoc::loadFile(path)); }

graph::Graph loadNetworkYamlString(const std::string& text, const std::string& name) {
  return readNetwork(YamlDoc::loadString(text, name));
}

std::vector<std::string> modelCandidates(const std::string& model, const std::string& baseDir) {
  // A relative path: next to the config file first, then in the current directory.
  namespace fs = std::filesystem;
  const fs::path p(model);
  std::vector<std::string> tried;
  if (p.is_relative() && !baseDir.empty()) tried.push_back((fs::path(baseDir) / p).string());
  tried.push_back(p.string());
  return tried;
}

ModelLoad loadModelFull(const std::string& model, const std::string& baseDir, const std::string& where) {
  const std::string at = where.empty() ? std::string() : where + ": ";
  if (zoo::isModel(model)) return ModelLoad{zoo::build(model), {}, {}};
  namespace fs = std::filesystem;
  fs::path p(model);
  std::string ext = p.extension().string();
  std::string names;
  for (const auto& n : zoo::modelNames()) names += (names.empty() ? "" : ", ") + n;
  if (ext != ".yaml" && ext != ".yml" && ext != ".onnx")
    throw LoadError(at + "'" + model + "' is neither a built-in model (" + names +
                    ") nor a network file (.yaml, .yml, .onnx)");
  const std::vector<std::string> tried = modelCandidates(model, baseDir);
  for (const fs::path t : tried) {
    std::error_code ec;
    if (!fs::exists(t, ec)) continue;
    if (ext == ".onnx") {
      OnnxImport imp = importOnnx(t.string());
      return ModelLoad{std::move(imp.graph), std::move(imp.mapping), std::move(imp.notes)};
    }
    return ModelLoad{loadNetworkYaml(t.string()), {}, {}};
  }
  std::string looked;
  for (const auto& t : tried) looked += (looked.empty() ? "" : ", ") + t;
  throw LoadError(at + model + ": network file not found (looked for " + looked + ")");
}

graph::Graph loadModel(const std::string& model, const std::string& baseDir, const std::string& where) {
  return loadModelFull(model, baseDir, where).graph;
}

} // namespace mpsim::io
