// .npy files (func/Npy): the round trip of every supported dtype with v1 and v2 headers, and precise
// errors naming the file and the problem, before any data are read.
#include <catch2/catch.hpp>

#include "FileText.hpp"
#include "TempDir.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/func/Npy.hpp"

using namespace mpsim;
using namespace mpsim::func;
using graph::ActType;
using graph::Shape;
using namespace mpsim::test;

TEST_CASE("npy: round trip of every supported dtype, v1 and v2 headers", "[unit][func]") {
  TempDir dir;
  const int16_t i16[] = {-32768, -1, 0, 32767};
  writeNpy(dir / "a.npy", NpyType::Int16, {2, 2}, i16);
  NpyArray a = readNpy(dir / "a.npy");
  CHECK(a.type == NpyType::Int16);
  CHECK(a.shape == std::vector<int64_t>{2, 2});
  CHECK(a.toInt64() == std::vector<int64_t>{-32768, -1, 0, 32767});

  const uint8_t u8[] = {0, 7, 255};
  writeNpy(dir / "b.npy", NpyType::UInt8, {3}, u8);
  CHECK(readNpy(dir / "b.npy").toInt64() == std::vector<int64_t>{0, 7, 255});
  const int8_t s8[] = {-128, 127};
  writeNpy(dir / "c.npy", NpyType::Int8, {2}, s8);
  CHECK(readNpy(dir / "c.npy").toInt64() == std::vector<int64_t>{-128, 127});
  const uint16_t u16[] = {65535};
  writeNpy(dir / "d.npy", NpyType::UInt16, {1, 1}, u16);
  CHECK(readNpy(dir / "d.npy").toInt64() == std::vector<int64_t>{65535});
  const int64_t i64[] = {INT64_MIN, INT64_MAX};
  writeNpy(dir / "e.npy", NpyType::Int64, {2}, i64);
  CHECK(readNpy(dir / "e.npy").toInt64() == std::vector<int64_t>{INT64_MIN, INT64_MAX});
  const float f32[] = {-3.0f, 2.5f};
  writeNpy(dir / "f.npy", NpyType::Float32, {2}, f32);
  CHECK(readNpy(dir / "f.npy").toDouble() == std::vector<double>{-3.0, 2.5});
  CHECK_THROWS_WITH(readNpy(dir / "f.npy").toInt64(),
                    Catch::Contains("f.npy") && Catch::Contains("flat index 1") && Catch::Contains("2.5"));
  const double f64[] = {4.0};
  writeNpy(dir / "g.npy", NpyType::Float64, {}, f64);
  NpyArray g = readNpy(dir / "g.npy");
  CHECK(g.shape.empty());
  CHECK(g.toInt64() == std::vector<int64_t>{4});
  const uint8_t b[] = {1, 0, 1};
  writeNpy(dir / "h.npy", NpyType::Bool, {3}, b);
  CHECK(readNpy(dir / "h.npy").toInt64() == std::vector<int64_t>{1, 0, 1});

  // Header layout: magic, version 1.0, total header a multiple of 64 ending in '\n'.
  const std::string raw = readFile(dir / "a.npy");
  CHECK(raw.substr(1, 5) == "NUMPY");
  CHECK(raw[6] == 1);
  const std::size_t hl = static_cast<unsigned char>(raw[8]) | (static_cast<unsigned char>(raw[9]) << 8);
  CHECK((10 + hl) % 64 == 0);
  CHECK(raw[10 + hl - 1] == '\n');
  CHECK(raw.find("'shape': (2, 2)") != std::string::npos);
  CHECK(raw.size() == 10 + hl + 8);

  // Version 2.0 header (4-byte length) is read too.
  std::string v2 = "\x93NUMPY";
  v2 += '\x02';
  v2 += '\x00';
  std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }";
  dict.append((64 - (12 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  const uint32_t len = static_cast<uint32_t>(dict.size());
  v2.append(reinterpret_cast<const char*>(&len), 4);
  v2 += dict;
  const int32_t three[] = {5, -6, 7};
  v2.append(reinterpret_cast<const char*>(three), 12);
  writeFile(dir / "v2.npy", v2);
  CHECK(readNpy(dir / "v2.npy").toInt64() == std::vector<int64_t>{5, -6, 7});

  // Tensors: NCHW round trip and right-aligned mapping of lower ranks.
  Tensor t(Shape{1, 2, 2, 3});
  for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<int32_t>(i) - 5;
  writeNpy(dir / "t.npy", t);
  CHECK(readTensor(dir / "t.npy") == t);
  writeNpy(dir / "t2.npy", t, {4, 3});
  CHECK(readTensor(dir / "t2.npy").shape() == Shape{1, 1, 4, 3});
  AccTensor big(Shape{1, 1, 1, 2}, std::vector<int64_t>{int64_t{1} << 40, -3});
  writeNpy(dir / "big.npy", big);
  CHECK(readAccTensor(dir / "big.npy") == big);
  CHECK_THROWS_WITH(readTensor(dir / "big.npy"), Catch::Contains("big.npy") && Catch::Contains("outside int32"));
}

TEST_CASE("npy: precise errors naming the file and the problem", "[unit][func]") {
  TempDir dir;
  const int32_t v[] = {1, 2, 3, 4};
  writeNpy(dir / "ok.npy", NpyType::Int32, {4}, v);
  const std::string good = readFile(dir / "ok.npy");

  CHECK_THROWS_WITH(readNpy(dir / "missing.npy"), Catch::Contains("missing.npy") && Catch::Contains("cannot open"));
  writeFile(dir / "magic.npy", "PK\x03\x04 not numpy at all");
  CHECK_THROWS_WITH(readNpy(dir / "magic.npy"), Catch::Contains("magic.npy") && Catch::Contains("magic"));
  writeFile(dir / "trunc.npy", good.substr(0, good.size() - 3));
  CHECK_THROWS_WITH(readNpy(dir / "trunc.npy"),
                    Catch::Contains("trunc.npy") && Catch::Contains("needs 16 bytes") && Catch::Contains("has 13"));
  std::string be = good;
  be.replace(be.find("<i4"), 3, ">i4");
  writeFile(dir / "be.npy", be);
  CHECK_THROWS_WITH(readNpy(dir / "be.npy"), Catch::Contains("be.npy") && Catch::Contains("unsupported dtype '>i4'"));
  std::string u4 = good;
  u4.replace(u4.find("<i4"), 3, "<u4");
  writeFile(dir / "u4.npy", u4);
  CHECK_THROWS_WITH(readNpy(dir / "u4.npy"), Catch::Contains("unsupported dtype '<u4'"));
  std::string fo = good;
  fo.replace(fo.find("False"), 5, "True ");
  writeFile(dir / "fo.npy", fo);
  CHECK_THROWS_WITH(readNpy(dir / "fo.npy"), Catch::Contains("fo.npy") && Catch::Contains("fortran_order"));
  std::string ver = good;
  ver[6] = 9;
  writeFile(dir / "ver.npy", ver);
  CHECK_THROWS_WITH(readNpy(dir / "ver.npy"), Catch::Contains("version 9.0"));
  const int32_t five[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                          17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  writeNpy(dir / "r5.npy", NpyType::Int32, {2, 1, 2, 2, 4}, five);
  CHECK_THROWS_WITH(readTensor(dir / "r5.npy"), Catch::Contains("r5.npy") && Catch::Contains("rank-5"));
  writeNpy(dir / "r5ok.npy", NpyType::Int32, {1, 2, 2, 2, 4}, five);
  CHECK(readTensor(dir / "r5ok.npy").shape() == Shape{2, 2, 2, 4});
}

TEST_CASE("npy: a header whose shape does not match the file is refused before any data are read", "[unit][func]") {
  TempDir dir;
  // A v1.0 file with the given header dict and `data` bytes after it.
  auto npy = [](const std::string& dictText, const std::string& data) {
    std::string dict = dictText;
    dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
    dict += '\n';
    std::string f = "\x93NUMPY";
    f += '\x01';
    f += '\x00';
    const uint16_t len = static_cast<uint16_t>(dict.size());
    f.append(reinterpret_cast<const char*>(&len), 2);
    return f + dict + data;
  };
  const int32_t four[] = {1, 2, 3, 4};
  const std::string data(reinterpret_cast<const char*>(four), 16);
  writeFile(dir / "ok.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", data));
  CHECK(readNpy(dir / "ok.npy").toInt64() == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(readNpyHeader(dir / "ok.npy").shape == std::vector<int64_t>{4});
  CHECK(readNpyHeader(dir / "ok.npy").data_bytes == 16);

  // Element count vs file size: more data than the shape holds, and less (truncated).
  writeFile(dir / "extra.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", data));
  CHECK_THROWS_WITH(readNpy(dir / "extra.npy"), Catch::Contains("extra.npy") && Catch::Contains("needs 12 bytes") &&
                                                    Catch::Contains("has 16") && Catch::Contains("extra bytes"));
  writeFile(dir / "short.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", data));
  CHECK_THROWS_WITH(readNpy(dir / "short.npy"), Catch::Contains("needs 24 bytes") && Catch::Contains("truncated"));
  CHECK_THROWS_WITH(readNpyHeader(dir / "short.npy"), Catch::Contains("truncated"));

  // Huge shapes: a product that overflows int64 (2^62 + 1) x 4 = 2^64 + 4, which wraps to the 4
  // elements the file holds), a byte count that overflows, a dimension beyond int64.
  writeFile(dir / "wrap.npy",
            npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387905, 4), }", data));
  CHECK_THROWS_WITH(readNpy(dir / "wrap.npy"), Catch::Contains("wrap.npy") && Catch::Contains("too large"));
  writeFile(dir / "bytes.npy",
            npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387904,), }", data));
  CHECK_THROWS_WITH(readNpy(dir / "bytes.npy"), Catch::Contains("too large"));
  writeFile(dir / "dim.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999999999999,), }", data));
  CHECK_THROWS_WITH(readNpy(dir / "dim.npy"), Catch::Contains("bad dimension '99999999999999999999'"));
  writeFile(dir / "zero.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", ""));
  CHECK(readNpy(dir / "zero.npy").elements() == 0);
  writeFile(dir / "comma.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (,), }", data));
  CHECK_THROWS_WITH(readNpy(dir / "comma.npy"), Catch::Contains("bad npy shape"));

  // A 1 TiB file (sparse: it takes no disk space) whose header promises 16 bytes: refused from its
  // size, without reading it (reading it into memory first would exhaust memory or take hours).
  {
    writeFile(dir / "huge.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", data));
    REQUIRE(::truncate((dir / "huge.npy").c_str(), off_t{1} << 40) == 0);
    CHECK_THROWS_WITH(readNpy(dir / "huge.npy"), Catch::Contains("huge.npy") && Catch::Contains("needs 16 bytes") &&
                                                     Catch::Contains("extra bytes"));
    std::filesystem::remove(dir / "huge.npy");
  }
  // An over-long header is refused; so is something that is not a regular file.
  {
    std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }";
    dict.append(size_t(kMaxNpyHeaderBytes) + 64 - (12 + dict.size() + 1) % 64, ' ');
    dict += '\n';
    std::string f = "\x93NUMPY";
    f += '\x02';
    f += '\x00';
    const uint32_t len = static_cast<uint32_t>(dict.size());
    f.append(reinterpret_cast<const char*>(&len), 4);
    writeFile(dir / "longheader.npy", f + dict + data);
    CHECK_THROWS_WITH(readNpy(dir / "longheader.npy"), Catch::Contains("header of") && Catch::Contains("longer than"));
  }
  std::filesystem::create_directory(dir / "adir.npy");
  CHECK_THROWS_WITH(readNpy(dir / "adir.npy"), Catch::Contains("adir.npy") && Catch::Contains("not a regular file"));
}

