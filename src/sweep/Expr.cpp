#include "mpsim/sweep/Expr.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <stdexcept>

namespace mpsim::sweep {

using nlohmann::json;

namespace {

/// Greedy lookup: at each level the longest run of the remaining components that names a key.
template <class J> const J* findFrom(const J& node, const PathKeys& p, size_t i) {
  if (i == p.size()) return &node;
  if (node.is_object()) {
    const std::vector<std::string>& runs = p.runs(i);
    for (size_t n = runs.size(); n-- > 0;) {
      auto it = node.find(runs[n]);
      if (it == node.end()) continue;
      if (const J* r = findFrom(*it, p, i + n + 1)) return r;
    }
    return nullptr;
  }
  if (node.is_array()) {
    const std::string& part = p.runs(i)[0];
    if (part.empty() || !std::all_of(part.begin(), part.end(), [](char c) { return std::isdigit((unsigned char)c); }))
      return nullptr;
    if (part.size() > 9) return nullptr; // no list is that long
    const size_t idx = size_t(std::strtoull(part.c_str(), nullptr, 10));
    return idx < node.size() ? findFrom(node[idx], p, i + 1) : nullptr;
  }
  return nullptr;
}

} // namespace

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

PathKeys::PathKeys(const std::string& path) {
  const std::vector<std::string> parts = splitPath(path);
  m_runs.resize(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string key;
    for (size_t k = i; k < parts.size(); ++k) {
      key += (k == i ? "" : ".") + parts[k];
      m_runs[i].push_back(key);
    }
  }
}

const json* findPath(const json& doc, const PathKeys& path) { return findFrom(doc, path, 0); }
const nlohmann::ordered_json* findPath(const nlohmann::ordered_json& doc, const PathKeys& path) {
  return findFrom(doc, path, 0);
}
const json* findPath(const json& doc, const std::string& path) { return findPath(doc, PathKeys(path)); }
const nlohmann::ordered_json* findPath(const nlohmann::ordered_json& doc, const std::string& path) {
  return findPath(doc, PathKeys(path));
}

struct Expr::Node {
  enum Kind { Number, String, Bool, Path, Not, Neg, Binary } kind;
  double num = 0;
  std::string str; // String value, Path, or the Binary operator
  std::shared_ptr<const Node> a, b;
};

namespace {

using NodeP = std::shared_ptr<const Expr::Node>;

/// A value during evaluation.
struct Value {
  enum Kind { Num, Str, Bool } kind = Num;
  double num = 0;
  std::string str;
  bool b = false;
};

/// Nesting limit of an expression (parentheses, not, unary minus): deeper is an error, not a stack overflow.
constexpr int kMaxExprDepth = 64;
constexpr size_t kMaxExprChars = 4096;

struct Parser {
  const std::string& s;
  size_t i = 0;
  int depth = 0;

