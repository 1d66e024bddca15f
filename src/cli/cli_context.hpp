// cli/cli_context.hpp: what every `sluice` subcommand shares — the global options, the
// streams it writes to, and the exit status it leaves. Subcommands receive it by reference
// when they register (see cli_app.cpp), so there is no global state and a test can run the
// whole command line against string streams.
// Owns: the sysexits(3) codes the CLI uses. Not: any subcommand's logic.
#pragma once

#include <ostream>
#include <string>

namespace sluice::cli {

// sysexits(3): what scripts and service managers test for.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;     // EX_USAGE: wrong arguments
inline constexpr int kExitSoftware = 70;  // EX_SOFTWARE: a bug
inline constexpr int kExitConfig = 78;    // EX_CONFIG: the configuration is invalid

struct CliContext {
  std::ostream& out;
  std::ostream& err;
  // --config FILE; default $SLUICE_CONFIG, else kDefaultConfigPath. Later subcommands that
  // talk to the daemon read the admin API address from it.
  std::string config_path;
  int exit_code = kExitOk;
};

inline constexpr const char* kDefaultConfigPath = "/etc/sluice/sluice.toml";

}  // namespace sluice::cli
