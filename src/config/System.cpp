#include "mpsim/config/System.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <spdlog/spdlog.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/io/YamlReader.hpp"

namespace mpsim::config {
using io::between;
using io::Reader;

namespace {


std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

HostConfig preset(const char* source, double overheadUs, double copyGbps, int portBits, double setupNs,
                  int outstanding) {
  HostConfig h;
  h.preset_source = source;
  h.driver_overhead_us = overheadUs;
  h.copy_in_gbps = h.copy_out_gbps = copyGbps;
  h.shell.port_bits = portBits;
  h.shell.burst_bytes = 256 * portBits / 8; // AXI4: at most 256 beats per burst
  h.shell.setup_ns = setupNs;
  h.shell.outstanding = outstanding;
  return h;
}

} // namespace

// The numbers and their sources: docs/system.md ("Board presets"). Driver overheads and copy
// bandwidths are assumptions unless the table there names a measurement.
const std::vector<HostPreset>& hostPresets() {
  static const std::vector<HostPreset> p = [] {
    std::vector<HostPreset> v;
    const char* zynq7 = "Zynq-7000 S_AXI_HP 64 bit (UG585); FINN zynq-iodma driver in PYNQ Python on Cortex-A9: "
                        "overhead and copy bandwidth assumed";
    const char* zynqmp = "Zynq UltraScale+ S_AXI_HP*_FPD 128 bit (UG1085); FINN zynq-iodma driver in PYNQ Python "
                         "on Cortex-A53: overhead and copy bandwidth assumed";
    const char* alveo = "Alveo kernel AXI master 512 bit to the shell's memory subsystem; FINN alveo driver "
                        "(PYNQ/XRT kernel call); PCIe Gen3 x16 XDMA buffer copies: assumed";
    v.push_back({"xc7z020", preset(zynq7, 150, 0.4, 64, 60, 8)});
    v.push_back({"xc7z045", preset(zynq7, 120, 0.5, 64, 60, 8)});
    v.push_back({"xczu3eg", preset(zynqmp, 80, 1.0, 128, 40, 16)});
    v.push_back({"xczu7ev", preset(zynqmp, 70, 1.5, 128, 40, 16)});
    v.push_back({"xck26", preset(zynqmp, 70, 1.5, 128, 40, 16)});
    v.push_back({"xczu9eg", preset(zynqmp, 70, 1.5, 128, 40, 16)});
    v.push_back({"xcu50", preset(alveo, 40, 11, 512, 0, 32)});
    v.push_back({"xcu55c", preset(alveo, 40, 11, 512, 0, 32)});
    v.push_back({"xcu250", preset(alveo, 40, 11, 512, 0, 32)});
    v.push_back({"xcu280", preset(alveo, 40, 11, 512, 0, 32)});
    // VCU118 / AWS F1: the card in a PCIe host, as an Alveo card (XDMA); every value assumed.
    v.push_back({"xcvu9p", preset("PCIe card (VCU118, AWS F1): kernel AXI master 512 bit, XDMA host copies, host "
                                  "driver call: all assumed as for Alveo",
                                  40, 11, 512, 0, 32)});
    // Versal (VCK190, VEK280): a Cortex-A72 host, the PL's AXI masters reach DDR/LPDDR through NoC
    // master units; 128 bit and the driver's overhead assumed (between the A53 and the Alveo host).
    const char* versal = "Versal PL AXI master to the NoC (128 bit assumed); driver on the Cortex-A72 APU: overhead "
                         "and copy bandwidth assumed";
    v.push_back({"xcvc1902", preset(versal, 50, 2.0, 128, 40, 16)});
    v.push_back({"xcve2802", preset(versal, 50, 2.0, 128, 40, 16)});
    for (auto& x : v) x.host.preset = x.device;
    return v;
  }();
  return p;
}

const HostPreset* findHostPreset(const std::string& nameOrBoard) {
  const std::string k = lower(nameOrBoard);
  std::string part = k;
  if (auto d = hw::findDevice(k)) part = d->name;
  for (const auto& p : hostPresets())
    if (part == p.device) return &p;
  return nullptr;
}

namespace {

// One line of a text file, at most kMaxTraceLineChars long; false at the end of the file.
bool readLine(std::istream& in, std::string& line, const std::string& file, uint64_t lineNo) {
  line.clear();
  int c;
  bool any = false;
  while ((c = in.get()) != EOF) {
    any = true;
    if (c == '\n') return true;
    if (line.size() >= kMaxTraceLineChars)
      throw LoadError(file + ":" + std::to_string(lineNo) + ": line longer than " +
                      std::to_string(kMaxTraceLineChars) + " characters (is this a text trace?)");
    line.push_back(char(c));
  }
  return any;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

std::vector<std::string> splitCsv(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(trim(cur));
  return out;
}

bool parseDouble(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && errno == 0 && std::isfinite(v);
}

bool parseIndex(const std::string& s, int64_t& v) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  v = std::stoll(s);
  return true;
}

} // namespace

std::vector<double> readArrivalTrace(const std::string& path, int maxRows) {
  checkInputFile(path, UINT64_MAX, "arrival trace"); // any size: only the rows used are read
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadError(path + ": cannot open the arrival trace");
  std::string line;
  uint64_t lineNo = 0;
  double scale = 0; // seconds per time unit, from the header
  std::vector<double> out;
  int64_t lastIndex = -1;
  double lastTime = 0;
  auto where = [&] { return path + ":" + std::to_string(lineNo) + ": "; };
  while (int(out.size()) < maxRows && readLine(in, line, path, ++lineNo)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto cols = splitCsv(t);
    if (scale == 0) {
      const std::string units[] = {"s", "ms", "us", "ns"};
      const double factors[] = {1, 1e-3, 1e-6, 1e-9};
      if (cols.size() == 2 && cols[0] == "frame")
        for (int i = 0; i < 4; ++i)
          if (cols[1] == "time_" + units[i]) scale = factors[i];
      if (scale == 0)
        throw LoadError(where() + "expected the header 'frame,time_<unit>' (unit s, ms, us or ns), got '" + t + "'");
      continue;
    }
    if (cols.size() != 2) throw LoadError(where() + "expected 2 columns (frame, time), got " + std::to_string(cols.size()));
    int64_t idx = 0;
    double time = 0;
    if (!parseIndex(cols[0], idx))
      throw LoadError(where() + "frame index '" + cols[0] + "' is not a non-negative integer");
    if (!parseDouble(cols[1], time)) throw LoadError(where() + "time '" + cols[1] + "' is not a number");
    if (time < 0) throw LoadError(where() + "time " + cols[1] + " is negative");
    const double s = time * scale;
    if (s > 1e6) throw LoadError(where() + "time " + cols[1] + " is beyond 10^6 s");
    if (idx <= lastIndex)
      throw LoadError(where() + "frame index " + cols[0] + " does not increase (previous " + std::to_string(lastIndex) +
                      ")");
    if (!out.empty() && s < lastTime)
      throw LoadError(where() + "time " + cols[1] + " is earlier than the previous row's (times must be sorted)");
    out.push_back(s);
    lastIndex = idx;
    lastTime = s;
  }
  if (in.bad()) throw LoadError(path + ": read error");
  if (out.empty()) throw LoadError(path + ": the arrival trace has no rows (a header 'frame,time_<unit>', then rows)");
  return out;
}

InputConfig readInput(Reader& r, const std::string& baseDir, int frames) {
  InputConfig in;
  Reader a = r.child("arrivals");
  ArrivalsConfig& ar = in.arrivals;
  if (!a.has("kind")) a.errorHere("missing required key '" + a.keyPath("kind") + "' (periodic, poisson or trace)");
  ar.kind = a.getEnum("kind", ArrivalKind::Periodic, kArrivalKindNames);
  switch (ar.kind) {
  case ArrivalKind::Periodic:
    ar.fps = a.req<double>("fps", between(1e-6, 1e9, "frames/s"));
    ar.jitter_us = a.get<double>("jitter_us", 0, between(0, 1e12, "us"));
    ar.seed = a.get<int64_t>("seed", 1, io::inRange(0, int64_t(1) << 62));
    if (ar.fps > 0 && ar.jitter_us * 2 >= 1e6 / ar.fps)
      a.error("jitter_us", "jitter " + io::formatNumber(ar.jitter_us) + " us must be less than half the period (" +
                               io::formatNumber(0.5e6 / ar.fps) + " us), so that frames stay in order");
    break;
  case ArrivalKind::Poisson:
    ar.fps = a.req<double>("fps", between(1e-6, 1e9, "frames/s"));
    ar.seed = a.get<int64_t>("seed", 1, io::inRange(0, int64_t(1) << 62));
    break;
  case ArrivalKind::Trace: {
    ar.file = a.req<std::string>("file");
    if (!ar.file.empty()) {
      std::filesystem::path p(ar.file);
      if (p.is_relative() && !baseDir.empty()) p = std::filesystem::path(baseDir) / p;
      ar.file_path = p.string();
      try {
        ar.times_s = readArrivalTrace(ar.file_path, frames);
      } catch (const LoadError& e) {
        for (const auto& m : e.messages()) a.diag().error(a.where("file") + ": " + a.keyPath("file") + ": " + m);
      }
    }
    break;
  }
  }
  a.finish();
  in.buffer_frames = r.opt<int>("buffer_frames", io::inRangeInt(1, kMaxBufferFrames));
  in.policy = r.getEnum("policy", BufferPolicy::Drop, kBufferPolicyNames);
  r.finish();
  return in;
}

HostConfig readHost(Reader& r, const hw::Device& device, int frames) {
  HostConfig h;
  const std::string p = r.get<std::string>("preset", "auto");
  if (p == "auto") {
    if (const HostPreset* hp = findHostPreset(device.name)) {
      h = hp->host;
    } else {
      h.preset = "none";
      spdlog::warn("{}: no host preset for {}: driver overhead 0 and copies free unless host.* gives them "
                   "(docs/system.md, \"Board presets\")",
                   r.where("preset"), device.name);
    }
  } else if (p == "none") {
    h.preset = "none";
  } else if (const HostPreset* hp = findHostPreset(p)) {
    h = hp->host;
  } else {
    std::string names;
    for (const auto& x : hostPresets()) names += std::string(names.empty() ? "" : ", ") + x.device;
    r.error("preset", "no host preset '" + p + "'; valid: auto, none, a board of the device database or " + names);
  }
  if (h.preset == "none") h.preset_source = "no preset: the values given, defaults elsewhere";
  h.batch = r.get<int>("batch", frames, io::inRangeInt(1, 100000));
  h.driver_overhead_us = r.get<double>("driver_overhead_us", h.driver_overhead_us, between(0, 1e9, "us"));
  h.include_copies = r.get<bool>("include_copies", h.include_copies);
  h.copy_in_gbps = r.get<double>("copy_in_gbps", h.copy_in_gbps, between(0, 1e5, "GB/s"));
  h.copy_out_gbps = r.get<double>("copy_out_gbps", h.copy_out_gbps, between(0, 1e5, "GB/s"));
  Reader s = r.child("shell");
  h.shell.burst_bytes = s.get<int>("burst_bytes", h.shell.burst_bytes, io::inRangeInt(1, 1 << 24));
  h.shell.outstanding = s.get<int>("outstanding", h.shell.outstanding, io::inRangeInt(1, 1024));
  h.shell.setup_ns = s.get<double>("setup_ns", h.shell.setup_ns, between(0, 1e9, "ns"));
  h.shell.port_bits = s.get<int>("port_bits", h.shell.port_bits, io::inRangeInt(8, 1 << 16));
  h.shell.port_mhz = s.get<double>("port_mhz", h.shell.port_mhz, between(0, 2000, "MHz"));
  s.finish();
  r.finish();
  return h;
}

namespace {
// Deterministic on every platform: mt19937_64 is specified bit for bit; the conversion to [0, 1)
// is ours (the standard distributions are implementation-defined).
double unit(std::mt19937_64& g) { return double(g() >> 11) * (1.0 / 9007199254740992.0); }
} // namespace

std::vector<uint64_t> arrivalCycles(const InputConfig& in, double clockMhz, int frames) {
  const ArrivalsConfig& a = in.arrivals;
  const double perSecond = clockMhz * 1e6;
  std::vector<uint64_t> out;
  std::mt19937_64 g(uint64_t(a.seed));
  switch (a.kind) {
  case ArrivalKind::Periodic: {
    const double period = perSecond / a.fps, jitter = a.jitter_us * clockMhz;
    for (int n = 0; n < frames; ++n) {
      double t = double(n) * period;
      if (jitter > 0) t += (2 * unit(g) - 1) * jitter;
      out.push_back(uint64_t(std::llround(std::max(0.0, t))));
    }
    break;
  }
  case ArrivalKind::Poisson: {
    double t = 0;
    for (int n = 0; n < frames; ++n) {
      out.push_back(uint64_t(std::llround(t)));
      t += -std::log(1 - unit(g)) * perSecond / a.fps;
    }
    break;
  }
  case ArrivalKind::Trace:
    for (size_t n = 0; n < a.times_s.size() && int(n) < frames; ++n)
      out.push_back(uint64_t(std::llround(a.times_s[n] * perSecond)));
    break;
  }
  for (size_t i = 1; i < out.size(); ++i) out[i] = std::max(out[i], out[i - 1]); // rounding keeps order
  return out;
}

namespace {
} // namespace

YAML::Node inputYaml(const InputConfig& in) {
  YAML::Node n;
  YAML::Node a = n["arrivals"];
  a["kind"] = toString(in.arrivals.kind);
  if (in.arrivals.kind == ArrivalKind::Trace) {
    // The file opened, absolute: the effective config reloads from any folder.
    a["file"] = in.arrivals.file_path.empty()
                    ? in.arrivals.file
                    : std::filesystem::absolute(in.arrivals.file_path).lexically_normal().string();
  } else {
    a["fps"] = io::numberNode(in.arrivals.fps);
    if (in.arrivals.kind == ArrivalKind::Periodic) a["jitter_us"] = io::numberNode(in.arrivals.jitter_us);
    a["seed"] = in.arrivals.seed;
  }
  if (in.buffer_frames) n["buffer_frames"] = *in.buffer_frames;
  n["policy"] = toString(in.policy);
  return n;
}

YAML::Node hostYaml(const HostConfig& h) {
  YAML::Node n;
  n["preset"] = h.preset;
  n["batch"] = h.batch;
  n["driver_overhead_us"] = io::numberNode(h.driver_overhead_us);
  n["include_copies"] = h.include_copies;
  n["copy_in_gbps"] = io::numberNode(h.copy_in_gbps);
  n["copy_out_gbps"] = io::numberNode(h.copy_out_gbps);
  YAML::Node s = n["shell"];
  s["burst_bytes"] = h.shell.burst_bytes;
  s["outstanding"] = h.shell.outstanding;
  s["setup_ns"] = io::numberNode(h.shell.setup_ns);
  s["port_bits"] = h.shell.port_bits;
  s["port_mhz"] = io::numberNode(h.shell.port_mhz);
  return n;
}

// ---- background masters ------------------------------------------------------------------------

struct MemTraceReader::File {
  std::ifstream in;
};

MemTraceReader::MemTraceReader(const std::string& path, MasterKind kind, double traceMhz, double accMhz,
                               uint64_t defaultBytes)
    : m_file(std::make_unique<File>()), m_path(path), m_kind(kind), m_defaultBytes(defaultBytes) {
  checkInputFile(path, UINT64_MAX, "memory trace"); // any size: streamed
  m_file->in.open(path, std::ios::binary);
  if (!m_file->in) throw LoadError(path + ": cannot open the memory trace");
  m_cyclesPerTraceCycle = traceMhz > 0 ? accMhz / traceMhz : 1;
  m_cyclesPerSecond = accMhz * 1e6;
  m_header = kind == MasterKind::Stl; // stl has no header
}

MemTraceReader::~MemTraceReader() = default;

namespace {
bool parseU64(const std::string& s, uint64_t& v, int base) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(s.c_str(), &end, base);
  if (!end || *end != '\0' || errno != 0) return false;
  v = x;
  return true;
}
bool parseAddress(const std::string& s, uint64_t& v) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return parseU64(s.substr(2), v, 16);
  return parseU64(s, v, 10);
}
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}
} // namespace

