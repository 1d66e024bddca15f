// config/check.hpp: what `sluice config check` prints — the verdict on a configuration file
// and a one-line summary, or every diagnostic in compiler form. It lives here rather than in
// src/cli so that it is unit-tested with the loader, and so the daemon's start-up can print
// the same lines when it refuses a configuration.
// Owns: the report text. Not: exit codes or argument parsing (cli/).
#pragma once

#include <ostream>
#include <string>

#include "config/config.hpp"
#include "config/loader.hpp"

namespace sluice::config {

// "2 receive connectors (internet 127.0.0.1:2525; apps 127.0.0.1:2526), 2 accepted domains, 3 users,
//  2 send connectors (internet * by MX; partner partner.test via relay.partner.test:587)"
std::string summarize(const Config& config);

// Writes "FILE: ok" and the summary to `out` and warnings as "file:l:c: warning: ..." to
// `err`, or every error as "file:l:c: error: ..." (then warnings) to `err`.
// Returns whether the configuration is valid.
bool report(const LoadResult& result, const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace sluice::config
