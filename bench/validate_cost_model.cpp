// Cost-model validation bench: builds mpsim's engines for exactly the layers and folding of each
// synthesised FINN build in test/data/synth/*.json (restated from ../shared/reference/synth) and
// prints, per node, the measured resources, mpsim's estimate and FINN's own estimate where the
// build has one. bench/validate_cost_model.py turns this into per-node-type error tables.
//
// Usage: validate_cost_model [--terms] FIXTURE.json...  |  validate_cost_model --bands
// Output: CSV on stdout, one row per node; with --terms one JSON line per node with the terms of
// the linear coefficients (hw::linearCoefficients) for bench/fit_cost_model.py. Exit 3 on a bad fixture (the message names file and key).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/Math.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/hw/CostBands.hpp"
#include "mpsim/hw/CostModel.hpp"
#include "mpsim/hw/Device.hpp"
#include "mpsim/hw/ShellCost.hpp"
#include "mpsim/io/JsonFile.hpp"
#include "mpsim/sched/Engines.hpp"

using namespace mpsim;
using json = nlohmann::json;

namespace {

struct Ctx {
  std::string file, node;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw LoadError(file + ": node '" + node + "': key '" + key + "': " + what);
  }
  int64_t num(const json& j, const char* key, int64_t lo = 0) const {
    if (!j.contains(key) || !j[key].is_number_integer()) fail(key, "missing or not an integer");
    int64_t v = j[key].get<int64_t>();
    if (v < lo || v > (int64_t(1) << 32)) fail(key, "out of range [" + std::to_string(lo) + ", 2^32]");
    return v;
  }
  std::string str(const json& j, const char* key, const std::string& def) const {
    if (!j.contains(key)) return def;
    if (!j[key].is_string()) fail(key, "not a string");
    return j[key].get<std::string>();
  }
  bool flag(const json& j, const char* key) const {
    if (!j.contains(key) || !j[key].is_boolean()) fail(key, "missing or not true/false");
    return j[key].get<bool>();
  }
};

graph::Shape shape(int64_t c, int64_t h, int64_t w) { return graph::Shape{1, c, h, w}; }

hw::Resources mvau(const Ctx& x, const json& n, const config::HardwareConfig& h) {
  graph::Layer l;
  l.name = x.node;
  l.kind = graph::LayerKind::FullyConnected;
  const int64_t mw = x.num(n, "mw", 1), mh = x.num(n, "mh", 1), pixels = x.num(n, "pixels", 1);
  l.in_shapes = {shape(mw, 1, 1)};
  l.stream_in = l.in_shapes[0];
  l.out_channels = mh;
  l.out_shape = shape(mh, pixels, 1);
  l.weight_bits = int(x.num(n, "wbits", 1));
  l.weight_type = x.flag(n, "wsigned") ? graph::WeightType::Signed : graph::WeightType::Unsigned;
  l.in = graph::ActType{int(x.num(n, "abits", 1)), x.flag(n, "asigned"), x.flag(n, "abipolar")};
  l.in_types = {l.in};
  const int64_t steps = x.num(n, "steps", 0);
  l.out = graph::ActType{int(x.num(n, "obits", 1)), false, false};
  l.requant = steps > 0 ? graph::Requant::Thresholds : graph::Requant::None;
  if (n.contains("acc") && !n["acc"].is_null()) l.acc_bits_given = int(x.num(n, "acc", 1));
  const int64_t pe = x.num(n, "pe", 1), simd = x.num(n, "simd", 1);
  const std::string res = x.str(n, "res_type", "lut");
  if (res != "lut" && res != "dsp") x.fail("res_type", "'" + res + "' is not one of lut, dsp");
  const hw::PeKind kind = res == "dsp" ? hw::PeKind::Dsp : hw::PeKind::Lut;
  const std::string ram = x.str(n, "ram_style", "auto");
  hw::MemKind mem;
  if (ram == "distributed")
    mem = hw::MemKind::Lutram;
  else if (ram == "block")
    mem = hw::MemKind::Bram;
  else if (ram == "ultra")
    mem = hw::MemKind::Uram;
  else if (ram == "auto")
    mem = sched::mac::autoWeightMemory(l, pe, simd, kind, h.cost);
  else
    x.fail("ram_style", "'" + ram + "' is not one of auto, block, distributed, ultra");
  return sched::mac::resources(l, pe, simd, kind, mem, 0, h);
}

