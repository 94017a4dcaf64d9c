#pragma once
// The embeddable SystemC top of a mapped design (docs/embedding.md): an sc_module that owns the
// engines and streams of a sched::Mapping (and, when needed, a DRAM model) and exposes one TLM-2.0
// initiator socket through which every DMA and weight streamer reads and writes memory, each in its
// own address region (regions()). Bind `socket` to your interconnect or memory before elaboration
// ends; left unbound, the Accelerator instantiates sim::Dram and binds it (internalDram()). The
// caller runs sc_start; result() then holds what the simulation measured (frames, engine, stream
// and DRAM statistics, the deadlock analysis). sim::simulate() is this module plus the time slices.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "mpsim/sched/Mapping.hpp"
#include "mpsim/sim/Dram.hpp"
#include "mpsim/sim/Result.hpp"

namespace mpsim::sim {

struct FunctionalData;
class EngineBase;
class DramInitiator;
struct ArrivalQueue;
class InputDma;
class OutputDma;
class Stream;
class Timeline;
class SteadyState;
} // namespace mpsim::sim
namespace mpsim {
class Progress;
} // namespace mpsim
namespace mpsim::sim {

/// What the Accelerator needs beyond the mapping: simulation-side values only (the conversion from
/// a run configuration is sim::acceleratorParams, Simulator.hpp).
struct AcceleratorParams {
  int frames = 4;         // frames the input DMA reads and the output DMA writes
  bool reference = false; // engines also wait() until their local time before every token
  double clock_mhz = 200; // the accelerator's clock: one cycle is period()
  /// The internal DRAM model (used only when the socket is left unbound). Its period is taken
  /// from clock_mhz.
  DramTiming dram;
  uint64_t burst_bytes = 4096; // the largest transaction a DMA or weight streamer issues
  /// Paces the input DMA: token k of frame f (T per frame) starts no earlier than cycle
  /// (f + k / T) * input_interval, a source at that steady rate (FIFO sizing). 0: as fast as it can.
  double input_interval = 0;
  /// Functional mode (docs/functional.md): tokens carry values; must outlive the Accelerator. Null:
  /// timing only.
  const FunctionalData* functional = nullptr;
  /// Timelines (docs/timelines.md): what the engines, FIFOs and DRAM initiators did over time,
  /// recorded into this (sized for the mapping; must outlive the Accelerator). Null: not recorded.
  Timeline* timeline = nullptr;
  /// Told the frames done as the output DMA completes them (must outlive the Accelerator). Null: none.
  Progress* progress = nullptr;
  /// Frame arrivals (docs/system.md): the arrival cycle of each of the `frames` offered frames,
  /// sorted; the input DMA takes frame n no earlier than its arrival. Empty: back to back.
  std::vector<uint64_t> arrivals;
  /// Fast-forward (docs/simulation.md): when the pipeline reaches a periodic steady state, the
  /// engines run for fewer frames, whole periods fewer, and result() inserts the periodic frames
  /// left out. Only with the internal DRAM, in timestamped timing-only runs without timelines,
  /// arrivals or input pacing; the results are those of simulating every frame.
  bool fast_forward = false;
  int64_t buffer_frames = -1; // frames that may wait for the input DMA; -1: unbounded
  bool block = false;         // a full buffer holds the source; false: the arriving frame is dropped

  sc_core::sc_time period() const { return sc_core::sc_time(1000.0 / clock_mhz, sc_core::SC_NS); }
};

/// The address region of one memory initiator: [base, base + size).
struct AddressRegion {
  std::string engine; // the engine's name in the mapping (layer name, or layer.weights)
  std::string module; // its SystemC module's full name
  sched::EngineKind kind = sched::EngineKind::InputDma; // InputDma, OutputDma or WeightStreamer
  uint64_t base = 0, size = 0;
  /// Where the initiator's buffer (frames, or the layer's weights) starts: base + bufferOffset().
  uint64_t buffer = 0;
};

class Accelerator : public sc_core::sc_module {
public:
  /// Initiator i (in mapping order) owns addresses [i << kRegionShift, (i + 1) << kRegionShift).
  static constexpr unsigned kRegionShift = 40;
  /// Offset of initiator i's buffer in its region: (i mod channels) * burst_bytes, so that the
  /// buffers start on different DRAM channels (channels interleave at burst granularity). Aligned
  /// starts would put every buffer's first burst, and the extra burst of a pass that is not a
  /// multiple of channels * burst_bytes, on channel 0: a 4-channel ResNet-50 reached 84 % of the
  /// peak bandwidth instead of 97 %.
  static uint64_t bufferOffset(std::size_t initiator, const DramTiming& dram);
  /// All memory traffic of the accelerator. Blocking transport only (b_transport); every payload
  /// carries a RequestCycle extension (Dram.hpp) that a plain target may ignore.
  tlm_utils::simple_initiator_socket<Accelerator> socket;

