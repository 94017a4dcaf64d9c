// The integer kernels agree bit for bit with the independent NumPy reference test/func_ref.py.
#include <catch2/catch.hpp>

#include "FileText.hpp"
#include "KernelTestUtil.hpp"
#include "NumpyPython.hpp"
#include "TempDir.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "mpsim/common/Error.hpp"
#include "mpsim/func/Kernels.hpp"
#include "mpsim/func/Npy.hpp"

using namespace mpsim;
using namespace mpsim::func;
using graph::ActType;
using graph::Shape;
using namespace mpsim::test;

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
      g.kh = c.kh;
      g.kw = c.kw;
      g.stride_h = c.sh;
      g.stride_w = c.sw;
      g.pad_h = c.ph;
      g.pad_w = c.pw;
      g.dil_h = c.dh;
      g.dil_w = c.dw;
      g.groups = c.groups;
      g.out_channels = c.k;
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
      args << "conv " << (ref.dir / "x.npy") << " " << (ref.dir / "w.npy") << " " << (ref.dir / "y.npy") << " --xtype "
           << typeArg(c.xt) << " --wtype " << typeArg(c.wt[0]) << " --k " << c.k << " --kernel " << c.kh << " " << c.kw
           << " --stride " << c.sh << " " << c.sw << " --pad " << c.ph << " " << c.pw << " --dil " << c.dh << " "
           << c.dw << " --groups " << c.groups;
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
      const AccTensor expect = ref.run(
          "labelselect " + (ref.dir / "x.npy") + " " + (ref.dir / "y.npy") + " --k " + std::to_string(k), "y.npy");
      const Tensor got = labelSelect(x, k);
      CHECK(got.shape() == expect.shape());
      CHECK(widen(got).values() == expect.values());
    }
  }
}
