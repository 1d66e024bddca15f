// config/units.hpp: the units an administrator writes in the configuration.
//   Durations: a number and a unit — "30s", "5m", "2h", "1d". A bare number is refused:
//   "timeout = 300" is ambiguous (seconds? milliseconds?), so the error asks for a unit.
//   Sizes: bytes, or a number and a binary unit — "512", "64KB", "35MB", "1GB", "1TB".
//   Units are binary multiples (1 KB = 1024 bytes), as Exchange's ByteQuantifiedSize, and
//   case-insensitive ("35mb" = "35MB"); "B" is accepted for bytes.
// Owns: the text forms and their limits. Not: which keys use them (loader.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::config {

Result<std::chrono::seconds> parse_duration(std::string_view text);
Result<uint64_t> parse_size(std::string_view text);

// The shortest exact text form: 300s -> "5m", 36700160 -> "35MB"; parse(format(x)) == x.
std::string format_duration(std::chrono::seconds d);
std::string format_size(uint64_t bytes);

}  // namespace sluice::config
