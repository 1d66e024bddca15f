// Tests for the protection sections of config/loader: [[dnsbl]], [protection], [greylist] and
// [[rate_limit]] — defaults, every key read, and each mistake reported with what to write.
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>

#include "config/default_config.hpp"
#include "config/loader.hpp"

namespace sluice::config {
namespace {

constexpr std::string_view kMinimal =
    "[[receive_connector]]\n"
    "name = \"internet\"\n"
    "listen = [\"127.0.0.1:2525\"]\n";

LoadResult load(std::string_view extra) { return load_string(std::string(kMinimal) + std::string(extra), "t.toml"); }

std::string errors_of(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.message + "\n";
  return out;
}

TEST(ProtectionSettings, OffByDefault) {
  auto r = load("");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const Protection& p = r.config->protection;
  EXPECT_TRUE(p.dnsbl.empty());
  EXPECT_FALSE(p.greylist.enabled);
  EXPECT_TRUE(p.rate_limits.empty());
  EXPECT_FALSE(p.settings.require_reverse_dns);
  EXPECT_EQ(p.rate_limit_for("internet"), nullptr);
}

TEST(ProtectionSettings, ReadsDnsblZones) {
  auto r = load(
      "[[dnsbl]]\nzone = \"Zen.Example-BL.test.\"\ncodes = { \"127.0.0.2\" = \"spam source\", \"127.0.0.4\" = \"exploited\" }\n"
      "action = \"rcpt\"\nactions = { \"internet\" = \"record\" }\nconnectors = [\"internet\"]\nonly_codes = true\n"
      "[[dnsbl]]\nzone = \"wl.example.test\"\ntype = \"allow\"\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& z = r.config->protection.dnsbl;
  ASSERT_EQ(z.size(), 2u);
  EXPECT_EQ(z[0].zone, "zen.example-bl.test");
  EXPECT_FALSE(z[0].allow);
  EXPECT_EQ(z[0].codes.at("127.0.0.2"), "spam source");
  EXPECT_EQ(z[0].codes.at("127.0.0.4"), "exploited");
  EXPECT_TRUE(z[0].only_codes);
  EXPECT_EQ(z[0].action, DnsblAction::rcpt);
  EXPECT_EQ(z[0].actions.at("internet"), DnsblAction::record);
  EXPECT_EQ(z[0].connectors, std::vector<std::string>{"internet"});
  EXPECT_TRUE(z[1].allow);
  EXPECT_EQ(z[1].action, DnsblAction::connect);
}

TEST(ProtectionSettings, DnsblMistakesSayWhatToWrite) {
  auto r = load("[[dnsbl]]\ncodes = {}\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(errors_of(r).find("[[dnsbl]] needs 'zone'"), std::string::npos) << errors_of(r);

  r = load("[[dnsbl]]\nzone = \"bl.test\"\naction = \"drop\"\n");
  EXPECT_NE(errors_of(r).find("'action' must be \"connect\""), std::string::npos) << errors_of(r);

  r = load("[[dnsbl]]\nzone = \"bl.test\"\ncodes = { \"10.0.0.1\" = \"x\" }\n");
  EXPECT_NE(errors_of(r).find("answers are 127.0.0.x addresses"), std::string::npos) << errors_of(r);

  r = load("[[dnsbl]]\nzone = \"bl.test\"\nconnectors = [\"Internet\"]\n");
  EXPECT_NE(errors_of(r).find("no [[receive_connector]] is named 'Internet'"), std::string::npos) << errors_of(r);

  r = load("[[dnsbl]]\nzone = \"bl.test\"\n[[dnsbl]]\nzone = \"BL.test\"\n");
  EXPECT_NE(errors_of(r).find("already defined on line 4"), std::string::npos) << errors_of(r);

  r = load("[[dnsbl]]\nzone = \"bl.test\"\ntype = \"white\"\n");
  EXPECT_NE(errors_of(r).find("'type' must be \"block\""), std::string::npos) << errors_of(r);
}

TEST(ProtectionSettings, ReadsAllowlistAndReverseDns) {
  auto r = load("[protection]\nallowlist = [\"192.0.2.0/24\", \"2001:db8::/32\"]\nrequire_reverse_dns = true\n"
                "require_fcrdns = true\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& s = r.config->protection.settings;
  ASSERT_EQ(s.allowlist.size(), 2u);
  EXPECT_EQ(s.allowlist[0].to_string(), "192.0.2.0/24");
  EXPECT_TRUE(s.require_reverse_dns);
  EXPECT_TRUE(s.require_fcrdns);
  r = load("[protection]\nallowlist = [\"192.0.2.1/24\"]\n");
  EXPECT_FALSE(r.ok());
}

TEST(ProtectionSettings, GreylistSectionTurnsItOn) {
  auto r = load("[greylist]\ndelay = \"2s\"\nlifetime = \"1h\"\npass_for = \"7d\"\nconnectors = [\"internet\"]\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const auto& g = r.config->protection.greylist;
  EXPECT_TRUE(g.enabled);
  EXPECT_EQ(g.delay, std::chrono::seconds(2));
  EXPECT_EQ(g.lifetime, std::chrono::hours(1));
  EXPECT_EQ(g.pass_for, std::chrono::hours(24 * 7));
  EXPECT_EQ(g.connectors, std::vector<std::string>{"internet"});

  r = load("[greylist]\nenabled = false\n");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.config->protection.greylist.enabled);

  r = load("[greylist]\ndelay = \"2h\"\nlifetime = \"1h\"\n");
  EXPECT_NE(errors_of(r).find("must be longer than delay"), std::string::npos) << errors_of(r);
}

TEST(ProtectionSettings, ReadsRateLimitsPerConnector) {
  auto r = load("[[rate_limit]]\nconnector = \"internet\"\nconnections_per_minute_per_ip = 3\n"
                "messages_per_minute_per_ip = 10\nmessages_per_minute_per_sender = 5\n"
                "messages_per_minute_per_user = 7\nrecipients_per_message = 50\n");
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const RateLimitSettings* l = r.config->protection.rate_limit_for("internet");
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->connections_per_minute_per_ip, 3u);
  EXPECT_EQ(l->messages_per_minute_per_ip, 10u);
  EXPECT_EQ(l->messages_per_minute_per_sender, 5u);
  EXPECT_EQ(l->messages_per_minute_per_user, 7u);
  EXPECT_EQ(l->recipients_per_message, 50u);

  r = load("[[rate_limit]]\nmessages_per_minute_per_ip = 1\n");
  EXPECT_NE(errors_of(r).find("[[rate_limit]] needs 'connector'"), std::string::npos) << errors_of(r);
  r = load("[[rate_limit]]\nconnector = \"internet\"\n[[rate_limit]]\nconnector = \"internet\"\n");
  EXPECT_NE(errors_of(r).find("already defined"), std::string::npos) << errors_of(r);
  r = load("[[rate_limit]]\nconnector = \"internet\"\nmessages_per_minut_per_ip = 1\n");
  EXPECT_NE(errors_of(r).find("did you mean 'messages_per_minute_per_ip'"), std::string::npos) << errors_of(r);
}

// The default configuration's protection examples, uncommented, load as written.
TEST(ProtectionSettings, DefaultConfigExamplesLoadWhenUncommented) {
  std::istringstream in{std::string(default_config_text())};
  std::string line, text;
  bool inside = false;
  int uncommented = 0;
  while (std::getline(in, line)) {
    if (line == "# ---- Inbound protection (all off until written) ----") inside = true;
    if (line.rfind("# DNS for outbound delivery", 0) == 0) inside = false;
    const bool key = line.size() > 2 && line.rfind("# ", 0) == 0 && std::islower(static_cast<unsigned char>(line[2])) &&
                     line.find(" = ", 2) != std::string::npos && line.find(' ', 2) == line.find(" = ", 2);
    const bool header = line.rfind("# [", 0) == 0 && line.back() == ']';
    if (inside && (key || header)) {
      line = line.substr(2);
      ++uncommented;
    }
    text += line + "\n";
  }
  EXPECT_EQ(uncommented, 24) << "[[dnsbl]] 8 lines, [protection] 4, [greylist] 5, [[rate_limit]] 7";
  auto r = load_string(text, "uncommented.toml");
  ASSERT_TRUE(r.ok()) << errors_of(r) << text;
  const Protection& p = r.config->protection;
  ASSERT_EQ(p.dnsbl.size(), 1u);
  EXPECT_EQ(p.dnsbl[0].zone, "zen.spamhaus.org");
  EXPECT_EQ(p.dnsbl[0].actions.at("internet"), DnsblAction::rcpt);
  EXPECT_EQ(p.settings.allowlist.size(), 1u);
  EXPECT_TRUE(p.greylist.enabled);
  EXPECT_EQ(p.greylist.pass_for, std::chrono::hours(24 * 36));
  ASSERT_NE(p.rate_limit_for("internet"), nullptr);
  EXPECT_EQ(p.rate_limit_for("internet")->recipients_per_message, 100u);
}

}  // namespace
}  // namespace sluice::config