hw::Resources swu(const Ctx& x, const json& n, const hw::CostCoefficients& c) {
  graph::Layer l;
  l.name = x.node;
  l.kind = graph::LayerKind::Conv;
  l.kh = int(x.num(n, "kh", 1));
  l.kw = int(x.num(n, "kw", 1));
  l.stride_h = l.stride_w = int(x.num(n, "stride", 1));
  const int64_t ch = x.num(n, "c", 1);
  l.in_shapes = {shape(ch, x.num(n, "ifm_h", 1), x.num(n, "ifm_w", 1))};
  l.stream_in = l.in_shapes[0];
  l.out_channels = ch;
  l.out_shape = shape(ch, x.num(n, "ofm_h", 1), x.num(n, "ofm_w", 1));
  l.in = graph::ActType{int(x.num(n, "abits", 1)), false, false};
  l.in_types = {l.in};
  sched::EngineSpec consumer;
  consumer.simd = x.num(n, "simd", 1);
  const sched::EngineSpec e = sched::swu::engine(l, l.stream_in, consumer);
  return sched::swu::resources(e, l, c);
}

hw::Resources pool(const Ctx& x, const json& n, const hw::CostCoefficients& c) {
  graph::Layer l;
  l.name = x.node;
  l.kind = graph::LayerKind::MaxPool;
  l.kh = int(x.num(n, "kh", 1));
  l.kw = int(x.num(n, "kw", 1));
  l.stride_h = l.kh;
  l.stride_w = l.kw;
  const int64_t ch = x.num(n, "c", 1), ih = x.num(n, "ifm_h", 1), iw = x.num(n, "ifm_w", 1);
  l.in_shapes = {shape(ch, ih, iw)};
  l.stream_in = l.in_shapes[0];
  l.out_shape = shape(ch, ih / l.kh, iw / l.kw);
  l.in = graph::ActType{int(x.num(n, "abits", 1)), false, false};
  l.out = l.in;
  l.in_types = {l.in};
  const sched::EngineSpec e = sched::pool::engine(l, l.stream_in, x.num(n, "pe", 1));
  return sched::pool::resources(e, l, c);
}

hw::Resources thresholding(const Ctx& x, const json& n, const hw::CostCoefficients& c) {
  graph::Layer l;
  l.name = x.node;
  l.kind = graph::LayerKind::Quantizer;
  const int64_t ch = x.num(n, "c", 1), pixels = x.num(n, "pixels", 1);
  l.in_shapes = {shape(ch, pixels, 1)};
  l.stream_in = l.in_shapes[0];
  l.out_shape = l.in_shapes[0];
  l.in = graph::ActType{int(x.num(n, "inbits", 1)), false, false};
  l.out = graph::ActType{int(x.num(n, "obits", 1)), false, false};
  l.in_types = {l.in};
  const sched::EngineSpec e = sched::elementwise::engine(l, l.in_shapes, x.num(n, "pe", 1));
  return sched::elementwise::resources(e, &l, c);
}

