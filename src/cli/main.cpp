// cli/main.cpp: the `sluice` program: hands its arguments and environment to run_cli.
// Owns: nothing but the process boundary (reading $SLUICE_CONFIG, the exit status).
// Not: argument parsing or any subcommand (cli_app.cpp and the *_command.cpp files).
#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/cli_app.hpp"
#include "cli/cli_context.hpp"

int main(int argc, char** argv) {
  std::optional<std::string> env_config;
  if (const char* v = std::getenv("SLUICE_CONFIG")) env_config = v;
  try {
    return sluice::cli::run_cli(argc, argv, std::cout, std::cerr, env_config);
  } catch (const std::exception& e) {
    // The outermost frame (STYLE.md "Errors"): nothing should get here.
    std::cerr << "sluice: internal error: " << e.what() << "\n";
    return sluice::cli::kExitSoftware;
  }
}
