#include "mpsim/graph/Segment.hpp"

#include <set>
#include <stdexcept>

namespace mpsim::graph {

std::vector<const Layer*> cuttableLayers(const Graph& g) {
  std::vector<const Layer*> out;
  for (const auto& l : g.layers())
    if (l.kind != LayerKind::Input && l.kind != LayerKind::Output) out.push_back(&l);
  return out;
}

int64_t packedBytes(int64_t elements, int bits) { return (elements * int64_t(bits) + 7) / 8; }

std::string toDramName(const std::string& tensor) { return tensor + ".to_dram"; }

namespace {
int64_t tensorBytes(const Layer& producer) { return packedBytes(producer.out_shape.elements(), producer.out.bits); }
} // namespace

Graph segmentGraph(const Graph& g, std::size_t first, std::size_t end, const std::string& name,
                   std::vector<CrossingTensor>* inputs, std::vector<CrossingTensor>* outputs) {
  if (!g.finalized()) throw std::logic_error("segmentGraph: the network is not finalized");
  const std::vector<const Layer*> cut = cuttableLayers(g);
  if (first >= end || end > cut.size()) throw std::logic_error("segmentGraph: empty or out-of-range segment");
  std::set<std::string> inside;
  for (std::size_t i = first; i < end; ++i) inside.insert(cut[i]->name);
  Graph s(name);
  s.setSource(g.source() + " (segment " + name + ")");
  // Inputs: in the order the range first reads them.
  std::set<std::string> added;
  for (std::size_t i = first; i < end; ++i)
    for (const auto& t : cut[i]->inputs) {
      if (inside.count(t) || added.count(t)) continue;
      added.insert(t);
      const Layer& p = g.at(t);
      Layer in;
      if (p.kind == LayerKind::Input) {
        in = p; // the network's own input: thresholds, flattening and all
      } else {
        in.name = p.name;
        in.kind = LayerKind::Input;
        in.out_shape = p.out_shape;
        in.out = p.out;
        in.line = p.line;
      }
      in.inputs.clear();
      s.add(std::move(in));
      if (inputs) inputs->push_back(CrossingTensor{t, tensorBytes(p)});
    }
  for (std::size_t i = first; i < end; ++i) s.add(*cut[i]);
  // Outputs: the network's output layers of the range's tensors, and a DRAM output per tensor read
  // after the range.
  for (std::size_t i = first; i < end; ++i) {
    const Layer& l = *cut[i];
    bool later = false;
    for (const auto& c : g.consumers(l.name)) {
      const Layer& r = g.at(c);
      if (r.kind == LayerKind::Output)
        s.add(r);
      else if (!inside.count(c))
        later = true;
    }
    if (!later) continue;
    Layer o;
    o.name = toDramName(l.name);
    o.kind = LayerKind::Output;
    o.inputs = {l.name};
    s.add(std::move(o));
    if (outputs) outputs->push_back(CrossingTensor{l.name, tensorBytes(l)});
  }
  s.finalize();
  return s;
}

} // namespace mpsim::graph
