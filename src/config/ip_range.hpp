// config/ip_range.hpp: IP addresses and address ranges as the configuration names them —
// a receive connector's remote_ip_ranges ("192.0.2.0/24", "2001:db8::/32", a single address,
// or "192.0.2.10-192.0.2.20"), and the client address matched against them.
// Owns: parsing and printing addresses and ranges, membership, specificity (for the
// most-specific-match rule of connector selection). Not: sockets or name resolution —
// this is deliberately free of Asio so that `config` stays below `net` (STYLE.md layers).
// Follows RFC 4291 §2.2 (IPv6 text form), §2.5.5.2 (IPv4-mapped addresses), RFC 4632 (CIDR).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::config {

enum class IpFamily { v4, v6 };

struct IpAddress {
  IpFamily family = IpFamily::v4;
  // Network byte order. An IPv4 address uses bytes[0..3]; the rest stay zero so that
  // defaulted comparison is meaningful.
  std::array<uint8_t, 16> bytes{};

  // Dotted quad or RFC 4291 text form; no brackets, no zone ids, no host names.
  static Result<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);

  // The canonical text form ("127.0.0.1", "2001:db8::1").
  std::string to_string() const;

  // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; ranges written in IPv4
  // must still match them, so callers compare the unmapped form.
  IpAddress unmapped() const;

  int bits() const { return family == IpFamily::v4 ? 32 : 128; }
  bool operator==(const IpAddress&) const = default;
};

// An inclusive range [first, last] of one family. A CIDR block is the common case; an
// "a-b" range need not be aligned, which is why the range is kept as its two ends.
struct IpRange {
  IpAddress first;
  IpAddress last;

  // "a.b.c.d/n", "x::/n", a single address, or "a-b" (same family, a <= b). A CIDR with
  // host bits set ("10.1.2.3/8") is rejected: it usually hides a typo.
  static Result<IpRange> parse(std::string_view text);

  bool contains(const IpAddress& address) const;

  // How narrow the range is, as a prefix length: the prefix length of a CIDR block, the
  // address width for a single address, and for an "a-b" range the prefix length of the
  // smallest power-of-two block at least as large. Larger = more specific.
  int specificity() const;

  std::string to_string() const;  // CIDR form when the range is a block, else "a-b"

  bool operator==(const IpRange&) const = default;
};

}  // namespace sluice::config
