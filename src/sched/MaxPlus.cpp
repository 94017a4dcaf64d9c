#include "mpsim/sched/MaxPlus.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "mpsim/sched/Engines.hpp"

namespace mpsim::sched {

namespace {
std::vector<std::size_t> topologicalOrder(const Mapping& m) {
  std::vector<int> producerOf(m.streams.size(), -1);
  for (std::size_t i = 0; i < m.engines.size(); ++i)
    for (int s : m.engines[i].out) producerOf[std::size_t(s)] = int(i);
  std::vector<int> state(m.engines.size(), 0);
  std::vector<std::size_t> order;
  std::function<void(std::size_t)> visit = [&](std::size_t i) {
    if (state[i] == 2) return;
    if (state[i] == 1) throw std::runtime_error("max-plus: the mapping has a cycle");
    state[i] = 1;
    for (const auto& p : m.engines[i].in)
      if (producerOf[std::size_t(p.stream)] >= 0) visit(std::size_t(producerOf[std::size_t(p.stream)]));
    state[i] = 2;
    order.push_back(i);
  };
  for (std::size_t i = 0; i < m.engines.size(); ++i) visit(i);
  return order;
}
} // namespace

MaxPlus::MaxPlus(const Mapping& m, const MaxPlusDram& dram)
    : m_engines(m.engines.size()), m_order(topologicalOrder(m)), m_written(m.streams.size()) {
  // DRAM readers: the bytes of their first token (a weight pass, or an input DMA's first burst).
  std::vector<double> firstBytes(m.engines.size(), -1);
  if (dram.bytes_per_cycle > 0)
    for (std::size_t i = 0; i < m.engines.size(); ++i) {
      const auto& s = m.engines[i];
      if (s.kind == EngineKind::WeightStreamer)
        firstBytes[i] = double(s.bytes_per_frame) / double(std::max<int64_t>(1, s.out_tokens_per_frame));
      else if (s.kind == EngineKind::InputDma)
        firstBytes[i] = double(std::min(dram.burst_bytes, s.bytes_per_frame));
    }
  for (std::size_t i = 0; i < m.engines.size(); ++i) {
    const auto& s = m.engines[i];
    Engine& e = m_engines[i];
    e.T = std::max<int64_t>(1, s.out_tokens_per_frame);
    e.outCost = s.out_cost;
    e.tail = s.tail;
    e.latency = s.latency;
    e.outStreams = s.out;
    e.output = s.kind == EngineKind::OutputDma;
    for (const auto& p : s.in) {
      e.inStreams.push_back(p.stream);
      std::vector<int64_t> nl(std::size_t(e.T));
      for (int64_t k = 0; k < e.T; ++k) nl[std::size_t(k)] = std::min(needOf(s, p, k).last, p.tokens_per_frame - 1);
      e.needLast.push_back(std::move(nl));
      e.readCost.push_back(p.read_cost);
      e.readEnd.emplace_back(std::size_t(std::max<int64_t>(1, p.tokens_per_frame)), 0);
    }
    e.readCount.assign(e.inStreams.size(), 0);
    e.lastRead.assign(e.inStreams.size(), 0);
    if (firstBytes[i] >= 0) {
      double shared = 0;
      for (double b : firstBytes)
        if (b >= 0) shared += std::min(b, firstBytes[i]);
      e.first = uint64_t(dram.latency_cycles) + uint64_t(std::ceil(shared / dram.bytes_per_cycle));
      const double tokenBytes = s.kind == EngineKind::WeightStreamer ? firstBytes[i] : double(s.bytes_per_token);
      e.outCost = std::max<int64_t>(e.outCost, int64_t(std::ceil(tokenBytes / dram.bytes_per_cycle)));
    }
    m_tokensPerFrame += e.T;
    for (int st : e.outStreams) m_written[std::size_t(st)].assign(std::size_t(e.T), 0);
  }
}

void MaxPlus::reset() {
  for (auto& e : m_engines) {
    e.o = 0;
    e.started = false;
    std::fill(e.lastRead.begin(), e.lastRead.end(), 0);
  }
}

uint64_t MaxPlus::frame() {
  uint64_t done = 0;
  for (std::size_t i : m_order) {
    Engine& e = m_engines[i];
    std::fill(e.readCount.begin(), e.readCount.end(), 0);
    // Reads token j of port p and every token before it not read yet.
    auto readUpTo = [&](std::size_t p, int64_t j) {
      const std::vector<uint64_t>& w = m_written[std::size_t(e.inStreams[p])];
      for (; e.readCount[p] <= j; ++e.readCount[p]) {
        e.lastRead[p] = std::max(e.lastRead[p] + uint64_t(e.readCost[p]), w[std::size_t(e.readCount[p])] + 1);
        e.readEnd[p][std::size_t(e.readCount[p])] = e.lastRead[p];
      }
      return e.readEnd[p][std::size_t(j)];
    };
    for (int64_t k = 0; k < e.T; ++k) {
      uint64_t ready = 0;
      for (std::size_t p = 0; p < e.inStreams.size(); ++p) ready = std::max(ready, readUpTo(p, e.needLast[p][std::size_t(k)]));
      e.o = std::max(e.o + uint64_t(e.outCost), ready + uint64_t(e.tail));
      if (!e.started) e.o = std::max(e.o, e.first);
      e.started = true;
      const uint64_t at = e.o + uint64_t(e.latency);
      for (int s : e.outStreams) m_written[std::size_t(s)][std::size_t(k)] = at;
    }
    // Tokens no output needed (rows a stride skips) are read before the next frame's.
    for (std::size_t p = 0; p < e.inStreams.size(); ++p) readUpTo(p, int64_t(e.readEnd[p].size()) - 1);
    // An output DMA's frame is done when it has taken its last token (its one output token per
    // frame stands for the whole frame).
    if (e.output)
      for (std::size_t p = 0; p < e.inStreams.size(); ++p)
        done = std::max({done, e.o + uint64_t(e.latency), e.lastRead[p] + uint64_t(e.latency)});
  }
  return done;
}

std::vector<uint64_t> maxPlusFrameDone(const Mapping& m, int frames, const MaxPlusDram& dram) {
  MaxPlus mp(m, dram);
  std::vector<uint64_t> out;
  for (int f = 0; f < frames; ++f) out.push_back(mp.frame());
  return out;
}

} // namespace mpsim::sched
