#pragma once
// Readers for measured per-instance FPGA resources of a built design (`mpsim calibrate`,
// docs/cost-model.md "Calibration"): Vivado's `report_utilization -hierarchical` as text or XML
// (`-format xml`; FINN copies it as report/post_synth_resources.xml) and FINN's
// report/post_synth_resources.json (the per-node dictionary of its post_synth_res analysis).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mpsim::io {

/// One row of a utilisation report: an instance with its measured resources.
struct UtilRow {
  std::string instance; // as written, without the indentation
  int depth = 0;        // hierarchy level (0: the top; JSON entries are all 0)
  double lut = 0, logic_lut = 0, lutram = 0, srl = 0, ff = 0, ramb36 = 0, ramb18 = 0, uram = 0, dsp = 0;
  double bram18() const { return 2 * ramb36 + ramb18; }
};

struct UtilReport {
  std::string file;
  std::string format; // "vivado-text", "vivado-xml", "finn-json"
  std::vector<UtilRow> rows;
};

/// Size limit of a report file.
inline constexpr uint64_t kMaxUtilReportBytes = uint64_t(64) << 20;

/// Reads a report, detecting the format from its content. Throws LoadError naming the file and what
/// was expected: not one of the three formats (a foreign file), no hierarchy table, a header without
/// the Instance / Total LUTs / FFs columns, a truncated table or document, a non-numeric count.
UtilReport readUtilizationReport(const std::string& path);
/// The same from text (`name` for messages); what the unit tests use.
UtilReport parseUtilizationReport(const std::string& text, const std::string& name);

/// A FINN node name recognised in an instance name (the partition prefix stripped):
/// op type, index N of `<op type>_<N>`, the mpsim kind it matches and whether the instance is a
/// decoupled weight streamer (`..._wstrm`, summed into its MVAU).
struct FinnNodeName {
  std::string node;   // e.g. StreamingFCLayer_Batch_3
  std::string opType; // e.g. StreamingFCLayer_Batch
  int64_t index = 0;
  std::string kind;   // mvau, vvau, swu, pool, globalpool, thresholding, labelselect, add, fork, concat,
                      // fifo, dwc, dma
  bool weightStreamer = false;
};
/// Recognises FINN node names: MVAU_hls_N, MVAU_rtl_N, StreamingFCLayer_Batch_N,
/// MatrixVectorActivation_N, VVAU_*, Vector_Vector_Activate_Batch_N, ConvolutionInputGenerator*_N,
/// StreamingFIFO*_N, Thresholding*_N, StreamingMaxPool*_N, LabelSelect*_N,
/// StreamingDataWidthConverter*_N, AddStreams*_N, DuplicateStreams*_N, GlobalAccPool*_N,
/// StreamingConcat*_N, IODMA*_N, after any `StreamingDataflowPartition_K_` prefix.
std::optional<FinnNodeName> finnNodeName(const std::string& instance);

} // namespace mpsim::io
