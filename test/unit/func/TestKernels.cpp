// Functional-mode integer kernels: hand-checked cases, a cross-check against the independent NumPy
// reference test/func_ref.py, and the ONNX backend test cases shipped by Debian's libonnx-testdata.
#include <catch2/catch.hpp>

#include "NumpyPython.hpp"
#include "TempDir.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/func/Npy.hpp"
#include "mpsim/func/OnnxTensor.hpp"

using namespace mpsim;
using namespace mpsim::func;
using graph::ActType;
using graph::Shape;

namespace {

Tensor T4(Shape s, std::vector<int32_t> v) { return Tensor(s, std::move(v)); }
std::vector<int64_t> vals(const AccTensor& t) { return t.values(); }
std::vector<int32_t> vals(const Tensor& t) { return t.values(); }

const Operand kU8{8, OperandKind::Unsigned}, kS8{8, OperandKind::Signed}, kBip{1, OperandKind::Bipolar};

ConvGeometry geom(int k, int kh, int kw, int stride = 1, int pad = 0, int dil = 1, int groups = 1) {
  ConvGeometry g;
  g.kh = kh; g.kw = kw;
  g.stride_h = g.stride_w = stride;
  g.pad_h = g.pad_w = pad;
  g.dil_h = g.dil_w = dil;
  g.groups = groups;
  g.out_channels = k;
  return g;
}

struct TempDir : mpsim::test::TempDir {
  TempDir() : mpsim::test::TempDir("mpsim_func") {}
};

std::string readFile(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
void writeFile(const std::string& p, const std::string& s) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << s;
}

template <typename F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

} // namespace

// ------------------------------------------------------------------ .npy
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
  const int32_t five[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
                          26, 27, 28, 29, 30, 31, 32};
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
  writeFile(dir / "wrap.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387905, 4), }", data));
  CHECK_THROWS_WITH(readNpy(dir / "wrap.npy"), Catch::Contains("wrap.npy") && Catch::Contains("too large"));
  writeFile(dir / "bytes.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4611686018427387904,), }", data));
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
    CHECK_THROWS_WITH(readNpy(dir / "huge.npy"),
                      Catch::Contains("huge.npy") && Catch::Contains("needs 16 bytes") && Catch::Contains("extra bytes"));
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

