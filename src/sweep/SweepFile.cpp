#include "mpsim/sweep/SweepFile.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/flow/Flow.hpp"
#include "mpsim/io/Overrides.hpp"
#include "mpsim/io/YamlReader.hpp"

namespace mpsim::sweep {

using nlohmann::json;
using nlohmann::ordered_json;

std::vector<std::string> Point::overrides() const {
  std::vector<std::string> out;
  for (const auto& a : set) out.push_back(a.key + "=" + a.value);
  return out;
}

ordered_json Point::values() const {
  ordered_json j = ordered_json::object();
  for (const auto& a : set) j[a.column] = a.json;
  return j;
}

void PointList::add(Entry e) {
  m_begin.push_back(m_size);
  m_size += e.count;
  m_entries.push_back(std::move(e));
}

Point PointList::operator[](size_t i) const {
  const size_t k = size_t(std::upper_bound(m_begin.begin(), m_begin.end(), i) - m_begin.begin()) - 1;
  const Entry& e = m_entries[k];
  Point p;
  p.entry = e.index;
  p.set = e.fixed;
  for (auto& a : e.row(i - m_begin[k])) p.set.push_back(std::move(a));
  return p;
}

namespace {

/// A YAML value as JSON: integers, numbers, booleans and strings typed as the config loader reads them.
json toJson(const YAML::Node& n) {
  if (n.IsSequence()) {
    json a = json::array();
    for (const auto& x : n) a.push_back(toJson(x));
    return a;
  }
  if (n.IsMap()) {
    json o = json::object();
    for (const auto& kv : n) o[kv.first.Scalar()] = toJson(kv.second);
    return o;
  }
  if (!n.IsScalar()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() != "!") { // unquoted: numbers and booleans
    int64_t i = 0;
    double d = 0;
    bool b = false;
    if (YAML::convert<int64_t>::decode(n, i)) return i;
    if (YAML::convert<double>::decode(n, d) && std::isfinite(d)) return d;
    if (YAML::convert<bool>::decode(n, b)) return b;
  }
  return s;
}

std::string flowYaml(const YAML::Node& n) {
  YAML::Emitter em;
  em << YAML::Flow << n;
  return em.c_str();
}

std::string normalise(const std::string& key) {
  std::string out;
  for (const auto& c : io::splitKeyPath(key)) out += (out.empty() ? "" : ".") + c;
  return out;
}

/// splitmix64: a fixed, portable generator (std distributions differ between libraries).
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL; // splitmix64's increment

struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += kGolden);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double unit() { return double(next() >> 11) * (1.0 / 9007199254740992.0); } // [0, 1)
  int64_t below(uint64_t n) { return int64_t(next() % n); }
};

/// A number rounded to 6 significant digits (sampled floats stay readable and hash stably).
double round6Significant(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return std::strtod(buf, nullptr);
}

/// One axis of a sample: how to draw a value.
struct Space {
  enum Kind { Choice, Int, Float, Pow2 } kind = Choice;
  std::vector<YAML::Node> choices;
  double lo = 0, hi = 0;
  bool log = false;
  std::string key, column, where, label;
};

struct Loader {
  std::string file;
  Diagnostics diag;
  Sweep out;

