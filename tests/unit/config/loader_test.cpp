// Tests for config/loader: a complete file loads with every field right; each kind of
// mistake is reported at its line and column; several mistakes are all reported.
#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <sstream>

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

  ASSERT_EQ(c.receive_connectors.size(), 4u);
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

// ---- Outbound: [dns], [queue], [[send_connector]] ----

TEST(Loader, FullFileLoadsOutboundSections) {
  auto r = load_file(kData + "full.toml");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << dump(r.warnings);
  const Config& c = *r.config;
  EXPECT_EQ(c.dns.servers, (std::vector<ListenAddress>{{"127.0.0.1", 5353}, {"::1", 53}, {"192.0.2.53", 53}}));
  EXPECT_EQ(c.dns.timeout, seconds(3));
  EXPECT_EQ(c.queue.retry, (std::vector<seconds>{seconds(30), minutes(2), minutes(60)}));
  EXPECT_EQ(c.queue.expire_after, std::chrono::hours(48));
  EXPECT_EQ(c.queue.delay_notice_after, minutes(60));

  ASSERT_EQ(c.send_connectors.size(), 2u);
  const SendConnector& in = c.send_connectors[0];
  EXPECT_EQ(in.name, "internet");
  EXPECT_EQ(in.address_spaces, (std::vector<std::string>{"*"}));
  EXPECT_EQ(in.cost, 5u);
  EXPECT_EQ(in.port, 2525);
  EXPECT_FALSE(in.uses_smart_hosts());
  EXPECT_FALSE(in.auth.has_value());
  EXPECT_EQ(in.max_connections, 20u);
  EXPECT_EQ(in.max_messages_per_connection, 50u);
  EXPECT_EQ(in.max_message_rate, (MessageRate{10, seconds(1)}));
  EXPECT_EQ(in.source_ip, "192.0.2.25");
  EXPECT_EQ(in.helo_name, "out.example.test");
  EXPECT_EQ(in.tls, TlsMode::none);
  EXPECT_EQ(in.connect_timeout, minutes(1));
  EXPECT_EQ(in.max_hosts_per_attempt, 3u);
  EXPECT_FALSE(in.protocol_log);

  const SendConnector& p = c.send_connectors[1];
  EXPECT_EQ(p.address_spaces, (std::vector<std::string>{"partner.test", "*.partner.test"}));
  ASSERT_EQ(p.smart_hosts.size(), 4u);
  EXPECT_EQ(p.smart_hosts[0], (HostPort{"relay.partner.test", 587, false}));
  EXPECT_EQ(p.smart_hosts[1], (HostPort{"127.0.0.1", 2600, true}));
  EXPECT_EQ(p.smart_hosts[2], (HostPort{"backup.partner.test", 25, false})) << "the connector's port fills in";
  EXPECT_EQ(p.smart_hosts[3], (HostPort{"2001:db8::1", 25, true}));
  ASSERT_TRUE(p.auth.has_value());
  EXPECT_EQ(p.auth->username, "app");
  EXPECT_EQ(p.auth->password_file, "var/partner.secret");
  EXPECT_EQ(p.tls, TlsMode::verify);
  EXPECT_EQ(p.ca_file, "/etc/sluice/partner-ca.pem");
  EXPECT_EQ(p.helo_name, "mx.example.test") << "[server] hostname by default";
  EXPECT_EQ(c.find_send_connector("partner"), &p);
  EXPECT_EQ(c.find_send_connector("internet "), nullptr);
}

