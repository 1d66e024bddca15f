// routing/local_directory.cpp: lookup and alias expansion over accepted domains, users and
// aliases. Expansion is a depth-first walk: an alias on the current path seen again is a
// loop (5.4.6); an alias already fully expanded through another branch (a diamond: two lists
// sharing a member) is skipped, which both removes duplicates and keeps the walk linear.
#include "routing/local_directory.hpp"

#include <unordered_set>

#include "routing/ascii.hpp"

namespace sluice::routing {
namespace {

constexpr std::string_view kPostmaster = "postmaster";

bool is_postmaster(std::string_view local) { return ascii_iequals(local, kPostmaster); }

// RFC 5321 §4.1.2: "\"alice\"" and "alice" name the same mailbox; unquote the local part
// (backslash pairs included) so both match.
std::string unquote_local(std::string_view local) {
  if (local.size() < 2 || local.front() != '"' || local.back() != '"') return std::string(local);
  std::string out;
  for (size_t i = 1; i + 1 < local.size(); ++i) {
    if (local[i] == '\\' && i + 2 < local.size()) ++i;
    out += local[i];
  }
  return out;
}

struct Normalized {
  std::string local;   // lower case, unquoted
  std::string domain;  // lower case; empty when the address had none
  bool has_domain = false;
};

Normalized normalize(std::string_view address) {
  const AddressParts parts = split_address(trim(address));
  return {ascii_lower(unquote_local(parts.local)), ascii_lower(parts.domain), parts.has_domain};
}

Failure unknown_user(const std::string& address, const std::string& via) {
  std::string text = address + ": unknown user";
  std::string context = "recipient " + address + " has no mailbox and no alias";
  if (!via.empty()) {
    text += " (target of alias " + via + ")";
    context = "alias " + via + " names " + address + ", which has no mailbox and no alias";
  }
  return fail(ErrorClass::permanent, context, Reply{550, "5.1.1", text});
}

Failure alias_loop(const std::string& address, const std::string& detail) {
  return fail(ErrorClass::permanent, "alias loop for " + address + ": " + detail,
              Reply{550, "5.4.6", "alias loop for " + address});
}

}  // namespace

struct LocalDirectory::Expansion {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen_targets;
  std::vector<std::string> path;              // aliases being expanded, outermost first
  std::unordered_set<std::string> done;       // aliases fully expanded
  std::string origin;                         // the address expand() was asked for