// ------------------------------------------------------------------ convolution
TEST_CASE("conv: hand-checked stride, padding, dilation, groups, depthwise", "[unit][func]") {
  const Tensor x = T4({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tensor ones = T4({1, 1, 2, 2}, {1, 1, 1, 1});
  const Operand u4{4, OperandKind::Unsigned}, s2{2, OperandKind::Signed};
  AccTensor y = conv2d(x, u4, ones, {s2}, geom(1, 2, 2));
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(vals(y) == std::vector<int64_t>{12, 16, 24, 28});
  y = conv2d(x, u4, ones, {s2}, geom(1, 2, 2, 1, 1));
  CHECK(y.shape() == Shape{1, 1, 4, 4});
  CHECK(vals(y) == std::vector<int64_t>{1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9});

  // 5x5 ramp x[i][j] = 5i + j, w = [[1,2],[3,-1]], stride 2, dilation 2:
  // y = x[2p][2q] + 2 x[2p][2q+2] + 3 x[2p+2][2q] - x[2p+2][2q+2] = 5 v + 22, v = 10p + 2q.
  Tensor ramp(Shape{1, 1, 5, 5});
  for (int i = 0; i < 25; ++i) ramp[static_cast<std::size_t>(i)] = i;
  const Operand s3{3, OperandKind::Signed}, u5{5, OperandKind::Unsigned};
  y = conv2d(ramp, u5, T4({1, 1, 2, 2}, {1, 2, 3, -1}), {s3}, geom(1, 2, 2, 2, 0, 2));
  CHECK(y.shape() == Shape{1, 1, 2, 2});
  CHECK(vals(y) == std::vector<int64_t>{22, 32, 72, 82});

  // Two groups of 2 channels: y0 = x0 + x1, y1 = x2 - x3.
  y = conv2d(T4({1, 4, 1, 1}, {1, 2, 3, 4}), u4, T4({2, 2, 1, 1}, {1, 1, 1, -1}), {s2}, geom(2, 1, 1, 1, 0, 1, 2));
  CHECK(vals(y) == std::vector<int64_t>{3, -1});

  // Depthwise 3 channels: each plane scaled by its own weight.
  const Tensor dwx = T4({1, 3, 1, 2}, {1, 2, 3, 4, 5, 6});
  y = conv2d(dwx, u4, T4({3, 1, 1, 1}, {2, -1, 3}), {s3}, geom(3, 1, 1, 1, 0, 1, 3));
  CHECK(vals(y) == std::vector<int64_t>{2, 4, -3, -4, 15, 18});

  // Output channels not a multiple of 4 (exercise both the 4-channel blocks and the remainder).
  Tensor w5(Shape{5, 1, 1, 1}, std::vector<int32_t>{1, 2, 3, -1, -2});
  y = conv2d(T4({1, 1, 1, 1}, {7}), u4, w5, {s3}, geom(5, 1, 1));
  CHECK(vals(y) == std::vector<int64_t>{7, 14, 21, -7, -14});
}

TEST_CASE("conv/fc: bipolar operands decode bit 1 as +1 and bit 0 as -1", "[unit][func]") {
  const Operand s4{4, OperandKind::Signed};
  // x = [5, 7, 2]; w rows [1,0,1] -> [+1,-1,+1] and [0,0,1] -> [-1,-1,+1].
  const Tensor x = T4({1, 3, 1, 1}, {5, 7, 2});
  AccTensor y = fullyConnected(x, s4, T4({2, 3, 1, 1}, {1, 0, 1, 0, 0, 1}), {kBip}, 2);
  CHECK(y.shape() == Shape{1, 2, 1, 1});
  CHECK(vals(y) == std::vector<int64_t>{0, -10});
  // Bipolar x bipolar: (+1)(+1) + (+1)(-1) + (-1)(-1) + (+1)(+1) = 2.
  y = fullyConnected(T4({1, 4, 1, 1}, {1, 1, 0, 1}), kBip, T4({1, 4, 1, 1}, {1, 0, 0, 1}), {kBip}, 1);
  CHECK(vals(y) == std::vector<int64_t>{2});
  // Padding adds nothing, also for bipolar activations (stored bit 0 would mean -1): an all-+1
  // 3x3 image under all-ones 3x3 weights with padding 1 gives 4 at the corners, 6 at the edges and
  // 9 in the middle, in a regular and in a depthwise convolution.
  const Operand s2{2, OperandKind::Signed};
  const std::vector<int64_t> padded{4, 6, 4, 6, 9, 6, 4, 6, 4};
  y = conv2d(Tensor(Shape{1, 1, 3, 3}, std::vector<int32_t>(9, 1)), kBip,
             Tensor(Shape{1, 1, 3, 3}, std::vector<int32_t>(9, 1)), {s2}, geom(1, 3, 3, 1, 1));
  CHECK(vals(y) == padded);
  y = conv2d(Tensor(Shape{1, 2, 3, 3}, std::vector<int32_t>(18, 1)), kBip,
             Tensor(Shape{2, 1, 3, 3}, std::vector<int32_t>(18, 1)), {s2}, geom(2, 3, 3, 1, 1, 1, 2));
  std::vector<int64_t> twice = padded;
  twice.insert(twice.end(), padded.begin(), padded.end());
  CHECK(vals(y) == twice);
  // Bipolar storage must be bits.
  CHECK_THROWS_WITH(fullyConnected(x, s4, T4({1, 3, 1, 1}, {1, -1, 1}), {kBip}, 1),
                    Catch::Contains("weights") && Catch::Contains("flat index 1") && Catch::Contains("bipolar"));
  // Layer-level weight types: bipolar ignores weight_bits.
  graph::Layer l;
  l.kind = graph::LayerKind::FullyConnected;
  l.out_channels = 2;
  l.weight_type = graph::WeightType::Bipolar;
  l.weight_bits = 1;
  l.in = ActType{4, true};
  CHECK(vals(weightedLayer(l, x, T4({2, 3, 1, 1}, {1, 0, 1, 0, 0, 1}))) == std::vector<int64_t>{0, -10});
}

TEST_CASE("conv: operand ranges, per-channel weight widths and 1-bit / 16-bit extremes", "[unit][func]") {
  const Operand u4{4, OperandKind::Unsigned};
  const Tensor x = T4({1, 2, 1, 1}, {15, 3});
  CHECK_THROWS_WITH(conv2d(T4({1, 2, 1, 1}, {16, 3}), u4, T4({1, 2, 1, 1}, {1, 1}), {kS8}, geom(1, 1, 1)),
                    Catch::Contains("conv input") && Catch::Contains("value 16") && Catch::Contains("uint4"));
  // Channel 0 is int2 ([-2, 1]), channel 1 int4: weight 2 is legal only in channel 1.
  const std::vector<Operand> perCh{{2, OperandKind::Signed}, {4, OperandKind::Signed}};
  CHECK(vals(conv2d(x, u4, T4({2, 2, 1, 1}, {1, -2, 2, 7}), perCh, geom(2, 1, 1))) ==
        std::vector<int64_t>{15 - 6, 30 + 21});
  CHECK_THROWS_WITH(conv2d(x, u4, T4({2, 2, 1, 1}, {2, -2, 2, 7}), perCh, geom(2, 1, 1)),
                    Catch::Contains("output channel 0") && Catch::Contains("int2"));
  CHECK_THROWS_WITH(conv2d(x, u4, T4({2, 2, 1, 1}, {1, 1, 1, 1}), {kS8, kS8, kS8}, geom(2, 1, 1)),
                    Catch::Contains("3 weight types for 2 output channels"));
  // 1-bit signed is {-1, 0}, 1-bit unsigned {0, 1}.
  const Operand s1{1, OperandKind::Signed}, u1{1, OperandKind::Unsigned};
  CHECK(vals(conv2d(T4({1, 2, 1, 1}, {1, 1}), u1, T4({1, 2, 1, 1}, {-1, -1}), {s1}, geom(1, 1, 1))) ==
        std::vector<int64_t>{-2});
  CHECK_THROWS(conv2d(T4({1, 2, 1, 1}, {1, 1}), u1, T4({1, 2, 1, 1}, {1, 0}), {s1}, geom(1, 1, 1)));
  // int16 x int16 extremes: 4 * (-32768)^2 = 2^32 needs the int64 path.
  const Operand s16{16, OperandKind::Signed}, u16{16, OperandKind::Unsigned};
  CHECK(vals(conv2d(T4({1, 4, 1, 1}, {-32768, -32768, -32768, -32768}), s16,
                    T4({1, 4, 1, 1}, {-32768, -32768, -32768, -32768}), {s16}, geom(1, 1, 1))) ==
        std::vector<int64_t>{int64_t{1} << 32});
  // uint16 does not fit the int16 fast path.
  CHECK(vals(conv2d(T4({1, 2, 1, 1}, {65535, 65535}), u16, T4({1, 2, 1, 1}, {32767, 1}), {s16}, geom(1, 1, 1))) ==
        std::vector<int64_t>{int64_t{65535} * 32768});
  CHECK_THROWS_WITH(conv2d(x, u4, T4({1, 2, 3, 3}, std::vector<int32_t>(18, 0)), {kS8}, geom(1, 1, 1)),
                    Catch::Contains("shape 1x2x3x3, expected 1x2x1x1"));
  CHECK_THROWS_WITH(conv2d(T4({1, 3, 1, 1}, {1, 1, 1}), u4, T4({2, 1, 1, 1}, {1, 1}), {kS8}, geom(2, 1, 1, 1, 0, 1, 2)),
                    Catch::Contains("groups 2 must divide"));
}

TEST_CASE("accumulator width follows the operand ranges", "[unit][func]") {
  const Operand s16{16, OperandKind::Signed}, u16{16, OperandKind::Unsigned};
  CHECK(accumulatorBound(kU8, kS8, 576) == 576u * 255u * 128u);
  CHECK(accumulatorWidth(kU8, kS8, 576) == AccWidth::Int32);
  CHECK(accumulatorBound(kBip, kBip, 1000) == 1000u);
  CHECK(accumulatorWidth(s16, s16, 1) == AccWidth::Int32);  // 2^30
  CHECK(accumulatorWidth(s16, s16, 2) == AccWidth::Int64);  // 2^31 > INT32_MAX
  CHECK(accumulatorWidth(kU8, kS8, 65793) == AccWidth::Int32);  // 65793 * 32640 = 2147483520
  CHECK(accumulatorWidth(kU8, kS8, 65794) == AccWidth::Int64);
  CHECK_NOTHROW(accumulatorBound(u16, u16, int64_t{1} << 30));
  CHECK_THROWS_WITH(accumulatorBound(u16, u16, int64_t{1} << 32), Catch::Contains("could exceed int64"));
  CHECK_THROWS_WITH(accumulatorBound(Operand{17, OperandKind::Signed}, kS8, 1), Catch::Contains("1..16"));
}

// ------------------------------------------------------------------ requantisation
TEST_CASE("thresholds: count of thresholds reached, equality counts, FINN signed bias", "[unit][func]") {
  const AccTensor acc(Shape{1, 1, 1, 5}, std::vector<int64_t>{-1, 0, 1, 5, 6});
  const AccTensor thr(Shape{1, 1, 1, 2}, std::vector<int64_t>{0, 5});
  CHECK(vals(multiThreshold(acc, thr, ActType{2, false})) == std::vector<int32_t>{0, 1, 1, 2, 2});
  CHECK(vals(multiThreshold(acc, thr, ActType{2, true})) == std::vector<int32_t>{-2, -1, -1, 0, 0});
  // Unsorted thresholds count the same.
  const AccTensor rev(Shape{1, 1, 1, 2}, std::vector<int64_t>{5, 0});
  CHECK(vals(multiThreshold(acc, rev, ActType{2, false})) == std::vector<int32_t>{0, 1, 1, 2, 2});
  // One row per channel.
  const AccTensor acc2(Shape{1, 2, 1, 2}, std::vector<int64_t>{3, 4, 3, 4});
  const AccTensor thr2(Shape{1, 1, 2, 3}, std::vector<int64_t>{1, 2, 4, 4, 4, 4});
  CHECK(vals(multiThreshold(acc2, thr2, ActType{2, false})) == std::vector<int32_t>{2, 3, 0, 3});
  CHECK_THROWS_WITH(multiThreshold(acc, AccTensor(Shape{1, 1, 1, 4}), ActType{2, false}),
                    Catch::Contains("4 thresholds") && Catch::Contains("at most 3"));
  CHECK_THROWS_WITH(multiThreshold(acc2, AccTensor(Shape{1, 1, 3, 1}), ActType{2, false}),
                    Catch::Contains("3 rows"));
}

TEST_CASE("scale/shift: rounding half towards +inf, saturation, overflow", "[unit][func]") {
  const AccTensor acc(Shape{1, 1, 1, 6}, std::vector<int64_t>{5, 6, 7, -5, -6, -7});
  ScaleShift p;
  p.shift = {2};
  CHECK(vals(scaleShift(acc, p, ActType{8, true})) == std::vector<int32_t>{1, 2, 2, -1, -1, -2});
  CHECK(vals(scaleShift(acc, p, ActType{2, false})) == std::vector<int32_t>{1, 2, 2, 0, 0, 0});
  p.scale = {3};
  p.bias = {1};
  p.shift = {0};
  CHECK(vals(scaleShift(acc, p, ActType{4, true})) == std::vector<int32_t>{7, 7, 7, -8, -8, -8});
  // Per channel.
  const AccTensor acc2(Shape{1, 2, 1, 2}, std::vector<int64_t>{10, 11, 10, 11});
  ScaleShift pc;
  pc.scale = {1, 3};
  pc.bias = {0, -1};
  pc.shift = {1, 2};
  // ch0: 10/2 = 5, 11/2 = 5.5 -> 6; ch1: 29/4 = 7.25 -> 7, 32/4 = 8.
  CHECK(vals(scaleShift(acc2, pc, ActType{8, false})) == std::vector<int32_t>{5, 6, 7, 8});
  ScaleShift huge;
  huge.scale = {int64_t{1} << 40};
  CHECK_THROWS_WITH(scaleShift(AccTensor(Shape{1, 1, 1, 1}, std::vector<int64_t>{int64_t{1} << 30}), huge,
                               ActType{8, true}),
                    Catch::Contains("overflows int64"));
  CHECK(roundShift(-1, 1) == 0);  // -0.5 -> 0
  CHECK(roundShift(-3, 1) == -1); // -1.5 -> -1
  CHECK(roundShift(3, 1) == 2);
  CHECK(roundDiv(10, 4) == 3);
  CHECK(roundDiv(-10, 4) == -2);
  CHECK(roundDiv(5, 3) == 2);
  CHECK(roundDiv(-5, 3) == -2);
}

TEST_CASE("float requantisation (ONNX QLinear): round half to even, zero point, saturation", "[unit][func]") {
  const AccTensor acc(Shape{1, 1, 1, 6}, std::vector<int64_t>{1, 3, 5, -1, -3, 1000});
  CHECK(vals(requantizeFloat(acc, {0.5}, 0, ActType{8, true})) == std::vector<int32_t>{0, 2, 2, 0, -2, 127});
  CHECK(vals(requantizeFloat(acc, {0.5}, 128, ActType{8, false})) == std::vector<int32_t>{128, 130, 130, 128, 126, 255});
}

// ------------------------------------------------------------------ pooling and add
TEST_CASE("pooling: max ignores padding, averages round half up, global average", "[unit][func]") {
  const Tensor x = T4({1, 1, 4, 4}, {1, 2, 5, 6, 3, 4, 7, 8, -1, -2, 1, 1, -3, -4, 1, 2});
  PoolGeometry g;
  g.kh = g.kw = 2;
  g.stride_h = g.stride_w = 2;
  CHECK(vals(maxPool(x, g)) == std::vector<int32_t>{4, 8, -1, 2});
  // 10/4 = 2.5 -> 3; 26/4 = 6.5 -> 7; -10/4 = -2.5 -> -2; 5/4 = 1.25 -> 1.
  CHECK(vals(avgPool(x, g)) == std::vector<int32_t>{3, 7, -2, 1});
  // Negative plane with padding: the max is -5, not the padding.
  PoolGeometry p3;
  p3.kh = p3.kw = 3;
  p3.pad_h = p3.pad_w = 1;
  p3.stride_h = p3.stride_w = 2;
  const Tensor neg(Shape{1, 1, 3, 3}, -5);
  CHECK(vals(maxPool(neg, p3)) == std::vector<int32_t>{-5, -5, -5, -5});
  // Average with padding: corner window holds 4 values of -5: -20/9 -> -2 (counting padding) or -5.
  CHECK(vals(avgPool(neg, p3, true))[0] == -2);
  CHECK(vals(avgPool(neg, p3, false)) == std::vector<int32_t>{-5, -5, -5, -5});
  // Dilation 2 on the 4x4 plane: window {x00, x02, x20, x22} = {1, 5, -1, 1}.
  PoolGeometry d;
  d.kh = d.kw = 2;
  d.dil_h = d.dil_w = 2;
  CHECK(vals(maxPool(x, d)) == std::vector<int32_t>{5, 6, 7, 8});
  CHECK(vals(globalAvgPool(T4({1, 2, 2, 2}, {1, 2, 3, 4, 0, 0, 0, 2}))) == std::vector<int32_t>{3, 1});
  CHECK(globalAvgPool(T4({1, 2, 2, 2}, {1, 2, 3, 4, 0, 0, 0, 2})).shape() == Shape{1, 2, 1, 1});
  PoolGeometry bad;
  bad.kh = bad.kw = 2;
  bad.pad_h = bad.pad_w = 2;
  CHECK_THROWS_WITH(maxPool(x, bad), Catch::Contains("padding must be smaller"));
}

TEST_CASE("add: both inputs rescaled, rounded and saturated", "[unit][func]") {
  const Tensor a = T4({1, 1, 1, 2}, {3, -3}), b = T4({1, 1, 1, 2}, {1, 1});
  AddParams p;
  p.scale_a = 2;
  p.scale_b = 3;
  p.shift = 1;
  // (6 + 3) / 2 = 4.5 -> 5; (-6 + 3) / 2 = -1.5 -> -1
  CHECK(vals(add(a, b, p, ActType{8, true})) == std::vector<int32_t>{5, -1});
  CHECK(vals(add(a, b, p, ActType{2, false})) == std::vector<int32_t>{3, 0});
  CHECK(vals(add(a, b, AddParams{}, ActType{8, true})) == std::vector<int32_t>{4, -2});
  CHECK_THROWS_WITH(add(a, T4({1, 2, 1, 1}, {1, 1}), p, ActType{8, true}), Catch::Contains("shapes differ"));
}

TEST_CASE("runLayer: conv + thresholds, fc + scale/shift, quantizer, concat", "[unit][func]") {
  graph::Layer l;
  l.name = "c";
  l.kind = graph::LayerKind::Conv;
  l.kh = l.kw = 2;
  l.out_channels = 1;
  l.weight_bits = 2;
  l.in = ActType{4, false};
  l.out = ActType{2, false};
  l.requant = graph::Requant::Thresholds;
  LayerParams p;
  p.weights = T4({1, 1, 2, 2}, {1, 1, 1, 1});
  p.thresholds = AccTensor(Shape{1, 1, 1, 3}, std::vector<int64_t>{13, 16, 25});
  const Tensor x = T4({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  // acc {12, 16, 24, 28} -> {0, 2, 2, 3}
  CHECK(vals(runLayer(l, {&x}, p)) == std::vector<int32_t>{0, 2, 2, 3});
  l.requant = graph::Requant::ScaleShift;
  p.scale.shift = {3}; // {1.5, 2, 3, 3.5} -> {2, 2, 3, 4} -> saturate to 3
  CHECK(vals(runLayer(l, {&x}, p)) == std::vector<int32_t>{2, 2, 3, 3});
  l.requant = graph::Requant::None;
  CHECK(vals(runLayer(l, {&x}, p)) == std::vector<int32_t>{3, 3, 3, 3});

  graph::Layer cat;
  cat.kind = graph::LayerKind::Concat;
  const Tensor a = T4({1, 1, 1, 2}, {1, 2}), b = T4({1, 2, 1, 2}, {3, 4, 5, 6});
  const Tensor c = runLayer(cat, {&a, &b}, LayerParams{});
  CHECK(c.shape() == Shape{1, 3, 1, 2});
  CHECK(vals(c) == std::vector<int32_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("labelSelect: k largest in descending order, ties to the lower index, per frame", "[unit][func]") {
  // Two frames of 6 scores, signed; frame 0 has a three-way tie at 5 and a tie at -2.
  const Tensor x = T4({2, 6, 1, 1}, {5, -2, 5, 7, -2, 5, /**/ -8, -8, -8, 3, -8, 3});
  CHECK(vals(labelSelect(x, 1)) == std::vector<int32_t>{3, 3});
  const Tensor t3 = labelSelect(x, 3);
  CHECK(t3.shape() == Shape{2, 3, 1, 1});
  CHECK(vals(t3) == std::vector<int32_t>{3, 0, 2, /**/ 3, 5, 0});
  CHECK(vals(labelSelect(x, 6)) == std::vector<int32_t>{3, 0, 2, 5, 1, 4, /**/ 3, 5, 0, 1, 2, 4});
  // All equal: the indices in order.
  CHECK(vals(labelSelect(T4({1, 4, 1, 1}, {9, 9, 9, 9}), 4)) == std::vector<int32_t>{0, 1, 2, 3});
  // A (C, H, W) frame is read in C order (as a flatten would): index c*H*W + h*W + w.
  const Tensor sp = T4({1, 2, 2, 2}, {0, 1, 2, 3, 4, 9, 6, 9});
  CHECK(vals(labelSelect(sp, 3)) == std::vector<int32_t>{5, 7, 6});
  // k outside 1..C.
  CHECK_THROWS_WITH(labelSelect(x, 0), Catch::Contains("labelselect: k = 0 is outside 1..6"));
  CHECK_THROWS_WITH(labelSelect(x, 7), Catch::Contains("labelselect: k = 7 is outside 1..6"));

  // runLayer dispatches on the layer's k.
  graph::Layer l;
  l.name = "top";
  l.kind = graph::LayerKind::LabelSelect;
  l.topk = 2;
  CHECK(vals(runLayer(l, {&x}, LayerParams{})) == std::vector<int32_t>{3, 0, /**/ 3, 5});
}

// ------------------------------------------------------------------ NumPy cross-check
namespace {

struct NumpyRef {
  std::string python;
  std::string script = std::string(MPSIM_SOURCE_DIR) + "/test/func_ref.py";
  TempDir dir;
  std::mt19937 rng{20240611u};

  Tensor random(const Shape& s, const Operand& t) {
    std::uniform_int_distribution<int32_t> d(static_cast<int32_t>(t.storedMin()), static_cast<int32_t>(t.storedMax()));
    Tensor r(s);
    for (auto& v : r.values()) v = d(rng);
    return r;
  }
  AccTensor randomAcc(const Shape& s, int64_t lo, int64_t hi) {
    std::uniform_int_distribution<int64_t> d(lo, hi);
    AccTensor r(s);
    for (auto& v : r.values()) v = d(rng);
    return r;
  }
  // Runs the reference and loads its int64 output.
  AccTensor run(const std::string& args, const std::string& out) {
    const std::string cmd = python + " " + script + " " + args + " 2>" + (dir / "stderr.txt");
    const int rc = std::system(cmd.c_str());
    INFO(cmd << "\n" << readFile(dir / "stderr.txt"));
    REQUIRE(rc == 0);
    return readAccTensor(dir / out);
  }
};

std::string typeArg(const Operand& t) { return t.str(); }

} // namespace

TEST_CASE("kernels agree bit for bit with the independent NumPy reference", "[unit][func]") {
  NumpyRef ref;
  ref.python = mpsim::test::numpyPython(); // fails the test when there is no python3 with numpy
  const Operand u8{8, OperandKind::Unsigned}, s8{8, OperandKind::Signed}, s4{4, OperandKind::Signed},
      u3{3, OperandKind::Unsigned}, s2{2, OperandKind::Signed}, u2{2, OperandKind::Unsigned},
      s16{16, OperandKind::Signed}, u16{16, OperandKind::Unsigned}, u1{1, OperandKind::Unsigned},
      s1{1, OperandKind::Signed}, s3{3, OperandKind::Signed};

  struct ConvCase {
    const char* name;
    Shape x;
    int k, kh, kw, sh, sw, ph, pw, dh, dw, groups;
    Operand xt;
    std::vector<Operand> wt;
  };
  const std::vector<ConvCase> cases = {
      {"8-bit 3x3 pad 1", {1, 8, 9, 7}, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1, u8, {s8}},
      {"4x3-bit stride 2 pad 2 dilation 2", {1, 5, 11, 10}, 6, 3, 3, 2, 2, 2, 2, 2, 2, 1, s4, {u3}},
      {"grouped, rectangular kernel and strides", {1, 6, 8, 9}, 4, 3, 2, 2, 1, 1, 0, 1, 1, 2, u8, {s4}},
      {"depthwise 2-bit x bipolar", {1, 5, 7, 7}, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, s2, {kBip}},
      {"bipolar x bipolar, horizontal dilation", {1, 7, 6, 9}, 9, 2, 3, 1, 1, 0, 1, 1, 2, 1, kBip, {kBip}},
      {"per-channel weight widths", {1, 3, 5, 5}, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, u2, {s2, s4, s8, s3}},
      {"16-bit (int64 accumulators)", {1, 4, 5, 6}, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, s16, {s16}},
      {"uint16 activations", {1, 3, 4, 4}, 2, 2, 2, 2, 2, 0, 0, 1, 1, 1, u16, {s8}},
      {"1-bit unsigned x 1-bit signed, batch 2", {2, 6, 4, 5}, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, u1, {s1}},
  };
  for (const ConvCase& c : cases) {
    SECTION(c.name) {
      ConvGeometry g;
      g.kh = c.kh; g.kw = c.kw; g.stride_h = c.sh; g.stride_w = c.sw; g.pad_h = c.ph; g.pad_w = c.pw;
      g.dil_h = c.dh; g.dil_w = c.dw; g.groups = c.groups; g.out_channels = c.k;
      const Tensor x = ref.random(c.x, c.xt);
      Tensor w(Shape{c.k, c.x.c / c.groups, c.kh, c.kw});
      const int64_t per = w.shape().c * c.kh * c.kw;
      std::string bits;
      for (int64_t k = 0; k < c.k; ++k) {
        const Operand& t = c.wt.size() == 1 ? c.wt[0] : c.wt[static_cast<std::size_t>(k)];
        const Tensor row = ref.random(Shape{1, 1, 1, per}, t);
        std::copy(row.values().begin(), row.values().end(), w.values().begin() + k * per);
        bits += (bits.empty() ? "" : ",") + std::to_string(t.bits);
      }
      writeNpy(ref.dir / "x.npy", x);
      writeNpy(ref.dir / "w.npy", w);
      std::ostringstream args;
      args << "conv " << (ref.dir / "x.npy") << " " << (ref.dir / "w.npy") << " " << (ref.dir / "y.npy")
           << " --xtype " << typeArg(c.xt) << " --wtype " << typeArg(c.wt[0]) << " --k " << c.k << " --kernel "
           << c.kh << " " << c.kw << " --stride " << c.sh << " " << c.sw << " --pad " << c.ph << " " << c.pw
           << " --dil " << c.dh << " " << c.dw << " --groups " << c.groups;
      if (c.wt.size() > 1) args << " --channel-bits " << bits;
      const AccTensor expect = ref.run(args.str(), "y.npy");
      const AccTensor got = conv2d(x, c.xt, w, c.wt, g);
      CHECK(got.shape() == expect.shape());
      CHECK(got.values() == expect.values());
    }
  }
  SECTION("fully connected") {
    const Tensor x = ref.random(Shape{1, 6, 3, 3}, u8);
    const Tensor w = ref.random(Shape{10, 54, 1, 1}, s8);
    writeNpy(ref.dir / "x.npy", x);
    writeNpy(ref.dir / "w.npy", w, {10, 54});
    const AccTensor expect = ref.run("fc " + (ref.dir / "x.npy") + " " + (ref.dir / "w.npy") + " " +
                                         (ref.dir / "y.npy") + " --xtype uint8 --wtype int8 --k 10",
                                     "y.npy");
    const AccTensor got = fullyConnected(x, u8, w, {s8}, 10);
    CHECK(got.values() == expect.values());
    CHECK(got.shape().c == 10);
  }
  SECTION("thresholds, per channel and shared, with ties") {
    const AccTensor acc = ref.randomAcc(Shape{1, 4, 5, 5}, -40, 40);
    AccTensor thr = ref.randomAcc(Shape{1, 1, 4, 15}, -40, 40);
    for (int64_t c = 0; c < 4; ++c) std::sort(thr.data() + c * 15, thr.data() + (c + 1) * 15);
    writeNpy(ref.dir / "acc.npy", acc);
    writeNpy(ref.dir / "thr.npy", thr, {4, 15});
    for (const char* out : {"uint4", "int4"}) {
      const AccTensor expect = ref.run("threshold " + (ref.dir / "acc.npy") + " " + (ref.dir / "thr.npy") + " " +
                                           (ref.dir / "y.npy") + " --out " + out,
                                       "y.npy");
      const Tensor got = multiThreshold(acc, thr, ActType{4, out[0] == 'i'});
      CHECK(widen(got).values() == expect.values());
    }
    AccTensor shared = ref.randomAcc(Shape{1, 1, 1, 7}, -40, 40); // unsorted on purpose
    writeNpy(ref.dir / "thr1.npy", shared, {1, 7});
    const AccTensor expect = ref.run("threshold " + (ref.dir / "acc.npy") + " " + (ref.dir / "thr1.npy") + " " +
                                         (ref.dir / "y.npy") + " --out uint3",
                                     "y.npy");
    CHECK(widen(multiThreshold(acc, shared, ActType{3, false})).values() == expect.values());
  }
  SECTION("scale/shift per channel") {
    const AccTensor acc = ref.randomAcc(Shape{1, 3, 4, 4}, -5000, 5000);
    writeNpy(ref.dir / "acc.npy", acc);
    ScaleShift p;
    p.scale = {3, 7, 1};
    p.bias = {-5, 0, 12};
    p.shift = {4, 6, 2};
    const AccTensor expect = ref.run("scaleshift " + (ref.dir / "acc.npy") + " " + (ref.dir / "y.npy") +
                                         " --out int8 --scale 3,7,1 --bias=-5,0,12 --shift 4,6,2",
                                     "y.npy");
    CHECK(widen(scaleShift(acc, p, ActType{8, true})).values() == expect.values());
  }
  SECTION("pooling and add") {
    const Tensor x = ref.random(Shape{1, 3, 9, 8}, s8);
    writeNpy(ref.dir / "x.npy", x);
    const std::string geo = " --kernel 3 3 --stride 2 2 --pad 1 1";
    PoolGeometry g;
    g.kh = g.kw = 3;
    g.stride_h = g.stride_w = 2;
    g.pad_h = g.pad_w = 1;
    CHECK(widen(maxPool(x, g)).values() ==
          ref.run("maxpool " + (ref.dir / "x.npy") + " " + (ref.dir / "y.npy") + geo, "y.npy").values());
    CHECK(widen(avgPool(x, g, true)).values() ==
          ref.run("avgpool " + (ref.dir / "x.npy") + " " + (ref.dir / "y.npy") + geo, "y.npy").values());
    CHECK(widen(avgPool(x, g, false)).values() ==
          ref.run("avgpool " + (ref.dir / "x.npy") + " " + (ref.dir / "y.npy") + geo + " --valid-only", "y.npy")
              .values());
    PoolGeometry d;
    d.kh = d.kw = 2;
    d.dil_h = d.dil_w = 2;
    CHECK(widen(maxPool(x, d)).values() ==
          ref.run("maxpool " + (ref.dir / "x.npy") + " " + (ref.dir / "y.npy") + " --kernel 2 2 --dil 2 2", "y.npy")
              .values());
    CHECK(widen(globalAvgPool(x)).values() ==
          ref.run("gap " + (ref.dir / "x.npy") + " " + (ref.dir / "y.npy"), "y.npy").values());
    const Tensor b = ref.random(x.shape(), u8);
    writeNpy(ref.dir / "b.npy", b);
    AddParams p;
    p.scale_a = 5;
    p.scale_b = -3;
    p.bias = 7;
    p.shift = 3;
    CHECK(widen(add(x, b, p, ActType{6, true})).values() ==
          ref.run("add " + (ref.dir / "x.npy") + " " + (ref.dir / "b.npy") + " " + (ref.dir / "y.npy") +
                      " --out int6 --scale-a 5 --scale-b=-3 --bias 7 --shift 3",
                  "y.npy")
              .values());
  }
  SECTION("labelselect with many ties (3-bit scores), spatial frames, batch 4") {
    const Tensor x = ref.random(Shape{4, 5, 2, 3}, s3); // 30 scores of 8 values per frame
    writeNpy(ref.dir / "x.npy", x);
    for (int k : {1, 4, 30}) {
      INFO("k = " << k);
      const AccTensor expect =
          ref.run("labelselect " + (ref.dir / "x.npy") + " " + (ref.dir / "y.npy") + " --k " + std::to_string(k), "y.npy");
      const Tensor got = labelSelect(x, k);
      CHECK(got.shape() == expect.shape());
      CHECK(widen(got).values() == expect.values());
    }
  }
}

// ------------------------------------------------------------------ ONNX backend test cases
namespace {

const std::string kOnnxNodeDir = "/usr/share/libonnx-testdata/data/node";

struct OnnxCase {
  std::string dir;
  OnnxTensor in(int i) const { return readOnnxTensor(dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb"); }
  OnnxTensor out() const { return readOnnxTensor(dir + "/test_data_set_0/output_0.pb"); }
  OnnxTensor readOut(int i) const { return readOnnxTensor(dir + "/test_data_set_0/output_" + std::to_string(i) + ".pb"); }
};

// A float tensor whose values are all integers (scores of the ONNX TopK/ArgMax examples) as int32.
Tensor integral(const OnnxTensor& t, const Shape& s) {
  REQUIRE(t.isFloat());
  REQUIRE(t.elements() == s.elements());
  Tensor r(s);
  for (std::size_t i = 0; i < r.size(); ++i) {
    REQUIRE(t.floats[i] == std::floor(t.floats[i]));
    r[i] = static_cast<int32_t>(t.floats[i]);
  }
  return r;
}

// libonnx-testdata is a test dependency (scripts/setup.sh installs it): without it the test fails.
void requireOnnxData() {
  if (!std::filesystem::is_directory(kOnnxNodeDir + "/test_basic_convinteger"))
    FAIL("libonnx-testdata is not installed (" << kOnnxNodeDir << "/test_basic_convinteger missing); run scripts/setup.sh");
}

int64_t scalarInt(const OnnxTensor& t) {
  REQUIRE(t.elements() == 1);
  REQUIRE(t.ints.size() == 1);
  return t.ints[0];
}
double scalarFloat(const OnnxTensor& t) {
  REQUIRE(t.elements() == 1);
  REQUIRE(t.floats.size() == 1);
  return t.floats[0];
}

// ONNX tensor minus its zero point, as an NCHW tensor of the given shape.
Tensor shifted(const OnnxTensor& t, int64_t zeroPoint, const Shape& s) {
  REQUIRE(t.elements() == s.elements());
  Tensor r(s);
  for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<int32_t>(t.ints[i] - zeroPoint);
  return r;
}

Shape nchw(const OnnxTensor& t) {
  REQUIRE(t.dims.size() == 4);
  return Shape{t.dims[0], t.dims[1], t.dims[2], t.dims[3]};
}

// A - zero point of uint8 spans -255..255: a signed 9-bit operand.
const Operand kZpShifted{9, OperandKind::Signed};

// ConvInteger: y = conv(x - x_zero_point, w), int32; pads from the model's attributes.
void checkConvInteger(const std::string& name, int pad) {
  const OnnxCase c{kOnnxNodeDir + "/" + name};
  const OnnxTensor x = c.in(0), w = c.in(1), xzp = c.in(2), y = c.out();
  REQUIRE(x.dataType == 2); // uint8
  REQUIRE(w.dataType == 2);
  const Shape ws = nchw(w);
  ConvGeometry g;
  g.kh = static_cast<int>(ws.h);
  g.kw = static_cast<int>(ws.w);
  g.pad_h = g.pad_w = pad;
  g.out_channels = ws.n;
  const AccTensor got = conv2d(shifted(x, scalarInt(xzp), nchw(x)), kZpShifted, shifted(w, 0, ws),
                               {Operand{8, OperandKind::Unsigned}}, g);
  CHECK(got.shape() == nchw(y));
  CHECK(got.values() == y.ints);
}

// (Q)MatMul(Integer) of a (M, K) and b (K, N) as a batch of M fully-connected vectors.
AccTensor matmul(const OnnxTensor& a, int64_t aZp, int64_t aOff, const OnnxTensor& b, int64_t bZp, int64_t bOff,
                 int64_t M, int64_t K, int64_t N) {
  Tensor x(Shape{M, K, 1, 1}), w(Shape{N, K, 1, 1});
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k) x.at(m, k, 0, 0) = static_cast<int32_t>(a.ints[static_cast<std::size_t>(aOff + m * K + k)] - aZp);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) w.at(n, k, 0, 0) = static_cast<int32_t>(b.ints[static_cast<std::size_t>(bOff + k * N + n)] - bZp);
  return fullyConnected(x, kZpShifted, w, {kZpShifted}, N);
}

void checkQLinearMatMul(const std::string& name) {
  const OnnxCase c{kOnnxNodeDir + "/" + name};
  const OnnxTensor a = c.in(0), as = c.in(1), azp = c.in(2), b = c.in(3), bs = c.in(4), bzp = c.in(5),
                   ys = c.in(6), yzp = c.in(7), y = c.out();
  REQUIRE(a.dims.size() == b.dims.size());
  REQUIRE(a.dims.size() >= 2);
  const std::size_t r = a.dims.size();
  const int64_t M = a.dims[r - 2], K = a.dims[r - 1], N = b.dims[r - 1];
  REQUIRE(b.dims[r - 2] == K);
  const int64_t batches = a.elements() / (M * K);
  REQUIRE(y.dataType == 2); // uint8 output
  const double multiplier = scalarFloat(as) * scalarFloat(bs) / scalarFloat(ys);
  std::vector<int64_t> got;
  for (int64_t bi = 0; bi < batches; ++bi) {
    const AccTensor acc = matmul(a, scalarInt(azp), bi * M * K, b, scalarInt(bzp), bi * K * N, M, K, N);
    const Tensor q = requantizeFloat(acc, {multiplier}, scalarInt(yzp), ActType{8, false});
    got.insert(got.end(), q.values().begin(), q.values().end());
  }
  CHECK(got == y.ints);
}

} // namespace

TEST_CASE("ONNX backend cases: ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul, MaxPool uint8, TopK, ArgMax",
          "[unit][func][onnx]") {
  requireOnnxData();
  SECTION("test_basic_convinteger") { checkConvInteger("test_basic_convinteger", 0); }
  SECTION("test_convinteger_without_padding") { checkConvInteger("test_convinteger_without_padding", 0); }
  SECTION("test_convinteger_with_padding (pads 1,1,1,1)") { checkConvInteger("test_convinteger_with_padding", 1); }
  SECTION("test_matmulinteger") {
    const OnnxCase c{kOnnxNodeDir + "/test_matmulinteger"};
    const OnnxTensor a = c.in(0), b = c.in(1), azp = c.in(2), bzp = c.in(3), y = c.out();
    REQUIRE(a.dims.size() == 2);
    const int64_t M = a.dims[0], K = a.dims[1], N = b.dims[1];
    const AccTensor got = matmul(a, scalarInt(azp), 0, b, scalarInt(bzp), 0, M, K, N);
    CHECK(y.dataType == 6); // int32
    CHECK(got.values() == y.ints);
  }
  SECTION("test_qlinearconv") {
    const OnnxCase c{kOnnxNodeDir + "/test_qlinearconv"};
    const OnnxTensor x = c.in(0), xs = c.in(1), xzp = c.in(2), w = c.in(3), wsc = c.in(4), wzp = c.in(5),
                     ys = c.in(6), yzp = c.in(7), y = c.out();
    const Shape wshape = nchw(w);
    ConvGeometry g;
    g.kh = static_cast<int>(wshape.h);
    g.kw = static_cast<int>(wshape.w);
    g.out_channels = wshape.n;
    const AccTensor acc = conv2d(shifted(x, scalarInt(xzp), nchw(x)), kZpShifted, shifted(w, scalarInt(wzp), wshape),
                                 {kZpShifted}, g);
    const Tensor got =
        requantizeFloat(acc, {scalarFloat(xs) * scalarFloat(wsc) / scalarFloat(ys)}, scalarInt(yzp), ActType{8, false});
    CHECK(got.shape() == nchw(y));
    CHECK(widen(got).values() == y.ints);
  }
  SECTION("test_qlinearmatmul_2D") { checkQLinearMatMul("test_qlinearmatmul_2D"); }
  SECTION("test_qlinearmatmul_3D") { checkQLinearMatMul("test_qlinearmatmul_3D"); }
  SECTION("test_top_k (K = 3 of each row, indices)") {
    const OnnxCase c{kOnnxNodeDir + "/test_top_k"};
    const OnnxTensor x = c.in(0), k = c.in(1), idx = c.readOut(1);
    REQUIRE(x.dims.size() == 2);
    CHECK(idx.dataType == 7); // int64
    CHECK(vals(labelSelect(integral(x, Shape{x.dims[0], x.dims[1], 1, 1}), scalarInt(k))) ==
          std::vector<int32_t>(idx.ints.begin(), idx.ints.end()));
  }
  SECTION("test_argmax_keepdims_example, test_argmax_no_keepdims_example (axis 1)") {
    for (const char* name : {"test_argmax_keepdims_example", "test_argmax_no_keepdims_example"}) {
      INFO(name);
      const OnnxCase c{kOnnxNodeDir + "/" + name};
      const OnnxTensor x = c.in(0), y = c.out();
      REQUIRE(x.dims.size() == 2);
      CHECK(vals(labelSelect(integral(x, Shape{x.dims[0], x.dims[1], 1, 1}), 1)) ==
            std::vector<int32_t>(y.ints.begin(), y.ints.end()));
    }
  }
  SECTION("test_maxpool_2d_uint8 (kernel 5x5, pads 2)") {
    const OnnxCase c{kOnnxNodeDir + "/test_maxpool_2d_uint8"};
    const OnnxTensor x = c.in(0), y = c.out();
    PoolGeometry g;
    g.kh = g.kw = 5;
    g.pad_h = g.pad_w = 2;
    const Tensor got = maxPool(shifted(x, 0, nchw(x)), g);
    CHECK(got.shape() == nchw(y));
    CHECK(widen(got).values() == y.ints);
  }
}