TEST(Loader, OutboundDefaults) {
  auto r = load_with_minimal("[server]\nhostname = \"mx.a.test\"\n[[send_connector]]\nname = \"out\"\naddress_spaces = [\"*\"]\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << dump(r.warnings);
  const Config& c = *r.config;
  EXPECT_TRUE(c.dns.servers.empty()) << "the system resolver";
  EXPECT_EQ(c.dns.timeout, seconds(10));
  EXPECT_EQ(c.queue.retry, (std::vector<seconds>{minutes(1), minutes(5), minutes(10), minutes(30), minutes(60),
                                                 minutes(120), minutes(240)}));
  EXPECT_EQ(c.queue.expire_after, std::chrono::hours(120));
  EXPECT_EQ(c.queue.delay_notice_after, std::chrono::hours(4));
  const SendConnector& s = c.send_connectors.at(0);
  EXPECT_EQ(s.cost, 1u);
  EXPECT_EQ(s.port, 25);
  EXPECT_TRUE(s.smart_hosts.empty());
  EXPECT_FALSE(s.auth.has_value());
  EXPECT_EQ(s.max_connections, 10u);
  EXPECT_EQ(s.max_messages_per_connection, 100u);
  EXPECT_TRUE(s.max_message_rate.unlimited());
  EXPECT_EQ(s.source_ip, "");
  EXPECT_EQ(s.helo_name, "mx.a.test");
  EXPECT_EQ(s.tls, TlsMode::opportunistic);
  EXPECT_EQ(s.ca_file, "");
  EXPECT_FALSE(s.allow_plaintext_auth);
  EXPECT_EQ(s.connect_timeout, seconds(30));
  EXPECT_EQ(s.max_hosts_per_attempt, 5u);
  EXPECT_TRUE(s.protocol_log);

  auto none = load(kMinimal);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none.config->send_connectors.empty()) << "no send connector is legal";
  EXPECT_TRUE(none.warnings.empty()) << dump(none.warnings);
}

TEST(Loader, RetryIntervalRepeatsTheLast) {
  QueueSettings q;
  q.retry = {seconds(60), seconds(300)};
  EXPECT_EQ(q.retry_interval(0), seconds(60));
  EXPECT_EQ(q.retry_interval(1), seconds(60));
  EXPECT_EQ(q.retry_interval(2), seconds(300));
  EXPECT_EQ(q.retry_interval(9), seconds(300));
  q.retry.clear();
  EXPECT_EQ(q.retry_interval(3), seconds(60));
}

TEST(Loader, DnsErrors) {
  expect_one_error(load_with_minimal("[dns]\nservers = [\"127.0.0.1:5353\", \"ns.example.test\"]\n"), 6, 30,
                   "'servers': 'ns.example.test' has no port");
  expect_one_error(load_with_minimal("[dns]\nservers = [\"1.2.3.4\", \"1.2.3.4:53\"]\n"), 6, 23, "1.2.3.4:53 is listed twice");
  expect_one_error(load_with_minimal("[dns]\nservers = [\"127.0.0.1:0\"]\n"), 6, 12, "port 0");
  expect_one_error(load_with_minimal("[dns]\nservers = \"127.0.0.1\"\n"), 6, 11, "must be an array of strings");
  expect_one_error(load_with_minimal("[dns]\ntimeout = 5\n"), 6, 11, "needs a unit: write \"5s\"");
  expect_one_error(load_with_minimal("[dns]\ntimout = \"5s\"\n"), 6, 1, "unknown key 'timout' in [dns]; did you mean 'timeout'?");
  expect_one_error(load("dns = 1\n" + std::string(kMinimal)), 1, 7, "must be a section: write [dns]");
}

TEST(Loader, QueueErrors) {
  expect_one_error(load_with_minimal("[queue]\nretry = [\"1m\", \"5 minutes\"]\n"), 6, 16, "'retry': '5 minutes'");
  expect_one_error(load_with_minimal("[queue]\nretry = [\"1m\", 300]\n"), 6, 16, "'retry' needs a unit: write \"300s\"");
  expect_one_error(load_with_minimal("[queue]\nretry = []\n"), 6, 9, "at least one interval");
  expect_one_error(load_with_minimal("[queue]\nretry = \"1m\"\n"), 6, 9, "'retry' must be an array of durations");
  expect_one_error(load_with_minimal("[queue]\nexpire_after = \"0s\"\n"), 6, 16, "longer than 0s");
  expect_one_error(load_with_minimal("[queue]\nexpire_afer = \"1d\"\n"), 6, 1, "did you mean 'expire_after'?");
  // A key of another section says where it goes.
  expect_one_error(load_with_minimal("[queue]\ncost = 1\n"), 6, 1, "'cost' belongs in [[send_connector]]");
}

