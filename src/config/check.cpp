// config/check.cpp: see check.hpp.
#include "config/check.hpp"

namespace sluice::config {
namespace {

std::string count(size_t n, const std::string& singular, const std::string& plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

}  // namespace

std::string summarize(const Config& config) {
  std::string out = count(config.receive_connectors.size(), "receive connector", "receive connectors");
  if (!config.receive_connectors.empty()) {
    out += " (";
    bool first = true;
    for (const ReceiveConnector& c : config.receive_connectors) {
      if (!first) out += "; ";
      first = false;
      out += c.name;
      for (const ListenAddress& l : c.listen) out += " " + l.to_string();
    }
    out += ")";
  }
  out += ", " + count(config.accepted_domains.size(), "accepted domain", "accepted domains");
  out += ", " + count(config.users.size(), "user", "users");
  if (config.send_connectors.empty()) {
    // Legal, but the admin should see it: mail for other domains will not leave.
    out += ", no send connectors (mail for other domains waits in Unreachable)";
    return out;
  }
  out += ", " + count(config.send_connectors.size(), "send connector", "send connectors") + " (";
  bool first = true;
  for (const SendConnector& c : config.send_connectors) {
    if (!first) out += "; ";
    first = false;
    out += c.name;
    for (const std::string& space : c.address_spaces) out += " " + space;
    if (c.uses_smart_hosts()) {
      out += " via";
      for (const HostPort& h : c.smart_hosts) out += " " + h.to_string();
    } else {
      out += " by MX";
    }
  }
  out += ")";
  return out;
}

bool report(const LoadResult& result, const std::string& path, std::ostream& out, std::ostream& err) {
  for (const Diagnostic& d : result.errors) err << d.to_string("error") << '\n';
  for (const Diagnostic& d : result.warnings) err << d.to_string("warning") << '\n';
  if (!result.config) {
    err << path << ": " << count(result.errors.size(), "error", "errors") << '\n';
    return false;
  }
  out << path << ": ok\n" << summarize(*result.config) << '\n';
  return true;
}

}  // namespace sluice::config
