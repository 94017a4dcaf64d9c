#pragma once
// Helpers for run-config and network-YAML loading tests: the messages of a LoadError, and a check
// that one message holds every given fragment (printing all messages when it fails).
#include <algorithm>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "mpsim/common/Error.hpp"
#include "mpsim/config/RunConfig.hpp"
#include "mpsim/io/NetworkYaml.hpp"

namespace mpsim::test {

/// The messages of the LoadError thrown by f, or {} when f does not throw one.
inline std::vector<std::string> errorsOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const LoadError& e) {
    return e.messages();
  }
  return {};
}

inline std::vector<std::string> runErrors(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return errorsOf([&] { config::loadRunString(text, "t.yaml", overrides); });
}

inline std::vector<std::string> netErrors(const std::string& text) {
  return errorsOf([&] { io::loadNetworkYamlString(text, "n.yaml"); });
}

/// Every run config the project ships (configs/examples and the golden cases), sorted.
inline std::vector<std::filesystem::path> shippedRunConfigs() {
  std::vector<std::filesystem::path> files;
  for (const char* dir : {"configs/examples", "test/golden"})
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(MPSIM_SOURCE_DIR) / dir))
      if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

inline std::string joined(const std::vector<std::string>& msgs) {
  std::string s = "messages (" + std::to_string(msgs.size()) + "):";
  for (const auto& m : msgs) s += "\n  " + m;
  return s;
}

/// True when one message contains every fragment.
inline bool hasMessage(const std::vector<std::string>& msgs, std::initializer_list<std::string> fragments) {
  for (const auto& m : msgs) {
    bool all = true;
    for (const auto& f : fragments)
      if (m.find(f) == std::string::npos) all = false;
    if (all) return true;
  }
  return false;
}

#define CHECK_MESSAGE(msgs, ...)                                                                                       \
  do {                                                                                                                 \
    INFO(joined(msgs));                                                                                                \
    CHECK(hasMessage((msgs), {__VA_ARGS__}));                                                                          \
  } while (0)

inline const std::string kResnetZcu102 = "network:\n  model: resnet18\nhardware:\n  device: zcu102\n"; // lines 1-4

} // namespace mpsim::test