TEST(Loader, QueueWarnings) {
  auto r = load_with_minimal("[queue]\nretry = [\"10m\", \"5m\"]\nexpire_after = \"1h\"\ndelay_notice_after = \"2h\"\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  ASSERT_EQ(r.warnings.size(), 2u) << dump(r.warnings);
  EXPECT_EQ(r.warnings[0].line, 6);
  EXPECT_EQ(r.warnings[0].column, 17);
  EXPECT_NE(r.warnings[0].message.find("5m after 10m"), std::string::npos) << r.warnings[0].message;
  EXPECT_EQ(r.warnings[1].line, 8);
  EXPECT_NE(r.warnings[1].message.find("no delay notice is ever sent: delay_notice_after (2h) is not shorter than "
                                       "expire_after (1h)"),
            std::string::npos)
      << r.warnings[1].message;
  EXPECT_EQ(r.config->queue.retry, (std::vector<seconds>{minutes(10), minutes(5)})) << "a warning keeps the value";
}

// A [[send_connector]] starting on line 5 with name and address_spaces; `extra` from line 7.
LoadResult load_send(std::string_view extra) {
  return load_with_minimal("[[send_connector]]\nname = \"out\"\naddress_spaces = [\"*\"]\n" + std::string(extra));
}

TEST(Loader, SendConnectorRequiredKeys) {
  expect_one_error(load_with_minimal("[[send_connector]]\naddress_spaces = [\"*\"]\n"), 5, 1, "needs a 'name'");
  expect_one_error(load_with_minimal("[[send_connector]]\nname = \"x\"\n"), 5, 1, "needs 'address_spaces'");
  expect_one_error(load_with_minimal("[[send_connector]]\nname = \"x\"\naddress_spaces = []\n"), 7, 18,
                   "at least one domain");
  expect_one_error(load_with_minimal("[send_connector]\nname = \"x\"\n"), 5, 1, "write each one as [[send_connector]]");
}

TEST(Loader, SendConnectorAddressSpaces) {
  auto r = load_with_minimal("[[send_connector]]\nname = \"x\"\naddress_spaces = [\"Example.COM\", \"*.Sub.Example.com\"]\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_EQ(r.config->send_connectors[0].address_spaces,
            (std::vector<std::string>{"example.com", "*.sub.example.com"}));
  const std::string head = "[[send_connector]]\nname = \"x\"\naddress_spaces = ";
  expect_one_error(load_with_minimal(head + "[\"*example.com\"]\n"), 7, 19, "a wildcard may only be");
  expect_one_error(load_with_minimal(head + "[\"mail.*.com\"]\n"), 7, 19, "a wildcard may only be");
  expect_one_error(load_with_minimal(head + "[\"*.\"]\n"), 7, 19, "'*.': the domain is empty");
  expect_one_error(load_with_minimal(head + "[\"exa_mple.com\"]\n"), 7, 19, "'_' is not allowed");
  expect_one_error(load_with_minimal(head + "[\"\"]\n"), 7, 19, "the address space is empty");
  expect_one_error(load_with_minimal(head + "[\"a.test\", \"A.TEST\"]\n"), 7, 29, "'a.test' is listed twice");
}

TEST(Loader, SendConnectorNumbers) {
  expect_one_error(load_send("cost = 0\n"), 8, 8, "'cost' must be from 1 to 100, not 0");
  expect_one_error(load_send("cost = 101\n"), 8, 8, "'cost' must be from 1 to 100, not 101");
  expect_one_error(load_send("port = 0\n"), 8, 8, "'port' must be from 1 to 65535");
  expect_one_error(load_send("port = 70000\n"), 8, 8, "'port' must be from 1 to 65535");
  expect_one_error(load_send("max_connections = 0\n"), 8, 19, "'max_connections' must be from 1");
  expect_one_error(load_send("max_messages_per_connection = -5\n"), 8, 31, "must be from 1");
  expect_one_error(load_send("max_hosts_per_attempt = 0\n"), 8, 25, "from 1 to 100");
  expect_one_error(load_send("connect_timeout = \"soon\"\n"), 8, 19, "'connect_timeout': 'soon' is not a duration");
  expect_one_error(load_send("protocol_log = 1\n"), 8, 16, "must be true or false");
}

TEST(Loader, SendConnectorSmartHosts) {
  expect_one_error(load_send("smart_hosts = []\n"), 8, 15, "leave the key out to deliver by MX lookup");
  expect_one_error(load_send("smart_hosts = [\"relay.test:0\"]\n"), 8, 16, "port must be a number from 1 to 65535");
  expect_one_error(load_send("smart_hosts = [\"relay.test:smtp\"]\n"), 8, 16, "port must be");
  expect_one_error(load_send("smart_hosts = [\"10.0.0.1:25\"]\n"), 8, 16, "write an IP address in brackets, \"[10.0.0.1]:25\"");
  expect_one_error(load_send("smart_hosts = [\"[relay.test]\"]\n"), 8, 16, "is not an IP address");
  expect_one_error(load_send("smart_hosts = [\"[10.0.0.1\"]\n"), 8, 16, "no closing ']'");
  expect_one_error(load_send("smart_hosts = [\"2001:db8::1\"]\n"), 8, 16, "put an IPv6 address in brackets");
  expect_one_error(load_send("smart_hosts = [\"relay..test\"]\n"), 8, 16, "empty label");
  expect_one_error(load_send("smart_hosts = [\"relay.test\", \"RELAY.test:25\"]\n"), 8, 30, "relay.test:25 is listed twice");
  expect_one_error(load_send("smart_hosts = [\"[10.0.0.1]x\"]\n"), 8, 16, "port must be");
}

TEST(Loader, SendConnectorAuth) {
  auto ok = load_send("smart_hosts = [\"relay.test\"]\n[send_connector.auth]\nusername = \"u\"\npassword_file = \"s\"\n");
  ASSERT_TRUE(ok.ok()) << dump(ok.errors);
  EXPECT_EQ(ok.config->send_connectors[0].auth->username, "u") << "a [send_connector.auth] table works too";
  const std::string sh = "smart_hosts = [\"relay.test\"]\n";
  expect_one_error(load_send(sh + "auth = { username = \"u\" }\n"), 9, 8, "'auth' needs 'password_file'");
  expect_one_error(load_send(sh + "auth = { password_file = \"f\" }\n"), 9, 8, "'auth' needs 'username'");
  expect_one_error(load_send(sh + "auth = { username = \"u\", password_file = \"f\", password = \"x\" }\n"), 9, 47,
                   "give its path as password_file");
  expect_one_error(load_send(sh + "auth = { user = \"u\", username = \"u\", password_file = \"f\" }\n"), 9, 10,
                   "unknown key 'user' in auth");
  expect_one_error(load_send(sh + "auth = { username = \"\", password_file = \"f\" }\n"), 9, 21, "'username' must not be empty");
  expect_one_error(load_send(sh + "auth = \"app:secret\"\n"), 9, 8, "'auth' must be a table");
  expect_one_error(load_send(sh + "tls = \"none\"\nauth = { username = \"u\", password_file = \"f\" }\n"), 10, 8,
                   "could never log in");
}

TEST(Loader, SendConnectorValues) {
  auto ok = load_send("max_message_rate = \"5000/h\"\nsource_ip = \"::ffff:192.0.2.1\"\ntls = \"required\"\n");
  ASSERT_TRUE(ok.ok()) << dump(ok.errors);
  EXPECT_EQ(ok.config->send_connectors[0].max_message_rate, (MessageRate{5000, seconds(3600)}));
  EXPECT_EQ(ok.config->send_connectors[0].source_ip, "192.0.2.1") << "IPv4-mapped written as IPv4";
  EXPECT_EQ(ok.config->send_connectors[0].tls, TlsMode::required);
  expect_one_error(load_send("max_message_rate = \"600 per minute\"\n"), 8, 20, "is not a rate");
  expect_one_error(load_send("max_message_rate = \"600/m\"\n"), 8, 20, "unknown unit 'm' (use s, min or h)");
  expect_one_error(load_send("max_message_rate = \"0/s\"\n"), 8, 20, "leave the key out for no limit");
  expect_one_error(load_send("max_message_rate = 600\n"), 8, 20, "'max_message_rate' must be a string such as \"600/min\"");
  expect_one_error(load_send("source_ip = \"my.host\"\n"), 8, 13, "'source_ip': 'my.host' is not an IP address");
  expect_one_error(load_send("helo_name = \"mx_1.test\"\n"), 8, 13, "'helo_name': 'mx_1.test'");
  expect_one_error(load_send("tls = \"opportunistc\"\n"), 8, 7, "did you mean 'opportunistic'?");
  expect_one_error(load_send("tls = true\n"), 8, 7, "'tls' must be a string");
  expect_one_error(load_send("smarthosts = [\"a.test\"]\n"), 8, 1, "did you mean 'smart_hosts'?");
  expect_one_error(load_send("listen = [\"0.0.0.0:25\"]\n"), 8, 1, "'listen' belongs in [[receive_connector]]");
}

TEST(Loader, SendConnectorDuplicateName) {
  expect_one_error(load_send("[[send_connector]]\nname = \"out\"\naddress_spaces = [\"a.test\"]\n"), 9, 8,
                   "send connector 'out' is already defined on line 6");
}

TEST(Loader, SendConnectorWarnings) {
  auto r = load_send(
      "auth = { username = \"u\", password_file = \"f\" }\nallow_plaintext_auth = true\nca_file = \"ca.pem\"\n"
      "[[send_connector]]\nname = \"second\"\naddress_spaces = [\"b.test\", \"*\"]\n"
      "[[send_connector]]\nname = \"third\"\naddress_spaces = [\"b.test\"]\ncost = 2\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  ASSERT_EQ(r.warnings.size(), 4u) << dump(r.warnings);
  EXPECT_EQ(r.warnings[0].line, 8);
  EXPECT_NE(r.warnings[0].message.find("send connector 'out': auth is used only with smart_hosts"), std::string::npos);
  EXPECT_EQ(r.warnings[1].line, 9);
  EXPECT_NE(r.warnings[1].message.find("in the clear"), std::string::npos);
  EXPECT_EQ(r.warnings[2].line, 10);
  EXPECT_NE(r.warnings[2].message.find("ca_file is used only with tls = \"verify\""), std::string::npos);
  EXPECT_EQ(r.warnings[3].line, 13);
  EXPECT_NE(r.warnings[3].message.find("'out' and 'second' both serve '*' with cost 1, so 'out' (first in the file)"),
            std::string::npos)
      << r.warnings[3].message;
  EXPECT_EQ(r.config->send_connectors.size(), 3u);
}

// The default file with the commented-out key lines ("# key = value") and section headers
// between the line `from` and the line `to` ("" = the end) uncommented; `count` says how many.
std::string uncomment_default(std::string_view from, std::string_view to, int& count) {
  std::string text;
  std::istringstream in{std::string(default_config_text())};
  std::string line;
  count = 0;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == from) inside = true;
    if (!to.empty() && line == to) inside = false;
    const bool key = line.size() > 2 && line.rfind("# ", 0) == 0 && std::islower(static_cast<unsigned char>(line[2])) &&
                     line.find(' ', 2) == line.find(" = ", 2) && line.find(" = ", 2) != std::string::npos;
    const bool header = line.rfind("# [", 0) == 0 && line.back() == ']';
    if (inside && (key || header)) {
      line = line.substr(2);
      ++count;
    }
    text += line + "\n";
  }
  return text;
}

