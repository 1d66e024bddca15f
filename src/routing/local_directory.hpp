// routing/local_directory.hpp: who is local — the accepted domains, the users with a
// mailbox, and the aliases — and what a local address expands to.
// Owns: recipient lookup for RCPT TO (local mailbox, alias, unknown user, not ours), alias
// expansion with loop detection, the postmaster guarantee, and config warnings about them.
// Not: parsing the aliases file (aliases.cpp), delivery (delivery/), relay decisions
// (policy/), remote next hops (send connectors).
// RFC 5321 §2.4 (local parts: we match them case-insensitively, as Postfix does by default),
// §4.5.1 (postmaster must be accepted, with or without a domain), RFC 3463 5.1.1 / 5.4.6.
//
// Immutable once built: readers on several threads share one instance without locks, and a
// reload builds a new one and swaps a shared_ptr<const LocalDirectory>.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"
#include "routing/aliases.hpp"

namespace sluice::routing {

enum class LookupResult { local_mailbox, alias, unknown_user, not_local };

class LocalDirectory {
 public:
  // A chain of aliases longer than this is treated like a loop.
  static constexpr int kMaxAliasDepth = 20;

  // `accepted_domains`: the domains we deliver locally ("example.test"), any case.
  // `user_addresses`: addresses with a mailbox ("alice@example.test"); their mailbox name
  // is the address folded to lower case. Aliases apply to local parts in every accepted
  // domain, like Postfix's aliases for $mydestination.
  LocalDirectory(std::vector<std::string> accepted_domains, std::vector<std::string> user_addresses,
                 Aliases aliases);

  // Case-insensitive. "example.test." (trailing dot) is not the same domain: RFC 5321
  // addresses carry no root dot, and accepting it would let a second spelling pass checks.
  bool is_accepted_domain(std::string_view domain) const;

  // Aliases win over a user of the same name (Postfix local(8) order). The bare address
  // "Postmaster" (RFC 5321 §4.5.1, any case) is looked up in the primary (first) accepted
  // domain; any other address without a domain is not_local.
  //
  // Postmaster is always deliverable. When no alias and no user exists for it, postmaster
  // of every accepted domain goes to the first configured user named postmaster in any
  // domain, or else to the implicit mailbox postmaster@<primary domain> (its Maildir is
  // created on first delivery). warnings() tells the admin to configure one.
  LookupResult lookup(std::string_view address) const;

  // Final targets of `address`, duplicates removed, in first-seen order: local mailboxes as
  // lower-case "user@domain" and remote addresses as written in the alias (forwarding).
  // An address that is not local comes back unchanged, as its own single remote target.
  // Errors (ErrorClass::permanent, with a reply):
  //   550 5.1.1 unknown user — the address, or any local target an alias names, has no
  //     mailbox and no alias (the whole expansion fails rather than silently dropping one
  //     member; warnings() reports such dangling targets at load time);
  //   550 5.4.6 alias loop — a chain comes back to an alias already being expanded, or is
  //     deeper than kMaxAliasDepth. An alias that names itself ("bob: bob, carol") means
  //     bob's own mailbox, as in sendmail and Postfix, and is not a loop.
  // Postmaster never fails: if its alias expansion fails, it goes to the mailbox described
  // at lookup() (and warnings() names the broken alias).
  Result<std::vector<std::string>> expand(std::string_view address) const;

  // Problems an admin should see on `sluice config check` and at reload: no postmaster,
  // users outside accepted domains, alias targets that name no user or alias.
  std::vector<std::string> warnings() const;

  const std::string& primary_domain() const { return primary_domain_; }

 private:
  struct Expansion;
  Result<void> expand_local(const std::string& local, const std::string& domain, int depth, Expansion& ex) const;
  Result<void> add_mailbox(const std::string& local, const std::string& domain, Expansion& ex) const;

  std::set<std::string> domains_;                        // lower case
  std::string primary_domain_;                           // first accepted domain, lower case
  std::set<std::string> users_;                          // "alice@example.test", lower case
  std::vector<std::string> bad_users_;                   // for warnings()
  std::string postmaster_fallback_;                      // see lookup(); empty without domains
  Aliases aliases_;
};

}  // namespace sluice::routing
