#pragma once
// The system around the accelerator (docs/system.md): frame arrivals with a bounded input buffer
// (`input:`), and the host and shell (`host:`: batch, driver overhead, buffer copies, the shell's
// PS-PL port). Both sections are optional; absent, a run is exactly what it was without them.
// Parsed strictly with the run config (io::Reader: unknown keys are errors); trace files are read
// while the config loads (streamed, bounded), so a bad trace stops the run before anything is
// simulated.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "mpsim/common/EnumNames.hpp"
#include "mpsim/hw/Device.hpp"

namespace mpsim::io {
class Reader;
} // namespace mpsim::io

namespace mpsim::config {

/// Line limit of a text trace (characters, without the newline): longer lines are errors, so a file
/// without newlines never fills memory.
inline constexpr std::size_t kMaxTraceLineChars = 4096;
/// Largest input buffer (frames) and batch.
inline constexpr int kMaxBufferFrames = 1 << 20;

enum class ArrivalKind { Periodic, Poisson, Trace };
inline constexpr EnumName<ArrivalKind> kArrivalKindNames[] = {
    {ArrivalKind::Periodic, "periodic"}, {ArrivalKind::Poisson, "poisson"}, {ArrivalKind::Trace, "trace"}};
/// What a full input buffer does to an arriving frame: drop it, or hold the source until a slot frees.
enum class BufferPolicy { Drop, Block };
inline constexpr EnumName<BufferPolicy> kBufferPolicyNames[] = {{BufferPolicy::Drop, "drop"},
                                                                {BufferPolicy::Block, "block"}};
inline const char* toString(ArrivalKind v) { return enumName(kArrivalKindNames, v); }
inline const char* toString(BufferPolicy v) { return enumName(kBufferPolicyNames, v); }

/// input.arrivals: when frames reach the accelerator's input buffer.
struct ArrivalsConfig {
  ArrivalKind kind = ArrivalKind::Periodic;
  double fps = 0;          // periodic: frames per second; poisson: the mean rate
  double jitter_us = 0;    // periodic: each arrival moves by a uniform offset in [-jitter, +jitter]
  int64_t seed = 1;        // periodic jitter, poisson gaps
  std::string file;        // trace: the path as given
  std::string file_path;   // trace: the path opened (relative paths: to the run config's folder)
  std::vector<double> times_s; // trace: arrival times in seconds, the first simulation.frames rows
};

struct InputConfig {
  ArrivalsConfig arrivals;
  /// Frames that may wait in the input buffer (not yet taken by the input DMA); nullopt: unbounded.
  std::optional<int> buffer_frames;
  BufferPolicy policy = BufferPolicy::Drop;
};

/// The shell's PS-PL (or shell-to-memory) port in front of the accelerator's memory socket.
struct ShellConfig {
  int burst_bytes = 4096;  // the largest AXI burst the port issues
  int outstanding = 8;     // bursts of one request in flight
  double setup_ns = 0;     // per burst, before its data moves
  int port_bits = 128;     // data width of the port (read and write channels each)
  double port_mhz = 0;     // its clock; 0: hardware.clock_mhz
};

struct HostConfig {
  std::string preset;          // the board preset applied ("none": none)
  std::string preset_source;   // where its numbers come from (docs/system.md)
  int batch = 1;               // frames per driver call (the frames simulated)
  double driver_overhead_us = 0; // per call: register writes, start, completion poll
  bool include_copies = false;   // add the buffer copies / cache maintenance to the batch time
  double copy_in_gbps = 0;       // input buffer copy or cache flush (0: not counted)
  double copy_out_gbps = 0;      // output buffer copy or cache invalidate (0: not counted)
  ShellConfig shell;
};

/// background: another master on the shared DRAM (docs/system.md, "Background DRAM traffic"):
/// a DRAMSys trace (.stl), a CSV trace, or a synthetic generator.
enum class MasterKind { Stl, Csv, Synthetic };
inline constexpr EnumName<MasterKind> kMasterKindNames[] = {
    {MasterKind::Stl, "stl"}, {MasterKind::Csv, "csv"}, {MasterKind::Synthetic, "synthetic"}};
inline const char* toString(MasterKind v) { return enumName(kMasterKindNames, v); }
/// A master's addresses: [0, kMasterAddressSpace) (each master has its own window of the DRAM).
inline constexpr uint64_t kMasterAddressSpace = uint64_t(1) << 40;
/// Requests a background trace may hold (it is streamed; the limit bounds the load-time check).
inline constexpr uint64_t kMaxTraceRequests = uint64_t(50) << 20;
inline constexpr int kMaxMasters = 16;
/// A priority master's requests reach the DRAM model this many cycles before their time, so they
/// take their bandwidth before the accelerator's requests of the same time (docs/system.md).
inline constexpr uint64_t kPriorityLeadCycles = 100000;

struct MasterConfig {
  std::string name;
  MasterKind kind = MasterKind::Synthetic;
  std::string file, file_path; // stl, csv: the path as given / as opened
  double clock_mhz = 0;        // stl: the player's clock (0: hardware.clock_mhz)
  int bytes = 64;              // stl: request length when a line gives none
  bool repeat = false;         // stl, csv: replay the trace again (shifted by its span) until the run ends
  double gbps = 0;             // synthetic: bandwidth asked for
  int burst_bytes = 256;       // synthetic: request size
  double read_share = 1;       // synthetic: share of reads (the rest writes)
  int outstanding = 8;         // requests in flight
  bool priority = false;       // requests reach the DRAM kPriorityLeadCycles early: served before others
  uint64_t requests = 0;       // stl, csv: requests in the file (counted when loading)
  uint64_t span_cycles = 0;    // stl, csv: last request's cycle (accelerator clock)
  uint64_t max_bytes = 0;      // stl, csv: the largest request
};

/// One request of a background trace, in accelerator cycles.
struct MemRequest {
  uint64_t cycle = 0;
  bool write = false;
  uint64_t address = 0, bytes = 0;
};

/// Streams a background trace (stl or csv) one request at a time; every problem is a LoadError
/// naming file and line (unsorted times, a negative or zero size, an address beyond the master's
/// window, a malformed line).
class MemTraceReader {
public:
  /// traceMhz: the stl player's clock; accMhz: the accelerator's clock (requests come in its cycles).
  MemTraceReader(const std::string& path, MasterKind kind, double traceMhz, double accMhz, uint64_t defaultBytes);
  ~MemTraceReader();
  MemTraceReader(const MemTraceReader&) = delete;
  MemTraceReader& operator=(const MemTraceReader&) = delete;
  /// The next request; false at the end of the file.
  bool next(MemRequest& r);
  uint64_t line() const { return m_line; }

private:
  struct File;
  std::unique_ptr<File> m_file;
  std::string m_path;
  MasterKind m_kind;
  double m_cyclesPerTraceCycle = 1, m_cyclesPerSecond = 0, m_timeScale = 0;
  uint64_t m_defaultBytes, m_line = 0, m_lastCycle = 0;
  double m_lastTime = -1;
  bool m_header = false;
};

/// A board's host and shell numbers (docs/system.md lists their sources).
struct HostPreset {
  const char* device; // part name in the device database
  HostConfig host;
};
const std::vector<HostPreset>& hostPresets();
/// The preset for a part or board name (case-insensitive), or null.
const HostPreset* findHostPreset(const std::string& nameOrBoard);

/// Reads `background:` (a list of masters); trace files are streamed once to check and count them.
std::vector<MasterConfig> readBackground(io::Reader& root, const std::string& baseDir, double clockMhz);
YAML::Node backgroundYaml(const std::vector<MasterConfig>& b);

/// Reads `input:` (the reader of that section). `baseDir`: the run config's folder, for relative
/// trace paths; `frames`: simulation.frames (only that many trace rows are read). Errors go to the
/// reader's diagnostics; a trace file's errors name the file and line.
InputConfig readInput(io::Reader& r, const std::string& baseDir, int frames);
/// Reads `host:`; `device`: the resolved device (preset auto), `frames`: simulation.frames (default batch).
HostConfig readHost(io::Reader& r, const hw::Device& device, int frames);

/// Arrival cycles of at most `frames` frames at clockMhz: sorted, deterministic for the seed.
std::vector<uint64_t> arrivalCycles(const InputConfig& in, double clockMhz, int frames);

/// Reads an arrival trace: `# comment` lines, a header `frame,time_<unit>` (unit s, ms, us, ns),
/// then one row per frame: index (0, 1, 2, ... increasing), time (non-decreasing, >= 0). Reads at
/// most maxRows rows. Throws LoadError naming file and line.
std::vector<double> readArrivalTrace(const std::string& path, int maxRows);

YAML::Node inputYaml(const InputConfig& in);
YAML::Node hostYaml(const HostConfig& h);

} // namespace mpsim::config
