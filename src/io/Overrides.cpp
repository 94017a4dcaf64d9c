#include "mpsim/io/Overrides.hpp"

#include <utility>
#include <vector>

#include "mpsim/common/Error.hpp"

namespace mpsim::io {

std::vector<std::string> splitKeyPath(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else if (c == '[' || c == '"') {
      char close = c == '[' ? ']' : '"';
      if (c == '[' && !cur.empty()) { // a.b[c.d] is a.b followed by the component c.d
        parts.push_back(cur);
        cur.clear();
      }
      size_t end = path.find(close, i + 1);
      if (end == std::string::npos)
        throw LoadError("--set " + path + ": unbalanced " + std::string(1, c) + " in key path");
      cur += path.substr(i + 1, end - i - 1);
      i = end;
      if (c == '[' && i + 1 < path.size() && path[i + 1] != '.')
        throw LoadError("--set " + path + ": expected '.' after ']'");
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  for (const auto& p : parts)
    if (p.empty()) throw LoadError("--set " + path + ": empty component in key path");
  // Below `layers`, the layer name may itself contain dots: join all but the last component.
  for (size_t i = 0; i + 2 < parts.size(); ++i) {
    if (parts[i] == "layers" && parts.size() - i > 3) {
      std::string name = parts[i + 1];
      for (size_t j = i + 2; j + 1 < parts.size(); ++j) name += "." + parts[j];
      std::vector<std::string> joined(parts.begin(), parts.begin() + long(i) + 1);
      joined.push_back(name);
      joined.push_back(parts.back());
      return joined;
    }
  }
  return parts;
}

namespace {

/// A deep copy of a node parsed from --set text, without source marks: the marks of YAML::Load
/// point into the --set text, and a node without a mark is located as "file (from --set)".
YAML::Node unmarked(const YAML::Node& n) {
  switch (n.Type()) {
  case YAML::NodeType::Scalar: {
    YAML::Node s(n.Scalar());
    s.SetTag(n.Tag());
    s.SetStyle(n.Style());
    return s;
  }
  case YAML::NodeType::Sequence: {
    YAML::Node s(YAML::NodeType::Sequence);
    for (const auto& e : n) s.push_back(unmarked(e));
    s.SetTag(n.Tag());
    s.SetStyle(n.Style());
    return s;
  }
  case YAML::NodeType::Map: {
    YAML::Node m(YAML::NodeType::Map);
    for (auto it = n.begin(); it != n.end(); ++it) m.force_insert(unmarked(it->first), unmarked(it->second));
    m.SetTag(n.Tag());
    m.SetStyle(n.Style());
    return m;
  }
  default: return YAML::Node(YAML::NodeType::Null);
  }
}

/// Sets map[key] = value with a new key node (no mark), keeping the order of the keys. Assigning
/// to an existing entry would keep the file's key node, and so the file's line:col.
void setFresh(YAML::Node map, const std::string& key, const YAML::Node& value) {
  bool exists = false;
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;
  if (map.IsMap()) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      entries.emplace_back(it->first, it->second);
      if (it->first.IsScalar() && it->first.Scalar() == key) exists = true;
    }
  }
  if (!exists) {
    map[key] = value;
    return;
  }
  for (const auto& [k, v] : entries) map.remove(k);
  for (const auto& [k, v] : entries) {
    if (k.IsScalar() && k.Scalar() == key)
      map.force_insert(YAML::Node(key), value);
    else
      map.force_insert(k, v);
  }
}

} // namespace

void applyOverride(YAML::Node root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw LoadError("--set " + assignment + ": expected key.path=value");
  std::string path = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  auto parts = splitKeyPath(path);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw LoadError("--set " + assignment + ": value is not valid YAML: " + e.msg);
  }
  value = text.empty() ? YAML::Node(std::string()) : unmarked(value);
  YAML::Node cur;
  cur.reset(root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!cur.IsMap() && !cur.IsNull())
      throw LoadError("--set " + assignment + ": '" + parts[i - 1] + "' holds a value, not a mapping");
    YAML::Node next = cur[parts[i]];
    if (!next.IsDefined() || next.IsNull()) {
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next = cur[parts[i]];
    } else if (!next.IsMap()) {
      throw LoadError("--set " + assignment + ": '" + parts[i] + "' holds a value, not a mapping");
    }
    cur.reset(next);
  }
  setFresh(cur, parts.back(), value);
}

void applyOverrides(YAML::Node root, const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) applyOverride(root, a);
}

} // namespace mpsim::io