  void add(std::string target) {
    if (seen_targets.insert(ascii_lower(target)).second) out.push_back(std::move(target));
  }
  std::string via() const { return path.empty() ? std::string() : path.back(); }
};

LocalDirectory::LocalDirectory(std::vector<std::string> accepted_domains, std::vector<std::string> user_addresses,
                               Aliases aliases)
    : aliases_(std::move(aliases)) {
  for (const auto& d : accepted_domains) {
    std::string domain = ascii_lower(trim(d));
    if (domain.empty()) continue;
    if (primary_domain_.empty()) primary_domain_ = domain;
    domains_.insert(std::move(domain));
  }
  for (const auto& u : user_addresses) {
    const Normalized n = normalize(u);
    if (!n.has_domain || n.local.empty() || n.domain.empty()) {
      bad_users_.push_back("user '" + u + "' is not an address of the form local@domain; it gets no mail");
      continue;
    }
    if (!domains_.contains(n.domain))
      bad_users_.push_back("user '" + u + "' is not in an accepted domain; it gets no mail");
    const std::string address = n.local + "@" + n.domain;
    if (postmaster_fallback_.empty() && is_postmaster(n.local) && domains_.contains(n.domain))
      postmaster_fallback_ = address;
    users_.insert(address);
  }
  if (postmaster_fallback_.empty() && !primary_domain_.empty())
    postmaster_fallback_ = std::string(kPostmaster) + "@" + primary_domain_;
}

bool LocalDirectory::is_accepted_domain(std::string_view domain) const {
  return domains_.contains(ascii_lower(domain));
}

LookupResult LocalDirectory::lookup(std::string_view address) const {
  Normalized n = normalize(address);
  if (n.local.empty()) return LookupResult::not_local;
  if (!n.has_domain) {
    if (!is_postmaster(n.local) || primary_domain_.empty()) return LookupResult::not_local;
    n.domain = primary_domain_;
  }
  if (!domains_.contains(n.domain)) return LookupResult::not_local;
  if (aliases_.find(n.local) != nullptr) return LookupResult::alias;
  const std::string key = n.local + "@" + n.domain;
  if (users_.contains(key)) return LookupResult::local_mailbox;
  if (is_postmaster(n.local))
    return postmaster_fallback_ == key ? LookupResult::local_mailbox : LookupResult::alias;
  return LookupResult::unknown_user;
}

Result<std::vector<std::string>> LocalDirectory::expand(std::string_view address) const {
  Normalized n = normalize(address);
  if (n.local.empty() || (!n.has_domain && !is_postmaster(n.local)))
    return fail(ErrorClass::permanent, "'" + std::string(address) + "' is not a complete address",
                Reply{550, "5.1.3", std::string(address) + ": bad destination mailbox address syntax"});
  if (!n.has_domain) {
    if (primary_domain_.empty())
      return fail(ErrorClass::config, "no accepted domain: cannot deliver to Postmaster",
                  Reply{451, "4.3.5", "no local domain configured for Postmaster"});
    n.domain = primary_domain_;
  }
  if (!domains_.contains(n.domain)) return std::vector<std::string>{std::string(trim(address))};

  Expansion ex;
  ex.origin = n.local + "@" + n.domain;
  if (auto r = expand_local(n.local, n.domain, 0, ex); !r) {
    // RFC 5321 §4.5.1: postmaster must work even when its alias is broken (Debian's default
    // "postmaster: root" with no user root); warnings() reports the broken alias.
    if (is_postmaster(n.local)) return std::vector<std::string>{postmaster_fallback_};
    return fail(std::move(r.error()));
  }
  return std::move(ex.out);
}

Result<void> LocalDirectory::add_mailbox(const std::string& local, const std::string& domain, Expansion& ex) const {
  const std::string key = local + "@" + domain;
  if (users_.contains(key)) {
    ex.add(key);
    return ok();
  }
  if (is_postmaster(local)) {  // RFC 5321 §4.5.1: never unknown
    ex.add(postmaster_fallback_);
    return ok();
  }
  return unknown_user(key, ex.via());
}

Result<void> LocalDirectory::expand_local(const std::string& local, const std::string& domain, int depth,
                                          Expansion& ex) const {
  const std::string key = local + "@" + domain;
  const std::vector<std::string>* targets = aliases_.find(local);
  if (targets == nullptr) return add_mailbox(local, domain, ex);

  for (const auto& on_path : ex.path)
    if (on_path == key) {
      std::string chain;
      for (const auto& p : ex.path) chain += p + " -> ";
      return alias_loop(ex.origin, chain + key);
    }
  if (ex.done.contains(key)) return ok();
  if (depth >= kMaxAliasDepth)
    return alias_loop(ex.origin, "aliases nested deeper than " + std::to_string(kMaxAliasDepth));

  ex.path.push_back(key);
  for (const std::string& t : *targets) {
    if (t.front() == '\\') {  // "\user": that user's mailbox, no further aliasing
      if (auto r = add_mailbox(ascii_lower(std::string_view(t).substr(1)), domain, ex); !r) return r;
      continue;
    }
    const Normalized target = normalize(t);
    const std::string target_domain = target.has_domain ? target.domain : domain;
    if (!domains_.contains(target_domain)) {
      ex.add(t);  // remote: forwarded as written (local parts elsewhere may be case-sensitive)
      continue;
    }
    if (target.local == local && target_domain == domain) {  // "bob: bob, carol"
      if (auto r = add_mailbox(local, domain, ex); !r) return r;
      continue;
    }
    if (auto r = expand_local(target.local, target_domain, depth + 1, ex); !r) return r;
  }
  ex.path.pop_back();
  ex.done.insert(key);
  return ok();
}

std::vector<std::string> LocalDirectory::warnings() const {
  std::vector<std::string> out = bad_users_;
  if (domains_.empty()) out.emplace_back("no accepted domains: nothing is delivered locally");
  // Postmaster reaching a configured postmaster@ user of another accepted domain is the
  // expected set-up; only a postmaster nobody configured deserves a word.
  if (!domains_.empty() && aliases_.find(kPostmaster) == nullptr && !users_.contains(postmaster_fallback_)) {
    out.push_back("no alias or user for postmaster (RFC 5321 §4.5.1 requires one); mail to postmaster goes to "
                  "the mailbox " + postmaster_fallback_ + "; add \"postmaster: <admin>\" to the aliases");
  }
  // Expanding every alias in every domain finds dangling targets and loops before mail does.
  for (const auto& [name, entry] : aliases_.entries()) {
    for (const auto& d : domains_) {
      // expand_local, not expand: expand() hides a broken postmaster alias from mail.
      Expansion ex;
      ex.origin = name + "@" + d;
      auto r = expand_local(name, d, 0, ex);
      if (!r) out.push_back(entry.origin + ": alias '" + name + "' in domain " + d + ": " + r.error().context);
    }
  }
  return out;
}

}  // namespace sluice::routing
