// Tests for config/loader: a complete file loads with every field right; each kind of
// mistake is reported at its line and column; several mistakes are all reported.
#include "config/loader.hpp"

#include <gtest/gtest.h>

#include "config/default_config.hpp"

namespace sluice::config {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const std::string kData = std::string(SLUICE_TEST_DATA) + "/config/";

// A minimal valid file; tests append the part they are about. Its 4 lines come first, so
// appended text starts on line 5.
constexpr std::string_view kMinimal =
    "[[receive_connector]]\n"
    "name = \"internet\"\n"
    "listen = [\"127.0.0.1:2525\"]\n"
    "\n";

LoadResult load(std::string_view text) { return load_string(text, "test.toml"); }
LoadResult load_with_minimal(std::string_view extra) { return load(std::string(kMinimal) + std::string(extra)); }

std::string dump(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += d.to_string() + "\n";
  return out;
}

// Exactly one error, at line:column, whose message contains `needle`.
void expect_one_error(const LoadResult& r, int line, int column, std::string_view needle) {
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_FALSE(r.config.has_value());
  const Diagnostic& d = r.errors[0];
  EXPECT_EQ(d.file, "test.toml");
  EXPECT_EQ(d.line, line) << d.to_string();
  EXPECT_EQ(d.column, column) << d.to_string();
  EXPECT_NE(d.message.find(needle), std::string::npos) << d.to_string();
}

TEST(Loader, FullFileLoadsEveryField) {
  auto r = load_file(kData + "full.toml");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << dump(r.warnings);
  const Config& c = *r.config;
  EXPECT_EQ(c.source, kData + "full.toml");
  EXPECT_EQ(c.server.hostname, "mx.example.test");
  EXPECT_EQ(c.server.data_dir, "/srv/sluice");
  EXPECT_EQ(c.server.threads, 4u);

  ASSERT_EQ(c.accepted_domains.size(), 2u);
  EXPECT_EQ(c.accepted_domains[0].name, "example.test");
  EXPECT_EQ(c.accepted_domains[1].name, "other.example");
  EXPECT_TRUE(c.is_accepted_domain("OTHER.EXAMPLE"));
  EXPECT_FALSE(c.is_accepted_domain("example"));

  EXPECT_EQ(c.local_delivery.maildir_root, "/srv/mail");
  EXPECT_EQ(c.local_delivery.aliases, "/etc/sluice/aliases");
  EXPECT_TRUE(c.local_delivery.aliases_explicit);

  ASSERT_EQ(c.users.size(), 2u);
  EXPECT_EQ(c.users[0].address, "alice@example.test");
  EXPECT_EQ(c.users[1].address, "Bob.Smith@other.example");

  ASSERT_EQ(c.receive_connectors.size(), 3u);
  const ReceiveConnector& in = c.receive_connectors[0];
  EXPECT_EQ(in.name, "internet");
  EXPECT_EQ(in.listen, (std::vector<ListenAddress>{{"0.0.0.0", 25}, {"::", 25}}));
  EXPECT_EQ(in.usage, ConnectorUsage::internet);
  EXPECT_TRUE(in.remote_ip_ranges.empty());
  EXPECT_EQ(in.max_message_size, 50u << 20);
  EXPECT_EQ(in.max_recipients, 100u);
  EXPECT_EQ(in.banner, "ESMTP ready");
  EXPECT_EQ(in.max_errors, 3u);
  EXPECT_EQ(in.max_connections, 1000u);
  EXPECT_EQ(in.max_connections_per_ip, 10u);
  EXPECT_EQ(in.max_hop_count, 40u);
  EXPECT_EQ(in.command_timeout, minutes(10));
  EXPECT_EQ(in.data_timeout, seconds(7200));
  EXPECT_FALSE(in.protocol_log);

  const ReceiveConnector& relay = c.receive_connectors[1];
  EXPECT_EQ(relay.name, "lan relay");
  EXPECT_EQ(relay.usage, ConnectorUsage::relay);
  ASSERT_EQ(relay.remote_ip_ranges.size(), 4u);
  EXPECT_EQ(relay.remote_ip_ranges[0].to_string(), "192.168.0.0/16");
  EXPECT_EQ(relay.remote_ip_ranges[1].to_string(), "2001:db8::/48");
  EXPECT_EQ(relay.remote_ip_ranges[2].to_string(), "10.0.0.5");
  EXPECT_EQ(relay.remote_ip_ranges[3].to_string(), "172.16.0.1-172.16.0.9");
  EXPECT_EQ(relay.max_message_size, 1048576u);
  EXPECT_EQ(relay.max_recipients, 200u) << "defaults apply to keys left out";

  EXPECT_EQ(c.receive_connectors[2].usage, ConnectorUsage::client);
  EXPECT_EQ(c.receive_connectors[2].listen[0].to_string(), "[::1]:587");
  EXPECT_EQ(c.find_connector("submission"), &c.receive_connectors[2]);
  EXPECT_EQ(c.find_connector("nope"), nullptr);
}

TEST(Loader, DefaultsWhenLeftOut) {
  auto r = load(kMinimal);
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  const Config& c = *r.config;
  EXPECT_FALSE(c.server.hostname.empty()) << "the machine's host name fills in";
  EXPECT_EQ(c.server.data_dir, "var");
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.local_delivery.maildir_root, "var/mail");
  EXPECT_EQ(c.local_delivery.aliases, "var/aliases");
  EXPECT_FALSE(c.local_delivery.aliases_explicit);
  const ReceiveConnector& rc = c.receive_connectors.at(0);
  EXPECT_EQ(rc.usage, ConnectorUsage::internet);
  EXPECT_EQ(rc.max_message_size, 35u << 20);
  EXPECT_EQ(rc.max_recipients, 200u);
  EXPECT_EQ(rc.banner, "ESMTP sluice");
  EXPECT_EQ(rc.max_errors, 5u);
  EXPECT_EQ(rc.max_connections, 5000u);
  EXPECT_EQ(rc.max_connections_per_ip, 20u);
  EXPECT_EQ(rc.max_hop_count, 30u);
  EXPECT_EQ(rc.command_timeout, minutes(5));
  EXPECT_EQ(rc.data_timeout, minutes(3));
  EXPECT_TRUE(rc.protocol_log);
}

