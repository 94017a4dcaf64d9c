#include "mpsim/io/YamlEmit.hpp"

namespace mpsim::io {

namespace {

/// Scalars yaml-cpp writes plain, as they are: letters, digits and `_ . / + -`, not a null
/// ("null", "Null", "NULL") and not a lone "-"; short enough to be a simple key.
bool plainAsIs(const std::string& s) {
  if (s.empty() || s.size() > 1000 || s == "-" || s == "null" || s == "Null" || s == "NULL") return false;
  for (unsigned char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '/' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

class Writer {
public:
  std::string out;

  bool scalar(const YAML::Node& n) {
    if (n.IsNull()) {
      out += '~';
      return true;
    }
    if (!n.IsScalar() || !n.Tag().empty()) return false;
    const std::string& s = n.Scalar();
    if (s.empty()) {
      out += "\"\"";
      return true;
    }
    if (!plainAsIs(s)) return false;
    out += s;
    return true;
  }

  bool flow(const YAML::Node& n) {
    if (n.IsMap()) {
      out += '{';
      bool first = true;
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!first) out += ", ";
        first = false;
        const YAML::Node k = it->first, v = it->second;
        if (!k.IsScalar() || !scalar(k)) return false;
        out += ": ";
        if (!flow(v)) return false;
      }
      out += '}';
      return true;
    }
    if (n.IsSequence()) {
      out += '[';
      bool first = true;
      for (const auto& e : n) {
        if (first && (e.IsMap() || e.IsSequence())) return false; // yaml-cpp writes "[ {" here
        if (!first) out += ", ";
        first = false;
        if (!flow(e)) return false;
      }
      out += ']';
      return true;
    }
    return scalar(n);
  }

  static bool isFlow(const YAML::Node& n) { return n.Style() == YAML::EmitterStyle::Flow; }

  void newline(int indent) {
    out += '\n';
    out.append(size_t(indent), ' ');
  }

  /// A non-empty block mapping whose first key goes where the text is now, at column `indent`.
  bool blockMap(const YAML::Node& n, int indent) {
    bool first = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!first) newline(indent);
      first = false;
      const YAML::Node k = it->first, v = it->second;
      if (!k.IsScalar() || !scalar(k)) return false;
      if (v.IsScalar() || v.IsNull() || ((v.IsMap() || v.IsSequence()) && isFlow(v))) {
        out += ": ";
        if (!flow(v)) return false;
      } else if (v.IsMap() || v.IsSequence()) {
        out += ':';
        newline(indent + 2);
        if (v.size() == 0)
          out += v.IsMap() ? "{}" : "[]";
        else if (!(v.IsMap() ? blockMap(v, indent + 2) : blockSeq(v, indent + 2)))
          return false;
      } else {
        return false;
      }
    }
    return true;
  }

  /// A non-empty block sequence whose first "- " goes where the text is now, at column `indent`.
  bool blockSeq(const YAML::Node& n, int indent) {
    bool first = true;
    for (const auto& e : n) {
      if (!first) newline(indent);
      first = false;
      out += "- ";
      if (e.IsScalar() || e.IsNull() || ((e.IsMap() || e.IsSequence()) && isFlow(e))) {
        if (!flow(e)) return false;
      } else if (e.IsMap() && e.size() > 0) {
        if (!blockMap(e, indent + 2)) return false;
      } else {
        return false; // a block sequence or an empty block mapping in a sequence: yaml-cpp's layout
      }
    }
    return true;
  }

  bool top(const YAML::Node& n) {
    if ((n.IsMap() || n.IsSequence()) && !isFlow(n) && n.size() > 0)
      return n.IsMap() ? blockMap(n, 0) : blockSeq(n, 0);
    if (n.IsMap() && n.size() == 0) {
      out += "{}";
      return true;
    }
    if (n.IsNull() || (n.IsSequence() && n.size() == 0)) return false;
    return flow(n);
  }
};

} // namespace

std::optional<std::string> emitYamlDirect(const YAML::Node& node) {
  Writer w;
  if (!w.top(node)) return std::nullopt;
  return std::move(w.out);
}

std::string emitYaml(const YAML::Node& node) {
  if (auto s = emitYamlDirect(node)) return std::move(*s);
  YAML::Emitter em;
  em << node;
  return em.c_str();
}

} // namespace mpsim::io
