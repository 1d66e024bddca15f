// routing/aliases.hpp: the alias table — the /etc/aliases file that admins already keep,
// parsed into "local part -> list of targets".
// Owns: the aliases(5) syntax (entries, continuation lines, comments, quoted names,
// ":include:" files, "\user") and clear errors, with file and line, for what sluice does not
// do ("|command" and "/file" targets). Not: expansion (local_directory.cpp walks the table
// recursively and knows the domains and users), reload (the lead swaps whole directories).
// Follows aliases(5) as Postfix and sendmail read it; RFC 5321 §4.1.2 for local parts.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sluice::routing {

class Aliases {
 public:
  // One alias: its targets in file order and where it was defined ("file:line"), so a
  // config check can point at it.
  struct Entry {
    std::vector<std::string> targets;  // addresses, bare local parts, or "\user"
    std::string origin;                // "/etc/aliases:12"
  };

  // An include nested this deep is surely a loop between include files.
  static constexpr int kMaxIncludeDepth = 10;

  Aliases() = default;

  // Parses aliases(5) text. `source_name` names the text in errors and is the base for
  // relative ":include:" paths (its parent directory). Every problem found is reported, one
  // "file:line: message" per line of the error's context, with ErrorClass::config.
  // Duplicate names are an error (Postfix warns and keeps the first; a config check is the
  // place to say so loudly). ":include:" files are read now and their addresses inlined.
  static Result<Aliases> parse(std::string_view text, const std::string& source_name);
  static Result<Aliases> load(const std::filesystem::path& path);

  // The targets of `local_part` (matched case-insensitively), or nullptr.
  // A target is a full address ("bob@example.test", kept as written), a bare local part
  // ("bob": the same domain as the address being expanded) or "\bob" (bob's mailbox, no
  // further alias expansion).
  const std::vector<std::string>* find(std::string_view local_part) const;

  const std::map<std::string, Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::map<std::string, Entry> entries_;  // key: name folded to lower case
};

}  // namespace sluice::routing
