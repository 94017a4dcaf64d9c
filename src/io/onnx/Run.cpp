// ONNX importer: the graph as a whole (the model, its input, the topological order of the nodes,
// outputs, notes, the finished graph) and the public entry points.
#include "Importer.hpp"

#include <algorithm>

#include "mpsim/common/FileIo.hpp"
#include "mpsim/common/Progress.hpp"

namespace mpsim::io {
namespace onnx_import {

OnnxImport Importer::run(const std::string& bytes) {
  onnx::ModelProto model;
  if (bytes.empty()) fail("the file is empty");
  if (bytes.size() > (size_t(1) << 31)) fail("the file is larger than 2 GB");
  if (!model.ParseFromString(bytes)) fail("not a valid ONNX model (protobuf parse error: truncated or corrupt file)");
  if (!model.has_graph()) fail("the model has no graph");
  const onnx::GraphProto& g = model.graph();
  if (g.node_size() == 0) fail("the graph has no nodes");

  // FINN / QONNX datatype annotations (graph.quantization_annotation: tensor -> finn_datatype).
  std::map<std::string, DType> annot;
  for (const auto& a : g.quantization_annotation())
    for (const auto& kv : a.quant_parameter_tensor_names())
      if (kv.key() == "finn_datatype")
        if (auto dt = parseDType(kv.value())) annot[a.tensor_name()] = *dt;
  // Big models: initializers (weights decoded) and nodes (constants folded) counted on stderr.
  Progress progress("importing ONNX", uint64_t(g.initializer_size()) + uint64_t(g.node_size()), "tensors and nodes");
  uint64_t done = 0;
  for (const auto& t : g.initializer()) {
    progress.update(++done);
    Value v;
    v.isConst = true;
    v.c = tensorToConst(t, "initializer '" + t.name() + "'");
    auto it = annot.find(t.name());
    if (it != annot.end()) {
      v.c.q.set = true;
      v.c.q.bits = {it->second.bits};
      v.c.q.isSigned = it->second.isSigned;
      v.c.q.bipolar = it->second.bipolar;
    }
    m_vals[t.name()] = std::move(v);
  }
  for (const auto& n : g.node())
    if (n.domain().find("fpgadataflow") != std::string::npos) m_finnHw = true;

  // The one network input (graph inputs that are not initializers).
  const onnx::ValueInfoProto* input = nullptr;
  for (const auto& i : g.input()) {
    if (m_vals.count(i.name())) continue;
    if (input)
      fail("the graph has more than one non-constant input ('" + input->name() + "', '" + i.name() +
           "'); mpsim networks have one input");
    input = &i;
  }
  if (!input) fail("the graph has no non-constant input");
  std::string in = input->name();
  if (!input->type().has_tensor_type() || !input->type().tensor_type().has_shape())
    fail("graph input '" + in + "' has no tensor shape");
  std::vector<int64_t> dims;
  const auto& shp = input->type().tensor_type().shape();
  for (int i = 0; i < shp.dim_size(); ++i) {
    const auto& d = shp.dim(i);
    if (d.has_dim_value()) {
      if (d.dim_value() < 1 || d.dim_value() > kMaxDim)
        fail("graph input '" + in + "' has an invalid dimension " + std::to_string(d.dim_value()));
      dims.push_back(d.dim_value());
    } else if (i == 0) {
      dims.push_back(1);
      m_notes.push_back("symbolic batch dimension of input '" + in + "' set to 1");
    } else {
      fail("graph input '" + in + "' has dynamic dimension #" + std::to_string(i) + " ('" + d.dim_param() +
           "'); dynamic shapes are not supported: export the model with a fixed input shape");
    }
  }
  if (dims.size() < 2 || dims.size() > 4)
    fail("graph input '" + in + "' has shape " + dimsStr(dims) + "; expected [N, C, H, W], [N, C, L] or [N, features]");
  if (dims[0] != 1)
    fail("graph input '" + in + "' has batch " + std::to_string(dims[0]) + "; mpsim streams single frames (batch 1)");
  {
    Dyn d;
    d.dims = dims;
    d.chLast = m_finnHw && dims.size() == 4;
    onnx::NodeProto dummy;
    dummy.set_name(in);
    dummy.set_op_type("input");
    Shape s = canon(dummy, d);
    Layer l;
    l.name = m_inputName = "input";
    l.kind = LayerKind::Input;
    l.out_shape = s;
    l.out = ActType{8, false};
    m_names.insert(l.name);
    m_index[l.name] = 0;
    m_layers.push_back(l);
    d.layer = d.pending = l.name;
    d.rawInput = true;
    Value v;
    v.d = d;
    m_vals[in] = v;
    if (auto it = annot.find(in); it != annot.end()) {
      m_layers[0].out = actOf(it->second);
      m_quantSet.insert("input");
      m_notes.push_back("the network input type comes from its datatype annotation");
    }
    // FINN hardware graphs declare the input type on the first node.
    if (m_finnHw)
      for (const auto& n : g.node())
        for (int k = 0; k < n.input_size(); ++k)
          if (n.input(k) == in)
            for (const auto& a : n.attribute())
              if (a.name() == "inputDataType")
                if (auto dt = parseDType(a.s())) {
                  m_layers[0].out = actOf(*dt);
                  m_quantSet.insert("input");
                }
    // The input's integers are its values (a float input is assumed to hold integers).
    storedChain(m_vals[in].d, m_layers[0].out, ValueChain::identity());
  }

  for (const auto& o : g.output()) m_graphOutputs.insert(o.name());
  // Topological order of the nodes (ONNX requires it, but do not rely on it).
  size_t nn = size_t(g.node_size());
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < nn; ++i)
    for (const auto& o : g.node(int(i)).output()) {
      if (o.empty()) continue;
      if (producer.count(o) || m_vals.count(o))
        fail("tensor '" + o + "' is produced more than once (node '" + g.node(int(i)).name() + "')");
      producer[o] = i;
    }
  std::vector<std::vector<size_t>> succ(nn);
  std::vector<int> indeg(nn, 0);
  for (size_t i = 0; i < nn; ++i)
    for (const auto& x : g.node(int(i)).input()) {
      if (x.empty()) continue;
      ++m_consumers[x];
      auto it = producer.find(x);
      if (it != producer.end()) {
        succ[it->second].push_back(i);
        ++indeg[i];
      } else if (!m_vals.count(x)) {
        const auto& n = g.node(int(i));
        failNode(
            n, "input '" + x +
                   "' is neither a graph input, an initializer nor the output of another node (missing initializer?)");
      }
    }
  std::vector<size_t> order, ready;
  for (size_t i = nn; i-- > 0;)
    if (indeg[i] == 0) ready.push_back(i);
  while (!ready.empty()) {
    size_t i = ready.back();
    ready.pop_back();
    order.push_back(i);
    for (size_t j = succ[i].size(); j-- > 0;)
      if (--indeg[succ[i][j]] == 0) ready.push_back(succ[i][j]);
  }
  if (order.size() != nn) {
    for (size_t i = 0; i < nn; ++i)
      if (indeg[i] > 0) failNode(g.node(int(i)), "is part of a cycle");
  }
  // Keep the file's order where it is valid: stable when nodes are already sorted.
  for (size_t i : order) {
    node(g.node(int(i)));
    progress.update(++done);
  }

