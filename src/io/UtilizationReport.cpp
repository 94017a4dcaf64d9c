#include "mpsim/io/UtilizationReport.hpp"

#include <cctype>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"

namespace mpsim::io {

namespace {

const char* kExpected = "expected Vivado `report_utilization -hierarchical` output (text, or XML with -format xml, "
                        "e.g. FINN's report/post_synth_resources.xml) or FINN's report/post_synth_resources.json";

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// Column -> field of UtilRow, by Vivado's header names (2018.x .. 2023.x).
double* field(UtilRow& r, const std::string& header) {
  if (header == "Total LUTs") return &r.lut;
  if (header == "Logic LUTs") return &r.logic_lut;
  if (header == "LUTRAMs") return &r.lutram;
  if (header == "SRLs") return &r.srl;
  if (header == "FFs") return &r.ff;
  if (header == "RAMB36") return &r.ramb36;
  if (header == "RAMB18") return &r.ramb18;
  if (header == "URAM") return &r.uram;
  if (header == "DSP48 Blocks" || header == "DSP Blocks" || header == "DSPs" || header == "DSP48") return &r.dsp;
  return nullptr;
}

struct Columns {
  int instance = -1;
  std::vector<std::string> names;
};

Columns columns(const std::vector<std::string>& headers, const std::string& where) {
  Columns c;
  c.names = headers;
  bool lut = false, ff = false;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (headers[i] == "Instance") c.instance = int(i);
    lut = lut || headers[i] == "Total LUTs";
    ff = ff || headers[i] == "FFs";
  }
  if (c.instance < 0 || !lut || !ff) {
    std::string got;
    for (const auto& h : headers) got += (got.empty() ? "" : ", ") + h;
    throw LoadError(where + ": the hierarchy table's header (" + got +
                    ") lacks the Instance, Total LUTs or FFs column; " + kExpected);
  }
  return c;
}

double number(const std::string& cell, const std::string& where, const std::string& column,
              const std::string& instance) {
  const std::string t = trim(cell);
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (t.empty() || end == nullptr || *end != '\0' || !(v >= 0) || v > 1e12)
    throw LoadError(where + ": column '" + column + "' of instance '" + instance + "': '" + t +
                    "' is not a non-negative count");
  return v;
}

UtilRow makeRow(const Columns& c, const std::vector<std::string>& cells, const std::string& where) {
  if (cells.size() != c.names.size())
    throw LoadError(where + ": a row of " + std::to_string(cells.size()) + " cells in a table of " +
                    std::to_string(c.names.size()) + " columns (truncated or edited file?)");
  UtilRow r;
  const std::string& raw = cells[size_t(c.instance)];
  size_t lead = 0;
  while (lead < raw.size() && raw[lead] == ' ') ++lead;
  r.depth = int(lead / 2);
  r.instance = trim(raw);
  if (r.instance.empty()) throw LoadError(where + ": a row without an instance name");
  for (size_t i = 0; i < cells.size(); ++i)
    if (double* f = field(r, c.names[i])) *f = number(cells[i], where, c.names[i], r.instance);
  return r;
}

// ---- Vivado text ----

std::vector<std::string> splitCells(const std::string& line) {
  // "| a | b |" -> {" a ", " b "}: the text between the bars, spaces kept (the instance's indentation).
  std::vector<std::string> out;
  size_t p = line.find('|');
  while (p != std::string::npos) {
    size_t q = line.find('|', p + 1);
    if (q == std::string::npos) break;
    out.push_back(line.substr(p + 1, q - p - 1));
    p = q;
  }
  return out;
}

UtilReport parseText(const std::string& text, const std::string& name) {
  UtilReport rep;
  rep.file = name;
  rep.format = "vivado-text";
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  enum { Before, Header, HeaderRule, Rows, Done } state = Before;
  Columns cols;
  while (std::getline(in, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = name + ":" + std::to_string(lineNo);
    const std::string t = trim(line);
    if (state == Before) {
      if (t.rfind("|", 0) == 0 && t.find("Instance") != std::string::npos && t.find("FFs") != std::string::npos) {
        std::vector<std::string> h;
        for (const auto& c : splitCells(t)) h.push_back(trim(c));
        cols = columns(h, where);
        state = HeaderRule;
      }
      continue;
    }
    if (state == HeaderRule) {
      if (t.rfind("+-", 0) != 0) throw LoadError(where + ": expected the rule (+---+) below the table header");
      state = Rows;
      continue;
    }
    if (state == Rows) {
      if (t.rfind("+-", 0) == 0) {
        state = Done;
        break;
      }
      if (t.rfind("|", 0) != 0)
        throw LoadError(where + ": the hierarchy table ends without its closing rule (+---+): truncated file?");
      // The instance cell keeps its indentation: one space of padding after the bar, then 2 per level.
      auto cells = splitCells(t);
      if (!cells.empty() && !cells[0].empty() && cells[0][0] == ' ') cells[0] = cells[0].substr(1);
      rep.rows.push_back(makeRow(cols, cells, where));
    }
  }
  if (state == Before) {
    if (text.find("Utilization Design Information") != std::string::npos)
      throw LoadError(name + ": a flat report_utilization report (no 'Utilization by Hierarchy' table with an "
                             "Instance column); run report_utilization -hierarchical");
    throw LoadError(name + ": no utilisation table found; " + kExpected);
  }
  if (state != Done)
    throw LoadError(name + ": the hierarchy table ends without its closing rule (+---+) at line " +
                    std::to_string(lineNo) + ": truncated file?");
  return rep;
}

// ---- Vivado XML (RptDoc) ----

std::string decodeEntities(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    static const std::pair<const char*, char> ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (const auto& [e, c] : ents)
      if (s.compare(i, std::char_traits<char>::length(e), e) == 0) {
        out += c;
        i += std::char_traits<char>::length(e) - 1;
        done = true;
        break;
      }
    if (!done) out += '&';
  }
  return out;
}

int lineOf(const std::string& text, size_t pos) {
  int n = 1;
  for (size_t i = 0; i < pos && i < text.size(); ++i) n += text[i] == '\n';
  return n;
}

// Line numbers of increasing positions in one pass (a report has many rows: no rescan per row).
struct LineCounter {
  const std::string& text;
  size_t pos = 0;
  int line = 1;
  int at(size_t p) {
    if (p < pos) return lineOf(text, p);
    for (; pos < p && pos < text.size(); ++pos) line += text[pos] == '\n';
    return line;
  }
};

// The `contents` attribute of every <tag .../> element in [from, to).
std::vector<std::string> contentsOf(const std::string& text, size_t from, size_t to, const std::string& tag,
                                    const std::string& name) {
  std::vector<std::string> out;
  const std::string open = "<" + tag;
  // Searched within [from, to) only: a search to the end of the file per row would be quadratic.
  const std::string_view span = std::string_view(text).substr(0, to);
  size_t p = span.find(open, from);
  while (p != std::string::npos && p < to) {
    const size_t end = text.find('>', p);
    if (end == std::string::npos || end > to)
      throw LoadError(name + ":" + std::to_string(lineOf(text, p)) + ": unterminated <" + tag + "> element");
    const std::string el = text.substr(p, end - p);
    const size_t a = el.find(" contents=\"");
    if (a == std::string::npos)
      throw LoadError(name + ":" + std::to_string(lineOf(text, p)) + ": <" + tag + "> without a contents attribute");
    const size_t b = el.find('"', a + 11);
    if (b == std::string::npos)
      throw LoadError(name + ":" + std::to_string(lineOf(text, p)) + ": unterminated contents attribute");
    out.push_back(decodeEntities(el.substr(a + 11, b - a - 11)));
    p = span.find(open, end);
  }
  return out;
}

UtilReport parseXml(const std::string& text, const std::string& name) {
  UtilReport rep;
  rep.file = name;
  rep.format = "vivado-xml";
  if (text.find("<RptDoc") == std::string::npos)
    throw LoadError(name + ": an XML file that is not a Vivado report (no <RptDoc> element); " + kExpected);
  if (text.find("</RptDoc>") == std::string::npos)
    throw LoadError(name + ": the Vivado XML report ends before </RptDoc>: truncated file?");
  Columns cols;
  bool haveHeader = false;
  LineCounter lines{text};
  size_t p = text.find("<tablerow");
  while (p != std::string::npos) {
    const size_t end = text.find("</tablerow>", p);
    const size_t next = text.find("<tablerow", p + 9);
    const std::string where = name + ":" + std::to_string(lines.at(p));
    if (end == std::string::npos || (next != std::string::npos && next < end))
      throw LoadError(where + ": <tablerow> without </tablerow>: truncated file?");
    auto headers = contentsOf(text, p, end, "tableheader", name);
    if (!headers.empty()) {
      for (auto& h : headers) h = trim(h);
      if (!haveHeader) {
        bool isHier = false;
        for (const auto& h : headers) isHier = isHier || h == "Instance";
        if (isHier) {
          cols = columns(headers, where);
          haveHeader = true;
        }
      } else {
        break; // the next table: the hierarchy table is done
      }
    } else if (haveHeader) {
      rep.rows.push_back(makeRow(cols, contentsOf(text, p, end, "tablecell", name), where));
    }
    p = text.find("<tablerow", end);
  }
  if (!haveHeader) {
    if (text.find("Utilization by Hierarchy") == std::string::npos && text.find("Slice Logic") != std::string::npos)
      throw LoadError(name + ": a flat report_utilization XML report (no hierarchy table with an Instance column); "
                             "run report_utilization -hierarchical -format xml");
    throw LoadError(name + ": a Vivado XML report without a hierarchy table (a header row with Instance, Total LUTs, "
                           "FFs); " +
                    kExpected);
  }
  return rep;
}

// ---- FINN post_synth_resources.json ----

UtilReport parseJson(const std::string& text, const std::string& name) {
  UtilReport rep;
  rep.file = name;
  rep.format = "finn-json";
  nlohmann::json j;
  try {
    // The file is an object of objects: anything nested deeper is not one (and is not built).
    j = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > 4) throw LoadError(name + ": nested deeper than a post_synth_resources.json; " + kExpected);
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw LoadError(name + ": not valid JSON (" + std::string(e.what()) + "): truncated file? " + kExpected);
  }
  const char* shape = "FINN's post_synth_resources.json is an object of node names to {\"LUT\": n, \"FF\": n, "
                      "\"BRAM_36K\": n, \"BRAM_18K\": n, \"URAM\": n, \"DSP48\": n, ...}";
  if (!j.is_object() || j.empty()) throw LoadError(name + ": not a post_synth_resources file: " + shape);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& v = it.value();
    if (!v.is_object()) throw LoadError(name + ": entry '" + it.key() + "' is not an object: " + shape);
    UtilRow r;
    r.instance = it.key();
    r.depth = it.key() == "(top)" ? 0 : 1;
    if (!v.contains("LUT") || !v.contains("FF"))
      throw LoadError(name + ": entry '" + it.key() + "' lacks \"LUT\" or \"FF\": " + shape);
    for (auto f = v.begin(); f != v.end(); ++f) {
      if (!f.value().is_number() || f.value().get<double>() < 0)
        throw LoadError(name + ": entry '" + it.key() + "', key '" + f.key() + "': not a non-negative number");
      const double x = f.value().get<double>();
      const std::string& k = f.key();
      if (k == "LUT")
        r.lut = x;
      else if (k == "FF")
        r.ff = x;
      else if (k == "SRL")
        r.srl = x;
      else if (k == "LUTRAM")
        r.lutram = x;
      else if (k == "BRAM_36K")
        r.ramb36 = x;
      else if (k == "BRAM_18K")
        r.ramb18 = x;
      else if (k == "URAM")
        r.uram = x;
      else if (k == "DSP48" || k == "DSP" || k == "DSP48E1" || k == "DSP48E2" || k == "DSP58")
        r.dsp = x;
      else if (k != "Carry" && k != "BRAM" && k != "Logic LUTs")
        throw LoadError(name + ": entry '" + it.key() + "': unknown resource '" + k +
                        "'; known: LUT, FF, SRL, LUTRAM, BRAM_36K, BRAM_18K, URAM, DSP48 (DSP), Carry");
    }
    rep.rows.push_back(r);
  }
  return rep;
}

} // namespace

