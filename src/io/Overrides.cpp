#include "mpsim/io/Overrides.hpp"

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

void applyOverride(YAML::Node root, const std::string& assignment) {
  size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw LoadError("--set " + assignment + ": expected key.path=value");
  std::string path = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  auto parts = splitKeyPath(path);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw LoadError("--set " + assignment + ": value is not valid YAML: " + e.msg);
  }
  if (text.empty()) value = YAML::Node(std::string());
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
  cur[parts.back()] = value;
}

void applyOverrides(YAML::Node root, const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) applyOverride(root, a);
}

} // namespace mpsim::io
