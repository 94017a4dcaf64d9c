// Constraint expressions (paths, comparisons, and / or / not, arithmetic), metric names, objectives
// and the Pareto front.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "mpsim/sweep/Expr.hpp"

using namespace mpsim::sweep;
using nlohmann::json;

TEST_CASE("expressions read paths of the point's document", "[unit][sweep]") {
  const json doc = json::parse(R"({"resources": {"fits": true, "utilization": {"dsp": 0.5, "lut": 0.8}},
    "hardware": {"clock_mhz": 200, "device": "zcu102"},
    "mapping": {"layers": {"layer1.0.conv1": {"pe": 4}}}, "layers": [{"pe": 2}, {"pe": 8}]})");
  auto t = [&](const std::string& e) { return Expr::parse(e).test(doc); };
  CHECK(t("resources.fits"));
  CHECK(t("resources.utilization.dsp <= 0.6"));
  CHECK_FALSE(t("resources.utilization.lut <= 0.6"));
  CHECK(t("resources.fits and resources.utilization.dsp <= 0.6"));
  CHECK(t("resources.utilization.lut <= 0.6 or hardware.clock_mhz == 200"));
  CHECK(t("not (resources.utilization.lut < 0.5)"));
  CHECK(t("!(hardware.clock_mhz != 200) && resources.fits"));
  CHECK(t("hardware.device == 'zcu102'"));
  CHECK(t("hardware.device != \"zcu104\""));
  CHECK(t("hardware.clock_mhz * 2 - 100 > 299 and -hardware.clock_mhz < 0"));
  CHECK(t("resources.utilization.dsp + resources.utilization.lut / 2 == 0.9"));
  CHECK(t("mapping.layers.layer1.0.conv1.pe == 4")); // dotted layer names
  CHECK(t("layers.1.pe == 8"));                      // list elements by index
  CHECK(t("true and not false"));
  CHECK(Expr::parse("a.b < 3 or c").paths() == std::vector<std::string>{"a.b", "c"});
}

TEST_CASE("malformed expressions and bad evaluations are errors", "[unit][sweep]") {
  CHECK_THROWS_WITH(Expr::parse("a <"), "expected a value, a path or '(' at column 4");
  CHECK_THROWS_WITH(Expr::parse("(a < 3"), "expected ')' at column 7");
  CHECK_THROWS_WITH(Expr::parse("a < 3 )"), "unexpected ')' at column 7");
  CHECK_THROWS_WITH(Expr::parse("'abc"), "unterminated string at column 1");
  CHECK_THROWS_WITH(Expr::parse("a. < 1"), "a path may not end with '.' at column 3");
  CHECK_THROWS_WITH(Expr::parse(std::string(1000, '(') + "a"), Catch::Contains("nested deeper than 64 levels"));
  CHECK_THROWS_WITH(Expr::parse(std::string(1000, '-') + "1"), Catch::Contains("nested deeper than 64 levels"));
  CHECK_THROWS_WITH(Expr::parse(std::string(1000, '!') + "a"), Catch::Contains("nested deeper than 64 levels"));
  std::string chain = "a";
  while (chain.size() < 5000) chain += " and a";
  CHECK_THROWS_WITH(Expr::parse(chain), "longer than 4096 characters");
  CHECK(Expr::parse("(((a)))").paths() == std::vector<std::string>{"a"});
  const json doc = json::parse(R"({"a": 1, "s": "x", "m": {"k": 1}})");
  CHECK_THROWS_WITH(Expr::parse("b < 1").test(doc), "no value at 'b'");
  CHECK_THROWS_WITH(Expr::parse("s < 1").test(doc), "'<' compares values of different types");
  CHECK_THROWS_WITH(Expr::parse("a").test(doc), "'a' is not true or false");
  CHECK_THROWS_WITH(Expr::parse("m == 1").test(doc), "'m' is a list or mapping, not a number, string or boolean");
}

