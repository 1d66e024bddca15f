// cli/cli_app.cpp: see cli_app.hpp. CLI11 throws on parse errors (its design); they are
// caught here, at the outermost frame, and become exit statuses.
#include "cli/cli_app.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli/cli_context.hpp"
#include "cli/config_command.hpp"
#include "cli/dkim_command.hpp"
#include "cli/doctor_command.hpp"
#include "cli/explain_command.hpp"
#include "cli/user_command.hpp"
#include "cli/mailq_command.hpp"
#include "cli/sendmail_command.hpp"
#include "cli/queue_command.hpp"
#include "cli/message_command.hpp"
#include "cli/track_command.hpp"
#include "cli/status_command.hpp"
#include "cli/config_show_command.hpp"
#include "cli/test_command.hpp"

namespace sluice::cli {
namespace {

using AddCommand = void (*)(CLI::App&, CliContext&);

// Every subcommand, in the order `sluice --help` lists them. A new subcommand is a new file
// with an add_*_command function, and one line here.
constexpr AddCommand kCommands[] = {
    add_config_command,
    add_config_show_command,  // adds `show` to `config`: after add_config_command
    add_dkim_command,
    add_user_command,
    add_test_command,
    add_doctor_command,
    add_explain_command,
    add_queue_command,
    add_message_command,
    add_track_command,
    add_status_command,
    add_reload_command,
    add_sendmail_command,
    add_mailq_command,
};

// "sluice config check": the words that select `app`.
std::string command_path(const CLI::App& app) {
  std::string path;
  for (const CLI::App* a = &app; a; a = a->get_parent()) path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// "usage: sluice config <command>" and the commands that exist there.
void print_usage(const CLI::App& app, std::ostream& err) {
  const std::string path = command_path(app);
  if (app.get_subcommands({}).empty()) {
    err << "Run '" << path << " --help' for its usage.\n";
    return;
  }
  err << "usage: " << path << (app.get_parent() ? "" : " [--config FILE]") << " <command> [options]\n"
      << "commands:\n";
  const auto subs = app.get_subcommands({});
  size_t width = 0;
  for (const CLI::App* sub : subs) width = std::max(width, sub->get_name().size());
  for (const CLI::App* sub : subs) {
    err << "  " << sub->get_name() << std::string(width - sub->get_name().size() + 2, ' ')
        << sub->get_description() << "\n";
  }
  err << "Run '" << path << " --help' for details.\n";
}

// The deepest subcommand the parse reached, to show the usage of the right level.
const CLI::App& deepest(const CLI::App& app) {
  const CLI::App* at = &app;
  for (bool descended = true; descended;) {
    descended = false;
    for (const CLI::App* sub : at->get_subcommands()) {
      if (sub->parsed()) {
        at = sub;
        descended = true;
        break;
      }
    }
  }
  return *at;
}

}  // namespace

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
            std::optional<std::string> env_config) {
  CliContext context{out, err, env_config && !env_config->empty() ? *env_config : kDefaultConfigPath};

  CLI::App app{"sluice: the operator's command for the sluice mail server", "sluice"};
  app.set_version_flag("--version", "sluice " + std::string(sluice::kVersion));
  app.add_option("-c,--config", context.config_path,
                 "configuration file (default: $SLUICE_CONFIG, else /etc/sluice/sluice.toml)");
  app.require_subcommand(1);
  for (AddCommand add : kCommands) add(app, context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e, out, err);  // --help, --version
    }
    const CLI::App& where = deepest(app);
    const auto extras = where.remaining();
    if (!extras.empty() && !extras.front().empty() && extras.front().front() != '-' &&
        !where.get_subcommands({}).empty()) {
      err << command_path(where) << ": unknown command '" << extras.front() << "'\n";
    } else if (dynamic_cast<const CLI::RequiredError*>(&e) && where.get_subcommands().empty() &&
               !where.get_subcommands({}).empty()) {
      err << command_path(where) << ": a command is required\n";
    } else {
      err << command_path(where) << ": " << e.what() << "\n";
    }
    print_usage(where, err);
    return kExitUsage;
  }
  return context.exit_code;
}

}  // namespace sluice::cli
