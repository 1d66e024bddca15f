// config/send_connector.cpp: see send_connector.hpp.
#include "config/send_connector.hpp"

#include <array>
#include <cctype>
#include <charconv>

#include "config/ip_range.hpp"
#include "config/loader.hpp"

namespace sluice::config {
namespace {

constexpr std::array<std::pair<TlsMode, std::string_view>, 4> kTlsModes{{
    {TlsMode::none, "none"},
    {TlsMode::opportunistic, "opportunistic"},
    {TlsMode::required, "required"},
    {TlsMode::verify, "verify"},
}};

struct RateUnit {
  std::string_view name;
  std::chrono::seconds per;
};
constexpr std::array<RateUnit, 3> kRateUnits{{{"s", std::chrono::seconds(1)},
                                              {"min", std::chrono::seconds(60)},
                                              {"h", std::chrono::seconds(3600)}}};

// An exact score above every wildcard's (1 + at most 253).
constexpr int kExactMatch = 1000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "" or ":N" after a host; false if present but not a port from 1 to 65535.
bool parse_port_suffix(std::string_view rest, uint16_t& port) {
  if (rest.empty()) return true;
  if (rest.front() != ':') return false;
  rest.remove_prefix(1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (rest.empty() || ec != std::errc{} || end != rest.data() + rest.size() || value == 0 || value > 65535) {
    return false;
  }
  port = uint16_t(value);
  return true;
}

}  // namespace

std::string_view to_string(TlsMode m) {
  for (const auto& [mode, name] : kTlsModes) {
    if (mode == m) return name;
  }
  return "opportunistic";
}

std::optional<TlsMode> parse_tls_mode(std::string_view text) {
  for (const auto& [mode, name] : kTlsModes) {
    if (name == text) return mode;
  }
  return std::nullopt;
}

Result<HostPort> HostPort::parse(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  const std::string bad_port = quoted + ": the port must be a number from 1 to 65535";
  HostPort out;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return fail(ErrorClass::config, quoted + " has no closing ']' (expected \"[ip]\" or \"[ip]:port\")");
    }
    const std::string_view inside = text.substr(1, close - 1);
    // RFC 5321 §4.1.3 also has "[IPv6:...]"; accept it so a literal copied from a Received
    // header works.
    std::string_view ip = inside;
    if (ip.size() > 5 && lower(ip.substr(0, 5)) == "ipv6:") ip.remove_prefix(5);
    auto address = IpAddress::parse(ip);
    if (!address) {
      return fail(ErrorClass::config, quoted + ": '" + std::string(inside) +
                                          "' is not an IP address; brackets are for addresses (no DNS "
                                          "lookup), write a host name without them");
    }
    out.host = address->unmapped().to_string();
    out.literal = true;
    if (!parse_port_suffix(text.substr(close + 1), out.port)) return fail(ErrorClass::config, bad_port);
    return out;
  }
  const auto colon = text.find(':');
  const std::string_view host = text.substr(0, colon);
  if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
    return fail(ErrorClass::config, quoted + ": put an IPv6 address in brackets, e.g. \"[2001:db8::1]:25\"");
  }
  if (IpAddress::parse(host)) {
    return fail(ErrorClass::config, quoted + ": write an IP address in brackets, \"[" + std::string(host) + "]" +
                                        std::string(colon == std::string_view::npos ? "" : text.substr(colon)) +
                                        "\", so that it is not looked up as a name");
  }
  if (auto why = check_domain_name(host); !why.empty()) return fail(ErrorClass::config, quoted + ": " + why);
  out.host = lower(host);
  if (colon != std::string_view::npos && !parse_port_suffix(text.substr(colon), out.port)) {
    return fail(ErrorClass::config, bad_port);
  }
  return out;
}

std::string HostPort::to_string() const {
  std::string out = literal ? "[" + host + "]" : host;
  if (port != 0) out += ":" + std::to_string(port);
  return out;
}

Result<MessageRate> MessageRate::parse(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  const std::string form = " (write messages per time: \"10/s\", \"600/min\", \"5000/h\")";
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail(ErrorClass::config, quoted + " is not a rate" + form);
  const std::string_view number = text.substr(0, slash);
  const std::string_view unit = text.substr(slash + 1);
  uint32_t count = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
  if (number.empty() || ec != std::errc{} || end != number.data() + number.size()) {
    return fail(ErrorClass::config, quoted + ": '" + std::string(number) + "' is not a count of messages" + form);
  }
  if (count == 0) {
    return fail(ErrorClass::config, quoted + " would send nothing; leave the key out for no limit");
  }
  for (const RateUnit& u : kRateUnits) {
    if (unit == u.name) return MessageRate{count, u.per};
  }
  return fail(ErrorClass::config, quoted + ": unknown unit '" + std::string(unit) + "' (use s, min or h)");
}

std::string MessageRate::to_string() const {
  if (count == 0) return "unlimited";
  for (const RateUnit& u : kRateUnits) {
    if (per == u.per) return std::to_string(count) + "/" + std::string(u.name);
  }
  return std::to_string(count) + "/" + std::to_string(per.count()) + "s";
}

std::string check_address_space(std::string_view space) {
  const std::string quoted = "'" + std::string(space) + "'";
  if (space == "*") return "";
  if (space.empty()) return "the address space is empty (\"*\" matches every domain)";
  std::string_view domain = space;
  if (space.size() >= 2 && space.substr(0, 2) == "*.") domain.remove_prefix(2);
  if (domain.find('*') != std::string_view::npos) {
    return quoted + ": a wildcard may only be \"*\" or lead as \"*.domain\"";
  }
  if (auto why = check_domain_name(domain); !why.empty()) return quoted + ": " + why;
  return "";
}

int address_space_specificity(std::string_view space, std::string_view domain) {
  if (space == "*") return 0;
  if (space.size() > 2 && space.substr(0, 2) == "*.") {
    const std::string_view suffix = space.substr(1);  // ".example.com"
    if (domain.size() > suffix.size() && domain.substr(domain.size() - suffix.size()) == suffix) {
      return 1 + int(suffix.size());
    }
    return -1;
  }
  return space == domain ? kExactMatch : -1;
}

}  // namespace sluice::config