TEST(Loader, DefaultConfigLoadsCleanly) {
  auto r = load_string(default_config_text(), "sluice.toml");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << dump(r.warnings);
  const Config& c = *r.config;
  EXPECT_EQ(c.server.hostname, "localhost");
  EXPECT_EQ(c.server.data_dir, "var");
  EXPECT_TRUE(c.is_accepted_domain("localhost"));
  EXPECT_TRUE(c.is_accepted_domain("example.test"));
  EXPECT_EQ(c.local_delivery.maildir_root, "var/mail");
  EXPECT_EQ(c.local_delivery.aliases, "var/aliases");
  ASSERT_EQ(c.users.size(), 3u);
  const ReceiveConnector* internet = c.find_connector("internet");
  ASSERT_NE(internet, nullptr);
  EXPECT_EQ(internet->listen, (std::vector<ListenAddress>{{"127.0.0.1", 2525}}));
  EXPECT_EQ(internet->usage, ConnectorUsage::internet);
  const ReceiveConnector* apps = c.find_connector("apps");
  ASSERT_NE(apps, nullptr);
  EXPECT_EQ(apps->listen, (std::vector<ListenAddress>{{"127.0.0.1", 2526}}));
  EXPECT_EQ(apps->usage, ConnectorUsage::relay);
  ASSERT_EQ(apps->remote_ip_ranges.size(), 1u);
  EXPECT_EQ(apps->remote_ip_ranges[0].to_string(), "127.0.0.0/8");
}