  // Outputs.
  std::vector<std::string> outs;
  for (const auto& o : g.output()) {
    auto it = m_vals.find(o.name());
    if (it == m_vals.end()) fail("graph output '" + o.name() + "' is not produced by any node");
    if (it->second.isConst) fail("graph output '" + o.name() + "' is a constant");
    outs.push_back(it->second.d.layer);
    double sc = 0, off = 0;
    if (it->second.d.chain.perTensorAffine(sc, off) && (sc != 1 || off != 0))
      m_notes.push_back("graph output '" + o.name() + "' = " + std::to_string(sc) + " x (the integer output of '" +
                        it->second.d.layer + "')" + (off != 0 ? " + " + std::to_string(off) : std::string()) +
                        (sc > 0 ? "; order-preserving, so top-k classes are the model's" : ""));
    else if (!it->second.d.chain.known() || it->second.d.chain.channels() > 1)
      m_notes.push_back("graph output '" + o.name() +
                        "': the model's float scores are not a common scale of the integer output of '" +
                        it->second.d.layer + "'" +
                        (it->second.d.chain.known() ? "" : " (" + it->second.d.chain.why() + ")"));
  }
  if (outs.empty()) fail("the graph has no outputs");
  for (size_t i = 0; i < outs.size(); ++i) {
    Layer o;
    o.kind = LayerKind::Output;
    o.name = outs.size() == 1 ? "output" : "output" + std::to_string(i);
    o.inputs = {outs[i]};
    m_layers.push_back(o);
  }

