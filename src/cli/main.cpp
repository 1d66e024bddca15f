// cli/main.cpp: the `sluice` program: hands its arguments and environment to run_cli.
// Owns: nothing but the process boundary (reading $SLUICE_CONFIG, the exit status).
// Not: argument parsing or any subcommand (cli_app.cpp and the *_command.cpp files).
#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/cli_app.hpp"
#include "cli/cli_context.hpp"
#include "cli/mailq_command.hpp"
#include "cli/sendmail_command.hpp"

int main(int argc, char** argv) {
  std::optional<std::string> env_config;
  if (const char* v = std::getenv("SLUICE_CONFIG")) env_config = v;
  try {
    // Called as `sendmail` or `mailq` (links to this binary), argv[0] selects the mode, as
    // every MTA's sendmail does (shared/reference/ecosystem.md §1).
    const std::string_view name = argc > 0 ? std::string_view(argv[0]) : std::string_view();
    const std::string_view base = name.substr(name.find_last_of('/') == std::string_view::npos ? 0 : name.find_last_of('/') + 1);
    if (base == "sendmail" || base == "mailq") {
      sluice::cli::CliContext context{std::cout, std::cerr, env_config && !env_config->empty()
                                                                ? *env_config
                                                                : sluice::cli::kDefaultConfigPath};
      if (base == "mailq") {
        sluice::cli::run_mailq(context);
        return context.exit_code;
      }
      return sluice::cli::run_sendmail(std::vector<std::string>(argv + 1, argv + argc), std::cin, context);
    }
    return sluice::cli::run_cli(argc, argv, std::cout, std::cerr, env_config);
  } catch (const std::exception& e) {
    // The outermost frame (STYLE.md "Errors"): nothing should get here.
    std::cerr << "sluice: internal error: " << e.what() << "\n";
    return sluice::cli::kExitSoftware;
  }
}
