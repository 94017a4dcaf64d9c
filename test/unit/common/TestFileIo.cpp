// common/FileIo: file names from layer names are safe and distinct, input files are checked before
// they are read, an output directory is swapped in whole and refuses foreign directories and a
// second writer.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "TempDir.hpp"
#include "mpsim/common/Error.hpp"
#include "mpsim/common/FileIo.hpp"

using namespace mpsim;

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
