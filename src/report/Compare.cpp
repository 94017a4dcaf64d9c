#include "mpsim/report/Compare.hpp"

#include <algorithm>
#include <cmath>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/io/JsonFile.hpp"

namespace mpsim::report {

namespace {

std::string stripIndices(const std::string& path) {
  std::string out;
  bool skip = false;
  for (char c : path) {
    if (c == '[')
      skip = true;
    else if (c == ']')
      skip = false;
    else if (!skip)
      out += c;
  }
  return out;
}

const Tolerance& toleranceFor(const std::string& path, const CompareOptions& opt) {
  const std::string key = stripIndices(path);
  const Tolerance* best = &opt.defaults;
  size_t bestLen = 0;
  for (const auto& [prefix, tol] : opt.metrics) {
    if (key.compare(0, prefix.size(), prefix) == 0 && (key.size() == prefix.size() || key[prefix.size()] == '.') &&
        prefix.size() >= bestLen) {
      best = &tol;
      bestLen = prefix.size();
    }
  }
  return *best;
}

std::optional<Difference> walk(const nlohmann::json& e, const nlohmann::json& a, const std::string& path,
                               const CompareOptions& opt) {
  auto diff = [&](const std::string& what) {
    return Difference{path.empty() ? "(root)" : path, e.dump(), a.dump(), what};
  };
  if (e.is_number() && a.is_number()) {
    const double x = e.get<double>(), y = a.get<double>();
    const Tolerance& t = toleranceFor(path, opt);
    const double d = std::fabs(x - y);
    if (d <= t.abs || d <= t.rel * std::max(std::fabs(x), std::fabs(y))) return std::nullopt;
    return diff("value");
  }
  if (e.type() != a.type()) return diff("type");
  if (e.is_object()) {
    for (auto it = e.begin(); it != e.end(); ++it) {
      const std::string p = path.empty() ? it.key() : path + "." + it.key();
      if (!a.contains(it.key())) return Difference{p, it.value().dump(), "(absent)", "missing key"};
      if (auto d = walk(it.value(), a.at(it.key()), p, opt)) return d;
    }
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!e.contains(it.key()))
        return Difference{path.empty() ? it.key() : path + "." + it.key(), "(absent)", it.value().dump(), "extra key"};
    return std::nullopt;
  }
  if (e.is_array()) {
    const size_t n = std::min(e.size(), a.size());
    for (size_t i = 0; i < n; ++i)
      if (auto d = walk(e[i], a[i], path + "[" + std::to_string(i) + "]", opt)) return d;
    if (e.size() != a.size())
      return Difference{path, std::to_string(e.size()) + " elements", std::to_string(a.size()) + " elements", "length"};
    return std::nullopt;
  }
  if (e != a) return diff("value");
  return std::nullopt;
}

} // namespace

std::optional<Difference> compareNpy(const std::string& expectedPath, const std::string& actualPath,
                                     const Tolerance& tol) {
  const func::NpyArray e = func::readNpy(expectedPath), a = func::readNpy(actualPath);
  auto shapeStr = [](const std::vector<int64_t>& s) {
    std::string out = "(";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + (s.size() == 1 ? ",)" : ")");
  };
  // Shapes that differ only by dimensions of size 1 ((4,) and (4, 1, 1, 1)) hold the same elements
  // in the same order: compare those.
  auto squeezed = [](std::vector<int64_t> s) {
    s.erase(std::remove(s.begin(), s.end(), int64_t(1)), s.end());
    return s;
  };
  if (e.shape != a.shape && squeezed(e.shape) != squeezed(a.shape))
    return Difference{"(shape)", shapeStr(e.shape), shapeStr(a.shape), "shape"};
  auto index = [&](int64_t flat) {
    std::vector<int64_t> idx(e.shape.size());
    for (size_t d = e.shape.size(); d-- > 0;) {
      idx[d] = flat % e.shape[d];
      flat /= e.shape[d];
    }
    std::string out = "[";
    for (size_t i = 0; i < idx.size(); ++i) out += (i ? ", " : "") + std::to_string(idx[i]);
    return out + "]";
  };
  const bool floating = e.type == func::NpyType::Float32 || e.type == func::NpyType::Float64 ||
                        a.type == func::NpyType::Float32 || a.type == func::NpyType::Float64;
  if (!floating) {
    const auto x = e.toInt64(), y = a.toInt64();
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i] != y[i]) return Difference{index(int64_t(i)), std::to_string(x[i]), std::to_string(y[i]), "value"};
    return std::nullopt;
  }
  const auto x = e.toDouble(), y = a.toDouble();
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = std::fabs(x[i] - y[i]);
    if (!(d <= tol.abs || d <= tol.rel * std::max(std::fabs(x[i]), std::fabs(y[i]))))
      return Difference{index(int64_t(i)), std::to_string(x[i]), std::to_string(y[i]), "value"};
  }
  return std::nullopt;
}

nlohmann::json loadComparable(const std::string& path) {
  const nlohmann::json j = io::readJsonFile<nlohmann::json>(path, kMaxJsonBytes, "JSON report");
  static const char* kFamilies[] = {"mpsim.report/", "mpsim.map/", "mpsim.info/"};
  const bool ok = j.is_object() && j.contains("schema") && j["schema"].is_string() &&
                  std::any_of(std::begin(kFamilies), std::end(kFamilies),
                              [&](const char* f) { return j["schema"].get<std::string>().rfind(f, 0) == 0; });
  if (!ok)
    throw LoadError(path + ": not an mpsim report (expected a JSON object with \"schema\": \"mpsim.report/1\", "
                           "\"mpsim.map/1\" or \"mpsim.info/1\", as written by mpsim run, map or info --json)");
  return j;
}

void checkSameSchema(const nlohmann::json& expected, const std::string& expectedPath, const nlohmann::json& actual,
                     const std::string& actualPath) {
  const std::string se = expected["schema"].get<std::string>(), sa = actual["schema"].get<std::string>();
  if (se != sa)
    throw LoadError("compare: " + expectedPath + " is " + se + " but " + actualPath + " is " + sa +
                    "; compare documents of the same kind");
}

std::optional<Difference> compareJson(const nlohmann::json& expected, const nlohmann::json& actual,
                                      const CompareOptions& opt) {
  return walk(expected, actual, "", opt);
}

} // namespace mpsim::report