UtilReport parseUtilizationReport(const std::string& text, const std::string& name) {
  size_t i = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3; // UTF-8 byte order mark
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i == text.size()) throw LoadError(name + ": empty file; " + kExpected);
  if (text[i] == '<') return parseXml(text, name);
  if (text[i] == '{' || text[i] == '[') return parseJson(text, name);
  if (text.find("Instance") != std::string::npos || text.find("Utilization Design Information") != std::string::npos)
    return parseText(text, name);
  throw LoadError(name + ": not a utilisation report; " + kExpected);
}

UtilReport readUtilizationReport(const std::string& path) {
  return parseUtilizationReport(readFileLimited(path, kMaxUtilReportBytes, "utilisation report"), path);
}

std::optional<FinnNodeName> finnNodeName(const std::string& instance) {
  static const std::regex partition("^(StreamingDataflowPartition_[0-9]+_)+");
  static const std::regex node("^(MVAU_hls|MVAU_rtl|MVAU|StreamingFCLayer_Batch|MatrixVectorActivation|"
                               "VVAU_hls|VVAU_rtl|VVAU|Vector_Vector_Activate_Batch|VectorVectorActivation|"
                               "ConvolutionInputGenerator(?:1D|_rtl|_hls|1D_hls|1D_rtl)?|"
                               "StreamingFIFO(?:_rtl|_vivado|_hls)?|Thresholding(?:_Batch|_hls|_rtl)?|"
                               "StreamingMaxPool(?:_Batch|_hls)?|LabelSelect(?:_Batch|_hls)?|"
                               "StreamingDataWidthConverter(?:_Batch|_hls|_rtl)?|AddStreams(?:_Batch|_hls)?|"
                               "DuplicateStreams(?:_Batch|_hls)?|GlobalAccPool(?:_Batch|_hls)?|"
                               "StreamingConcat(?:_hls)?|IODMA(?:_hls)?)_([0-9]{1,9})(_wstrm)?$");
  const std::string s = std::regex_replace(instance, partition, "", std::regex_constants::format_first_only);
  std::smatch m;
  if (!std::regex_match(s, m, node)) return std::nullopt;
  FinnNodeName f;
  f.opType = m[1].str();
  f.index = std::stoll(m[2].str());
  f.node = f.opType + "_" + m[2].str();
  f.weightStreamer = m[3].matched;
  const std::string& o = f.opType;
  auto starts = [&](const char* p) { return o.rfind(p, 0) == 0; };
  if (starts("MVAU") || starts("StreamingFCLayer") || starts("MatrixVector"))
    f.kind = "mvau";
  else if (starts("VVAU") || starts("Vector"))
    f.kind = "vvau";
  else if (starts("ConvolutionInputGenerator"))
    f.kind = "swu";
  else if (starts("StreamingFIFO"))
    f.kind = "fifo";
  else if (starts("Thresholding"))
    f.kind = "thresholding";
  else if (starts("StreamingMaxPool"))
    f.kind = "pool";
  else if (starts("LabelSelect"))
    f.kind = "labelselect";
  else if (starts("StreamingDataWidthConverter"))
    f.kind = "dwc";
  else if (starts("AddStreams"))
    f.kind = "add";
  else if (starts("DuplicateStreams"))
    f.kind = "fork";
  else if (starts("GlobalAccPool"))
    f.kind = "globalpool";
  else if (starts("StreamingConcat"))
    f.kind = "concat";
  else
    f.kind = "dma";
  if (f.weightStreamer && f.kind != "mvau" && f.kind != "vvau") return std::nullopt;
  return f;
}

} // namespace mpsim::io