  void err(const YAML::Node& at, const std::string& path, const std::string& msg) {
    diag.error(io::locate(file, at) + ": " + path + ": " + msg);
  }
  /// Checks that a mapping has only `valid` keys; reports each other key.
  bool onlyKeys(const YAML::Node& m, const std::string& path, const std::vector<std::string>& valid) {
    bool ok = true;
    for (const auto& kv : m) {
      const std::string k = kv.first.Scalar();
      if (std::find(valid.begin(), valid.end(), k) != valid.end()) continue;
      std::string v;
      for (const auto& x : valid) v += (v.empty() ? "" : ", ") + x;
      err(kv.first, path.empty() ? k : path + "." + k, "unknown key; valid keys: " + v);
      ok = false;
    }
    return ok;
  }
  void addColumn(const std::string& c) {
    if (std::find(out.columns.begin(), out.columns.end(), c) == out.columns.end()) out.columns.push_back(c);
  }
  /// The key path of an axis; false (after an error) when malformed.
  bool axisKey(const YAML::Node& keyNode, const std::string& path, std::string& column) {
    try {
      column = normalise(keyNode.Scalar());
    } catch (const LoadError& e) {
      err(keyNode, path, e.messages().front());
      return false;
    }
    return true;
  }
  static Assignment assign(const std::string& key, const std::string& column, const YAML::Node& value,
                           const std::string& where, const std::string& label) {
    Assignment a;
    a.key = key;
    a.column = column;
    a.value = flowYaml(value);
    a.json = toJson(value);
    a.where = where;
    a.label = label;
    return a;
  }

  void loadEntry(const YAML::Node& e, size_t idx) {
    const std::string path = "sweep[" + std::to_string(idx) + "]";
    if (!e.IsMap()) return err(e, path, "expected a mapping with one of grid, zip, sample (and optionally set)");
    if (!onlyKeys(e, path, {"grid", "zip", "sample", "set"})) return;
    const int kinds = int(bool(e["grid"])) + int(bool(e["zip"])) + int(bool(e["sample"]));
    if (kinds != 1) return err(e, path, "give exactly one of grid, zip, sample");
    // Fixed overrides for every point of this entry.
    std::vector<Assignment> fixed;
    if (YAML::Node s = e["set"]) {
      if (!s.IsMap()) return err(s, path + ".set", "expected a mapping of key paths to values");
      for (const auto& kv : s) {
        std::string col;
        if (!axisKey(kv.first, path + ".set." + kv.first.Scalar(), col)) continue;
        fixed.push_back(
            assign(kv.first.Scalar(), col, kv.second, io::locate(file, kv.second), path + ".set." + kv.first.Scalar()));
        addColumn(col);
      }
    }
    const size_t before = diag.errors().size();
    PointList::Entry pe;
    if (YAML::Node g = e["grid"]) pe = grid(g, path + ".grid", false);
    if (YAML::Node z = e["zip"]) pe = grid(z, path + ".zip", true);
    if (YAML::Node s = e["sample"]) pe = sample(s, path + ".sample");
    if (diag.errors().size() != before) return;
    pe.index = idx;
    pe.fixed = std::move(fixed);
    if (int64_t(out.points.size() + pe.count) > kMaxPoints) {
      err(e, path, "the sweep expands to more than " + std::to_string(kMaxPoints) + " points");
      out.points.clear();
      return;
    }
    out.points.add(std::move(pe));
  }

  /// grid (Cartesian product, the first key varies slowest) or zip (lists advanced together).
  PointList::Entry grid(const YAML::Node& g, const std::string& path, bool zip) {
    std::vector<std::vector<Assignment>> axes;
    if (!g.IsMap() || g.size() == 0) {
      err(g, path, "expected a non-empty mapping of key paths to lists of values");
      return {};
    }
    for (const auto& kv : g) {
      const std::string kp = path + "." + kv.first.Scalar();
      std::string col;
      if (!axisKey(kv.first, kp, col)) continue;
      if (!kv.second.IsSequence() || kv.second.size() == 0) {
        err(kv.second.IsDefined() && !kv.second.IsNull() ? kv.second : kv.first, kp,
            "expected a non-empty list of values");
        continue;
      }
      std::vector<Assignment> axis;
      for (size_t i = 0; i < kv.second.size(); ++i)
        axis.push_back(assign(kv.first.Scalar(), col, kv.second[i], io::locate(file, kv.second[i]), kp));
      if (zip && !axes.empty() && axis.size() != axes.front().size()) {
        err(kv.second, kp,
            "zip lists must have the same length: " + std::to_string(axis.size()) + " here, " +
                std::to_string(axes.front().size()) + " in the first list");
        continue;
      }
      addColumn(col);
      axes.push_back(std::move(axis));
    }
    if (axes.empty()) return {};
    PointList::Entry e;
    if (zip) {
      e.count = axes.front().size();
      e.row = [axes](size_t i) {
        std::vector<Assignment> r;
        for (const auto& a : axes) r.push_back(a[i]);
        return r;
      };
      return e;
    }
    int64_t total = 1;
    for (const auto& a : axes) {
      total *= int64_t(a.size());
      if (total > kMaxPoints) {
        err(g, path, "the grid has more than " + std::to_string(kMaxPoints) + " points");
        return {};
      }
    }
    e.count = size_t(total);
    e.row = [axes](size_t n) { // row-major: the last key varies fastest
      std::vector<Assignment> r(axes.size());
      for (size_t k = axes.size(); k-- > 0;) {
        r[k] = axes[k][n % axes[k].size()];
        n /= axes[k].size();
      }
      return r;
    };
    return e;
  }

