#include "mpsim/zoo/Zoo.hpp"

#include <stdexcept>

namespace mpsim::zoo {
using graph::Graph;
using graph::GraphBuilder;

namespace {

// torchvision BasicBlock / Bottleneck (v1.5: the stride sits on the 3x3 conv).
std::string basicBlock(GraphBuilder& b, const std::string& p, const std::string& in, int64_t inC, int64_t outC,
                       int stride) {
  std::string x = b.conv(p + ".conv1", in, outC, 3, stride, 1);
  x = b.conv(p + ".conv2", x, outC, 3, 1, 1);
  std::string id = in;
  if (stride != 1 || inC != outC) id = b.conv(p + ".downsample", in, outC, 1, stride, 0);
  return b.add(p + ".add", x, id);
}

std::string bottleneck(GraphBuilder& b, const std::string& p, const std::string& in, int64_t inC, int64_t width,
                       int stride) {
  int64_t outC = width * 4;
  std::string x = b.conv(p + ".conv1", in, width, 1, 1, 0);
  x = b.conv(p + ".conv2", x, width, 3, stride, 1);
  x = b.conv(p + ".conv3", x, outC, 1, 1, 0);
  std::string id = in;
  if (stride != 1 || inC != outC) id = b.conv(p + ".downsample", in, outC, 1, stride, 0);
  return b.add(p + ".add", x, id);
}

Graph resnet(const std::string& name, const std::vector<int>& blocks, bool useBottleneck) {
  Graph g(name);
  GraphBuilder b(g);
  std::string x = b.input("input", 3, 224, 224);
  x = b.conv("conv1", x, 64, 7, 2, 3);
  x = b.maxPool("maxpool", x, 3, 2, 1);
  int64_t inC = 64;
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < blocks[size_t(s)]; ++i) {
      std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(i);
      int stride = (i == 0 && s > 0) ? 2 : 1;
      if (useBottleneck) {
        x = bottleneck(b, p, x, inC, widths[s], stride);
        inC = widths[s] * 4;
      } else {
        x = basicBlock(b, p, x, inC, widths[s], stride);
        inC = widths[s];
      }
    }
  }
  x = b.globalAvgPool("avgpool", x);
  x = b.flatten("flatten", x);
  x = b.fc("fc", x, 1000);
  b.output("output", x);
  return g;
}

Graph vgg16() {
  Graph g("vgg16");
  GraphBuilder b(g);
  std::string x = b.input("input", 3, 224, 224);
  // torchvision features.N indices: conv at N, ReLU at N+1, pool after each stage.
  const int cfg[] = {64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1};
  int idx = 0;
  for (int c : cfg) {
    std::string n = "features." + std::to_string(idx);
    if (c < 0) {
      x = b.maxPool(n, x, 2, 2);
      idx += 1;
    } else {
      x = b.conv(n, x, c, 3, 1, 1);
      idx += 2;
    }
  }
  x = b.flatten("flatten", x);
  x = b.fc("classifier.0", x, 4096);
  x = b.fc("classifier.3", x, 4096);
  x = b.fc("classifier.6", x, 1000);
  b.output("output", x);
  return g;
}

Graph mobilenetV1() {
  Graph g("mobilenet_v1");
  GraphBuilder b(g);
  std::string x = b.input("input", 3, 224, 224);
  x = b.conv("conv1", x, 32, 3, 2, 1);
  struct Dw {
    int64_t out;
    int stride;
  };
  const Dw cfg[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2}, {512, 1},
                    {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  int64_t c = 32;
  for (int i = 0; i < 13; ++i) {
    std::string n = std::to_string(i + 1);
    x = b.conv("conv_dw_" + n, x, c, 3, cfg[i].stride, 1, int(c));
    x = b.conv("conv_pw_" + n, x, cfg[i].out, 1, 1, 0);
    c = cfg[i].out;
  }
  x = b.globalAvgPool("avgpool", x);
  x = b.flatten("flatten", x);
  x = b.fc("fc", x, 1000);
  b.output("output", x);
  return g;
}

Graph cnv() {
  Graph g("cnv");
  GraphBuilder b(g);
  std::string x = b.input("input", 3, 32, 32);
  x = b.conv("conv0", x, 64, 3);
  x = b.conv("conv1", x, 64, 3);
  x = b.maxPool("pool0", x, 2, 2);
  x = b.conv("conv2", x, 128, 3);
  x = b.conv("conv3", x, 128, 3);
  x = b.maxPool("pool1", x, 2, 2);
  x = b.conv("conv4", x, 256, 3);
  x = b.conv("conv5", x, 256, 3);
  x = b.flatten("flatten", x);
  x = b.fc("fc6", x, 512);
  x = b.fc("fc7", x, 512);
  x = b.fc("fc8", x, 10);
  b.output("output", x);
  return g;
}

Graph tfc() {
  Graph g("tfc");
  GraphBuilder b(g);
  // As in FINN: the 28x28 image arrives as one 784-element vector (one token).
  std::string x = b.input("input", 784, 1, 1);
  x = b.fc("fc0", x, 64);
  x = b.fc("fc1", x, 64);
  x = b.fc("fc2", x, 64);
  x = b.fc("fc3", x, 10);
  b.output("output", x);
  return g;
}

} // namespace

const std::vector<std::string>& modelNames() {
  static const std::vector<std::string> names = {"resnet18", "resnet34",     "resnet50", "resnet101", "resnet152",
                                                 "vgg16",    "mobilenet_v1", "cnv",      "tfc"};
  return names;
}

bool isModel(const std::string& name) {
  for (const auto& n : modelNames())
    if (n == name) return true;
  return false;
}

Graph build(const std::string& name) {
  Graph g;
  if (name == "resnet18")
    g = resnet(name, {2, 2, 2, 2}, false);
  else if (name == "resnet34")
    g = resnet(name, {3, 4, 6, 3}, false);
  else if (name == "resnet50")
    g = resnet(name, {3, 4, 6, 3}, true);
  else if (name == "resnet101")
    g = resnet(name, {3, 4, 23, 3}, true);
  else if (name == "resnet152")
    g = resnet(name, {3, 8, 36, 3}, true);
  else if (name == "vgg16")
    g = vgg16();
  else if (name == "mobilenet_v1")
    g = mobilenetV1();
  else if (name == "cnv")
    g = cnv();
  else if (name == "tfc")
    g = tfc();
  else
    throw std::invalid_argument("unknown model '" + name + "'");
  g.setSource("built-in model " + name);
  g.finalize();
  return g;
}

} // namespace mpsim::zoo
