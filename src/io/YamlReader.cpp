#include "mpsim/io/YamlReader.hpp"

#include "mpsim/common/FileIo.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mpsim::io {

std::shared_ptr<YamlDoc> YamlDoc::loadFile(const std::string& path) {
  return loadString(readFileLimited(path, kMaxConfigBytes, "YAML"), path);
}

namespace {
// yaml-cpp keeps every pair of a mapping with a repeated key and lookups see the first: a repeated
// key is an error (as in YAML 1.2), reported at the second occurrence.
void checkDuplicateKeys(const std::string& file, const YAML::Node& n, const std::string& path, Diagnostics& diag,
                        int depth, int64_t& budget) {
  // Aliases let a small file name a huge tree ("billion laughs"): bound the nodes visited.
  if (--budget < 0) {
    if (budget == -1)
      diag.error(file + ": the document expands to more than " + std::to_string(kMaxYamlNodes) +
                 " nodes (through aliases?); not a config mpsim reads");
    return;
  }
  if (depth > kMaxYamlDepth) {
    diag.error(locate(file, n) + ": " + (path.empty() ? std::string("(top level)") : path) + ": nested deeper than " +
               std::to_string(kMaxYamlDepth) + " levels");
    return;
  }
  if (n.IsMap()) {
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
      std::string kp = path.empty() ? k : path + "." + k;
      if (it->first.IsScalar() && !seen.insert(k).second)
        diag.error(locate(file, it->first) + ": " + kp + ": duplicate key (each key may appear once in a mapping)");
      checkDuplicateKeys(file, it->second, kp, diag, depth + 1, budget);
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i)
      checkDuplicateKeys(file, n[i], path + "[" + std::to_string(i) + "]", diag, depth + 1, budget);
  }
}
} // namespace

std::shared_ptr<YamlDoc> YamlDoc::loadString(const std::string& text, const std::string& name) {
  auto doc = std::make_shared<YamlDoc>();
  doc->file = name;
  try {
    doc->root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) throw LoadError(name + ": malformed YAML: " + e.msg);
    throw LoadError(name + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                    ": malformed YAML: " + e.msg);
  }
  if (doc->root.IsNull()) doc->root = YAML::Node(YAML::NodeType::Map);
  if (!doc->root.IsMap()) throw LoadError(locate(name, doc->root) + ": expected a mapping at the top level");
  Diagnostics dup;
  int64_t budget = kMaxYamlNodes;
  checkDuplicateKeys(name, doc->root, "", dup, 0, budget);
  dup.throwIfAny();
  return doc;
}

std::string locate(const std::string& file, const YAML::Node& node) {
  if (!node.IsDefined()) return file;
  const YAML::Mark m = node.Mark();
  if (m.line < 0) return file + " (from --set)";
  return file + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

std::string formatNumber(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v); // shortest text that round-trips
  if (res.ec != std::errc()) return std::to_string(v);
  return std::string(buf, res.ptr);
}

Check<int64_t> inRange(int64_t lo, int64_t hi) {
  return [lo, hi](const int64_t& v) {
    return (v < lo || v > hi) ? "value " + std::to_string(v) + " is out of range; valid: " + std::to_string(lo) + ".." +
                                    std::to_string(hi)
                              : std::string();
  };
}

Check<int> inRangeInt(int lo, int hi) {
  return [lo, hi](const int& v) {
    return (v < lo || v > hi) ? "value " + std::to_string(v) + " is out of range; valid: " + std::to_string(lo) + ".." +
                                    std::to_string(hi)
                              : std::string();
  };
}

Check<double> between(double lo, double hi, const std::string& unit) {
  return [lo, hi, unit](const double& v) {
    return (v >= lo && v <= hi) ? std::string()
                                : "value " + formatNumber(v) + (unit.empty() ? "" : " " + unit) + " is outside " +
                                      formatNumber(lo) + ".." + formatNumber(hi);
  };
}

Check<double> positive() {
  return [](const double& v) {
    return (!(v > 0) || !std::isfinite(v)) ? "value " + formatNumber(v) + " must be a positive number" : std::string();
  };
}

Check<double> nonNegative() {
  return [](const double& v) {
    return (!(v >= 0) || !std::isfinite(v)) ? "value " + formatNumber(v) + " must be zero or positive" : std::string();
  };
}

Check<std::string> oneOf(std::vector<std::string> values) {
  return [values](const std::string& v) {
    for (const auto& x : values)
      if (x == v) return std::string();
    std::string list;
    for (const auto& x : values) list += (list.empty() ? "" : ", ") + x;
    return "'" + v + "' is not valid; valid: " + list;
  };
}

Reader::Reader(std::shared_ptr<YamlDoc> doc, YAML::Node node, std::string path)
    : m_doc(std::move(doc)), m_node(node), m_path(std::move(path)) {}

