// Readers of measured utilisation (io/UtilizationReport): Vivado report_utilization -hierarchical
// as XML (FINN's post_synth_resources.xml) and text, FINN's post_synth_resources.json, FINN node
// names, and the errors for foreign, flat and truncated files. Fixtures: test/data/calibrate
// (README.md there names their origin).
#include <catch2/catch.hpp>

#include <string>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/io/UtilizationReport.hpp"

using namespace mpsim;

namespace {
const std::string kDir = std::string(MPSIM_SOURCE_DIR) + "/test/data/calibrate/";

const io::UtilRow& row(const io::UtilReport& r, const std::string& instance) {
  for (const auto& x : r.rows)
    if (x.instance == instance) return x;
  FAIL("no row " << instance << " in " << r.file);
  return r.rows.front();
}

std::string errorOf(const std::string& text) {
  try {
    io::parseUtilizationReport(text, "r.txt");
  } catch (const LoadError& e) {
    return e.messages().front();
  }
  return "";
}
} // namespace

TEST_CASE("Vivado XML, text and FINN JSON give the same counts", "[unit][calibrate]") {
  const auto xml = io::readUtilizationReport(kDir + "facile_w4a4_post_synth_resources.xml");
  const auto txt = io::readUtilizationReport(kDir + "facile_w4a4_utilization_hier.rpt");
  const auto js = io::readUtilizationReport(kDir + "facile_w4a4_post_synth_resources.json");
  CHECK(xml.format == "vivado-xml");
  CHECK(txt.format == "vivado-text");
  CHECK(js.format == "finn-json");
  REQUIRE(xml.rows.size() == txt.rows.size());
  // Origin: FACILE W4A4, StreamingFCLayer_Batch_0: 440 LUTs (56 LUTRAM), 357 FFs (README.md).
  for (const auto* r : {&xml, &txt}) {
    const auto& fc0 = row(*r, "StreamingDataflowPartition_1_StreamingFCLayer_Batch_0");
    CHECK(fc0.lut == 440);
    CHECK(fc0.lutram == 56);
    CHECK(fc0.ff == 357);
    CHECK(fc0.depth == 4);
    CHECK(row(*r, "top_wrapper").depth == 0);
    CHECK(row(*r, "top_i").depth == 1);
    CHECK(row(*r, "idma0").ramb18 == 1);
  }
  for (size_t i = 0; i < xml.rows.size(); ++i) {
    CHECK(xml.rows[i].instance == txt.rows[i].instance);
    CHECK(xml.rows[i].lut == txt.rows[i].lut);
    CHECK(xml.rows[i].ff == txt.rows[i].ff);
    CHECK(xml.rows[i].depth == txt.rows[i].depth);
  }
  const auto& j = row(js, "StreamingFCLayer_Batch_0");
  CHECK(j.lut == 440);
  CHECK(j.ff == 357);
  CHECK(row(js, "(top)").lut == 7548);
}

TEST_CASE("BRAM18 counts a RAMB36 as two", "[unit][calibrate]") {
  const auto r = io::parseUtilizationReport(R"({"MVAU_hls_0": {"LUT": 10, "FF": 20, "BRAM_36K": 3, "BRAM_18K": 1}})",
                                            "p.json");
  CHECK(r.rows.at(0).bram18() == 7);
}

