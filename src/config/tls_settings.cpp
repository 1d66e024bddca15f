// config/tls_settings.cpp: see tls_settings.hpp.
#include "config/tls_settings.hpp"

#include <array>
#include <cctype>
#include <vector>

namespace sluice::config {
namespace {

constexpr std::array<std::pair<TlsVersion, std::string_view>, 4> kVersions{{
    {TlsVersion::v1_0, "1.0"},
    {TlsVersion::v1_1, "1.1"},
    {TlsVersion::v1_2, "1.2"},
    {TlsVersion::v1_3, "1.3"},
}};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

// PHC strings carry salt and hash in unpadded standard base64.
bool is_base64(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  }
  return true;
}

bool is_number(std::string_view s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// "m=65536,t=2,p=1": memory, iterations, parallelism, in this order, as libsodium writes them.
bool valid_parameters(std::string_view params) {
  const auto parts = split(params, ',');
  constexpr std::array<std::string_view, 3> kNames{"m=", "t=", "p="};
  if (parts.size() != kNames.size()) return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].substr(0, 2) != kNames[i] || !is_number(parts[i].substr(2))) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(TlsVersion v) {
  for (const auto& [version, name] : kVersions) {
    if (version == v) return name;
  }
  return "1.2";
}

std::optional<TlsVersion> parse_tls_version(std::string_view text) {
  for (const auto& [version, name] : kVersions) {
    if (name == text) return version;
  }
  return std::nullopt;
}

std::string check_password_hash(std::string_view hash) {
  const std::string how =
      " (users managed with `sluice user add|passwd` are kept in [server] users_file instead)";
  if (hash.rfind("$argon2id$", 0) != 0) {
    if (hash.rfind("$argon2i$", 0) == 0 || hash.rfind("$argon2d$", 0) == 0) {
      return "only Argon2id hashes are accepted (\"$argon2id$...\")" + how;
    }
    if (hash.rfind("$", 0) == 0) return "not an Argon2id hash (it must begin with \"$argon2id$\")" + how;
    return "this looks like a password, not a hash: never write a password in the configuration" + how;
  }
  // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
  const auto parts = split(hash, '$');
  if (parts.size() != 6 || parts[2] != "v=19" || !valid_parameters(parts[3]) || !is_base64(parts[4]) ||
      !is_base64(parts[5])) {
    return "malformed Argon2id hash (expected $argon2id$v=19$m=...,t=...,p=...$salt$hash)" + how;
  }
  return "";
}

}  // namespace sluice::config