  /// Counts one level of nesting for the lifetime of the guard.
  struct Nest {
    Parser& p;
    explicit Nest(Parser& parser) : p(parser) {
      if (++p.depth > kMaxExprDepth) p.fail("nested deeper than " + std::to_string(kMaxExprDepth) + " levels");
    }
    ~Nest() { --p.depth; }
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument(what + " at column " + std::to_string(i + 1));
  }
  void skip() {
    while (i < s.size() && std::isspace((unsigned char)s[i])) ++i;
  }
  bool eat(const std::string& tok) {
    skip();
    if (s.compare(i, tok.size(), tok) != 0) return false;
    // Word operators need a word boundary.
    if (std::isalpha((unsigned char)tok[0]) && i + tok.size() < s.size() &&
        (std::isalnum((unsigned char)s[i + tok.size()]) || s[i + tok.size()] == '_' || s[i + tok.size()] == '.'))
      return false;
    i += tok.size();
    return true;
  }
  static NodeP bin(const std::string& op, NodeP a, NodeP b) {
    auto n = std::make_shared<Expr::Node>();
    n->kind = Expr::Node::Binary;
    n->str = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }
  NodeP parseOr() {
    Nest nest(*this);
    NodeP a = parseAnd();
    while (eat("or") || eat("||")) a = bin("or", a, parseAnd());
    return a;
  }
  NodeP parseAnd() {
    NodeP a = parseNot();
    while (eat("and") || eat("&&")) a = bin("and", a, parseNot());
    return a;
  }
  NodeP parseNot() {
    skip();
    if (s.compare(i, 2, "!=") != 0 && (eat("not") || eat("!"))) {
      Nest nest(*this);
      auto n = std::make_shared<Expr::Node>();
      n->kind = Expr::Node::Not;
      n->a = parseNot();
      return n;
    }
    return parseCmp();
  }
  NodeP parseCmp() {
    NodeP a = parseSum();
    for (const char* op : {"<=", ">=", "==", "!=", "<", ">"})
      if (eat(op)) return bin(op, a, parseSum());
    return a;
  }
  NodeP parseSum() {
    NodeP a = parseProd();
    for (;;) {
      if (eat("+"))
        a = bin("+", a, parseProd());
      else if (eat("-"))
        a = bin("-", a, parseProd());
      else
        return a;
    }
  }
  NodeP parseProd() {
    NodeP a = parseUnary();
    for (;;) {
      if (eat("*"))
        a = bin("*", a, parseUnary());
      else if (eat("/"))
        a = bin("/", a, parseUnary());
      else
        return a;
    }
  }
  NodeP parseUnary() {
    if (eat("-")) {
      Nest nest(*this);
      auto n = std::make_shared<Expr::Node>();
      n->kind = Expr::Node::Neg;
      n->a = parseUnary();
      return n;
    }
    return parseAtom();
  }
  NodeP parseAtom() {
    skip();
    if (i >= s.size()) fail("expected a value, a path or '('");
    auto n = std::make_shared<Expr::Node>();
    const char c = s[i];
    if (c == '(') {
      ++i;
      NodeP e = parseOr();
      if (!eat(")")) fail("expected ')'");
      return e;
    }
    if (c == '\'' || c == '"') {
      size_t end = s.find(c, i + 1);
      if (end == std::string::npos) fail("unterminated string");
      n->kind = Expr::Node::String;
      n->str = s.substr(i + 1, end - i - 1);
      i = end + 1;
      return n;
    }
    if (std::isdigit((unsigned char)c) || c == '.') {
      const char* begin = s.c_str() + i;
      char* end = nullptr;
      n->kind = Expr::Node::Number;
      n->num = std::strtod(begin, &end);
      if (end == begin) fail("malformed number");
      i += size_t(end - begin);
      return n;
    }
    if (std::isalpha((unsigned char)c) || c == '_') {
      size_t start = i;
      while (i < s.size() && (std::isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.')) ++i;
      std::string word = s.substr(start, i - start);
      if (word.back() == '.') fail("a path may not end with '.'");
      if (word == "true" || word == "false") {
        n->kind = Expr::Node::Bool;
        n->num = word == "true";
      } else if (word == "and" || word == "or" || word == "not") {
        i = start;
        fail("expected a value before '" + word + "'");
      } else {
        n->kind = Expr::Node::Path;
        n->str = word;
      }
      return n;
    }
    fail(std::string("unexpected '") + c + "'");
  }
};

Value fromJson(const json& j, const std::string& path) {
  Value v;
  if (j.is_boolean()) {
    v.kind = Value::Bool;
    v.b = j.get<bool>();
  } else if (j.is_number()) {
    v.num = j.get<double>();
  } else if (j.is_string()) {
    v.kind = Value::Str;
    v.str = j.get<std::string>();
  } else {
    throw std::runtime_error("'" + path + "' is " + (j.is_null() ? "null" : "a list or mapping") +
                             ", not a number, string or boolean");
  }
  return v;
}

bool truth(const Value& v, const std::string& what) {
  if (v.kind == Value::Bool) return v.b;
  throw std::runtime_error(what + " is not true or false");
}

Value eval(const Expr::Node& n, const json& doc) {
  Value v;
  switch (n.kind) {
  case Expr::Node::Number: v.num = n.num; return v;
  case Expr::Node::String: v.kind = Value::Str, v.str = n.str; return v;
  case Expr::Node::Bool: v.kind = Value::Bool, v.b = n.num != 0; return v;
  case Expr::Node::Path: {
    const json* j = findPath(doc, n.str);
    if (!j) throw std::runtime_error("no value at '" + n.str + "'");
    return fromJson(*j, n.str);
  }
  case Expr::Node::Not: v.kind = Value::Bool, v.b = !truth(eval(*n.a, doc), "the operand of 'not'"); return v;
  case Expr::Node::Neg: {
    Value a = eval(*n.a, doc);
    if (a.kind != Value::Num) throw std::runtime_error("'-' needs a number");
    a.num = -a.num;
    return a;
  }
  case Expr::Node::Binary: break;
  }
  const std::string& op = n.str;
  if (op == "and" || op == "or") {
    const bool a = truth(eval(*n.a, doc), "the left side of '" + op + "'");
    v.kind = Value::Bool;
    if (op == "and" && !a) return v;
    if (op == "or" && a) return v.b = true, v;
    v.b = truth(eval(*n.b, doc), "the right side of '" + op + "'");
    return v;
  }
  const Value a = eval(*n.a, doc), b = eval(*n.b, doc);
  if (a.kind != b.kind) throw std::runtime_error("'" + op + "' compares values of different types");
  if (op == "==" || op == "!=") {
    bool eq = a.kind == Value::Num ? a.num == b.num : a.kind == Value::Str ? a.str == b.str : a.b == b.b;
    v.kind = Value::Bool;
    v.b = op == "==" ? eq : !eq;
    return v;
  }
  if (a.kind != Value::Num) throw std::runtime_error("'" + op + "' needs numbers");
  if (op == "+") return v.num = a.num + b.num, v;
  if (op == "-") return v.num = a.num - b.num, v;
  if (op == "*") return v.num = a.num * b.num, v;
  if (op == "/") return v.num = a.num / b.num, v;
  v.kind = Value::Bool;
  v.b = op == "<" ? a.num < b.num : op == "<=" ? a.num <= b.num : op == ">" ? a.num > b.num : a.num >= b.num;
  return v;
}

void collectPaths(const Expr::Node& n, std::vector<std::string>& out) {
  if (n.kind == Expr::Node::Path) out.push_back(n.str);
  if (n.a) collectPaths(*n.a, out);
  if (n.b) collectPaths(*n.b, out);
}

} // namespace

Expr Expr::parse(const std::string& text) {
  // Long chains (a and b and ...) nest as deep as they are long when evaluated.
  if (text.size() > kMaxExprChars)
    throw std::invalid_argument("longer than " + std::to_string(kMaxExprChars) + " characters");
  Parser p{text};
  Expr e;
  e.m_text = text;
  e.m_root = p.parseOr();
  p.skip();
  if (p.i != text.size()) p.fail("unexpected '" + text.substr(p.i, 1) + "'");
  return e;
}

bool Expr::test(const json& doc) const { return truth(eval(*m_root, doc), "'" + m_text + "'"); }

std::vector<std::string> Expr::paths() const {
  std::vector<std::string> out;
  collectPaths(*m_root, out);
  return out;
}

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> k = {
      {"fps", "summary.fps", "REAL", "frames/s"},
      {"cycles_per_frame", "summary.cycles_per_frame", "INTEGER", "cycles"},
      {"clock_mhz", "summary.clock_mhz", "REAL", "MHz"},
      {"latency_cycles", "summary.latency_cycles", "INTEGER", "cycles"},
      {"latency_us", "summary.latency_us", "REAL", "us"},
      {"ops_per_s", "summary.ops_per_s", "REAL", "ops/s (2 per MAC)"},
      {"frames_done", "summary.frames_done", "INTEGER", "frames"},
      {"steady_state", "summary.steady_state", "INTEGER", "bool"},
      {"predicted_fps", "summary.predicted.fps", "REAL", "frames/s (closed form)"},
      {"bottleneck", "summary.bottleneck", "TEXT", "engine or layer"},
      {"lut", "resources.total.lut", "REAL", "LUT"},
      {"ff", "resources.total.ff", "REAL", "FF"},
      {"dsp", "resources.total.dsp", "REAL", "DSP"},
      {"bram18", "resources.total.bram18", "REAL", "BRAM18"},
      {"uram", "resources.total.uram", "REAL", "URAM"},
      {"util_lut", "resources.utilization.lut", "REAL", "fraction of the device"},
      {"util_ff", "resources.utilization.ff", "REAL", "fraction of the device"},
      {"util_dsp", "resources.utilization.dsp", "REAL", "fraction of the device"},
      {"util_bram18", "resources.utilization.bram18", "REAL", "fraction of the device"},
      {"util_uram", "resources.utilization.uram", "REAL", "fraction of the device"},
      {"fits", "resources.fits", "INTEGER", "bool"},
      {"fits_upper", "resources.fits_upper", "INTEGER", "bool (also at the upper bound of the interval)"},
      {"dram_read_bytes_per_frame", "dram.read_bytes_per_frame", "REAL", "bytes"},
      {"dram_write_bytes_per_frame", "dram.write_bytes_per_frame", "REAL", "bytes"},
      {"dram_gbps", "dram.achieved_gbps", "REAL", "GB/s"},
      {"dram_utilization", "dram.utilization", "REAL", "fraction of peak"},
      {"weights", "params.weights", "INTEGER", "weights"},
      {"weight_bits", "params.weight_bits", "INTEGER", "bits"},
      {"weight_bytes", "params.weight_bytes", "INTEGER", "bytes"},
      {"reduction", "params.reduction", "REAL", "x vs FP32"},
  };
  return k;
}

const Metric* findMetric(const std::string& name) {
  for (const auto& m : metrics())
    if (name == m.column || name == m.path) return &m;
  return nullptr;
}

Objective parseObjective(const std::string& text) {
  Objective o;
  o.text = text;
  const size_t colon = text.find(':');
  const std::string dir = colon == std::string::npos ? "" : text.substr(0, colon);
  if (dir != "max" && dir != "min")
    throw std::invalid_argument("objective '" + text + "': expected max:<metric> or min:<metric>");
  o.maximize = dir == "max";
  const Metric* m = findMetric(text.substr(colon + 1));
  if (!m || std::string(m->type) == "TEXT") {
    std::string valid;
    for (const auto& x : metrics())
      if (std::string(x.type) != "TEXT") valid += (valid.empty() ? "" : ", ") + std::string(x.column);
    throw std::invalid_argument("objective '" + text + "': unknown metric '" + text.substr(colon + 1) +
                                "'; valid: " + valid + " (or their report paths, e.g. summary.fps)");
  }
  o.metric = m->column;
  return o;
}

std::vector<size_t> paretoFront(const std::vector<std::vector<double>>& values, const std::vector<Objective>& objs) {
  ParetoSet set(objs);
  for (size_t i = 0; i < values.size(); ++i) set.add(int64_t(i), values[i]);
  std::vector<size_t> front;
  for (int64_t r : set.rows()) front.push_back(size_t(r));
  return front;
}

bool ParetoSet::dominates(const std::vector<double>& a, const std::vector<double>& b) const {
  // Scores oriented so that larger is better.
  bool gtOne = false;
  for (size_t k = 0; k < m_objs.size(); ++k) {
    const double x = m_objs[k].maximize ? a[k] : -a[k], y = m_objs[k].maximize ? b[k] : -b[k];
    if (!(x >= y)) return false;
    gtOne = gtOne || x > y;
  }
  return gtOne;
}

void ParetoSet::add(int64_t row, const std::vector<double>& values) {
  for (const auto& f : m_front)
    if (dominates(f.second, values)) return;
  // Dominance is transitive: what the new row dominates is off the front, nothing else.
  m_front.erase(std::remove_if(m_front.begin(), m_front.end(), [&](const auto& f) { return dominates(values, f.second); }),
                m_front.end());
  m_front.emplace_back(row, values);
}

std::vector<int64_t> ParetoSet::rows() const {
  std::vector<int64_t> out;
  for (const auto& f : m_front) out.push_back(f.first);
  std::sort(out.begin(), out.end());
  return out;
}

void TopK::add(int64_t row, double value) {
  auto better = [&](double a, double b) { return m_obj.maximize ? a > b : a < b; };
  size_t at = m_best.size(); // after every row at least as good (the earlier of ties first)
  while (at > 0 && better(value, m_best[at - 1].second)) --at;
  if (at >= m_k) return;
  m_best.insert(m_best.begin() + long(at), {row, value});
  if (m_best.size() > m_k) m_best.pop_back();
}

std::vector<int64_t> TopK::rows() const {
  std::vector<int64_t> out;
  for (const auto& b : m_best) out.push_back(b.first);
  return out;
}

} // namespace mpsim::sweep
