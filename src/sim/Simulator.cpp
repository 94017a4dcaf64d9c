#include "mpsim/sim/Simulator.hpp"

#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/sim/Dram.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/sim/Engine.hpp"
#include "mpsim/sim/Isolated.hpp"

#include <cstdio>

namespace mpsim::sim {
using sched::EngineKind;

SimOptions simOptions(const config::RunConfig& cfg) {
  SimOptions o;
  o.frames = cfg.simulation.frames;
  o.reference = cfg.simulation.mode == config::SimMode::Reference;
  return o;
}

namespace {
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
} // namespace

uint64_t maxSimulatedCycles(double clockMhz) {
  const double periodPs = 1e6 / clockMhz;
  const double bySystemC = 9.0e18 / periodPs; // sc_time is 64-bit picoseconds (2^63 ~ 9.2e18)
  return uint64_t(std::min(std::ldexp(1.0, 50), bySystemC));
}

void checkSimulatable(const sched::Mapping& m, const config::RunConfig& cfg, const SimOptions& opt) {
  const uint64_t limit = maxSimulatedCycles(cfg.hardware.clock_mhz);
  const double latency = cfg.hardware.dram.latency_ns * cfg.hardware.clock_mhz / 1e3;
  // Fill: at most one more frame than the frames simulated, plus a DRAM latency per engine.
  const double expected = double(m.predicted_cycles) * double(opt.frames + 1) + latency * double(m.engines.size() + 1);
  if (!(expected <= double(limit)))
    throw LoadError("the design is too large to simulate: " + std::to_string(opt.frames) + " frames of " +
                    std::to_string(m.predicted_cycles) + " cycles (closed form) need about " +
                    num(expected) + " cycles, more than the simulator's limit of " + std::to_string(limit) +
                    " cycles at " + num(cfg.hardware.clock_mhz) +
                    " MHz; raise the folding (pe, simd), the DRAM bandwidth, or simulate fewer frames");
}

namespace {

void analyseDeadlock(const sched::Mapping& m, const std::vector<EngineBase*>& engines,
                     const std::vector<std::unique_ptr<Stream>>& streams, SimResult& r) {
  Deadlock& d = r.deadlock;
  d.detected = true;
  std::map<const Stream*, int> streamId;
  for (size_t i = 0; i < streams.size(); ++i) streamId[streams[i].get()] = int(i);
  for (const auto* e : engines) d.cycle = std::max(d.cycle, e->localTime());
  for (size_t i = 0; i < streams.size(); ++i) {
    const auto& s = *streams[i];
    std::string occ = " (" + std::to_string(s.occupancyNow()) + "/" + std::to_string(s.depth()) + ")";
    if (s.writerWaiting()) d.full_fifos.push_back(s.name() + occ);
    if (s.readerWaiting()) d.empty_fifos.push_back(s.name() + occ);
  }
  // Wait-for graph: an engine waiting on an empty stream waits for its producer; on a full stream,
  // for its consumer.
  std::vector<int> next(engines.size(), -1);
  std::vector<std::string> via(engines.size());
  for (size_t i = 0; i < engines.size(); ++i) {
    const EngineBase* e = engines[i];
    if (e->status() == EngineState::Done) continue;
    std::string msg = e->spec().name + ": " + e->state();
    if (Stream* s = e->waitOn(); s && e->status() != EngineState::Running) {
      const auto& spec = m.streams[size_t(streamId[s])];
      bool writing = e->waitsForWrite();
      next[i] = writing ? spec.consumer : spec.producer;
      via[i] = spec.name + (writing ? " (full)" : " (empty)");
      msg += " " + spec.name + " (" + std::to_string(s->occupancyNow()) + "/" + std::to_string(s->depth()) + ")";
    }
    d.messages.push_back(msg);
  }
  // Follow waits from every blocked engine until a node repeats: that is the cycle.
  for (size_t start = 0; start < engines.size() && d.cycle_path.empty(); ++start) {
    if (next[start] < 0) continue;
    std::vector<int> seenAt(engines.size(), -1);
    std::vector<int> path;
    int cur = int(start);
    while (cur >= 0 && seenAt[size_t(cur)] < 0) {
      seenAt[size_t(cur)] = int(path.size());
      path.push_back(cur);
      cur = next[size_t(cur)];
    }
    if (cur < 0) continue;
    for (size_t k = size_t(seenAt[size_t(cur)]); k < path.size(); ++k) {
      d.cycle_path.push_back(engines[size_t(path[k])]->spec().name);
      d.cycle_path.push_back(via[size_t(path[k])]);
    }
    d.cycle_path.push_back(engines[size_t(cur)]->spec().name);
  }
}

// The output DMA's pixels as (frames, C, H, W) of the output layer's input (after any flatten).
void writeOutput(const FunctionalData& d, const sched::Mapping& m, const OutputDma& out, const std::string& path) {
  const graph::Layer& l = d.graph->at(out.spec().layer);
  const graph::Shape s = l.in_shapes.at(0);
  const int64_t T = m.engines.at(size_t(m.indexOf(out.spec().name))).in.at(0).tokens_per_frame;
  const auto& tokens = out.collected();
  const int64_t frames = int64_t(tokens.size()) / T, C = s.c * s.h * s.w / T;
  func::Tensor t(graph::Shape{frames, s.c, s.h, s.w});
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t j = 0; j < T; ++j) {
      const auto& px = *tokens[size_t(f * T + j)];
      for (int64_t c = 0; c < C; ++c) t[size_t((f * C + c) * T + j)] = px[size_t(c)];
    }
  if (l.in.bipolar) // output.npy holds values: bipolar bits become -1 / +1
    for (auto& v : t.values()) v = 2 * v - 1;
  func::writeNpy(path, t);
}

} // namespace

