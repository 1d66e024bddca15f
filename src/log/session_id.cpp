// log/session_id.cpp: see session_id.hpp.
#include "log/session_id.hpp"

#include <chrono>

#include <fmt/format.h>

namespace sluice::log {

SessionIdGenerator::SessionIdGenerator(const Clock& clock) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      clock.now().time_since_epoch()).count();
  base_ = (ms > 0 ? static_cast<uint64_t>(ms) : 0) << kCounterBits;
}

uint64_t SessionIdGenerator::next() {
  // Relaxed is enough: only uniqueness matters, not ordering with other memory.
  return base_ + counter_.fetch_add(1, std::memory_order_relaxed);
}

std::string SessionIdGenerator::format(uint64_t id) { return fmt::format("{:016X}", id); }

}  // namespace sluice::log