TEST(Loader, DefaultConfigExamplesLoadWhenUncommented) {
  // The examples the default file shows must be valid as written.
  int uncommented = 0;
  const std::string text = uncomment_default("# [dns]", "", uncommented);
  EXPECT_EQ(uncommented, 25) << "[dns] 3 lines, [queue] 4, [[send_connector]] 18";
  auto r = load_string(text, "uncommented.toml");
  ASSERT_TRUE(r.ok()) << dump(r.errors) << text;
  ASSERT_EQ(r.warnings.size(), 1u) << dump(r.warnings);
  EXPECT_NE(r.warnings[0].message.find("ca_file is used only"), std::string::npos) << dump(r.warnings);
  const SendConnector& s = r.config->send_connectors.at(0);
  EXPECT_EQ(s.smart_hosts, (std::vector<HostPort>{{"relay.example.net", 587, false}}));
  EXPECT_EQ(s.max_message_rate, (MessageRate{600, seconds(60)}));
  EXPECT_EQ(r.config->dns.servers.size(), 1u);
  EXPECT_EQ(r.config->queue.retry.size(), 7u);
}

TEST(Loader, DefaultConfigTlsExamplesLoadWhenUncommented) {
  int uncommented = 0;
  const std::string text = uncomment_default("# TLS: offer STARTTLS with this certificate chain and key (PEM files). For several",
                                             "# Applications on this machine (web apps, cron, monitoring) that send mail anywhere",
                                             uncommented);
  EXPECT_EQ(uncommented, 8);  // the tls line itself is live in the default
  auto r = load_string(text, "uncommented.toml");
  ASSERT_TRUE(r.ok()) << dump(r.errors) << text;
  EXPECT_TRUE(r.warnings.empty()) << dump(r.warnings);
  const ReceiveConnector& c = *r.config->find_connector("internet");
  EXPECT_EQ(c.tls_certificates,
            (std::vector<TlsCertificate>{{"var/tls/selfsigned.crt", "var/tls/selfsigned.key"}}));
  EXPECT_EQ(c.max_logon_failures, 3u);
}

