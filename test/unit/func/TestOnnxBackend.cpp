// The integer kernels against the ONNX backend test cases shipped by Debian's libonnx-testdata.
#include <catch2/catch.hpp>

#include "KernelTestUtil.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/func/OnnxTensor.hpp"

using namespace mpsim;
using namespace mpsim::func;
using graph::ActType;
using graph::Shape;
using namespace mpsim::test;

namespace {

const std::string kOnnxNodeDir = "/usr/share/libonnx-testdata/data/node";

struct OnnxCase {
  std::string dir;
  OnnxTensor in(int i) const { return readOnnxTensor(dir + "/test_data_set_0/input_" + std::to_string(i) + ".pb"); }
  OnnxTensor out() const { return readOnnxTensor(dir + "/test_data_set_0/output_0.pb"); }
  OnnxTensor readOut(int i) const {
    return readOnnxTensor(dir + "/test_data_set_0/output_" + std::to_string(i) + ".pb");
  }
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
    FAIL("libonnx-testdata is not installed (" << kOnnxNodeDir
                                               << "/test_basic_convinteger missing); run scripts/setup.sh");
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
    for (int64_t k = 0; k < K; ++k)
      x.at(m, k, 0, 0) = static_cast<int32_t>(a.ints[static_cast<std::size_t>(aOff + m * K + k)] - aZp);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n)
      w.at(n, k, 0, 0) = static_cast<int32_t>(b.ints[static_cast<std::size_t>(bOff + k * N + n)] - bZp);
  return fullyConnected(x, kZpShifted, w, {kZpShifted}, N);
}

void checkQLinearMatMul(const std::string& name) {
  const OnnxCase c{kOnnxNodeDir + "/" + name};
  const OnnxTensor a = c.in(0), as = c.in(1), azp = c.in(2), b = c.in(3), bs = c.in(4), bzp = c.in(5), ys = c.in(6),
                   yzp = c.in(7), y = c.out();
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
    const OnnxTensor x = c.in(0), xs = c.in(1), xzp = c.in(2), w = c.in(3), wsc = c.in(4), wzp = c.in(5), ys = c.in(6),
                     yzp = c.in(7), y = c.out();
    const Shape wshape = nchw(w);
    ConvGeometry g;
    g.kh = static_cast<int>(wshape.h);
    g.kw = static_cast<int>(wshape.w);
    g.out_channels = wshape.n;
    const AccTensor acc =
        conv2d(shifted(x, scalarInt(xzp), nchw(x)), kZpShifted, shifted(w, scalarInt(wzp), wshape), {kZpShifted}, g);
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
