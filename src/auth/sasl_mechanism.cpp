// auth/sasl_mechanism.cpp: see sasl_mechanism.hpp.
#include "auth/sasl_mechanism.hpp"

#include "auth/password_mechanisms.hpp"
#include "auth/scram_mechanism.hpp"

namespace sluice::auth {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto up = [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; };
    if (up(a[i]) != up(b[i])) return false;
  }
  return true;
}

}  // namespace

Step SaslMechanism::finish(bool) { return Step::failure("no verification pending"); }

std::unique_ptr<SaslMechanism> make_mechanism(std::string_view name, const UserStore& users) {
  if (iequals(name, "PLAIN")) return std::make_unique<PlainMechanism>(users);
  if (iequals(name, "LOGIN")) return std::make_unique<LoginMechanism>(users);
  if (iequals(name, "SCRAM-SHA-256")) return std::make_unique<ScramSha256Mechanism>(users);
  return nullptr;
}

std::vector<std::string_view> supported_mechanisms() { return {"SCRAM-SHA-256", "PLAIN", "LOGIN"}; }

}  // namespace sluice::auth
