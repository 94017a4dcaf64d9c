#pragma once
// Helper for functional tests: run a graph on the host with the whole-tensor kernels and the
// parameters of a functional run (no SystemC), an independent path to the same integers.
#include <map>
#include <string>
#include <vector>

#include "mpsim/func/Kernels.hpp"
#include "mpsim/graph/Graph.hpp"
#include "mpsim/sim/Functional.hpp"

namespace mpsim::test {

/// Every layer's output tensor by layer name (output layers hold their input), frames of d.input.
inline std::map<std::string, func::Tensor> runWholeTensors(const graph::Graph& g, const sim::FunctionalData& d) {
  std::map<std::string, func::Tensor> v;
  for (const auto& l : g.layers()) {
    if (l.kind == graph::LayerKind::Input) {
      v[l.name] = d.input;
      continue;
    }
    std::vector<const func::Tensor*> ins;
    for (const auto& i : l.inputs) ins.push_back(&v.at(i));
    auto it = d.params.find(l.name);
    v[l.name] = func::runLayer(l, ins, it == d.params.end() ? func::LayerParams{} : it->second);
  }
  return v;
}

} // namespace mpsim::test