TEST_CASE("metrics and objectives by column name or report path", "[unit][sweep]") {
  REQUIRE(findMetric("fps"));
  CHECK(std::string(findMetric("summary.fps")->column) == "fps");
  CHECK(std::string(findMetric("resources.total.lut")->column) == "lut");
  CHECK(std::string(findMetric("resources.utilization.dsp")->column) == "util_dsp");
  CHECK(findMetric("speed") == nullptr);
  const Objective o = parseObjective("min:resources.total.dsp");
  CHECK_FALSE(o.maximize);
  CHECK(o.metric == "dsp");
  CHECK_THROWS_AS(parseObjective("max:bottleneck"), std::invalid_argument); // text: not an objective
  CHECK_THROWS_AS(parseObjective("fps"), std::invalid_argument);
}

TEST_CASE("the Pareto front keeps exactly the non-dominated rows", "[unit][sweep]") {
  const std::vector<Objective> objs = {parseObjective("max:fps"), parseObjective("min:lut")};
  // fps, lut
  const std::vector<std::vector<double>> v = {
      {100, 50}, // 0: front
      {200, 80}, // 1: front
      {150, 90}, // 2: dominated by 1
      {100, 60}, // 3: dominated by 0
      {300, 80}, // 4: front, dominates 1
      {50, 10},  // 5: front
      {300, 80}, // 6: tie with 4: kept
  };
  CHECK(paretoFront(v, objs) == std::vector<size_t>{0, 4, 5, 6});
  // Brute force on a grid of values.
  std::vector<std::vector<double>> g;
  for (int i = 0; i < 40; ++i) g.push_back({double((i * 37) % 23), double((i * 11) % 17)});
  const auto f = paretoFront(g, objs);
  for (size_t i = 0; i < g.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < g.size(); ++j)
      if (g[j][0] >= g[i][0] && g[j][1] <= g[i][1] && (g[j][0] > g[i][0] || g[j][1] < g[i][1])) dominated = true;
    CHECK((std::find(f.begin(), f.end(), i) != f.end()) == !dominated);
  }
}

TEST_CASE("the streamed front and top K equal their definitions on random rows", "[unit][sweep]") {
  // ParetoSet and TopK see the rows one at a time (a sweep holds no per-point state): against the
  // definition (rows no other row dominates) and a stable sort of all rows, with many ties.
  const std::vector<Objective> objs = {parseObjective("max:fps"), parseObjective("min:lut"), parseObjective("min:dsp")};
  uint64_t s = 12345;
  auto next = [&] { return (s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 59; }; // 0..31
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::vector<double>> rows(200);
    for (auto& r : rows) r = {double(next()), double(next() % 8), double(next() % 4)};
    std::vector<size_t> expected;
    for (size_t i = 0; i < rows.size(); ++i) {
      bool dominated = false;
      for (size_t j = 0; j < rows.size() && !dominated; ++j) {
        const bool ge = rows[j][0] >= rows[i][0] && rows[j][1] <= rows[i][1] && rows[j][2] <= rows[i][2];
        const bool gt = rows[j][0] > rows[i][0] || rows[j][1] < rows[i][1] || rows[j][2] < rows[i][2];
        dominated = ge && gt;
      }
      if (!dominated) expected.push_back(i);
    }
    CHECK(paretoFront(rows, objs) == expected);
    for (size_t k = 0; k < objs.size(); ++k) {
      std::vector<int64_t> order(rows.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return objs[k].maximize ? rows[size_t(a)][k] > rows[size_t(b)][k] : rows[size_t(a)][k] < rows[size_t(b)][k];
      });
      TopK top(objs[k], 5);
      for (size_t i = 0; i < rows.size(); ++i) top.add(int64_t(i), rows[i][k]);
      CHECK(top.rows() == std::vector<int64_t>(order.begin(), order.begin() + 5));
    }
  }
}
