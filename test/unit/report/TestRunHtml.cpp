// report/RunHtml: the resource section shows each estimate with its interval (resources.total_low /
// total_high) and says whether the design fits at the estimate and at the interval's upper bound.
// Input: the golden CNV W1A1 report (test/golden/cnv_w1a1/expected.json, written by mpsim run), whose
// LUT and FF estimates fit their budgets and whose LUT and FF upper bounds do not; variants of it
// edited here.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>
#include <string>

#include "mpsim/report/RunHtml.hpp"

using namespace mpsim;
using nlohmann::ordered_json;

namespace {

ordered_json golden() {
  std::ifstream in(MPSIM_SOURCE_DIR "/test/golden/cnv_w1a1/expected.json");
  REQUIRE(in);
  return ordered_json::parse(in);
}

/// The <p id="fits" ...>...</p> element of a page.
std::string fitsParagraph(const std::string& page) {
  const auto b = page.find("<p id=\"fits\"");
  REQUIRE(b != std::string::npos);
  const auto e = page.find("</p>", b);
  REQUIRE(e != std::string::npos);
  return page.substr(b, e - b);
}

/// The interval cell of resource `key` in the totals table.
std::string intervalCell(const std::string& page, const std::string& key) {
  std::smatch m;
  const std::regex re("<tr class=\"resource[^\"]*\" data-name=\"" + key +
                      "\"><td class=\"l\">[^<]*</td><td class=\"estimate\">([^<]*)</td><td class=\"interval[^\"]*\">"
                      "([^<]*)</td>");
  REQUIRE(std::regex_search(page, m, re));
  return m[1].str() + " | " + m[2].str();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

} // namespace

TEST_CASE("run report HTML: estimates with their intervals and the fits statements", "[unit][report][html]") {
  ordered_json r = golden();
  const auto& res = r["resources"];
  // The premise of the fixture: fits at the estimate, not at the upper bound (LUT and FF).
  REQUIRE(res["fits"].get<bool>());
  REQUIRE_FALSE(res["fits_upper"].get<bool>());
  REQUIRE(res["total_high"]["lut"].get<double>() > res["budget"]["lut"].get<double>());
  REQUIRE(res["total_high"]["ff"].get<double>() > res["budget"]["ff"].get<double>());
  REQUIRE(res["total_high"]["bram18"].get<double>() <= res["budget"]["bram18"].get<double>());

  std::string page = report::runReportHtml(r);
  // One row per resource the device has (or the design uses): LUT, FF, DSP, BRAM18 (no URAM on xc7z020).
  CHECK(count(page, "<tr class=\"resource") == 4);
  CHECK(count(page, "<g class=\"interval\">") == 4);
  // The golden's totals (test/golden/cnv_w1a1). Its DMAs (hw::dmaResources, band "dma"): the input
  // streams 3 x 8-bit pixels on a 64-bit port, X = lcm(64, 24) = 192: 730.1 + 1.516 * 192 = 1021.2
  // LUT, 2 * (ceil(192 / 72) + 1) = 8 BRAM18; the output 16 bits, X = 16: 754.4 LUT, 1 BRAM18. With
  // the constants before (600 LUT each, no BRAM, band "all") the totals were 27563.6 LUT, 184
  // BRAM18: + 421.2 + 154.4 = 28139.1 (rounded per engine), + 9 BRAM18 = 193. Interval: the DMAs'
  // 1775.5 LUT move from [1200 / 1.1144, 1200 / 0.7788] to [1775.5 / 1.0904, 1775.5 / 0.7779]:
  // 24652.1 + 551.5 = 25203.6 and 43933.1 + 741.6 = 44674.7; BRAM18 p10 = p90 = 0: + 9.
  CHECK(intervalCell(page, "lut") == "28139.1 | 25203.6 - 44674.7");
  CHECK(intervalCell(page, "bram18") == "193 | 186.5 - 193");
  // The LUT interval cell is marked: its upper bound is above the budget.
  CHECK(page.find("<td class=\"interval bad\">25203.6 - 44674.7</td>") != std::string::npos);
  CHECK(page.find("<td class=\"interval\">186.5 - 193</td>") != std::string::npos);
  std::string fits = fitsParagraph(page);
  CHECK(fits.find("data-fits=\"true\" data-fits-upper=\"false\"") != std::string::npos);
  CHECK(fits.find("Fits the budget at the estimate, not at the interval's upper bound (LUT, FF above the budget "
                  "at the upper bound).") != std::string::npos);

  // Larger budgets: fits at both (above the upper bounds, 44674.7 LUT and 60089.9 FF).
  r["resources"]["budget"]["lut"] = 50000.0;
  r["resources"]["budget"]["ff"] = 62000.0;
  r["resources"]["fits_upper"] = true;
  page = report::runReportHtml(r);
  fits = fitsParagraph(page);
  CHECK(fits.find("data-fits-upper=\"true\"") != std::string::npos);
  CHECK(fits.find("Fits the budget at the estimate and at the interval's upper bound.") != std::string::npos);
  CHECK(page.find("interval bad") == std::string::npos);

  // A smaller one: does not fit at the estimate; the shortfall is named.
  r["resources"]["budget"]["lut"] = 20000.0;
  r["resources"]["fits"] = false;
  r["resources"]["fits_upper"] = false;
  r["resources"]["shortfalls"] = {"LUT: needs 28140, budget 20000 (short by 8140)"};
  page = report::runReportHtml(r);
  fits = fitsParagraph(page);
  CHECK(fits.find("class=\"bad\" data-fits=\"false\"") != std::string::npos);
  CHECK(fits.find("Does not fit the budget at the estimate; LUT: needs 28140, budget 20000 (short by 8140).") !=
        std::string::npos);
  CHECK(page.find("<tr class=\"resource bad\" data-name=\"lut\">") != std::string::npos);

  // A report written before intervals existed: the estimates alone, no error bars, no upper-bound claim.
  r = golden();
  r["resources"].erase("total_low");
  r["resources"].erase("total_high");
  page = report::runReportHtml(r);
  CHECK(count(page, "<g class=\"interval\">") == 0);
  CHECK(intervalCell(page, "lut") == "28139.1 | -");
  fits = fitsParagraph(page);
  CHECK(fits.find("data-fits-upper=\"unknown\"") != std::string::npos);
  CHECK(fits.find("Fits the budget at the estimate (the report has no interval).") != std::string::npos);
}
