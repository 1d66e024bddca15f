// base/queue_id.cpp: see queue_id.hpp.
#include "base/queue_id.hpp"

#include <algorithm>

#include "base/assert.hpp"

namespace sluice {

namespace {
constexpr char kDigits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford base32

void put_base32(std::string& out, uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; --i) out.push_back(kDigits[(v >> (5 * i)) & 31]);
}
}  // namespace

QueueIdGenerator::QueueIdGenerator(const Clock& clock, unsigned generator)
    : clock_(clock), generator_(generator) {
  SLUICE_ASSERT(generator < kMaxGenerators);
}

std::string QueueIdGenerator::next() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                clock_.now().time_since_epoch()).count();
  uint64_t now = us > 0 ? static_cast<uint64_t>(us) : 0;
  last_us_ = std::max(now, last_us_ + 1);
  std::string id;
  id.reserve(kLength);
  put_base32(id, last_us_, 11);
  put_base32(id, generator_, 2);
  return id;
}

bool QueueIdGenerator::valid(std::string_view id) {
  return id.size() == kLength && std::all_of(id.begin(), id.end(), [](char c) {
           return std::string_view(kDigits).find(c) != std::string_view::npos;
         });
}

}  // namespace sluice
