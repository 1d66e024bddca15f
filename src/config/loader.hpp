// config/loader.hpp: reads the TOML configuration into a Config, reporting every problem —
// syntax, unknown keys (with "did you mean"), wrong types, bad values, and the rules that
// span sections (duplicates, users outside accepted domains, ambiguous connectors) — each
// with file:line:column, so that one `sluice config check` shows all there is to fix.
// Owns: the file format (keys, types, units), validation, warnings for legal-but-unusual
// settings. Not: the meaning of the settings at run time, reload (the daemon), file system
// checks on the paths it names (they are relative to the daemon's working directory, which
// the checker may not share).
// Follows TOML 1.0 (via toml++), RFC 1035 §2.3.1 / RFC 1123 §2.1 (host names), RFC 5321
// §4.1.2 (mailbox syntax), §4.5.3.2 (timeouts).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/diagnostic.hpp"

namespace sluice::config {

struct LoadResult {
  std::optional<Config> config;  // set if and only if `errors` is empty
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;

  bool ok() const { return config.has_value(); }
};

// Reads and validates `path`. An unreadable file is one error without a position.
LoadResult load_file(const std::string& path);

// Validates `text`; `source_name` is used in diagnostics and Config::source.
LoadResult load_string(std::string_view text, const std::string& source_name);

// Validation helpers shared with other modules' checks (empty string = valid, else why not).
std::string check_domain_name(std::string_view name);
std::string check_mailbox(std::string_view address);  // "local@domain", RFC 5321 §4.1.2 dot-string

}  // namespace sluice::config
