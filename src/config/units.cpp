// config/units.cpp: see units.hpp.
#include "config/units.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace sluice::config {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr std::array<Unit, 4> kDurationUnits{{{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}};
constexpr std::array<Unit, 5> kSizeUnits{{{"TB", 1ull << 40},
                                          {"GB", 1ull << 30},
                                          {"MB", 1ull << 20},
                                          {"KB", 1ull << 10},
                                          {"B", 1}}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Splits "35MB" into 35 and "MB". Fails on a missing number, a sign, or overflow.
bool split_number(std::string_view text, uint64_t& number, std::string_view& unit) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc{} || end == text.data()) return false;
  unit = text.substr(size_t(end - text.data()));
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return true;
}

bool multiply(uint64_t a, uint64_t b, uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  uint64_t number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) {
    return fail(ErrorClass::config,
                quoted + " is not a duration (write a number and a unit: \"30s\", \"5m\", \"2h\", \"1d\")");
  }
  if (unit.empty()) {
    return fail(ErrorClass::config,
                quoted + " has no unit: write \"" + std::string(text) + "s\" for seconds, or use m, h, d");
  }
  for (const Unit& u : kDurationUnits) {
    if (unit != u.name) continue;
    uint64_t seconds = 0;
    // Keep far below what chrono arithmetic (deadlines = now + d) could overflow.
    if (!multiply(number, u.factor, seconds) || seconds > 100ull * 365 * 86400) {
      return fail(ErrorClass::config, quoted + " is too long (at most 100 years)");
    }
    return std::chrono::seconds(int64_t(seconds));
  }
  return fail(ErrorClass::config,
              quoted + ": unknown unit '" + std::string(unit) + "' (use s, m, h or d)");
}

Result<uint64_t> parse_size(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  uint64_t number = 0;
  std::string_view unit;
  if (!split_number(text, number, unit)) {
    return fail(ErrorClass::config,
                quoted + " is not a size (write bytes or a number and a unit: \"64KB\", \"35MB\", \"1GB\")");
  }
  if (unit.empty()) return number;
  for (const Unit& u : kSizeUnits) {
    if (!iequals(unit, u.name)) continue;
    uint64_t bytes = 0;
    if (!multiply(number, u.factor, bytes)) {
      return fail(ErrorClass::config, quoted + " is too large");
    }
    return bytes;
  }
  return fail(ErrorClass::config,
              quoted + ": unknown unit '" + std::string(unit) + "' (use B, KB, MB, GB or TB; 1 KB = 1024 bytes)");
}

std::string format_duration(std::chrono::seconds d) {
  const auto s = uint64_t(d.count() < 0 ? 0 : d.count());
  for (const Unit& u : kDurationUnits) {
    if (s != 0 && s % u.factor == 0) return std::to_string(s / u.factor) + std::string(u.name);
  }
  return "0s";
}

std::string format_size(uint64_t bytes) {
  for (const Unit& u : kSizeUnits) {
    if (u.factor > 1 && bytes != 0 && bytes % u.factor == 0) {
      return std::to_string(bytes / u.factor) + std::string(u.name);
    }
  }
  return std::to_string(bytes);
}

}  // namespace sluice::config
