#pragma once
// Strict, located YAML reading. A Reader is a view on one mapping at a key path ("hardware.dram").
// Every value read is checked for type and range; every problem is recorded with file:line:col and
// the key path; finish() reports keys nobody read (unknown keys are errors). Defaults applied by
// get() are returned, not written into the tree (the effective config is written from the parsed
// structs, config::effectiveConfig).
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "mpsim/common/EnumNames.hpp"
#include "mpsim/common/Error.hpp"

namespace mpsim::io {

/// Nesting limit of a YAML document (mappings and lists): deeper documents are errors.
inline constexpr int kMaxYamlDepth = 64;
/// Node limit of a YAML document with its aliases expanded.
inline constexpr int64_t kMaxYamlNodes = 2000000;

/// A loaded YAML document with its diagnostics.
struct YamlDoc {
  std::string file;
  YAML::Node root;
  Diagnostics diag;

  /// Throws LoadError naming the file when it cannot be read, is not a regular file of at most
  /// kMaxConfigBytes, is not valid YAML (with line:col), repeats a key in a mapping or nests deeper
  /// than kMaxYamlDepth.
  static std::shared_ptr<YamlDoc> loadFile(const std::string& path);
  static std::shared_ptr<YamlDoc> loadString(const std::string& text, const std::string& name);
};

/// "file:line:col" of a node (1-based), or "file (from --set)" for nodes without a source mark
/// (--set values are rebuilt without marks by applyOverride; sections and defaults created by the
/// Reader are located by the Reader itself, see Reader::where()).
std::string locate(const std::string& file, const YAML::Node& node);

/// A number as written by a person: the shortest text that reads back to the same double
/// ("19.2", "5000", "0.75", "-3"), for messages and for defaults written into the effective config.
std::string formatNumber(double v);

/// A number as a YAML scalar in the project's one number format (formatNumber).
inline YAML::Node numberNode(double v) { return YAML::Node(formatNumber(v)); }

template <class T> using Check = std::function<std::string(const T&)>; // "" when valid, else what is valid

Check<int64_t> inRange(int64_t lo, int64_t hi);
Check<int> inRangeInt(int lo, int hi);
/// A number in [lo, hi]; `unit` names it in the message ("value 5 MHz is outside 1..2").
Check<double> between(double lo, double hi, const std::string& unit = "");
Check<double> positive();
Check<double> nonNegative();
Check<std::string> oneOf(std::vector<std::string> values);

class Reader {
public:
  Reader(std::shared_ptr<YamlDoc> doc, YAML::Node node, std::string path);
  /// Reader on the document root.
  explicit Reader(std::shared_ptr<YamlDoc> doc) : Reader(doc, doc->root, "") {}

  const std::string& path() const { return m_path; }
  std::string keyPath(const std::string& key) const { return m_path.empty() ? key : m_path + "." + key; }
  bool has(const std::string& key) const;
  /// The node of `key`, or an undefined node when absent (never yaml-cpp's invalid node, whose
  /// every query throws).
  YAML::Node raw(const std::string& key) const { return has(key) ? YAML::Node(m_node[key]) : YAML::Node(); }
  YAML::Node node() const { return m_node; }
  /// Location of `key` (of its key node when present, else of this mapping).
  std::string where(const std::string& key) const;
  /// Location of this mapping. A section the file does not have (created empty by child()) is
  /// located at its parent (or just the file name below the top level), not as "(from --set)".
  std::string where() const;

  template <class T> std::optional<T> opt(const std::string& key, Check<T> check = {});
  template <class T> T get(const std::string& key, const T& def, Check<T> check = {});
  /// get() of a key the caller knows is absent (e.g. not among keys() before it read any): the
  /// default, marked as read, without searching the mapping.
  template <class T> T absent(const std::string& key, const T& def);
  template <class T> T req(const std::string& key, Check<T> check = {});
  /// A list of scalars.
  template <class T> std::optional<std::vector<T>> optList(const std::string& key, Check<T> check = {});
  /// An enum by its name table (common/EnumNames.hpp): unknown names are errors listing the valid ones.
  template <class E, size_t N> std::optional<E> optEnum(const std::string& key, const EnumName<E> (&table)[N]) {
    auto s = opt<std::string>(key, oneOf(enumNames(table)));
    return s ? parseEnum(table, *s) : std::nullopt;
  }
  template <class E, size_t N> E getEnum(const std::string& key, E def, const EnumName<E> (&table)[N]) {
    return optEnum(key, table).value_or(def); // absent or invalid (the error is recorded): the default
  }
  template <class E, size_t N>
  std::optional<std::vector<E>> optEnumList(const std::string& key, const EnumName<E> (&table)[N]) {
    auto v = optList<std::string>(key, oneOf(enumNames(table)));
    if (!v) return std::nullopt;
    std::vector<E> out;
    for (const auto& s : *v) out.push_back(*parseEnum(table, s));
    return out;
  }

