// cli/user_command.hpp: `sluice user add|passwd|del|list [ADDRESS] [--users-file FILE]`, which
// manages the users file that sluiced reads for SMTP AUTH.
// Owns: these subcommands' arguments, reading the new password, exit codes. Not: the file
// format, hashing or validation (auth/user_store, auth/password_hash): the CLI hashes, the
// daemon only reads.
//
// The password never comes from the command line (it would show in `ps` and shell history):
// on a terminal it is asked twice with echo off, otherwise it is the first line of standard
// input (`echo "$pw" | sluice user add alice@example.org`, scripts, provisioning tools).
// The users file is `--users-file FILE`, else the configuration's `[server] users_file` when
// written there, else "<data_dir>/users" (configuration from --config / $SLUICE_CONFIG, as
// for every command). With --users-file the configuration is not read at all.
// Exit codes (sysexits): 0; 64 usage; 65 unusable password or address (EX_DATAERR);
// 67 no such user (EX_NOUSER); 73 the user exists already or the file cannot be written
// (EX_CANTCREAT); 74 the users file cannot be read (EX_IOERR); 78 bad configuration or users
// file, or a user defined in the configuration (EX_CONFIG: change it there).
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "auth/password_hash.hpp"
#include "base/result.hpp"
#include "cli/cli_context.hpp"

namespace sluice::cli {

// Where a new password comes from. `address` is for the prompt.
class PasswordSource {
 public:
  virtual ~PasswordSource() = default;
  // The password, or why there is none (ErrorClass::permanent, shown to the operator).
  virtual Result<std::string> new_password(std::string_view address, std::ostream& err) = 0;
};

// Standard input: a terminal is prompted twice with echo off; anything else gives its first
// line (without the line end). An empty password is refused.
class StdinPasswordSource final : public PasswordSource {
 public:
  Result<std::string> new_password(std::string_view address, std::ostream& err) override;
};

struct UserCommandOptions {
  std::shared_ptr<PasswordSource> passwords = std::make_shared<StdinPasswordSource>();
  auth::HashParams hash_params;  // tests pass cheap ones
};

// The subcommand as `sluice` registers it (kCommands): standard input, default hash parameters.
void add_user_command(CLI::App& app, CliContext& context);
// The same with the password source and hash parameters chosen by the caller (tests).
void add_user_command(CLI::App& app, CliContext& context, UserCommandOptions options);

inline constexpr int kExitDataErr = 65;     // EX_DATAERR
inline constexpr int kExitNoUser = 67;      // EX_NOUSER
inline constexpr int kExitCantCreat = 73;   // EX_CANTCREAT
inline constexpr int kExitIoErr = 74;       // EX_IOERR

}  // namespace sluice::cli