bool Reader::has(const std::string& key) const {
  if (!m_node.IsMap()) return false;
  for (auto it = m_node.begin(); it != m_node.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return true;
  return false;
}

std::string Reader::where(const std::string& key) const {
  if (m_node.IsMap())
    for (auto it = m_node.begin(); it != m_node.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() == key) return locate(m_doc->file, it->first);
  return where();
}

std::string Reader::where() const {
  if (!m_where.empty()) return m_where;
  return locate(m_doc->file, m_node);
}

void Reader::error(const std::string& key, const std::string& message) const {
  m_doc->diag.error(where(key) + ": " + keyPath(key) + ": " + message);
}

void Reader::errorHere(const std::string& message) const {
  m_doc->diag.error(where() + ": " + (m_path.empty() ? std::string("(top level)") : m_path) + ": " + message);
}

namespace {
const char* typeName(const YAML::Node& n) {
  switch (n.Type()) {
  case YAML::NodeType::Map: return "a mapping";
  case YAML::NodeType::Sequence: return "a list";
  case YAML::NodeType::Null: return "nothing";
  default: return "a scalar";
  }
}
} // namespace

template <> std::optional<int64_t> Reader::convert<int64_t>(const std::string& key, const YAML::Node& n) const {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == '\0' && errno == 0) return int64_t(v);
    error(key, "expected an integer, got '" + s + "'");
  } else {
    error(key, std::string("expected an integer, got ") + typeName(n));
  }
  return std::nullopt;
}

template <> std::optional<int> Reader::convert<int>(const std::string& key, const YAML::Node& n) const {
  auto v = convert<int64_t>(key, n);
  if (!v) return std::nullopt;
  if (*v < INT32_MIN || *v > INT32_MAX) {
    error(key, "integer " + std::to_string(*v) + " is too large");
    return std::nullopt;
  }
  return int(*v);
}

template <> std::optional<double> Reader::convert<double>(const std::string& key, const YAML::Node& n) const {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(v)) return v;
    error(key, "expected a number, got '" + s + "'");
  } else {
    error(key, std::string("expected a number, got ") + typeName(n));
  }
  return std::nullopt;
}

template <> std::optional<bool> Reader::convert<bool>(const std::string& key, const YAML::Node& n) const {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    error(key, "expected true or false, got '" + s + "'");
  } else {
    error(key, std::string("expected true or false, got ") + typeName(n));
  }
  return std::nullopt;
}

template <> std::optional<std::string> Reader::convert<std::string>(const std::string& key, const YAML::Node& n) const {
  if (n.IsScalar()) return n.Scalar();
  error(key, std::string("expected a string, got ") + typeName(n));
  return std::nullopt;
}

Reader Reader::child(const std::string& key) {
  m_used.insert(key);
  m_known.push_back(key);
  if (!has(key)) {
    // A section the file does not have: read as an empty mapping (every key takes its default). Its
    // problems (a missing required key) are located at this mapping, or just at the
    // file below the top level, never as "(from --set)".
    if (m_node.IsMap()) m_node[key] = YAML::Node(YAML::NodeType::Map);
    Reader r(m_doc, m_node.IsMap() ? m_node[key] : YAML::Node(YAML::NodeType::Map), keyPath(key));
    r.m_where = m_path.empty() ? m_doc->file : where();
    return r;
  }
  YAML::Node n = m_node[key];
  if (n.IsNull()) {
    // "key:" with nothing after it: an empty mapping, located at its key.
    std::string at = where(key);
    m_node[key] = YAML::Node(YAML::NodeType::Map);
    Reader r(m_doc, m_node[key], keyPath(key));
    r.m_where = at;
    return r;
  }
  if (!n.IsMap()) {
    error(key, std::string("expected a mapping, got ") + typeName(n));
    Reader r(m_doc, YAML::Node(YAML::NodeType::Map), keyPath(key)); // read as empty; not written back
    r.m_where = where(key);
    return r;
  }
  return Reader(m_doc, n, keyPath(key));
}

std::vector<std::string> Reader::keys() const {
  std::vector<std::string> out;
  if (m_node.IsMap())
    for (auto it = m_node.begin(); it != m_node.end(); ++it)
      if (it->first.IsScalar()) out.push_back(it->first.Scalar());
  return out;
}

void Reader::finish() const {
  if (!m_node.IsMap()) return;
  for (auto it = m_node.begin(); it != m_node.end(); ++it) {
    std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
    if (m_used.count(k)) continue;
    std::string valid;
    std::set<std::string> seen;
    for (const auto& kk : m_known)
      if (seen.insert(kk).second) valid += (valid.empty() ? "" : ", ") + kk;
    m_doc->diag.error(locate(m_doc->file, it->first) + ": " + keyPath(k) + ": unknown key" +
                      (valid.empty() ? std::string(" (this section takes no keys)") : "; valid keys: " + valid));
  }
}

} // namespace mpsim::io