  /// Child mapping. When absent it is created empty (so defaults written into it show up in the
  /// effective config). Records an error if the key holds something other than a mapping.
  Reader child(const std::string& key);
  /// Keys of this mapping in document order.
  std::vector<std::string> keys() const;
  /// Marks a key as known without reading it (for keys read by another component or absent
  /// optional keys); it is listed among the valid keys of "unknown key" errors.
  void accept(const std::string& key) {
    m_used.insert(key);
    m_known.push_back(key);
  }

  void error(const std::string& key, const std::string& message) const;
  void errorHere(const std::string& message) const;
  /// Records an "unknown key" error for every key not read or accepted, listing the valid ones.
  void finish() const;

  std::shared_ptr<YamlDoc> doc() const { return m_doc; }
  Diagnostics& diag() const { return m_doc->diag; }

private:
  template <class T> std::optional<T> convert(const std::string& key, const YAML::Node& n) const;

  std::shared_ptr<YamlDoc> m_doc;
  YAML::Node m_node;
  std::string m_path;
  std::string m_where; // location used by where() for sections created by child(); "" otherwise
  mutable std::set<std::string> m_used;
  mutable std::vector<std::string> m_known; // keys asked for, in order, for "valid keys are" hints
};

// ---- template implementations ----
template <> std::optional<int64_t> Reader::convert<int64_t>(const std::string&, const YAML::Node&) const;
template <> std::optional<int> Reader::convert<int>(const std::string&, const YAML::Node&) const;
template <> std::optional<double> Reader::convert<double>(const std::string&, const YAML::Node&) const;
template <> std::optional<bool> Reader::convert<bool>(const std::string&, const YAML::Node&) const;
template <> std::optional<std::string> Reader::convert<std::string>(const std::string&, const YAML::Node&) const;

template <class T> std::optional<T> Reader::opt(const std::string& key, Check<T> check) {
  m_used.insert(key);
  m_known.push_back(key);
  if (!has(key)) return std::nullopt;
  auto v = convert<T>(key, m_node[key]);
  if (v && check) {
    std::string problem = check(*v);
    if (!problem.empty()) {
      error(key, problem);
      return std::nullopt;
    }
  }
  return v;
}

template <class T> T Reader::get(const std::string& key, const T& def, Check<T> check) {
  if (has(key)) {
    auto v = opt<T>(key, check);
    return v ? *v : def;
  }
  return absent(key, def);
}

template <class T> T Reader::absent(const std::string& key, const T& def) {
  m_used.insert(key);
  m_known.push_back(key);
  return def;
}

template <class T> T Reader::req(const std::string& key, Check<T> check) {
  bool present = has(key);
  auto v = opt<T>(key, check);
  if (!present) errorHere("missing required key '" + keyPath(key) + "'");
  return v ? *v : T{};
}

template <class T> std::optional<std::vector<T>> Reader::optList(const std::string& key, Check<T> check) {
  m_used.insert(key);
  m_known.push_back(key);
  if (!has(key)) return std::nullopt;
  YAML::Node n = m_node[key];
  if (!n.IsSequence()) {
    error(key, "expected a list");
    return std::nullopt;
  }
  std::vector<T> out;
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    auto v = convert<T>(key + "[" + std::to_string(i) + "]", n[i]);
    if (v && check) {
      std::string problem = check(*v);
      if (!problem.empty()) {
        error(key, "element " + std::to_string(i) + ": " + problem);
        v.reset();
      }
    }
    if (!v)
      ok = false;
    else
      out.push_back(*v);
  }
  if (!ok) return std::nullopt;
  return out;
}

} // namespace mpsim::io
