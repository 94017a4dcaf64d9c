#include <catch2/catch.hpp>

#include "mpsim/graph/NetworkStats.hpp"
#include "mpsim/graph/QuantRules.hpp"
#include "mpsim/zoo/Zoo.hpp"

using namespace mpsim;

// Reference counts: conv + FC, no BN, no bias, at the models' native input sizes.
// ResNet/VGG from the design brief; cnv and tfc from ../shared/reference/qonnx/inference_cost_expected.json
// (dense total_macs / total_mem_w_elems); MobileNet-v1 is 569 M mult-adds and 4.2 M parameters
// in Howard et al. 2017, Table 1 (the exact counts below are the sum of its Table 1 layers).
TEST_CASE("zoo MAC and weight counts match published numbers", "[unit][zoo]") {
  struct Expect {
    const char* name;
    int64_t macs;
    int64_t weights; // 0: not checked
  };
  const Expect cases[] = {
      {"resnet18", 1814073344, 11678912},   {"resnet50", 4089184256, 0},
      {"resnet152", 11513626624, 60040384}, {"vgg16", 15470264320, 0},
      {"cnv", 59461376, 1542848},           {"tfc", 59008, 59008},
      {"mobilenet_v1", 568740352, 4209088},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto s = graph::computeStats(zoo::build(c.name));
    CHECK(s.macs == c.macs);
    if (c.weights) CHECK(s.weights == c.weights);
  }
}

TEST_CASE("zoo layer names are stable", "[unit][zoo]") {
  auto r18 = zoo::build("resnet18");
  for (const char* n :
       {"conv1", "maxpool", "layer1.0.conv1", "layer1.0.conv2", "layer2.0.downsample", "layer4.1.add", "avgpool", "fc"})
    CHECK(r18.find(n) != nullptr);
  CHECK(r18.find("layer1.0.downsample") == nullptr);
  auto r50 = zoo::build("resnet50");
  CHECK(r50.find("layer1.0.downsample") != nullptr); // 64 -> 256 channels
  CHECK(r50.find("layer3.5.conv3") != nullptr);
  auto cnv = zoo::build("cnv");
  for (const char* n : {"conv0", "conv1", "pool0", "conv2", "conv3", "pool1", "conv4", "conv5", "fc6", "fc7", "fc8"})
    CHECK(cnv.find(n) != nullptr);
  CHECK(cnv.at("conv5").out_shape == graph::Shape{1, 256, 1, 1});
  auto tfc = zoo::build("tfc");
  for (const char* n : {"fc0", "fc1", "fc2", "fc3"}) CHECK(tfc.find(n) != nullptr);
  auto vgg = zoo::build("vgg16");
  CHECK(vgg.find("features.28") != nullptr);
  CHECK(vgg.find("classifier.6") != nullptr);
  auto mb = zoo::build("mobilenet_v1");
  CHECK(mb.at("conv_dw_13").isDepthwise());
  CHECK(zoo::build("resnet34").weightedLayers().size() == 37);   // 1 + 16 blocks x 2 conv + 3 downsample + fc
  CHECK(zoo::build("resnet101").weightedLayers().size() == 105); // 100 conv + 4 downsample + fc
}

TEST_CASE("4-bit weights everywhere give ResNet-18 a reduction of 8.0x", "[unit][zoo][quant]") {
  auto g = zoo::build("resnet18");
  graph::QuantRules r;
  r.defaults.weights = 4;
  graph::applyQuantRules(g, r);
  auto s = graph::computeStats(g);
  CHECK(s.weight_bits == 11678912LL * 4);
  CHECK(s.reduction == Approx(8.0));
  // 8-bit first and last layer lower the reduction, computed from the actual widths.
  r.first_layer = graph::QuantOverride{};
  r.first_layer->weights = 8;
  r.last_layer = graph::QuantOverride{};
  r.last_layer->weights = 8;
  graph::applyQuantRules(g, r);
  s = graph::computeStats(g);
  int64_t first = 64 * 3 * 49, last = 512 * 1000;
  CHECK(s.weight_bits == (11678912LL - first - last) * 4 + (first + last) * 8);
}
