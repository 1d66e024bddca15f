// config/ip_range.cpp: see ip_range.hpp. Parsing is done by inet_pton/inet_ntop (POSIX),
// which already implement RFC 4291 §2.2 and the canonical form of RFC 5952.
#include "config/ip_range.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <charconv>

namespace sluice::config {
namespace {

size_t byte_count(IpFamily f) { return f == IpFamily::v4 ? 4 : 16; }

// Big-endian comparison over the bytes the family uses.
int compare(const IpAddress& a, const IpAddress& b) {
  for (size_t i = 0; i < byte_count(a.family); ++i) {
    if (a.bytes[i] != b.bytes[i]) return a.bytes[i] < b.bytes[i] ? -1 : 1;
  }
  return 0;
}

// Number of significant bits in (last - first), i.e. ceil(log2(size of the range)).
int span_bits(const IpAddress& first, const IpAddress& last) {
  const size_t n = byte_count(first.family);
  std::array<uint8_t, 16> diff{};
  int borrow = 0;
  for (size_t i = n; i-- > 0;) {
    int d = int(last.bytes[i]) - int(first.bytes[i]) - borrow;
    borrow = d < 0 ? 1 : 0;
    diff[i] = uint8_t(d + (borrow ? 256 : 0));
  }
  for (size_t i = 0; i < n; ++i) {
    if (diff[i] != 0) return int((n - i - 1) * 8) + std::bit_width(unsigned(diff[i]));
  }
  return 0;
}

// `a` with every bit after the first `prefix` bits cleared (or set).
IpAddress with_host_bits(IpAddress a, int prefix, bool set) {
  for (int bit = prefix; bit < a.bits(); ++bit) {
    const auto mask = uint8_t(0x80u >> (bit % 8));
    auto& byte = a.bytes[size_t(bit / 8)];
    byte = set ? uint8_t(byte | mask) : uint8_t(byte & ~mask);
  }
  return a;
}

}  // namespace

Result<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 64) {
    return fail(ErrorClass::config, "'" + std::string(text) + "' is not an IP address");
  }
  std::string s(text);
  IpAddress a;
  if (s.find(':') == std::string::npos) {
    a.family = IpFamily::v4;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  } else {
    a.family = IpFamily::v6;
    if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  }
  return fail(ErrorClass::config, "'" + s + "' is not an IP address");
}

IpAddress IpAddress::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress r;
  r.family = IpFamily::v4;
  r.bytes[0] = a;
  r.bytes[1] = b;
  r.bytes[2] = c;
  r.bytes[3] = d;
  return r;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == IpFamily::v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

IpAddress IpAddress::unmapped() const {
  if (family != IpFamily::v6) return *this;
  static constexpr std::array<uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin())) return *this;
  return v4(bytes[12], bytes[13], bytes[14], bytes[15]);
}

Result<IpRange> IpRange::parse(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    auto first = IpAddress::parse(text.substr(0, dash));
    auto last = IpAddress::parse(text.substr(dash + 1));
    if (!first || !last) {
      return fail(ErrorClass::config, quoted + " is not an address range (expected \"first-last\")");
    }
    if (first->family != last->family) {
      return fail(ErrorClass::config, quoted + " mixes IPv4 and IPv6");
    }
    if (compare(*first, *last) > 0) {
      return fail(ErrorClass::config, quoted + ": the first address is above the last");
    }
    return IpRange{*first, *last};
  }

  auto slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) {
    return fail(ErrorClass::config,
                quoted + " is not an IP address, CIDR block (\"192.0.2.0/24\") or range (\"a-b\")");
  }
  IpRange r{*address, *address};
  if (slash == std::string_view::npos) return r;

  const auto len_text = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
  if (len_text.empty() || ec != std::errc{} || end != len_text.data() + len_text.size() ||
      prefix < 0 || prefix > address->bits()) {
    return fail(ErrorClass::config, quoted + ": the prefix length must be 0 to " +
                                        std::to_string(address->bits()));
  }
  const IpAddress network = with_host_bits(*address, prefix, false);
  if (network != *address) {
    return fail(ErrorClass::config, quoted + " has host bits set; did you mean '" +
                                        network.to_string() + "/" + std::to_string(prefix) + "'?");
  }
  r.last = with_host_bits(*address, prefix, true);
  return r;
}

bool IpRange::contains(const IpAddress& address) const {
  IpAddress a = address;
  if (first.family == IpFamily::v4) a = address.unmapped();
  if (a.family != first.family) return false;
  return compare(first, a) <= 0 && compare(a, last) <= 0;
}

int IpRange::specificity() const { return first.bits() - span_bits(first, last); }

std::string IpRange::to_string() const {
  const int span = span_bits(first, last);
  // A block: the size is a power of two and `first` is aligned to it.
  const int prefix = first.bits() - span;
  if (with_host_bits(first, prefix, false) == first && with_host_bits(first, prefix, true) == last) {
    if (span == 0) return first.to_string();
    return first.to_string() + "/" + std::to_string(prefix);
  }
  return first.to_string() + "-" + last.to_string();
}

}  // namespace sluice::config
