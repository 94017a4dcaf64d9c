// Robustness: hostile and extreme inputs end in a clear LoadError (or a meaningful result), never a
// crash, hang or silently wrong result. Each case here is a defect found by outside testing; the
// command-line corpus is test/hostile/ (run by CTest through test/hostile/run_hostile.py).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <cmath>

#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/io/OnnxImport.hpp"
#include "mpsim/sim/Dram.hpp"
#include "mpsim/sim/Isolated.hpp"

using namespace mpsim;

namespace {

std::string readBytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// Replaces the first occurrence of `from` (which must be present) by `to` of the same length.
void patch(std::string& bytes, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  auto at = bytes.find(from);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, from.size(), to);
}

} // namespace

TEST_CASE("onnx: nodes named input, output, outputN or output_x import under unique names", "[unit][onnx][robust]") {
  // The name field of a NodeProto is field 3 (tag 0x1a) with a length byte: renaming keeps the length.
  std::string bytes = readBytes(std::string(MPSIM_TEST_DATA) + "/onnx/TFC_2W2A.onnx");
  patch(bytes, std::string("\x1a\x09MatMul_20", 11), std::string("\x1a\x09output_20", 11));
  patch(bytes, std::string("\x1a\x09MatMul_32", 11), std::string("\x1a\x09output_32", 11));
  patch(bytes, std::string("\x1a\x09MatMul_44", 11), std::string("\x1a\x09outputs44", 11));
  // Before the fix the importer looped forever on any name starting with "output".
  io::OnnxImport r = io::importOnnxBytes(bytes, "renamed.onnx");
  std::set<std::string> names;
  for (const auto& l : r.graph.layers()) {
    CHECK(names.insert(l.name).second);
    CHECK(l.name != "input_");
  }
  CHECK(names.count("output_20"));
  CHECK(names.count("output_32"));
  CHECK(names.count("outputs44"));
  CHECK(names.count("output")); // the graph output itself
  CHECK(r.graph.at("output").kind == graph::LayerKind::Output);
}

TEST_CASE("onnx: a MAC node named exactly output or output0 is renamed, not merged with the graph output",
          "[unit][onnx][robust]") {
  std::string bytes = readBytes(std::string(MPSIM_TEST_DATA) + "/onnx/TFC_2W2A.onnx");
  patch(bytes, std::string("\x1a\x09MatMul_20", 11), std::string("\x1a\x09output000", 11));
  patch(bytes, std::string("\x1a\x09MatMul_32", 11), std::string("\x1a\x09\x6f\x75tput\x20\x20\x20", 11));
  io::OnnxImport r = io::importOnnxBytes(bytes, "renamed.onnx");
  CHECK(r.graph.find("output000_1"));
  CHECK(!r.graph.find("output000"));
  CHECK(r.graph.find("output   ")); // not reserved: spaces are not digits
  CHECK(r.graph.at("output").kind == graph::LayerKind::Output);
}

// ---- file names, output directories, input files ----

TEST_CASE("file names from layer names are safe and distinct", "[unit][robust]") {
  CHECK(safeFileName("a/b") == "a_b");
  CHECK(safeFileName("../../x") == "_._.._x");
  CHECK(safeFileName("..") == "_.");
  CHECK(safeFileName(".") == "_");
  CHECK(safeFileName("") == "_");
  CHECK(safeFileName("/etc/passwd") == "_etc_passwd");
  CHECK(safeFileName(std::string(300, 'x')).size() == 100);
  FileNamer n;
  const std::string a = n("a/b", ".npy"), b = n("a_b", ".npy"), c = n("a/b", ".thresholds.npy");
  CHECK(a == "a_b.npy");
  CHECK(b == "a_b~2.npy");
  CHECK(c == "a_b.thresholds.npy");
  CHECK(n("a/b", ".npy") == a); // stable
  // A name plus one suffix that spells another name plus another suffix never shares a file.
  FileNamer m;
  const std::string t = m("x", ".thresholds.npy"), w = m("x.thresholds", ".npy");
  CHECK(t != w);
}

TEST_CASE("input files are checked before they are read", "[unit][robust]") {
  test::TempDir dir;
  auto errorOf = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const LoadError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(errorOf([] { readFileLimited("/dev/zero", 100, "YAML"); }).find("/dev/zero: is not a regular file") == 0);
  CHECK(errorOf([&] { readFileLimited(dir.path.string(), 100, "YAML"); }).find("is a directory") != std::string::npos);
  {
    std::ofstream f(dir / "big.yaml");
    f << std::string(101, 'x');
  }
  CHECK(errorOf([&] { readFileLimited(dir / "big.yaml", 100, "YAML"); }) ==
        dir / "big.yaml" + ": YAML of 101 bytes exceeds the limit of 100 bytes");
  CHECK(readFileLimited(dir / "big.yaml", 101, "YAML").size() == 101);
  CHECK(errorOf([&] { readFileLimited(dir / "nope", 100, "YAML"); }).find("No such file") != std::string::npos);
}