TEST_CASE("npy: writeNarrowNpy picks the narrowest integer dtype and reads back exactly", "[unit][func]") {
  TempDir dir;
  struct Case {
    std::vector<int64_t> values;
    NpyType type;
  };
  const std::vector<Case> cases = {
      {{-128, 0, 127}, NpyType::Int8},          {{0, 1, 255}, NpyType::UInt8},
      {{-129, 3}, NpyType::Int16},              {{-1, 255}, NpyType::Int16},
      {{0, 32768, 65535}, NpyType::UInt16},     {{-32769, 0}, NpyType::Int32},
      {{INT32_MIN, INT32_MAX}, NpyType::Int32}, {{int64_t{1} << 40, -5}, NpyType::Int64},
  };
  int i = 0;
  for (const auto& c : cases) {
    const std::string p = dir / ("n" + std::to_string(i++) + ".npy");
    const AccTensor t(Shape{1, 1, 1, int64_t(c.values.size())}, c.values);
    writeNarrowNpy(p, t, {int64_t(c.values.size())});
    INFO(p);
    CHECK(readNpyHeader(p).type == c.type);
    CHECK(readNpyHeader(p).shape == std::vector<int64_t>{int64_t(c.values.size())});
    CHECK(readAccTensor(p).values() == c.values);
  }
  // Tensor (int32 storage) with a 2-D shape, as conv / fc weights are written.
  const Tensor w(Shape{2, 3, 1, 1}, std::vector<int32_t>{-8, 7, 0, 1, -1, 3});
  writeNarrowNpy(dir / "w.npy", w, {2, 3});
  CHECK(readNpyHeader(dir / "w.npy").type == NpyType::Int8);
  CHECK(readTensor(dir / "w.npy").values() == w.values());
  CHECK_THROWS_WITH(writeNarrowNpy(dir / "x.npy", w, {4, 2}), Catch::Contains("requested shape has 8 elements"));
}