  /// Builds the engines and streams of `mapping` (copied; the functional data must outlive the
  /// module). Throws std::runtime_error when the mapping has no input or no output DMA.
  Accelerator(sc_core::sc_module_name name, const sched::Mapping& mapping, const AcceleratorParams& params);
  ~Accelerator() override;

  const AcceleratorParams& params() const { return m_params; }
  const sched::Mapping& mapping() const { return m_mapping; }
  /// One region per DMA and weight streamer, in mapping order (region i at i << kRegionShift).
  const std::vector<AddressRegion>& regions() const { return m_regions; }
  /// The region holding `address`, or null.
  const AddressRegion* regionOf(uint64_t address) const;
  /// The SystemC module name of an engine (by mapping index): its name with every character other
  /// than letters, digits and '_' replaced by '_', made unique with a "_<n>" suffix.
  const std::string& moduleName(std::size_t engine) const { return m_moduleNames.at(engine); }

  /// The DRAM model bound at before_end_of_elaboration when the socket was left unbound; null when
  /// the user bound the socket (or before elaboration ended).
  Dram* internalDram() const { return m_dram.get(); }
  /// Debug access (transport_dbg, no timing) through the socket to whatever it is bound to, e.g. to
  /// load or inspect memory before or after sc_start (after elaboration). Returns the bytes moved.
  unsigned debugTransport(tlm::tlm_generic_payload& trans) { return socket->transport_dbg(trans); }
  /// Notified (delta) when every output DMA has issued the last frame's last write. The initiators
  /// are decoupled (their local time may run ahead of the kernel's): the write completes at cycle
  /// result().frame_done.back(), which may be later than sc_time_stamp() at the notification.
  const sc_core::sc_event& done() const;
  /// True when every frame has been written to memory by every output DMA.
  bool finished() const;
  /// Frames left out by fast-forward (params().fast_forward); result() holds them all.
  uint64_t framesSkipped() const { return m_skipped; }

  /// What the simulation measured so far: call after sc_start returned. Runs the deadlock analysis
  /// when frames are missing or an engine has not finished (wall_seconds is left 0).
  SimResult result() const;

  /// The engines (mapping order) and the output DMAs (mapping order; functional mode: collected
  /// output values).
  const std::vector<std::unique_ptr<EngineBase>>& engines() const { return m_engines; }
  const OutputDma& outputDma() const { return *m_outputs.front(); }
  const std::vector<OutputDma*>& outputDmas() const { return m_outputs; }

private:
  void before_end_of_elaboration() override;

  sched::Mapping m_mapping;
  AcceleratorParams m_params;
  std::vector<std::string> m_moduleNames;
  std::vector<std::unique_ptr<Stream>> m_streams;
  std::vector<std::unique_ptr<EngineBase>> m_engines;
  std::vector<DramInitiator*> m_initiators; // region order
  std::vector<AddressRegion> m_regions;
  std::vector<InputDma*> m_inputs;   // mapping order
  std::vector<OutputDma*> m_outputs; // mapping order
  /// Several outputs: notified when the last of them is done (m_outputs' allDone with one).
  sc_core::sc_event m_allOutputsDone;
  void outputDone();
  /// Frame f is written when every output DMA has written it: the latest of their cycles.
  std::vector<uint64_t> frameDone() const;
  std::unique_ptr<Dram> m_dram;
  std::unique_ptr<ArrivalQueue> m_arrivals; // null: frames back to back
  std::unique_ptr<SteadyState> m_steady;     // fast-forward (null: off)
  /// Frames after which every DMA and weight streamer issues its bursts on the same DRAM channels
  /// again (SteadyState's stride); 0: not within 64 frames.
  int channelStride() const;
  /// The frames beyond the engines' horizon that the DRAM model needs repeating before it is
  /// periodic with period P over a stride (SteadyState::setExtraFrames): 0 when no two transfers
  /// on a channel overlap in time (each then completes after its own bytes whatever the bucket
  /// alignment) or P is a whole number of buckets; else the frames until the bucket alignment
  /// repeats too. Sets m_superPeriod.
  int dramExtraFrames(uint64_t P);
  /// Fast-forward found the steady state: lowers the frames the engines run for by whole
  /// super-periods, keeping every engine short of the new last frame.
  void skipFrames();
  /// Inserts the frames left out after the steady state's frame into a result of the frames run.
  void insertSkipped(SimResult& r) const;
  uint64_t m_runFrames = 0; // frames the engines run for
  uint64_t m_skipped = 0;   // frames left out (m_params.frames - m_runFrames)
  uint64_t m_superPeriod = 1; // frames after which the DRAM's bucket and channel pattern repeat
};

/// A legal, unique SystemC name for each of `names`: characters other than letters, digits and '_'
/// become '_'; an empty name becomes "e<i>"; a name already taken (by an earlier one or in
/// `reserved`) gets "_2", "_3", ... appended.
std::vector<std::string> legalModuleNames(const std::vector<std::string>& names,
                                          const std::vector<std::string>& reserved = {});

} // namespace mpsim::sim