TEST_CASE("an output directory is swapped in whole, refuses foreign directories and a second writer",
          "[unit][robust]") {
  test::TempDir dir;
  namespace fs = std::filesystem;
  const std::string target = dir / "out";
  {
    OutputDir o(target);
    writeFileAtomic(fs::path(o.dir()) / "a.txt", "one");
    CHECK(!fs::exists(target)); // nothing visible before commit
    o.commit();
  }
  CHECK(fs::exists(fs::path(target) / "a.txt"));
  CHECK(fs::exists(fs::path(target) / OutputDir::kMarker));
  {
    OutputDir o(target);
    writeFileAtomic(fs::path(o.dir()) / "b.txt", "two");
    // A second run into the same directory while this one holds it is refused.
    CHECK_THROWS_AS(OutputDir(target), BusyError);
    // Not committed (a failure): the previous result stays.
  }
  CHECK(fs::exists(fs::path(target) / "a.txt"));
  CHECK(!fs::exists(fs::path(target) / "b.txt"));
  {
    OutputDir o(target);
    writeFileAtomic(fs::path(o.dir()) / "b.txt", "two");
    o.commit();
  }
  CHECK(!fs::exists(fs::path(target) / "a.txt")); // stale files of the previous run are gone
  CHECK(fs::exists(fs::path(target) / "b.txt"));
  // Only the target and its lock file remain beside it (no temporaries).
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 2);
  // A directory that is not an mpsim output is never replaced.
  fs::create_directories(dir / "home/docs");
  CHECK_THROWS_AS(OutputDir(dir / "home"), LoadError);
  CHECK(fs::exists(dir / "home/docs"));
}

TEST_CASE("DRAM bandwidth accounting stays small and exact for slow DRAM", "[unit][robust][sim]") {
  // SystemC modules are made in a child process (one elaboration per process).
  const nlohmann::json r = sim::runInChild([] {
    sim::DramTiming t;
    t.bytes_per_cycle = 1e-6 * 1e3 / 200; // 1e-6 GB/s at 200 MHz: 5e-6 bytes per cycle
    sim::Dram dram("dram_slow", t);
    nlohmann::json j;
    // One 4 KiB burst spans 8.2e8 cycles, 1.3e7 buckets of 64 cycles: done in a few steps.
    j["first"] = dram.transfer(0, 0, 4096);
    j["second"] = dram.transfer(0, 0, 4096); // queues behind the first
    j["third"] = dram.transfer(0, 3 * j["first"].get<uint64_t>(), 64); // starts after both: full rate
    sim::DramTiming f;
    f.bytes_per_cycle = 16;
    sim::Dram fast("dram_fast", f);
    j["fast"] = {fast.transfer(0, 0, 512), fast.transfer(0, 0, 512), fast.transfer(0, 10, 16)};
    return j;
  });
  const double bpc = 1e-6 * 1e3 / 200;
  const uint64_t one = uint64_t(std::ceil(4096 / bpc - 1e-9));
  CHECK(r["first"].get<uint64_t>() == one);
  CHECK(r["second"].get<uint64_t>() == 2 * one);
  CHECK(r["third"].get<uint64_t>() == 3 * one + uint64_t(std::ceil(64 / bpc - 1e-9)));
  // A bucket's capacity is shared by the requests in it whatever their order: two 512-byte requests
  // at cycle 0 both fit the 1024 bytes of bucket [0, 64) and both end at 32; a third at cycle 10
  // finds it full and waits for the next bucket.
  CHECK(r["fast"] == nlohmann::json({32, 32, 65}));
}

TEST_CASE("docs/run-config.md shows the real default example", "[unit][robust][docs]") {
  const std::string src = MPSIM_SOURCE_DIR;
  const std::string doc = readBytes(src + "/docs/run-config.md");
  const std::string key = "`configs/examples/resnet18_zcu102.yaml`:\n\n```yaml\n";
  const auto at = doc.find(key);
  REQUIRE(at != std::string::npos);
  const auto end = doc.find("```", at + key.size());
  REQUIRE(end != std::string::npos);
  const std::string file = readBytes(src + "/configs/examples/resnet18_zcu102.yaml");
  CHECK(doc.substr(at + key.size(), end - at - key.size()) == file);
  // The file is the built-in default: both load to the same effective config.
  auto a = config::loadRun(src + "/configs/examples/resnet18_zcu102.yaml");
  auto b = config::loadRunString(config::defaultRunYaml(), "<built-in default example>");
  CHECK(YAML::Dump(config::effectiveConfig(a.config)) == YAML::Dump(config::effectiveConfig(b.config)));
}