hw::Resources labelselect(const Ctx& x, const json& n, const hw::CostCoefficients& c) {
  graph::Layer l;
  l.name = x.node;
  l.kind = graph::LayerKind::LabelSelect;
  const int64_t classes = x.num(n, "classes", 1);
  l.in_shapes = {shape(classes, 1, 1)};
  l.stream_in = l.in_shapes[0];
  l.topk = int(x.num(n, "k", 1));
  l.out_shape = shape(l.topk, 1, 1);
  l.in = graph::ActType{int(x.num(n, "abits", 1)), true, false};
  l.out = graph::ActType{std::max(1, log2Ceil(classes)), false, false}; // the index width
  l.in_types = {l.in};
  const sched::EngineSpec e = sched::labelselect::engine(l, l.stream_in, x.num(n, "pe", 1));
  return sched::labelselect::resources(e, l, c);
}

hw::Resources estimate(const Ctx& x, const std::string& op, const json& n, const config::HardwareConfig& h) {
  if (op == "mvau") return mvau(x, n, h);
  if (op == "swu") return swu(x, n, h.cost);
  if (op == "pool") return pool(x, n, h.cost);
  if (op == "thresholding") return thresholding(x, n, h.cost);
  if (op == "labelselect") return labelselect(x, n, h.cost);
  if (op == "fifo") {
    const int64_t width = x.num(n, "width", 1); // the stream's real (folded) width
    return hw::streamResources(x.num(n, "depth", 1), width, h.cost, width);
  }
  if (op == "dwc") return hw::dwcResources(x.num(n, "inw", 1), x.num(n, "outw", 1), h.cost);
  if (op == "dma") // FINN's IODMA: its stream width, the bits per frame and the AXI port it was built for
    return hw::dmaResources(x.num(n, "stream_bits", 1), x.num(n, "stream_bits", 1) * x.num(n, "beats", 1),
                            x.num(n, "port_bits", 8), h.cost);
  x.fail("op", "'" + op + "' is not one of mvau, swu, pool, thresholding, labelselect, fifo, dwc, dma");
}

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  bool terms = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--bands") { // the built-in error bands (hw::costBands), as validate_cost_model.py --bands prints them
      for (const auto& b : hw::costBands()) {
        char line[160];
        std::snprintf(line, sizeof line, "      {\"%s\", \"%s\", %.4f, %.4f, %d},", b.family, b.resource, b.p10, b.p90,
                      b.nodes);
        std::cout << line << '\n';
      }
      return 0;
    }
    if (a == "--terms")
      terms = true;
    else
      files.push_back(a);
  }
  if (files.empty()) {
    std::cerr << "usage: validate_cost_model [--terms] FIXTURE.json...\n";
    return 2;
  }
  if (!terms)
    std::cout << "build,node,op,meas_lut,meas_ff,meas_bram18,meas_uram,meas_dsp,"
                 "mpsim_lut,mpsim_ff,mpsim_bram18,mpsim_uram,mpsim_dsp,finn_lut,finn_bram18,finn_uram,finn_dsp\n";
  try {
    for (const auto& file : files) {
      const json doc = io::readJsonFile<json>(file, 16u << 20, "synthesis fixture");
      Ctx x{file, "(top)"};
      if (!doc.contains("build") || !doc["build"].is_string()) x.fail("build", "missing or not a string");
      if (!doc.contains("nodes") || !doc["nodes"].is_array()) x.fail("nodes", "missing or not a list");
      const std::string fam = x.str(doc, "device_family", "");
      if (fam != "7series" && fam != "ultrascale+")
        x.fail("device_family", "'" + fam + "' is not one of 7series, ultrascale+");
      config::HardwareConfig h;
      h.device.dsp_kind = fam == "7series" ? hw::DspKind::DSP48E1 : hw::DspKind::DSP48E2;
      // All six builds use finn-hlslib's HLS MVAU (StreamingFCLayer_Batch), whose input buffer is
      // completely partitioned into registers.
      h.cost.mvu_input_buffer = hw::InputBuffer::Registers;
      for (const auto& n : doc["nodes"]) {
        x.node = n.contains("name") && n["name"].is_string() ? n["name"].get<std::string>() : "?";
        const std::string op = x.str(n, "op", "");
        const hw::Resources r = estimate(x, op, n, h);
        if (terms) {
          // The estimate is affine in each linear coefficient: its value with all of them 0 (fixed:
          // memories, registers of buffers) and the change with one of them 1 are the fit's terms.
          config::HardwareConfig z = h;
          for (const auto& k : hw::linearCoefficients()) z.cost.*k.field = 0;
          const hw::Resources fixed = estimate(x, op, n, z);
          json t = {{"build", doc["build"]},
                    {"node", x.node},
                    {"op", op},
                    {"measured", n["measured"]},
                    {"fixed", {{"lut", fixed.lut}, {"ff", fixed.ff}}},
                    {"estimate", {{"lut", r.lut}, {"ff", r.ff}}}};
          json lut = json::object(), ff = json::object();
          for (const auto& k : hw::linearCoefficients()) {
            config::HardwareConfig one = z;
            one.cost.*k.field = 1;
            const hw::Resources d = estimate(x, op, n, one);
            if (d.lut != fixed.lut) lut[k.name] = d.lut - fixed.lut;
            if (d.ff != fixed.ff) ff[k.name] = d.ff - fixed.ff;
          }
          t["lut_terms"] = lut;
          t["ff_terms"] = ff;
          std::cout << t.dump() << '\n';
          continue;
        }
        if (!n.contains("measured") || !n["measured"].is_object()) x.fail("measured", "missing");
        const json& m = n["measured"];
        std::cout << doc["build"].get<std::string>() << ',' << x.node << ',' << op << ',' << x.num(m, "lut") << ','
                  << x.num(m, "ff") << ',' << x.num(m, "bram18") << ',' << x.num(m, "uram") << ',' << x.num(m, "dsp");
        std::cout << ',' << fmt(r.lut) << ',' << fmt(r.ff) << ',' << fmt(r.bram18) << ',' << fmt(r.uram) << ','
                  << fmt(r.dsp);
        if (n.contains("finn_estimate")) {
          const json& f = n["finn_estimate"];
          for (const char* k : {"lut", "bram18", "uram", "dsp"}) {
            if (!f.contains(k) || !f[k].is_number()) x.fail(std::string("finn_estimate.") + k, "missing");
            std::cout << ',' << fmt(f[k].get<double>());
          }
        } else {
          std::cout << ",,,,";
        }
        std::cout << '\n';
      }
      // The shell (hw::shellCost of the build's part) beside the measured shell instances, for the
      // whole-design table of validate_cost_model.py (not a per-node row).
      if (!terms && doc.contains("shell")) {
        x.node = "(shell)";
        const json& sh = doc["shell"];
        const std::string part = x.str(sh, "part", "");
        const auto dev = hw::findDevice(part);
        if (!dev) x.fail("shell.part", "'" + part + "' is not in the device database");
        if (!sh.contains("measured") || !sh["measured"].is_object()) x.fail("shell.measured", "missing");
        const json& m = sh["measured"];
        const auto cost = hw::shellCost(*dev);
        const hw::Resources r = cost ? cost->resources : hw::Resources{};
        std::cout << doc["build"].get<std::string>() << ",(shell),shell," << x.num(m, "lut") << ',' << x.num(m, "ff")
                  << ',' << x.num(m, "bram18") << ',' << x.num(m, "uram") << ',' << x.num(m, "dsp") << ','
                  << fmt(r.lut) << ',' << fmt(r.ff) << ',' << fmt(r.bram18) << ',' << fmt(r.uram) << ','
                  << fmt(r.dsp) << ",,,,\n";
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "validate_cost_model: " << e.what() << '\n';
    return 3;
  }
  return 0;
}

// libsystemc (linked through mpsim_core) defines its own main() that calls sc_main(); ours above
// takes precedence, but the library's reference must still resolve (sanitizer builds link it).
extern "C" int sc_main(int, char**) { return 0; }
