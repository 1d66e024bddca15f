// Tests for the `sluice` command line: dispatch, exit codes (sysexits) and where each kind of
// output goes, driven through run_cli() with string streams.
#include "cli/cli_app.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "config/default_config.hpp"

namespace sluice::cli {
namespace {

struct CliRun {
  int status;
  std::string out, err;
};

CliRun run(std::vector<const char*> args, std::optional<std::string> env = std::nullopt) {
  args.insert(args.begin(), "sluice");
  std::ostringstream out, err;
  int status = run_cli(static_cast<int>(args.size()), args.data(), out, err, env);
  return {status, out.str(), err.str()};
}

std::string write_file(const std::string& name, std::string_view text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(CliApp, ConfigCheckAcceptsTheDefault) {
  const std::string path = write_file("cli_default.toml", config::default_config_text());
  CliRun r = run({"config", "check", path.c_str()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(path + ": ok"), std::string::npos) << r.out;
}

TEST(CliApp, ConfigCheckReportsEveryErrorWithFileAndLineAndExits78) {
  const std::string path = write_file("cli_bad.toml",
                                      "[server]\nhostname = \"mx.example.test\"\nhostnme = \"x\"\n"
                                      "[[receive_connector]]\nname = \"a\"\nlisten = [\"127.0.0.1:25\"]\n"
                                      "max_recipient = 3\n");
  CliRun r = run({"config", "check", path.c_str()});
  EXPECT_EQ(r.status, 78);
  EXPECT_NE(r.err.find(path + ":3:1: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ":7:1: error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("max_recipients"), std::string::npos) << "a did-you-mean hint: " << r.err;
}

TEST(CliApp, GlobalConfigOptionAndEnvironmentNameTheFile) {
  const std::string path = write_file("cli_env.toml", config::default_config_text());
  EXPECT_EQ(run({"--config", path.c_str(), "config", "check"}).status, 0);
  EXPECT_EQ(run({"config", "check"}, path).status, 0);
}

TEST(CliApp, UnknownCommandIsAUsageErrorNamingWhatExists) {
  CliRun r = run({"frobnicate"});
  EXPECT_EQ(r.status, 64);
  EXPECT_NE(r.err.find("config"), std::string::npos) << r.err;
}

TEST(CliApp, ConfigDefaultPrintsTheEmbeddedConfiguration) {
  CliRun r = run({"config", "default"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, config::default_config_text());
}

}  // namespace
}  // namespace sluice::cli