SimResult simulate(const sched::Mapping& m, const config::RunConfig& cfg, const SimOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  EngineContext ctx;
  ctx.frames = opt.frames;
  ctx.reference = opt.reference;
  ctx.period = sc_core::sc_time(1000.0 / cfg.hardware.clock_mhz, sc_core::SC_NS);
  ctx.burst_bytes = uint64_t(cfg.hardware.dram.burst_bytes);
  ctx.func = opt.functional;

  DramTiming dt;
  dt.channels = cfg.hardware.dram.channels;
  dt.bytes_per_cycle = cfg.hardware.dram.bandwidth_gbps * 1e3 / cfg.hardware.clock_mhz;
  dt.latency_cycles = uint64_t(std::llround(cfg.hardware.dram.latency_ns * cfg.hardware.clock_mhz / 1e3));
  dt.burst_bytes = uint64_t(cfg.hardware.dram.burst_bytes);
  dt.period = ctx.period;

  std::vector<std::unique_ptr<Stream>> streams;
  for (const auto& s : m.streams) {
    streams.push_back(std::make_unique<Stream>(s.name, s.depth));
    streams.back()->producer = s.producer;
    streams.back()->consumer = s.consumer;
  }
  auto dram = std::make_unique<Dram>("dram", dt);
  std::vector<std::unique_ptr<EngineBase>> owned;
  std::vector<EngineBase*> engines;
  InputDma* input = nullptr;
  OutputDma* output = nullptr;
  int initiators = 0;
  for (size_t i = 0; i < m.engines.size(); ++i) {
    const auto& e = m.engines[i];
    std::vector<Stream*> ins, outs;
    for (const auto& p : e.in) ins.push_back(streams.at(size_t(p.stream)).get());
    for (int s : e.out) outs.push_back(streams.at(size_t(s)).get());
    std::string modName = "e" + std::to_string(i); // SystemC names cannot hold the '.' of layer names
    uint64_t base = uint64_t(initiators) << 40;
    DramInitiator* initiator = nullptr;
    switch (e.kind) {
    case EngineKind::InputDma:
      initiator = new InputDma(modName.c_str(), e, ctx, outs, base);
      if (!input) input = static_cast<InputDma*>(initiator);
      break;
    case EngineKind::OutputDma:
      initiator = new OutputDma(modName.c_str(), e, ctx, ins, base);
      if (!output) output = static_cast<OutputDma*>(initiator);
      break;
    case EngineKind::WeightStreamer:
      initiator = new WeightStreamer(modName.c_str(), e, ctx, outs, base);
      break;
    default:
      owned.emplace_back(new DataflowEngine(modName.c_str(), e, ctx, ins, outs));
      break;
    }
    if (initiator) {
      initiator->socket.bind(dram->socket);
      dram->nameInitiator(initiators++, e.name);
      owned.emplace_back(initiator);
    }
    engines.push_back(owned.back().get());
  }
  if (!input || !output) throw std::runtime_error("the mapping has no input or no output DMA");

  // Run in slices of simulated time, so an interrupt is noticed and the time limit enforced while
  // the design runs. A slice ends early when no activity is left; the kernel jumps over idle time.
  {
    const uint64_t limit = maxSimulatedCycles(cfg.hardware.clock_mhz);
    const sc_core::sc_time slice = ctx.period * 1e6;
    sc_core::sc_start(sc_core::SC_ZERO_TIME); // elaboration and initialisation
    while (sc_core::sc_pending_activity()) {
      sc_core::sc_time step = std::max(slice, sc_core::sc_time_to_pending_activity());
      sc_core::sc_start(step, sc_core::SC_EXIT_ON_STARVATION);
      throwIfInterrupted();
      if (sc_core::sc_time_stamp() / ctx.period > double(limit))
        throw LoadError("the simulation passed the simulator's limit of " + std::to_string(limit) +
                        " cycles at " + num(cfg.hardware.clock_mhz) +
                        " MHz before its frames were done; raise the folding or the DRAM bandwidth, or simulate fewer frames");
    }
  }

  SimResult r;
  r.frames = opt.frames;
  r.mode = opt.reference ? "reference" : "timestamped";
  r.frame_done = output->frameDone();
  r.frames_done = int(r.frame_done.size());
  r.first_input = input->firstRequest();
  for (auto* e : engines) r.engines.push_back(e->stats());
  for (size_t i = 0; i < streams.size(); ++i) {
    StreamStats s;
    s.name = streams[i]->name();
    s.depth = streams[i]->depth();
    s.max_occupancy = streams[i]->maxOccupancy();
    s.tokens = streams[i]->tokensWritten();
    s.occupancy_at_end = streams[i]->occupancyNow();
    s.reader_waiting = streams[i]->readerWaiting();
    s.writer_waiting = streams[i]->writerWaiting();
    r.streams.push_back(s);
  }
  r.dram = dram->stats();
  if (opt.functional && !opt.output_npy.empty()) writeOutput(*opt.functional, m, *output, opt.output_npy);
  bool allDone = true;
  for (auto* e : engines)
    if (e->status() != EngineState::Done) allDone = false;
  if (r.frames_done < r.frames || !allDone) analyseDeadlock(m, engines, streams, r);
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Modules are left to the process: SystemC 2.3 does not support destroying an elaborated design.
  for (auto& o : owned) o.release();
  dram.release();
  for (auto& s : streams) s.release();
  return r;
}

nlohmann::json runInChild(const std::function<nlohmann::json()>& fn) {
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe() failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork() failed");
  if (pid == 0) {
    close(fds[0]);
    int rc = 0;
    std::string out;
    try {
      out = fn().dump();
    } catch (const std::exception& e) {
      out = std::string("!") + e.what();
      rc = 1;
    }
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = write(fds[1], out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += size_t(n);
    }
    close(fds[1]);
    _exit(rc);
  }
  close(fds[1]);
  std::string data;
  char buf[65536];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) data.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!data.empty() && data[0] == '!') throw std::runtime_error(data.substr(1));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || data.empty())
    throw std::runtime_error("simulation child process failed (status " + std::to_string(status) + ")");
  return nlohmann::json::parse(data);
}

SimResult simulateIsolated(const sched::Mapping& m, const config::RunConfig& cfg, const SimOptions& opt) {
  return runInChild([&] { return nlohmann::json(simulate(m, cfg, opt)); }).get<SimResult>();
}

} // namespace mpsim::sim