  bool number(const YAML::Node& n, const std::string& path, double& v, bool& isInt) {
    int64_t i = 0;
    if (n.IsScalar() && n.Tag() != "!" && YAML::convert<int64_t>::decode(n, i)) {
      v = double(i);
      isInt = true;
      return true;
    }
    if (n.IsScalar() && n.Tag() != "!" && YAML::convert<double>::decode(n, v) && std::isfinite(v)) {
      isInt = false;
      return true;
    }
    err(n, path, "expected a number, got '" + (n.IsScalar() ? n.Scalar() : flowYaml(n)) + "'");
    return false;
  }

  bool space(const YAML::Node& spec, Space& sp) {
    const std::string& path = sp.label;
    if (!spec.IsMap()) {
      err(spec, path, "expected {choice: [...]}, {range: [lo, hi]} (with log, type) or {pow2: [lo, hi]}");
      return false;
    }
    if (!onlyKeys(spec, path, {"choice", "range", "pow2", "log", "type"})) return false;
    const int kinds = int(bool(spec["choice"])) + int(bool(spec["range"])) + int(bool(spec["pow2"]));
    if (kinds != 1) {
      err(spec, path, "give exactly one of choice, range, pow2");
      return false;
    }
    if (YAML::Node c = spec["choice"]) {
      if (!c.IsSequence() || c.size() == 0) {
        err(c, path + ".choice", "expected a non-empty list of values");
        return false;
      }
      if (spec["log"] || spec["type"]) {
        err(spec, path, "log and type apply to range only");
        return false;
      }
      for (const auto& x : c) sp.choices.push_back(x);
      sp.kind = Space::Choice;
      return true;
    }
    const bool pow2 = bool(spec["pow2"]);
    const std::string rk = pow2 ? "pow2" : "range";
    YAML::Node r = spec[rk];
    if (!r.IsSequence() || r.size() != 2) {
      err(r, path + "." + rk, "expected [lo, hi]");
      return false;
    }
    bool loInt = false, hiInt = false;
    if (!number(r[0], path + "." + rk + "[0]", sp.lo, loInt) || !number(r[1], path + "." + rk + "[1]", sp.hi, hiInt))
      return false;
    if (!(sp.lo <= sp.hi)) {
      err(r, path + "." + rk, "lo must not be above hi");
      return false;
    }
    if (YAML::Node l = spec["log"]) {
      bool b = false;
      if (pow2 || !YAML::convert<bool>::decode(l, b)) {
        err(l, path + ".log", pow2 ? "pow2 is already logarithmic" : "expected true or false");
        return false;
      }
      sp.log = b;
    }
    if (sp.log && !(sp.lo > 0)) {
      err(r, path + ".range", "a log range needs lo > 0");
      return false;
    }
    if (pow2) {
      if (spec["type"]) {
        err(spec["type"], path + ".type", "pow2 values are integers");
        return false;
      }
      if (!loInt || !hiInt || sp.lo < 1 || sp.hi > double(int64_t(1) << 62)) {
        err(r, path + ".pow2", "expected integers in 1..2^62");
        return false;
      }
      if (std::floor(std::log2(sp.hi)) < std::ceil(std::log2(sp.lo))) {
        err(r, path + ".pow2", "no power of two lies in this range");
        return false;
      }
      sp.kind = Space::Pow2;
      return true;
    }
    // Integers exactly representable as numbers, and a width that does not overflow.
    constexpr double kMaxBound = 9007199254740992.0; // 2^53
    if (std::fabs(sp.lo) > kMaxBound || std::fabs(sp.hi) > kMaxBound) {
      err(r, path + ".range", "bounds must lie within -2^53..2^53");
      return false;
    }
    sp.kind = loInt && hiInt ? Space::Int : Space::Float;
    if (YAML::Node t = spec["type"]) {
      const std::string ts = t.IsScalar() ? t.Scalar() : "";
      if (ts == "int") {
        if (!loInt || !hiInt) {
          err(r, path + ".range", "an int range needs integer bounds");
          return false;
        }
        sp.kind = Space::Int;
      } else if (ts == "float") {
        sp.kind = Space::Float;
      } else {
        err(t, path + ".type", "expected int or float");
        return false;
      }
    }
    return true;
  }