TEST_CASE("FINN node names are recognised after the partition prefix", "[unit][calibrate]") {
  auto n = io::finnNodeName("StreamingDataflowPartition_1_StreamingFCLayer_Batch_3");
  REQUIRE(n);
  CHECK(n->node == "StreamingFCLayer_Batch_3");
  CHECK(n->kind == "mvau");
  CHECK(n->index == 3);
  n = io::finnNodeName("MVAU_hls_12");
  REQUIRE(n);
  CHECK(n->opType == "MVAU_hls");
  CHECK(n->index == 12);
  n = io::finnNodeName("MVAU_rtl_0");
  REQUIRE(n);
  CHECK(n->kind == "mvau");
  CHECK(io::finnNodeName("MatrixVectorActivation_2")->kind == "mvau");
  CHECK(io::finnNodeName("ConvolutionInputGenerator1D_1")->kind == "swu");
  CHECK(io::finnNodeName("ConvolutionInputGenerator_rtl_0")->kind == "swu");
  CHECK(io::finnNodeName("StreamingFIFO_rtl_7")->kind == "fifo");
  CHECK(io::finnNodeName("Thresholding_Batch_0")->kind == "thresholding");
  CHECK(io::finnNodeName("StreamingMaxPool_hls_1")->kind == "pool");
  CHECK(io::finnNodeName("LabelSelect_Batch_0")->kind == "labelselect");
  CHECK(io::finnNodeName("StreamingDataWidthConverter_Batch_10")->kind == "dwc");
  CHECK(io::finnNodeName("AddStreams_hls_0")->kind == "add");
  CHECK(io::finnNodeName("DuplicateStreams_Batch_0")->kind == "fork");
  CHECK(io::finnNodeName("StreamingDataflowPartition_0_IODMA_0")->kind == "dma");
  n = io::finnNodeName("StreamingDataflowPartition_1_StreamingFCLayer_Batch_0_wstrm");
  REQUIRE(n);
  CHECK(n->weightStreamer);
  CHECK(n->node == "StreamingFCLayer_Batch_0");
  CHECK_FALSE(io::finnNodeName("axi_interconnect_0"));
  CHECK_FALSE(io::finnNodeName("StreamingDataflowPartition_1_i"));
  CHECK_FALSE(io::finnNodeName("top_wrapper"));
  CHECK_FALSE(io::finnNodeName("StreamingFCLayer_Batch_x"));
}

TEST_CASE("foreign, flat, truncated and broken reports are refused with what was expected", "[unit][calibrate]") {
  CHECK_THAT(errorOf("hello world\n"), Catch::Contains("r.txt: not a utilisation report") &&
                                           Catch::Contains("report_utilization -hierarchical"));
  CHECK_THAT(errorOf(""), Catch::Contains("empty file"));
  CHECK_THAT(errorOf("Utilization Design Information\n\n1. Slice Logic\n+----+\n| Site Type | Used |\n"),
             Catch::Contains("flat report_utilization report"));
  const std::string txt = readFileLimited(kDir + "facile_w4a4_utilization_hier.rpt", 1 << 20, "t");
  CHECK_THAT(errorOf(txt.substr(0, txt.size() / 2)), Catch::Contains("truncated"));
  const std::string xml = readFileLimited(kDir + "facile_w4a4_post_synth_resources.xml", 1 << 20, "t");
  CHECK_THAT(errorOf(xml.substr(0, xml.size() / 2)), Catch::Contains("truncated"));
  CHECK_THAT(errorOf("<?xml version=\"1.0\"?>\n<html></html>\n"), Catch::Contains("not a Vivado report"));
  CHECK_THAT(errorOf("{\"a\": 1}"), Catch::Contains("entry 'a' is not an object"));
  CHECK_THAT(errorOf("{\"MVAU_hls_0\": {\"LUT\": 1, \"FF\": 2, \"Bogus\": 3}}"), Catch::Contains("unknown resource 'Bogus'"));
  CHECK_THAT(errorOf("{\"MVAU_hls_0\": {\"LUT\": 1, \"FF\": -2}}"), Catch::Contains("not a non-negative number"));
  CHECK_THAT(errorOf("{\"MVAU_hls_0\": {\"LUT\": 1, "), Catch::Contains("not valid JSON"));
  std::string bad = txt;
  const auto p = bad.find("|        440 |");
  REQUIRE(p != std::string::npos);
  bad.replace(p, 14, "|        4x0 |");
  CHECK_THAT(errorOf(bad), Catch::Contains("column 'Total LUTs' of instance 'StreamingDataflowPartition_1_StreamingFCLayer_Batch_0'") &&
                               Catch::Contains("'4x0' is not a non-negative count"));
  std::string noFf = txt;
  for (size_t q; (q = noFf.find("| FFs  |")) != std::string::npos;) noFf.replace(q, 8, "| Regs |");
  // Without the FFs column the table is not recognised as the hierarchy table: a flat report.
  CHECK_THAT(errorOf(noFf), Catch::Contains("flat report_utilization report"));
  std::string xmlNoFf = xml;
  for (size_t q; (q = xmlNoFf.find("contents=\"FFs\"")) != std::string::npos;) xmlNoFf.replace(q, 14, "contents=\"Regs\"");
  CHECK_THAT(errorOf(xmlNoFf), Catch::Contains("lacks the Instance, Total LUTs or FFs column"));
}
