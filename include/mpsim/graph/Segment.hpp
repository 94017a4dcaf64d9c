#pragma once
// Segments of a network (docs/segments.md): a contiguous range of its layers in topological order
// made into a network of its own, whose inputs and outputs are the tensors that cross the range's
// borders (feature maps that go to DRAM after one segment and come back for a later one, a
// shortcut's saved tensor included).
#include <cstdint>
#include <string>
#include <vector>

#include "mpsim/graph/Graph.hpp"

namespace mpsim::graph {

/// The layers a network is cut between: every layer other than its input and output layers, in
/// topological order.
std::vector<const Layer*> cuttableLayers(const Graph& g);

/// A tensor that crosses a segment border.
struct CrossingTensor {
  std::string tensor; // the producing layer's name (an input layer's, for the network's inputs)
  int64_t bytes = 0;  // per frame, packed at its activation width (whole bytes per frame)
};

/// Bytes per frame of a tensor of `elements` values of `bits` bits each, packed.
int64_t packedBytes(int64_t elements, int bits);

/// The name of the output layer through which a segment writes `tensor` to DRAM for a later one.
std::string toDramName(const std::string& tensor);

/// Layers [first, end) of cuttableLayers(g) as a network named `name`: each tensor they read from
/// outside the range becomes an input layer of the producer's name, shape and type (the network's
/// own input layers are copied as they are); each tensor of the range that a layer after it reads
/// becomes an output layer toDramName(tensor); the network's output layers of the range's tensors
/// stay. Finalized. `inputs` / `outputs` (optional) receive the crossing tensors in order.
Graph segmentGraph(const Graph& g, std::size_t first, std::size_t end, const std::string& name,
                   std::vector<CrossingTensor>* inputs = nullptr, std::vector<CrossingTensor>* outputs = nullptr);

} // namespace mpsim::graph