  static YAML::Node draw(const Space& sp, Rng& rng) {
    switch (sp.kind) {
    case Space::Choice: return sp.choices[size_t(rng.below(sp.choices.size()))];
    case Space::Pow2: {
      const int a = int(std::ceil(std::log2(sp.lo))), b = int(std::floor(std::log2(sp.hi)));
      return YAML::Node(int64_t(1) << (a + rng.below(uint64_t(b - a + 1))));
    }
    case Space::Int: {
      const int64_t lo = int64_t(sp.lo), hi = int64_t(sp.hi);
      if (!sp.log) return YAML::Node(lo + rng.below(uint64_t(hi - lo) + 1));
      const double v = std::exp(std::log(sp.lo) + rng.unit() * (std::log(sp.hi + 1) - std::log(sp.lo)));
      return YAML::Node(std::min(hi, std::max(lo, int64_t(std::floor(v)))));
    }
    case Space::Float: {
      const double u = rng.unit();
      const double v =
          sp.log ? std::exp(std::log(sp.lo) + u * (std::log(sp.hi) - std::log(sp.lo))) : sp.lo + u * (sp.hi - sp.lo);
      return YAML::Node(io::formatNumber(std::min(sp.hi, std::max(sp.lo, round6Significant(v)))));
    }
    }
    return {};
  }

  PointList::Entry sample(const YAML::Node& s, const std::string& path) {
    if (!s.IsMap()) {
      err(s, path, "expected a mapping with n, seed and space");
      return {};
    }
    if (!onlyKeys(s, path, {"n", "seed", "space"})) return {};
    int64_t n = 0, seed = 0;
    if (!s["n"] || !YAML::convert<int64_t>::decode(s["n"], n) || n < 1 || n > kMaxPoints) {
      err(s["n"] ? s["n"] : s, path + ".n", "expected the number of points, 1.." + std::to_string(kMaxPoints));
      return {};
    }
    if (s["seed"] && (!YAML::convert<int64_t>::decode(s["seed"], seed) || seed < 0)) {
      err(s["seed"], path + ".seed", "expected a non-negative integer");
      return {};
    }
    YAML::Node sp = s["space"];
    if (!sp || !sp.IsMap() || sp.size() == 0) {
      err(sp ? sp : s, path + ".space", "expected a non-empty mapping of key paths to ranges");
      return {};
    }
    std::vector<Space> spaces;
    bool ok = true;
    for (const auto& kv : sp) {
      Space x;
      x.key = kv.first.Scalar();
      x.label = path + ".space." + x.key;
      x.where = io::locate(file, kv.first);
      if (!axisKey(kv.first, x.label, x.column) || !space(kv.second, x)) {
        ok = false;
        continue;
      }
      addColumn(x.column);
      spaces.push_back(std::move(x));
    }
    if (!ok) return {};
    PointList::Entry e;
    e.count = size_t(n);
    // Each draw takes one number of the generator, so point j's draws are numbers j * |space| ...
    // of the sequence: made on demand, the same as drawn in order.
    const std::string f = file;
    e.row = [spaces, seed, f](size_t j) {
      std::vector<Assignment> r;
      for (size_t k = 0; k < spaces.size(); ++k) {
        Rng rng{uint64_t(seed) + uint64_t(j * spaces.size() + k) * kGolden};
        const Space& x = spaces[k];
        r.push_back(assign(x.key, x.column, draw(x, rng), x.where, x.label));
      }
      return r;
    };
    return e;
  }

