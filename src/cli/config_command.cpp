// cli/config_command.cpp: see config_command.hpp.
#include "cli/config_command.hpp"

#include <memory>

#include "config/check.hpp"
#include "config/default_config.hpp"
#include "config/loader.hpp"

namespace sluice::cli {

void add_config_command(CLI::App& app, CliContext& context) {
  CLI::App* config = app.add_subcommand("config", "Check the configuration or print the default one");
  config->require_subcommand(1);

  // Owned by the callback: CLI11 keeps the subcommand (and so the callback) alive as long
  // as the app, and the option writes into the same string.
  auto file = std::make_shared<std::string>();
  CLI::App* check = config->add_subcommand(
      "check", "Validate a configuration file: print 'FILE: ok' and a summary, or every error (exit 78)");
  check->add_option("file", *file, "the file to check (default: the global --config)");
  check->callback([&context, file] {
    const std::string path = file->empty() ? context.config_path : *file;
    const auto result = config::load_file(path);
    context.exit_code = config::report(result, path, context.out, context.err) ? kExitOk : kExitConfig;
  });

  CLI::App* print_default = config->add_subcommand(
      "default", "Print the built-in default configuration (what `make run` installs), with comments");
  print_default->callback([&context] {
    context.out << config::default_config_text();
    context.exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