// ---- TLS and AUTH (issue 4) ----

constexpr std::string_view kHash =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$7sXbJBHJ0Tm0mCyW3gAa8EjuI9wO0p9sBbR6xQxK4aA";

TEST(Loader, FullFileLoadsTlsAndAuthKeys) {
  auto r = load_file(kData + "full.toml");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << dump(r.warnings);
  const Config& c = *r.config;
  EXPECT_EQ(c.server.users_file, "/etc/sluice/users");
  EXPECT_TRUE(c.server.users_file_explicit);
  EXPECT_EQ(c.users[0].password_hash, kHash);
  EXPECT_EQ(c.users[1].password_hash, "") << "a mailbox without a login";

  const ReceiveConnector& sub = *c.find_connector("submission");
  EXPECT_EQ(sub.tls_certificates, (std::vector<TlsCertificate>{{"/etc/sluice/mx.pem", "/etc/sluice/mx.key"}}));
  EXPECT_TRUE(sub.offers_tls());
  EXPECT_TRUE(sub.require_tls);
  EXPECT_FALSE(sub.implicit_tls);
  EXPECT_EQ(sub.tls_min_version, TlsVersion::v1_3);
  EXPECT_TRUE(sub.sender_login_match) << "true by default on client connectors";
  EXPECT_EQ(sub.max_logon_failures, 5u);
  EXPECT_EQ(sub.logon_failure_window, minutes(10));
  EXPECT_EQ(sub.tarpit, minutes(60));

  const ReceiveConnector& smtps = *c.find_connector("submissions");
  EXPECT_TRUE(smtps.implicit_tls);
  EXPECT_TRUE(smtps.allow_plaintext_auth);
  EXPECT_FALSE(smtps.sender_login_match);
  EXPECT_EQ(smtps.tls_certificates, (std::vector<TlsCertificate>{{"/etc/sluice/a.pem", "/etc/sluice/a.key"},
                                                                  {"/etc/sluice/b.pem", "/etc/sluice/b.key"}}));
}

