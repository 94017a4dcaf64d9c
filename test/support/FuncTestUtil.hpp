#pragma once
// Helpers for functional tests: the shipped examples as run configs, and a graph run on the host with
// the whole-tensor kernels and the parameters of a functional run (no SystemC), an independent path
// to the same integers.
#include <map>
#include <string>
#include <vector>

#include "FileText.hpp"
#include "mpsim/config/RunConfig.hpp"
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

/// The text of a file ("" when it cannot be read).
inline std::string readText(const std::string& p) { return readFile(p); }

/// A run config of configs/examples/ with --set overrides.
inline config::Run loadExample(const std::string& file, std::vector<std::string> sets) {
  const std::string dir = MPSIM_SOURCE_DIR "/configs/examples";
  return config::loadRunString(readText(dir + "/" + file), file, sets, dir);
}

} // namespace mpsim::test