  // Notes on folded float operators.
  for (const auto& [name, ops] : m_folded) {
    std::map<std::string, int> cnt;
    for (const auto& o : ops) ++cnt[o];
    std::string s;
    for (const auto& [o, c] : cnt) s += (s.empty() ? "" : ", ") + o + (c > 1 ? " x" + std::to_string(c) : "");
    m_notes.push_back("layer '" + name + "': folded into its requantiser: " + s);
  }

  // Where functional parameters come from.
  {
    int withValues = 0, weighted = 0;
    for (const auto& l : m_layers) {
      if (!l.isWeighted() && l.kind != LayerKind::Quantizer) continue;
      weighted += l.isWeighted() ? 1 : 0;
      bool complete =
          (!l.isWeighted() || l.weight_values) && (l.threshold_values || (l.isWeighted() && !m_quantSet.count(l.name)));
      if (l.isWeighted() && complete) ++withValues;
      if (!complete && !m_noValues.count(l.name)) m_noValues[l.name] = "no quantiser parameters were found";
    }
    for (const auto& [name, why] : m_noValues)
      m_notes.push_back("layer '" + name +
                        "': functional parameters are generated from the seed, not taken from the model: " + why);
    m_notes.push_back(std::to_string(withValues) + " of " + std::to_string(weighted) +
                      " MAC layers take their integer weights and thresholds from the model's initialisers");
  }

  std::string gname = g.name().empty() ? "onnx" : g.name();
  graph::Graph graph(gname);
  graph.setSource(m_file);
  std::vector<std::string> unquantised;
  for (auto& l : m_layers) {
    bool requantises = l.kind == LayerKind::Conv || l.kind == LayerKind::FullyConnected || l.kind == LayerKind::Add ||
                       l.kind == LayerKind::AvgPool || l.kind == LayerKind::GlobalAvgPool;
    if (requantises && !m_quantSet.count(l.name)) {
      l.requant = graph::Requant::None;
      unquantised.push_back(l.name);
    }
    graph.add(l);
  }
  if (!m_quantSet.count("input"))
    m_notes.push_back("no quantiser on the network input; assumed " + std::to_string(m_layers[0].out.bits) +
                      "-bit unsigned");
  graph.finalize();
  // Layers without an output quantiser keep their accumulator (requant none): the output width is
  // the accumulator width (at most 32 bits), set in topological order since widths propagate.
  if (!unquantised.empty()) {
    for (size_t pass = 0; pass < unquantised.size() + 1; ++pass) {
      bool changed = false;
      for (auto& l : graph.layers()) {
        if (std::find(unquantised.begin(), unquantised.end(), l.name) == unquantised.end()) continue;
        int b =
            l.isWeighted() ? std::min(32, l.accBits()) : std::min(32, l.in.bits + (l.kind == LayerKind::Add ? 1 : 0));
        ActType t{b, true};
        if (l.out.bits != t.bits || l.out.is_signed != t.is_signed) {
          l.out = t;
          changed = true;
          break;
        }
      }
      graph.finalize();
      if (!changed) break;
    }
    std::string s;
    for (const auto& u : unquantised) s += (s.empty() ? "" : ", ") + u;
    m_notes.push_back("no activation quantiser after: " + s + "; these keep their accumulator (requant none)");
  }
  OnnxImport r{std::move(graph), std::move(m_hints), std::move(m_notes)};
  return r;
}

} // namespace onnx_import

OnnxImport importOnnxBytes(const std::string& bytes, const std::string& name) {
  onnx_import::Importer imp(name);
  try {
    return imp.run(bytes);
  } catch (const LoadError&) {
    throw;
  } catch (const std::exception& e) {
    throw LoadError(name + ": " + e.what());
  }
}

OnnxImport importOnnx(const std::string& path) {
  return importOnnxBytes(readFileLimited(path, kMaxModelBytes, "ONNX model"), path);
}

} // namespace mpsim::io
