#pragma once
// A quantized CNN as a DAG of layers. Build it (by hand, from the zoo or from YAML), then call
// finalize(): it orders the layers topologically, infers shapes and activation types, and rejects
// dangling edges, cycles, shape mismatches and out-of-range bit-widths with one LoadError.
#include <map>
#include <string>
#include <vector>

#include "mpsim/graph/Layer.hpp"

namespace mpsim::graph {

class Graph {
public:
  explicit Graph(std::string name = "network") : m_name(std::move(name)) {}

  const std::string& name() const { return m_name; }
  void setName(std::string n) { m_name = std::move(n); }
  /// Where the graph came from ("built-in model zoo" or a file path), used in error messages.
  const std::string& source() const { return m_source; }
  void setSource(std::string s) { m_source = std::move(s); }

  /// Appends a layer; its inputs may refer to layers added later (resolved by finalize()).
  Layer& add(Layer layer);

  /// Orders, infers shapes and types, validates. Throws LoadError listing every problem.
  void finalize();
  bool finalized() const { return m_finalized; }

  /// Layers in topological order (after finalize(); insertion order before).
  const std::vector<Layer>& layers() const { return m_layers; }
  std::vector<Layer>& layers() { return m_layers; }
  const Layer* find(const std::string& name) const;
  Layer* find(const std::string& name);
  const Layer& at(const std::string& name) const;
  int indexOf(const std::string& name) const;

  /// Names of the layers that read the output of `name`, in topological order.
  std::vector<std::string> consumers(const std::string& name) const;
  /// Weighted layers (conv, fc) in topological order.
  std::vector<const Layer*> weightedLayers() const;

private:
  void inferLayer(Layer& l, std::vector<std::string>& errors) const;

  std::string m_name;
  std::string m_source = "built-in";
  std::vector<Layer> m_layers;
  std::map<std::string, int> m_index;
  bool m_finalized = false;
};

/// Small helpers for writing graphs in code (zoo and tests). Each returns the new layer's name.
class GraphBuilder {
public:
  explicit GraphBuilder(Graph& g) : m_g(g) {}
  std::string input(const std::string& name, int64_t c, int64_t h, int64_t w, int bits = 8, bool isSigned = false);
  std::string conv(const std::string& name, const std::string& in, int64_t k, int kernel, int stride = 1, int pad = 0,
                   int groups = 1, int dilation = 1);
  std::string fc(const std::string& name, const std::string& in, int64_t outFeatures);
  std::string maxPool(const std::string& name, const std::string& in, int kernel, int stride, int pad = 0);
  std::string avgPool(const std::string& name, const std::string& in, int kernel, int stride, int pad = 0);
  std::string globalAvgPool(const std::string& name, const std::string& in);
  std::string add(const std::string& name, const std::string& a, const std::string& b);
  std::string fork(const std::string& name, const std::string& in);
  std::string concat(const std::string& name, const std::vector<std::string>& ins);
  std::string flatten(const std::string& name, const std::string& in);
  std::string quantizer(const std::string& name, const std::string& in, int bits);
  std::string labelSelect(const std::string& name, const std::string& in, int k = 1);
  std::string output(const std::string& name, const std::string& in);

private:
  Layer& layer(const std::string& name, LayerKind kind, std::vector<std::string> ins);
  Graph& m_g;
};

} // namespace mpsim::graph
