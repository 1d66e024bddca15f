// tests/unit/cli/config_show_command_test.cpp: `sluice config show` prints every key with its
// effective value, hides password hashes, and its output is a valid configuration that
// renders to itself (so an operator can start from it).
#include "cli/config_show_command.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "cli/cli_app.hpp"
#include "config/loader.hpp"

namespace sluice::cli {
namespace {

constexpr const char* kConfig = R"(
[server]
hostname = "mx.example.org"
data_dir = "/var/lib/sluice"

[[accepted_domain]]
name = "example.org"

[[user]]
address = "alice@example.org"
password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"

[[receive_connector]]
name = "internet"
listen = ["0.0.0.0:25"]

[[receive_connector]]
name = "apps"
usage = "relay"
listen = ["127.0.0.1:2526"]
remote_ip_ranges = ["127.0.0.0/8"]

[[send_connector]]
name = "partner"
address_spaces = ["partner.test"]
smart_hosts = ["[192.0.2.1]:587"]
auth = { username = "app", password_file = "/etc/sluice/partner.secret" }
)";

TEST(ConfigShow, DefaultsFilledAndSecretsHidden) {
  auto loaded = config::load_string(kConfig, "sluice.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().message;
  const std::string text = render_effective_config(*loaded.config);
  EXPECT_NE(text.find("max_recipients = 200\n"), std::string::npos) << text;  // a default
  EXPECT_NE(text.find("usage = \"relay\"\n"), std::string::npos);
  EXPECT_NE(text.find("remote_ip_ranges = [\"127.0.0.0/8\"]\n"), std::string::npos);
  EXPECT_NE(text.find("[admin]\nlisten = \"127.0.0.1:8025\"\n"), std::string::npos);
  EXPECT_NE(text.find("token_file = \"/var/lib/sluice/admin.token\""), std::string::npos);
  EXPECT_NE(text.find("password_file = \"/etc/sluice/partner.secret\""), std::string::npos);
  EXPECT_EQ(text.find("$argon2id"), std::string::npos);
  EXPECT_NE(text.find("# password_hash: set (not shown)"), std::string::npos);
}

TEST(ConfigShow, OutputIsAValidConfigThatRendersToItself) {
  auto loaded = config::load_string(kConfig, "sluice.toml");
  ASSERT_TRUE(loaded.ok());
  const std::string first = render_effective_config(*loaded.config);
  auto again = config::load_string(first, "sluice.toml");
  ASSERT_TRUE(again.ok()) << again.errors.front().to_string() << "\n" << first;
  // The one difference: the hash was never printed, so the second file has none.
  std::string expected = first;
  const std::string hidden = "# password_hash: set (not shown)\n";
  expected.erase(expected.find(hidden), hidden.size());
  EXPECT_EQ(render_effective_config(*again.config), expected);
}

TEST(ConfigShow, InvalidFileIsAConfigError) {
  const char* argv[] = {"sluice", "config", "show", "/nonexistent/sluice.toml"};
  std::ostringstream out, err;
  EXPECT_EQ(run_cli(4, argv, out, err, std::nullopt), kExitConfig);
  EXPECT_NE(err.str().find("/nonexistent/sluice.toml is not valid"), std::string::npos) << err.str();
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace sluice::cli