TEST(Loader, SyntaxErrorHasPosition) {
  expect_one_error(load("[server]\nhostname = \"mx.example.test\nthreads = 1\n"), 2, 28, "");
  auto r = load("[server]\nthreads = = 1\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2);
}

TEST(Loader, DuplicateKeyIsASyntaxError) {
  auto r = load_with_minimal("[server]\nthreads = 1\nthreads = 2\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].line, 7);
}

TEST(Loader, UnknownKeySuggestsTheClosest) {
  expect_one_error(load_with_minimal("[server]\nthreds = 1\n"), 6, 1,
                   "unknown key 'threds' in [server]; did you mean 'threads'?");
  expect_one_error(load(std::string(kMinimal.substr(0, kMinimal.size() - 1)) + "  max_recipent = 5\n"), 4, 3,
                   "did you mean 'max_recipients'?");
}

TEST(Loader, UnknownKeyFromAnotherSectionSaysWhereItBelongs) {
  expect_one_error(load_with_minimal("[server]\nmax_message_size = \"10MB\"\n"), 6, 1,
                   "belongs in [[receive_connector]]");
}

TEST(Loader, UnknownSection) {
  expect_one_error(load_with_minimal("[[receive_conector]]\nname = \"x\"\n"), 5, 3,
                   "unknown section 'receive_conector'; did you mean 'receive_connector'?");
  expect_one_error(load_with_minimal("[tls]\ncert = \"x\"\n"), 5, 2, "known sections");
}

TEST(Loader, WrongTypes) {
  expect_one_error(load_with_minimal("[server]\nthreads = \"4\"\n"), 6, 11, "'threads' must be an integer, not a string");
  expect_one_error(load_with_minimal("[server]\nhostname = 7\n"), 6, 12, "must be a string, not an integer");
  expect_one_error(load_with_minimal("[server]\nthreads = 1.5\n"), 6, 11, "not a number with a fraction");
  expect_one_error(load("server = 1\n" + std::string(kMinimal)), 1, 10, "must be a section: write [server]");
  expect_one_error(load_with_minimal("[accepted_domain]\nname = \"a.test\"\n"), 5, 1, "write each one as [[accepted_domain]]");
  expect_one_error(load("[[receive_connector]]\nname = \"a\"\nlisten = \"127.0.0.1:25\"\n"), 3, 10,
                   "'listen' must be an array of strings");
  expect_one_error(load("[[receive_connector]]\nname = \"a\"\nlisten = [\"127.0.0.1:25\", 26]\n"), 3, 27,
                   "must contain only strings, not an integer");
  expect_one_error(load("[[receive_connector]]\nname = \"a\"\nlisten = [\"127.0.0.1:25\"]\nprotocol_log = \"yes\"\n"), 4,
                   16, "'protocol_log' must be true or false");
}

TEST(Loader, Durations) {
  const std::string head(kMinimal.substr(0, kMinimal.size() - 1));
  auto ok = load(head + "command_timeout = \"10m\"\ndata_timeout = \"1h\"\n");
  ASSERT_TRUE(ok.ok()) << dump(ok.errors);
  EXPECT_EQ(ok.config->receive_connectors[0].command_timeout, seconds(600));
  EXPECT_EQ(ok.config->receive_connectors[0].data_timeout, seconds(3600));
  expect_one_error(load(head + "command_timeout = 300\n"), 4, 19, "needs a unit: write \"300s\"");
  expect_one_error(load(head + "data_timeout = \"3 fortnights\"\n"), 4, 16, "unknown unit");
  expect_one_error(load(head + "data_timeout = \"0s\"\n"), 4, 16, "longer than 0s");
  expect_one_error(load(head + "data_timeout = true\n"), 4, 16, "must be a duration");
}

TEST(Loader, Sizes) {
  const std::string head(kMinimal.substr(0, kMinimal.size() - 1));
  auto ok = load(head + "max_message_size = \"64KB\"\n");
  ASSERT_TRUE(ok.ok()) << dump(ok.errors);
  EXPECT_EQ(ok.config->receive_connectors[0].max_message_size, 65536u);
  expect_one_error(load(head + "max_message_size = \"35 megs\"\n"), 4, 20, "unknown unit");
  expect_one_error(load(head + "max_message_size = -1\n"), 4, 20, "must not be negative");
  expect_one_error(load(head + "max_message_size = 0\n"), 4, 20, "larger than 0");
}

TEST(Loader, IntegerRanges) {
  const std::string head(kMinimal.substr(0, kMinimal.size() - 1));
  expect_one_error(load(head + "max_recipients = 0\n"), 4, 18, "'max_recipients' must be from 1 to");
  expect_one_error(load_with_minimal("[server]\nthreads = -1\n"), 6, 11, "from 0 to 1024, not -1");
}

TEST(Loader, BadValues) {
  const std::string head(kMinimal.substr(0, kMinimal.size() - 1));
  expect_one_error(load("[[receive_connector]]\nname = \"a\"\nlisten = [\"127.0.0.1:99999\"]\n"), 3, 11,
                   "the port must be a number");
  expect_one_error(load(head + "remote_ip_ranges = [\"10.0.0.0/8\", \"10.0.0.300\"]\n"), 4, 35,
                   "'remote_ip_ranges': '10.0.0.300' is not an IP address");
  expect_one_error(load(head + "usage = \"rely\"\n"), 4, 9, "did you mean 'relay'?");
  expect_one_error(load(head + "banner = \"hi\\r\\nthere\"\n"), 4, 10, "control characters");
  expect_one_error(load_with_minimal("[server]\nhostname = \"mx_1.example.test\"\n"), 6, 12, "'_' is not allowed");
  expect_one_error(load_with_minimal("[[accepted_domain]]\nname = \"-bad.test\"\n"), 6, 8, "cannot begin or end with '-'");
  expect_one_error(load_with_minimal("[[accepted_domain]]\nname = \"a.test\"\n[[user]]\naddress = \"al ice@a.test\"\n"), 8,
                   11, "' ' is not allowed in a local part");
  expect_one_error(load_with_minimal("[[user]]\naddress = \"nobody\"\n"), 6, 11, "expected local@domain");
  expect_one_error(load(head + "remote_ip_ranges = []\n"), 4, 20, "no client could connect");
}

TEST(Loader, DomainAndMailboxChecks) {
  EXPECT_EQ(check_domain_name("mx.example.test"), "");
  EXPECT_EQ(check_domain_name("localhost"), "");
  EXPECT_NE(check_domain_name("b\xc3\xbc" "cher.example").find("xn--"), std::string::npos);
  EXPECT_NE(check_domain_name("example.test.").find("trailing dot"), std::string::npos);
  EXPECT_NE(check_domain_name(std::string(64, 'a') + ".test").find("63"), std::string::npos);
  EXPECT_NE(check_domain_name(std::string(254, 'a')).find("253"), std::string::npos);
  EXPECT_EQ(check_mailbox("first.last+tag@example.test"), "");
  EXPECT_NE(check_mailbox("a..b@example.test").find("'..'"), std::string::npos);
  EXPECT_NE(check_mailbox("@example.test").find("empty local part"), std::string::npos);
  EXPECT_NE(check_mailbox(std::string(65, 'a') + "@example.test").find("64"), std::string::npos);
  EXPECT_NE(check_mailbox("a@exa mple.test").find("not a domain name"), std::string::npos);
}

TEST(Loader, MissingRequiredKeysPointAtTheSection) {
  expect_one_error(load_with_minimal("\n[[accepted_domain]]\n"), 6, 1, "needs a 'name'");
  expect_one_error(load("[[receive_connector]]\nlisten = [\"127.0.0.1:25\"]\n"), 1, 1, "needs a 'name'");
  expect_one_error(load("[[receive_connector]]\nname = \"x\"\n"), 1, 1, "needs 'listen'");
  expect_one_error(load("[[receive_connector]]\nname = \"x\"\nlisten = []\n"), 3, 10, "at least one address");
}

TEST(Loader, NoConnectorAtAll) {
  auto r = load("[server]\nhostname = \"mx.example.test\"\n");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r.errors);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_EQ(r.errors[0].to_string("error").rfind("test.toml: error: no [[receive_connector]]", 0), 0u)
      << r.errors[0].to_string("error");
}

TEST(Loader, Duplicates) {
  expect_one_error(load_with_minimal("[[accepted_domain]]\nname = \"a.test\"\n[[accepted_domain]]\nname = \"A.Test\"\n"),
                   8, 8, "accepted domain 'a.test' is already listed on line 6");
  expect_one_error(load_with_minimal("[[accepted_domain]]\nname = \"a.test\"\n"
                                     "[[user]]\naddress = \"x@a.test\"\n[[user]]\naddress = \"x@A.TEST\"\n"),
                   10, 11, "already listed on line 8");
  expect_one_error(load(std::string(kMinimal) + std::string(kMinimal)), 6, 8,
                   "receive connector 'internet' is already defined on line 2");
  expect_one_error(load("[[receive_connector]]\nname = \"a\"\nlisten = [\"127.0.0.1:2525\", \"127.0.0.1:2525\"]\n"), 3,
                   29, "127.0.0.1:2525 is listed twice");
}

TEST(Loader, UserOutsideAcceptedDomains) {
  expect_one_error(load_with_minimal("[[accepted_domain]]\nname = \"a.test\"\n[[user]]\naddress = \"bob@b.test\"\n"), 8,
                   11, "'b.test' is not an accepted domain");
}

TEST(Loader, AmbiguousConnectors) {
  const std::string two =
      "[[receive_connector]]\nname = \"one\"\nlisten = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.0/8\", \"10.0.0.0/8\"]\n"
      "[[receive_connector]]\nname = \"two\"\nlisten = [\"127.0.0.1:26\", \"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.0/8\"]\n";
  expect_one_error(load(two), 7, 10, "'one' and 'two' both listen on 0.0.0.0:25 with the same remote_ip_ranges");

  // Different ranges on one address, or the same ranges on different addresses, are fine.
  EXPECT_TRUE(load("[[receive_connector]]\nname = \"one\"\nlisten = [\"0.0.0.0:25\"]\n"
                   "[[receive_connector]]\nname = \"two\"\nlisten = [\"0.0.0.0:25\"]\nremote_ip_ranges = [\"10.0.0.0/8\"]\n")
                  .ok());
  EXPECT_TRUE(load("[[receive_connector]]\nname = \"one\"\nlisten = [\"0.0.0.0:25\"]\n"
                   "[[receive_connector]]\nname = \"two\"\nlisten = [\"0.0.0.0:26\"]\n")
                  .ok());
  // Port 0 gives each connector its own port.
  EXPECT_TRUE(load("[[receive_connector]]\nname = \"one\"\nlisten = [\"127.0.0.1:0\"]\n"
                   "[[receive_connector]]\nname = \"two\"\nlisten = [\"127.0.0.1:0\"]\n")
                  .ok());
}

TEST(Loader, OpenRelayIsRefused) {
  expect_one_error(load("[[receive_connector]]\nname = \"r\"\nlisten = [\"0.0.0.0:25\"]\nusage = \"relay\"\n"), 1, 1,
                   "open relay");
}

TEST(Loader, Warnings) {
  const std::string head(kMinimal.substr(0, kMinimal.size() - 1));
  auto r = load(head + "command_timeout = \"30s\"\nmax_connections = 10\nmax_connections_per_ip = 20\n"
                       "remote_ip_ranges = [\"0.0.0.0/0\"]\n[server]\nhostname = \"mx\"\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  ASSERT_EQ(r.warnings.size(), 4u) << dump(r.warnings);
  EXPECT_EQ(r.warnings[0].line, 4);
  EXPECT_NE(r.warnings[0].message.find("RFC 5321"), std::string::npos);
  EXPECT_EQ(r.warnings[1].line, 6);
  EXPECT_NE(r.warnings[1].message.find("never applies"), std::string::npos);
  EXPECT_EQ(r.warnings[2].line, 7);
  EXPECT_NE(r.warnings[2].message.find("every IPv4 client"), std::string::npos);
  EXPECT_EQ(r.warnings[3].line, 9);
  EXPECT_NE(r.warnings[3].message.find("fully qualified"), std::string::npos);
}

TEST(Loader, EveryErrorInOneFileIsReported) {
  auto r = load_file(kData + "errors.toml");
  EXPECT_FALSE(r.ok());
  const std::vector<std::pair<int, int>> expected{{2, 12}, {3, 1}, {9, 8}, {12, 11}, {17, 19}, {18, 18}};
  ASSERT_EQ(r.errors.size(), expected.size()) << dump(r.errors);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.errors[i].file, kData + "errors.toml");
    EXPECT_EQ(std::make_pair(r.errors[i].line, r.errors[i].column), expected[i]) << r.errors[i].to_string();
  }
}

TEST(Loader, UnreadableFile) {
  auto r = load_file(testing::TempDir() + "/sluice-no-such-config.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 0);
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);
  EXPECT_FALSE(r.ok());
}

TEST(Diagnostic, Formats) {
  EXPECT_EQ((Diagnostic{"a.toml", 3, 7, "bad"}).to_string(), "a.toml:3:7: bad");
  EXPECT_EQ((Diagnostic{"a.toml", 3, 7, "bad"}).to_string("error"), "a.toml:3:7: error: bad");
  EXPECT_EQ((Diagnostic{"a.toml", 0, 0, "gone"}).to_string("error"), "a.toml: error: gone");
}

}  // namespace
}  // namespace sluice::config