TEST(Loader, TlsAndAuthDefaults) {
  auto r = load_with_minimal("[[receive_connector]]\nname = \"sub\"\nlisten = [\"127.0.0.1:587\"]\nusage = \"client\"\n"
                             "tls = { certificate = \"c.pem\", key = \"k.pem\" }\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << dump(r.warnings);
  const Config& c = *r.config;
  EXPECT_EQ(c.server.users_file, "var/users");
  EXPECT_FALSE(c.server.users_file_explicit);
  auto moved = load_with_minimal("[server]\ndata_dir = \"/srv/sluice\"\n");
  ASSERT_TRUE(moved.ok()) << dump(moved.errors);
  EXPECT_EQ(moved.config->server.users_file, "/srv/sluice/users") << "follows data_dir unless written";
  const ReceiveConnector& internet = c.receive_connectors[0];
  EXPECT_FALSE(internet.offers_tls());
  EXPECT_FALSE(internet.implicit_tls);
  EXPECT_EQ(internet.tls_min_version, TlsVersion::v1_2);
  EXPECT_FALSE(internet.require_tls);
  EXPECT_FALSE(internet.allow_plaintext_auth);
  EXPECT_FALSE(internet.sender_login_match) << "false by default outside client connectors";
  EXPECT_EQ(internet.max_logon_failures, 3u);
  EXPECT_EQ(internet.logon_failure_window, minutes(5));
  EXPECT_EQ(internet.tarpit, minutes(5));
  EXPECT_TRUE(c.receive_connectors[1].sender_login_match);
  EXPECT_TRUE(c.receive_connectors[1].offers_tls());
}

TEST(Loader, ReceiveTlsErrors) {
  const std::string head(kMinimal.substr(0, kMinimal.size() - 1));
  expect_one_error(load(head + "tls = \"opportunistic\"\n"), 4, 7, "names its certificate");
  expect_one_error(load(head + "tls = { certificate = \"c.pem\" }\n"), 4, 7, "'tls' needs 'key'");
  expect_one_error(load(head + "tls = { certificate = \"c.pem\", key = \"\" }\n"), 4, 38, "'key' must not be empty");
  expect_one_error(load(head + "tls = { cert = \"c.pem\", certificate = \"c.pem\", key = \"k\" }\n"), 4, 9,
                   "unknown key 'cert' in tls");
  expect_one_error(load(head + "tls = []\n"), 4, 7, "leave the key out");
  expect_one_error(load(head + "tls = [\"c.pem\"]\n"), 4, 8, "each certificate in 'tls' must be a table");
  expect_one_error(load(head + "tls = [{ certificate = \"c.pem\", key = \"k\" }, { certificate = \"c.pem\", key = \"k2\" }]\n"),
                   4, 46, "certificate 'c.pem' is listed twice");
  expect_one_error(load(head + "implicit_tls = true\n"), 4, 16, "implicit_tls needs a certificate");
  expect_one_error(load(head + "require_tls = true\n"), 4, 15, "would refuse every message");
  expect_one_error(load(head + "tls_min_version = 1.2\n"), 4, 19, "\"1.3\", in quotes");
  expect_one_error(load(head + "tls_min_version = \"TLSv1.2\"\n"), 4, 19, "must be \"1.0\"");
  expect_one_error(load(head + "max_logon_failures = 0\n"), 4, 22, "from 1 to 1000");
  expect_one_error(load(head + "tarpit = 300\n"), 4, 10, "needs a unit");
  expect_one_error(load(head + "logon_failure_window = \"0s\"\n"), 4, 24, "longer than 0s");
  expect_one_error(load(head + "sender_login_match = \"yes\"\n"), 4, 22, "true or false");
}

TEST(Loader, ReceiveTlsWarnings) {
  const std::string head(kMinimal.substr(0, kMinimal.size() - 1));
  auto r = load(head + "tls_min_version = \"1.3\"\n[[receive_connector]]\nname = \"sub\"\nlisten = [\"127.0.0.1:587\"]\n"
                       "usage = \"client\"\n[[receive_connector]]\nname = \"old\"\nlisten = [\"127.0.0.1:588\"]\n"
                       "tls = { certificate = \"c\", key = \"k\" }\ntls_min_version = \"1.0\"\n");
  ASSERT_TRUE(r.ok()) << dump(r.errors);
  ASSERT_EQ(r.warnings.size(), 3u) << dump(r.warnings);
  EXPECT_EQ(r.warnings[0].line, 4);
  EXPECT_NE(r.warnings[0].message.find("tls_min_version is used only with tls"), std::string::npos);
  EXPECT_EQ(r.warnings[1].line, 5);
  EXPECT_NE(r.warnings[1].message.find("'sub': a client connector without tls never offers AUTH"), std::string::npos);
  EXPECT_EQ(r.warnings[2].line, 13);
  EXPECT_NE(r.warnings[2].message.find("TLS 1.0 is deprecated (RFC 8996)"), std::string::npos);
  // Plaintext AUTH allowed explicitly: no warning for a client connector without TLS.
  auto plain = load("[[receive_connector]]\nname = \"sub\"\nlisten = [\"127.0.0.1:587\"]\nusage = \"client\"\n"
                    "allow_plaintext_auth = true\n");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain.warnings.empty()) << dump(plain.warnings);
}

