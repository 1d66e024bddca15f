// policy/relay_control.cpp: see relay_control.hpp. The texts follow Postfix's where admins
// grep for them ("Relay access denied", "User unknown in local recipient table").
#include "policy/relay_control.hpp"

namespace sluice::policy {

namespace {

// Routing characters that turn a local address into a relay through us on servers that
// still honour them (RFC 1123 §5.2.16 percent hack, UUCP bang paths), and a quoted local
// part hiding another address.
bool has_routing_trick(const smtp::Path& path) {
  const std::string& lp = path.local_part;
  if (lp.find('%') != std::string::npos || lp.find('!') != std::string::npos) return true;
  return path.quoted && lp.find('@') != std::string::npos;
}

Reply relay_denied(const std::string& address, std::string_view why) {
  return Reply(550, "5.7.1", "<" + address + ">: Relay access denied" + std::string(why));
}

}  // namespace

std::optional<Reply> RelayControl::check_rcpt(const smtp::RcptToArgs& args, const smtp::Envelope& envelope) {
  const smtp::Path& path = args.path;
  if (path.postmaster_only) return std::nullopt;  // RFC 5321 §4.5.1: always accepted
  const std::string address = path.address();
  if (!path.source_route.empty())
    return relay_denied(address, " (source routes are not accepted)");
  if (has_routing_trick(path))
    return relay_denied(address, " (routing characters in the local part)");

  if (!directory_.is_accepted_domain(path.domain)) {
    if (may_relay_ || !envelope.auth_user.empty()) return std::nullopt;
    return relay_denied(address, "");
  }
  switch (directory_.lookup(address)) {
    case routing::LookupResult::local_mailbox:
    case routing::LookupResult::alias:
      return std::nullopt;
    case routing::LookupResult::unknown_user:
    case routing::LookupResult::not_local:
      break;
  }
  return Reply(550, "5.1.1",
               "<" + address + ">: Recipient address rejected: User unknown in local recipient table");
}

}  // namespace sluice::policy