  /// The inline base as text: written as a block below `base:`, the sweep file's own lines (all
  /// others blanked; YAML allows an indented top level), so the loader's messages name the sweep
  /// file's lines and columns; otherwise (flow style) as emitted YAML.
  void inlineBase(const YAML::Node& root, const YAML::Node& b) {
    int keyLine = -1;
    for (const auto& kv : root)
      if (kv.first.Scalar() == "base") keyLine = kv.first.Mark().line;
    std::vector<std::string> lines;
    size_t start = 0;
    while (start <= out.text.size()) {
      size_t nl = out.text.find('\n', start);
      if (nl == std::string::npos) nl = out.text.size();
      lines.push_back(out.text.substr(start, nl - start));
      start = nl + 1;
    }
    if (keyLine >= 0 && b.Mark().line > keyLine && b.Style() != YAML::EmitterStyle::Flow) {
      std::string text;
      bool inside = false;
      for (size_t i = 0; i < lines.size(); ++i) {
        const std::string& l = lines[i];
        if (int(i) == keyLine + 1) inside = true;
        if (inside && int(i) > keyLine && !l.empty() && l[0] != ' ' && l[0] != '\t' && l[0] != '#') inside = false;
        text += (inside ? l : std::string()) + "\n";
      }
      out.baseText = text;
      out.baseName = file;
      return;
    }
    YAML::Emitter em;
    em << b;
    out.baseText = std::string(em.c_str()) + "\n";
    out.baseName = file + " (inline base)";
  }

  void load(const YAML::Node& root) {
    onlyKeys(root, "", {"name", "base", "sweep", "constraints", "objectives"});
    if (YAML::Node n = root["name"]) {
      if (!n.IsScalar() || n.Scalar().empty() || n.Scalar() != safeFileName(n.Scalar()))
        err(n, "name", "expected a name of letters, digits, '-', '_' and '.' (the database is <name>.db)");
      else
        out.name = n.Scalar();
    }
    YAML::Node b = root["base"];
    if (!b) {
      err(root, "base", "missing required key 'base' (a run config path relative to the sweep file, or inline)");
    } else if (b.IsScalar()) {
      std::filesystem::path p(b.Scalar());
      if (p.is_relative()) p = std::filesystem::path(out.dir) / p;
      std::error_code ec;
      if (!std::filesystem::is_regular_file(p, ec))
        err(b, "base", "run config not found: " + p.string());
      else
        out.basePath = out.baseName = p.lexically_normal().string();
    } else if (b.IsMap()) {
      inlineBase(root, b);
    } else {
      err(b, "base", "expected a run config path or an inline run config (a mapping)");
    }
    YAML::Node sw = root["sweep"];
    if (!sw || !sw.IsSequence() || sw.size() == 0)
      err(sw ? sw : root, "sweep", "expected a non-empty list of entries (grid, zip or sample)");
    else
      for (size_t i = 0; i < sw.size(); ++i) loadEntry(sw[i], i);
    if (YAML::Node c = root["constraints"]) {
      if (!c.IsSequence()) err(c, "constraints", "expected a list of expressions");
      for (size_t i = 0; c.IsSequence() && i < c.size(); ++i) {
        const std::string kp = "constraints[" + std::to_string(i) + "]";
        if (!c[i].IsScalar()) {
          err(c[i], kp, "expected an expression (a string)");
          continue;
        }
        try {
          out.constraints.push_back(Constraint{Expr::parse(c[i].Scalar()), io::locate(file, c[i])});
        } catch (const std::invalid_argument& e) {
          err(c[i], kp, "'" + c[i].Scalar() + "': " + e.what());
        }
      }
    }
    if (YAML::Node o = root["objectives"]) {
      if (!o.IsSequence()) err(o, "objectives", "expected a list such as [max:summary.fps, min:resources.total.lut]");
      for (size_t i = 0; o.IsSequence() && i < o.size(); ++i) {
        try {
          if (!o[i].IsScalar()) throw std::invalid_argument("expected max:<metric> or min:<metric>");
          out.objectives.push_back(parseObjective(o[i].Scalar()));
        } catch (const std::invalid_argument& e) {
          err(o[i], "objectives[" + std::to_string(i) + "]", e.what());
        }
      }
    }
  }
};

