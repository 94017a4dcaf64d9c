#include "mpsim/common/Error.hpp"

namespace mpsim {
namespace {
std::string join(const std::vector<std::string>& m) {
  std::string out;
  for (size_t i = 0; i < m.size(); ++i) {
    if (i) out += '\n';
    out += m[i];
  }
  return out;
}
} // namespace

LoadError::LoadError(std::vector<std::string> messages)
    : std::runtime_error(join(messages)), m_messages(std::move(messages)) {}

void Diagnostics::throwIfAny() const {
  if (!m_errors.empty()) throw LoadError(m_errors);
}

} // namespace mpsim
