#include "mpsim/sim/Simulator.hpp"

#include <chrono>
#include <filesystem>
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
#include "mpsim/common/Progress.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/sim/Dram.hpp"
#include "mpsim/sim/Engine.hpp"
#include "mpsim/sim/Isolated.hpp"
#include "mpsim/sim/Shell.hpp"
#include "mpsim/sim/Traffic.hpp"
#include "mpsim/sim/Timeline.hpp"

#include <cstdio>

namespace mpsim::sim {

SimOptions simOptions(const config::RunConfig& cfg) {
  SimOptions o;
  o.frames = cfg.simulation.frames;
  o.reference = cfg.simulation.mode == config::SimMode::Reference;
  o.fast_forward = cfg.simulation.fast_forward;
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
  const double latency = double(cfg.hardware.units.dram_latency_cycles);
  // Fill: at most one more frame than the frames simulated, plus a DRAM latency per engine.
  const double expected = double(m.predicted_cycles) * double(opt.frames + 1) + latency * double(m.engines.size() + 1);
  if (!(expected <= double(limit)))
    throw LoadError("the design is too large to simulate: " + std::to_string(opt.frames) + " frames of " +
                    std::to_string(m.predicted_cycles) + " cycles (closed form) need about " + num(expected) +
                    " cycles, more than the simulator's limit of " + std::to_string(limit) + " cycles at " +
                    num(cfg.hardware.clock_mhz) +
                    " MHz; raise the folding (pe, simd), the DRAM bandwidth, or simulate fewer frames");
}

namespace {

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

std::string outputNpyPath(const std::string& outputNpy, const std::string& outputLayer, std::size_t outputs) {
  if (outputs <= 1) return outputNpy;
  return (std::filesystem::path(outputNpy).parent_path() / (outputLayer + ".npy")).string();
}

AcceleratorParams acceleratorParams(const config::RunConfig& cfg, const SimOptions& opt) {
  AcceleratorParams p;
  p.frames = opt.frames;
  p.reference = opt.reference;
  p.functional = opt.functional;
  p.clock_mhz = cfg.hardware.clock_mhz;
  p.burst_bytes = uint64_t(cfg.hardware.dram.burst_bytes);
  p.dram.channels = cfg.hardware.dram.channels;
  p.dram.bytes_per_cycle = cfg.hardware.units.dram_bytes_per_cycle;
  p.dram.latency_cycles = cfg.hardware.units.dram_latency_cycles;
  p.dram.burst_bytes = uint64_t(cfg.hardware.dram.burst_bytes);
  p.dram.period = p.period();
  p.timeline = opt.timeline;
  p.input_interval = opt.input_interval;
  p.fast_forward = opt.fast_forward;
  if (opt.system && cfg.input) {
    p.arrivals = config::arrivalCycles(*cfg.input, cfg.hardware.clock_mhz, opt.frames);
    p.buffer_frames = cfg.input->buffer_frames ? *cfg.input->buffer_frames : -1;
    p.block = cfg.input->policy == config::BufferPolicy::Block;
  }
  return p;
}

ShellTiming shellTiming(const config::RunConfig& cfg) {
  const config::ShellConfig& s = cfg.host.value().shell;
  ShellTiming t;
  const double clock = cfg.hardware.clock_mhz;
  const double portMhz = s.port_mhz > 0 ? s.port_mhz : clock;
  t.burst_bytes = uint64_t(s.burst_bytes);
  t.outstanding = s.outstanding;
  t.setup_cycles = uint64_t(std::llround(s.setup_ns * clock / 1e3));
  t.port_bytes_per_cycle = double(s.port_bits) / 8.0 * portMhz / clock;
  t.period = sc_core::sc_time(1000.0 / clock, sc_core::SC_NS);
  return t;
}

SimResult simulate(const sched::Mapping& m, const config::RunConfig& cfg, const SimOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  Progress progress("simulating", uint64_t(opt.frames), "frames");
  AcceleratorParams params = acceleratorParams(cfg, opt);
  params.progress = &progress;
  auto acc = std::make_unique<Accelerator>("accelerator", m, params);
  // host: the shell's port between the accelerator and the DRAM (docs/system.md).
  // background: other masters on the same DRAM model (docs/system.md).
  std::unique_ptr<Dram> dram;
  std::unique_ptr<Shell> shell;
  std::vector<std::unique_ptr<TrafficMaster>> masters;
  const bool withShell = opt.system && cfg.host;
  const bool withMasters = opt.background && !cfg.background.empty();
  if (withShell || withMasters) {
    dram = std::make_unique<Dram>("dram", params.dram);
    if (withShell) {
      shell = std::make_unique<Shell>("shell", shellTiming(cfg));
      acc->socket.bind(shell->target);
      shell->initiator.bind(dram->socket);
    } else {
      acc->socket.bind(dram->socket);
    }
    const Accelerator* a = acc.get();
    for (size_t i = 0; i < (withMasters ? cfg.background.size() : 0); ++i) {
      const auto& mc = cfg.background[i];
      const uint64_t base = (uint64_t(1) << 62) + uint64_t(i) * config::kMasterAddressSpace;
      const std::string name = "background_" + std::to_string(i);
      masters.push_back(std::make_unique<TrafficMaster>(name.c_str(), mc, params.clock_mhz, params.period(), base,
                                                        opt.background_horizon > 0 ? opt.background_horizon : UINT64_MAX,
                                                        [a] { return a->finished(); }));
      masters.back()->socket.bind(dram->socket);
    }
  }

  // Run in slices of simulated time, so an interrupt is noticed and the time limit enforced while
  // the design runs. A slice ends early when no activity is left; the kernel jumps over idle time.
  {
    const uint64_t limit = maxSimulatedCycles(params.clock_mhz);
    const sc_core::sc_time period = params.period();
    const sc_core::sc_time slice = period * 1e6;
    sc_core::sc_start(sc_core::SC_ZERO_TIME); // elaboration and initialisation
    while (sc_core::sc_pending_activity()) {
      sc_core::sc_time step = std::max(slice, sc_core::sc_time_to_pending_activity());
      sc_core::sc_start(step, sc_core::SC_EXIT_ON_STARVATION);
      throwIfInterrupted();
      if (sc_core::sc_time_stamp() / period > double(limit))
        throw LoadError(
            "the simulation passed the simulator's limit of " + std::to_string(limit) + " cycles at " +
            num(params.clock_mhz) +
            " MHz before its frames were done; raise the folding or the DRAM bandwidth, or simulate fewer frames");
    }
  }

  SimResult r = acc->result();
  if (r.fast_forward.applied) {
    progress.update(uint64_t(r.frames_done));
    spdlog::debug("simulation: periodic from frame {} (every {} cycles): {} of {} frames simulated",
                  r.fast_forward.frame, r.fast_forward.period, r.fast_forward.simulated, r.frames);
  }
  for (const auto& mst : masters) r.background.push_back(mst->stats());
  if (opt.timeline) opt.timeline->finish();
  if (opt.functional && !opt.output_npy.empty()) {
    const auto& outs = acc->outputDmas();
    for (const OutputDma* o : outs)
      writeOutput(*opt.functional, m, *o, outputNpyPath(opt.output_npy, o->spec().layer, outs.size()));
  }
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
  if (opt.timeline) throw std::logic_error("simulateIsolated: a timeline is recorded in process only");
  return runInChild([&] { return nlohmann::json(simulate(m, cfg, opt)); }).get<SimResult>();
}

} // namespace mpsim::sim