Sweep loadFrom(std::shared_ptr<io::YamlDoc> doc, const std::string& dir, const std::string& stem,
               const std::string& text) {
  Loader l;
  l.file = doc->file;
  l.out.file = doc->file;
  l.out.dir = dir.empty() ? "." : dir;
  l.out.name = stem;
  l.out.text = text;
  l.load(doc->root);
  l.diag.throwIfAny();
  return std::move(l.out);
}

} // namespace

Sweep loadSweep(const std::string& path) {
  const std::string text = readFileLimited(path, kMaxConfigBytes, "sweep file");
  auto doc = io::YamlDoc::loadFile(path);
  std::filesystem::path p(path);
  return loadFrom(doc, p.parent_path().string(), p.stem().string(), text);
}

Sweep loadSweepText(const std::string& text, const std::string& name, const std::string& dir) {
  auto doc = io::YamlDoc::loadString(text, name);
  return loadFrom(doc, dir, std::filesystem::path(name).stem().string(), text);
}

config::Run loadPoint(const Sweep& s, const std::vector<std::string>& overrides) {
  if (!s.basePath.empty()) return flow::load(s.basePath, overrides);
  return flow::loadText(s.baseText, s.baseName, overrides, s.dir);
}

std::string baseDir(const Sweep& s) {
  return s.basePath.empty() ? s.dir : std::filesystem::path(s.basePath).parent_path().string();
}

json yamlToJson(const YAML::Node& n) { return toJson(n); }

std::vector<std::string> sweepErrors(const Sweep& s, const Point& p, const LoadError& e) {
  static const std::string kFromSet = " (from --set): ";
  std::vector<std::string> out;
  for (const auto& m : e.messages()) {
    size_t at = m.find(kFromSet);
    if (at == std::string::npos) {
      // A problem of the base config itself (located in it): the sweep file's problem.
      const std::string& b = s.baseName;
      if (!b.empty() && m.size() > b.size() && m.compare(0, b.size(), b) == 0 &&
          (m[b.size()] == ':' || m[b.size()] == ' ')) {
        out.push_back(m);
        continue;
      }
      // Malformed override text is reported as "--set <assignment>: ...".
      for (const auto& a : p.set)
        if (m.rfind("--set " + a.key, 0) == 0) out.push_back(a.where + ": " + a.label + ": " + m);
      continue;
    }
    const std::string rest = m.substr(at + kFromSet.size());
    const std::string kp = rest.substr(0, rest.find(": "));
    const Assignment* best = nullptr;
    for (const auto& a : p.set)
      if ((kp == a.column || kp.rfind(a.column + ".", 0) == 0 || a.column.rfind(kp + ".", 0) == 0) &&
          (!best || a.column.size() > best->column.size()))
        best = &a;
    if (best)
      out.push_back(best->where + ": " + best->label + " = " + best->value + ": " + rest);
    else
      out.push_back(m);
  }
  return out;
}

} // namespace mpsim::sweep