bool MemTraceReader::next(MemRequest& r) {
  std::string line;
  while (readLine(m_file->in, line, m_path, ++m_line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto where = [&] { return m_path + ":" + std::to_string(m_line) + ": "; };
    uint64_t cycle = 0, address = 0, bytes = m_defaultBytes;
    std::string op, addr;
    if (m_kind == MasterKind::Csv) {
      const auto cols = splitCsv(t);
      if (!m_header) {
        const std::string units[] = {"s", "ms", "us", "ns"};
        const double factors[] = {1, 1e-3, 1e-6, 1e-9};
        if (cols.size() == 4 && cols[1] == "op" && cols[2] == "address" && cols[3] == "bytes")
          for (int i = 0; i < 4; ++i)
            if (cols[0] == "time_" + units[i]) m_timeScale = factors[i];
        if (m_timeScale == 0)
          throw LoadError(where() + "expected the header 'time_<unit>,op,address,bytes' (unit s, ms, us or ns), got '" +
                          t + "'");
        m_header = true;
        continue;
      }
      if (cols.size() != 4)
        throw LoadError(where() + "expected 4 columns (time, op, address, bytes), got " + std::to_string(cols.size()));
      double time = 0;
      if (!parseDouble(cols[0], time)) throw LoadError(where() + "time '" + cols[0] + "' is not a number");
      if (time < 0) throw LoadError(where() + "time " + cols[0] + " is negative");
      if (time * m_timeScale > 1e6) throw LoadError(where() + "time " + cols[0] + " is beyond 10^6 s");
      if (time < m_lastTime)
        throw LoadError(where() + "time " + cols[0] + " is earlier than the previous request's (times must be sorted)");
      m_lastTime = time;
      cycle = uint64_t(std::llround(time * m_timeScale * m_cyclesPerSecond));
      op = cols[1];
      addr = cols[2];
      if (!cols[3].empty() && cols[3][0] == '-') throw LoadError(where() + "size " + cols[3] + " is negative");
      if (!parseU64(cols[3], bytes, 10)) throw LoadError(where() + "size '" + cols[3] + "' is not an integer");
    } else {
      // DRAMSys: "<cycle>: [(<bytes>)] read|write <hex address> [<hex data>]"
      auto w = words(t);
      if (w.size() < 3 || w[0].size() < 2 || w[0].back() != ':')
        throw LoadError(where() + "expected '<cycle>: [(<bytes>)] read|write <hex address> [<data>]', got '" + t + "'");
      uint64_t c = 0;
      if (!parseU64(w[0].substr(0, w[0].size() - 1), c, 10))
        throw LoadError(where() + "time '" + w[0] + "' is not a non-negative integer cycle");
      size_t k = 1;
      if (w[k].front() == '(') {
        const std::string len = w[k].size() >= 2 && w[k].back() == ')' ? w[k].substr(1, w[k].size() - 2) : "";
        if (!len.empty() && len[0] == '-') throw LoadError(where() + "size " + w[k] + " is negative");
        if (!parseU64(len, bytes, 10)) throw LoadError(where() + "size '" + w[k] + "' is not '(<bytes>)'");
        ++k;
      }
      if (k + 1 >= w.size()) throw LoadError(where() + "expected read|write and an address after the time");
      op = w[k];
      addr = w[k + 1];
      if (addr.size() < 3 || addr[0] != '0' || (addr[1] != 'x' && addr[1] != 'X')) addr = "0x" + addr; // hex always
      if (c < m_lastCycle)
        throw LoadError(where() + "time " + w[0] + " is earlier than the previous request's (times must be sorted)");
      m_lastCycle = c;
      cycle = uint64_t(std::llround(double(c) * m_cyclesPerTraceCycle));
    }
    if (op != "read" && op != "write") throw LoadError(where() + "expected read or write, got '" + op + "'");
    if (!parseAddress(addr, address)) throw LoadError(where() + "address '" + addr + "' is not a number");
    if (bytes == 0 || bytes > (uint64_t(1) << 24))
      throw LoadError(where() + "size " + std::to_string(bytes) + " is outside 1..16777216 bytes");
    if (address >= kMasterAddressSpace || bytes > kMasterAddressSpace - address)
      throw LoadError(where() + "address " + addr + " + " + std::to_string(bytes) +
                      " bytes is outside the master's window [0, 2^40)");
    r.cycle = cycle;
    r.write = op == "write";
    r.address = address;
    r.bytes = bytes;
    return true;
  }
  if (m_file->in.bad()) throw LoadError(m_path + ": read error");
  if (m_kind == MasterKind::Csv && !m_header)
    throw LoadError(m_path + ": the memory trace has no header 'time_<unit>,op,address,bytes'");
  return false;
}

std::vector<MasterConfig> readBackground(Reader& root, const std::string& baseDir, double clockMhz) {
  std::vector<MasterConfig> out;
  YAML::Node list = root.raw("background");
  root.accept("background");
  if (!list.IsSequence()) {
    root.error("background", "expected a list of masters ({name, kind: stl|csv|synthetic, ...})");
    return out;
  }
  if (list.size() > size_t(kMaxMasters)) {
    root.error("background", "at most " + std::to_string(kMaxMasters) + " masters");
    return out;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    Reader m(root.doc(), list[i], "background[" + std::to_string(i) + "]");
    if (!list[i].IsMap()) {
      m.errorHere("expected a mapping {name, kind, ...}");
      continue;
    }
    MasterConfig c;
    c.name = m.get<std::string>("name", "master" + std::to_string(i));
    if (!m.has("kind")) m.errorHere("missing required key '" + m.keyPath("kind") + "' (stl, csv or synthetic)");
    c.kind = m.getEnum("kind", MasterKind::Synthetic, kMasterKindNames);
    c.outstanding = m.get<int>("outstanding", 8, io::inRangeInt(1, 1024));
    c.priority = m.get<bool>("priority", false);
    if (c.kind == MasterKind::Synthetic) {
      c.gbps = m.req<double>("gbps", between(1e-6, 1e5, "GB/s"));
      c.burst_bytes = m.get<int>("burst_bytes", 256, io::inRangeInt(1, 1 << 24));
      c.read_share = m.get<double>("read_share", 1, between(0, 1, ""));
    } else {
      c.file = m.req<std::string>("file");
      c.repeat = m.get<bool>("repeat", false);
      if (c.kind == MasterKind::Stl) {
        c.clock_mhz = m.get<double>("clock_mhz", clockMhz, between(0.001, 1e5, "MHz"));
        c.bytes = m.get<int>("bytes", 64, io::inRangeInt(1, 1 << 24));
      }
      if (!c.file.empty()) {
        std::filesystem::path p(c.file);
        if (p.is_relative() && !baseDir.empty()) p = std::filesystem::path(baseDir) / p;
        c.file_path = p.string();
        try {
          MemTraceReader rd(c.file_path, c.kind, c.clock_mhz, clockMhz, uint64_t(c.bytes));
          MemRequest q;
          while (rd.next(q)) {
            if (++c.requests > kMaxTraceRequests)
              throw LoadError(c.file_path + ":" + std::to_string(rd.line()) + ": more than " +
                              std::to_string(kMaxTraceRequests) + " requests");
            c.span_cycles = q.cycle;
            c.max_bytes = std::max(c.max_bytes, q.bytes);
          }
          if (c.requests == 0) throw LoadError(c.file_path + ": the memory trace has no requests");
        } catch (const LoadError& e) {
          for (const auto& msg : e.messages()) m.diag().error(m.where("file") + ": " + m.keyPath("file") + ": " + msg);
        }
      }
    }
    m.finish();
    for (const auto& o : out)
      if (o.name == c.name) m.error("name", "two masters named '" + c.name + "'");
    out.push_back(c);
  }
  return out;
}

YAML::Node backgroundYaml(const std::vector<MasterConfig>& b) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& c : b) {
    YAML::Node n;
    n["name"] = c.name;
    n["kind"] = toString(c.kind);
    n["outstanding"] = c.outstanding;
    n["priority"] = c.priority;
    if (c.kind == MasterKind::Synthetic) {
      n["gbps"] = YAML::Node(io::formatNumber(c.gbps));
      n["burst_bytes"] = c.burst_bytes;
      n["read_share"] = YAML::Node(io::formatNumber(c.read_share));
    } else {
      n["file"] = std::filesystem::absolute(c.file_path).lexically_normal().string();
      n["repeat"] = c.repeat;
      if (c.kind == MasterKind::Stl) {
        n["clock_mhz"] = YAML::Node(io::formatNumber(c.clock_mhz));
        n["bytes"] = c.bytes;
      }
    }
    list.push_back(n);
  }
  return list;
}

} // namespace mpsim::config
