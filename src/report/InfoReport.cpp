#include "mpsim/report/InfoReport.hpp"

#include <cstdio>
#include <iomanip>

namespace mpsim::report {

std::string withCommas(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  int n = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (n && n % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++n;
  }
  return v < 0 ? "-" + out : out;
}

nlohmann::ordered_json infoJson(const graph::NetworkStats& s) {
  nlohmann::ordered_json j;
  j["schema"] = "mpsim.info/1";
  j["network"] = s.name;
  j["macs"] = s.macs;
  j["ops"] = s.ops;
  j["weights"] = s.weights;
  j["weight_bits"] = s.weight_bits;
  j["weight_bytes"] = (s.weight_bits + 7) / 8;
  j["fp32_bits"] = s.fp32_bits;
  j["reduction"] = s.reduction;
  auto& layers = j["layers"] = nlohmann::ordered_json::array();
  for (const auto& l : s.layers) {
    nlohmann::ordered_json e;
    e["name"] = l.name;
    e["kind"] = l.kind;
    e["shape"] = {l.out_shape.n, l.out_shape.c, l.out_shape.h, l.out_shape.w};
    e["macs"] = l.macs;
    e["weights"] = l.weights;
    e["weight_bits"] = l.weight_bits;
    e["weight_width"] = l.weight_bits_label;
    e["act_bits"] = l.act_bits;
    layers.push_back(std::move(e));
  }
  return j;
}

void printInfoTable(std::ostream& os, const graph::NetworkStats& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-24s %-14s %-16s %15s %12s %-10s %5s\n", "layer", "kind", "output (NCHW)", "MACs",
                "weights", "w bits", "a bits");
  os << "network " << s.name << "\n" << buf;
  for (const auto& l : s.layers) {
    std::snprintf(buf, sizeof buf, "%-24s %-14s %-16s %15s %12s %-10s %5d\n", l.name.c_str(), l.kind.c_str(),
                  l.out_shape.str().c_str(), withCommas(l.macs).c_str(), withCommas(l.weights).c_str(),
                  l.weight_bits_label.c_str(), l.act_bits);
    os << buf;
  }
  os << "\n";
  os << "MACs              " << withCommas(s.macs) << "\n";
  os << "ops (2 per MAC)   " << withCommas(s.ops) << "\n";
  os << "weights           " << withCommas(s.weights) << "\n";
  os << "parameter memory  " << withCommas(s.weight_bits) << " bits (" << withCommas((s.weight_bits + 7) / 8)
     << " bytes)\n";
  os << "FP32 baseline     " << withCommas(s.fp32_bits) << " bits (" << withCommas(s.fp32_bits / 8) << " bytes)\n";
  os << "reduction         " << std::fixed << std::setprecision(2) << s.reduction << "x\n";
}

} // namespace mpsim::report