TEST(Loader, UserPasswordHash) {
  const std::string domain = "[[accepted_domain]]\nname = \"a.test\"\n[[user]]\naddress = \"u@a.test\"\n";
  auto ok = load_with_minimal(domain + "password_hash = \"" + std::string(kHash) + "\"\n");
  ASSERT_TRUE(ok.ok()) << dump(ok.errors);
  EXPECT_EQ(ok.config->users[0].password_hash, kHash);
  expect_one_error(load_with_minimal(domain + "password_hash = \"hunter2\"\n"), 9, 17,
                   "user 'u@a.test': 'password_hash': this looks like a password, not a hash");
  expect_one_error(load_with_minimal(domain + "password_hash = \"$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA\"\n"), 9,
                   17, "only Argon2id");
  expect_one_error(load_with_minimal(domain + "password = \"hunter2\"\n"), 9, 1,
                   "never write a password in the configuration");
  expect_one_error(load_with_minimal(domain + "password_hash = \"\"\n"), 9, 17, "must not be empty");
  expect_one_error(load_with_minimal("[server]\nusers_file = 5\n"), 6, 14, "'users_file' must be a string");
}

TEST(PasswordHash, Form) {
  EXPECT_EQ(check_password_hash(kHash), "");
  EXPECT_EQ(check_password_hash("$argon2id$v=19$m=262144,t=3,p=1$YWJjZA$ZWZnaA"), "");
  for (const char* bad : {"", "secret", "$2y$10$abcdefghijklmnopqrstuv", "$argon2id$", "$argon2id$v=18$m=1,t=1,p=1$YQ$Yg",
                          "$argon2id$v=19$t=1,m=1,p=1$YQ$Yg", "$argon2id$v=19$m=1,t=1,p=1$YQ", "$argon2id$v=19$m=1,t=1,p=1$Y=$Yg",
                          "$argon2id$v=19$m=x,t=1,p=1$YQ$Yg", "$argon2id$v=19$m=1,t=1,p=1$YQ$Yg$"}) {
    EXPECT_NE(check_password_hash(bad), "") << bad;
  }
}

TEST(TlsVersionText, RoundTrips) {
  for (TlsVersion v : {TlsVersion::v1_0, TlsVersion::v1_1, TlsVersion::v1_2, TlsVersion::v1_3}) {
    EXPECT_EQ(parse_tls_version(to_string(v)), v);
  }
  EXPECT_EQ(to_string(TlsVersion::v1_2), "1.2");
  EXPECT_EQ(parse_tls_version("1.4"), std::nullopt);
  EXPECT_EQ(parse_tls_version("TLSv1.2"), std::nullopt);
  EXPECT_LT(TlsVersion::v1_1, TlsVersion::v1_2) << "the order the minimum check relies on";
}

}  // namespace
}  // namespace sluice::config
