// config/loader.cpp: see loader.hpp. One Loader per load; it walks the TOML tree section by
// section, collects diagnostics instead of stopping, and builds the Config only when no
// error was found. toml++ throws on syntax errors (it stops at the first one: TOML cannot be
// resynchronised reliably after a syntax error), which is caught here and never leaves
// this file.
#include "config/loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <toml++/toml.h>

#include "config/units.hpp"

namespace sluice::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kTopKeys{"server"sv, "accepted_domain"sv, "local_delivery"sv, "user"sv,
                              "receive_connector"sv, "dns"sv, "queue"sv, "send_connector"sv,
                              "admin"sv, "dkim"sv, "dnsbl"sv, "protection"sv, "greylist"sv,
                              "rate_limit"sv};
constexpr std::array kDnsblKeys{"zone"sv, "type"sv, "codes"sv, "only_codes"sv, "action"sv, "connectors"sv,
                                "actions"sv};
constexpr std::array kProtectionKeys{"allowlist"sv, "require_reverse_dns"sv, "require_fcrdns"sv};
constexpr std::array kGreylistKeys{"enabled"sv, "delay"sv, "lifetime"sv, "pass_for"sv, "connectors"sv};
constexpr std::array kRateLimitKeys{"connector"sv, "connections_per_minute_per_ip"sv, "messages_per_minute_per_ip"sv,
                                    "messages_per_minute_per_sender"sv, "messages_per_minute_per_user"sv,
                                    "recipients_per_message"sv};
constexpr std::array kServerKeys{"hostname"sv, "data_dir"sv, "threads"sv, "users_file"sv};
constexpr std::array kDomainKeys{"name"sv};
constexpr std::array kLocalDeliveryKeys{"maildir_root"sv, "aliases"sv};
constexpr std::array kUserKeys{"address"sv, "password_hash"sv};
constexpr std::array kConnectorKeys{
    "name"sv,         "listen"sv,         "usage"sv,          "remote_ip_ranges"sv,
    "max_message_size"sv, "max_recipients"sv, "banner"sv,     "max_errors"sv,
    "max_connections"sv,  "max_connections_per_ip"sv,          "max_hop_count"sv,
    "command_timeout"sv,  "data_timeout"sv,  "protocol_log"sv,
    "tls"sv,              "implicit_tls"sv,  "tls_min_version"sv, "require_tls"sv,
    "allow_plaintext_auth"sv, "sender_login_match"sv,           "max_logon_failures"sv,
    "logon_failure_window"sv, "tarpit"sv};
constexpr std::array kTlsCertificateKeys{"certificate"sv, "key"sv};
constexpr std::array kDnsKeys{"servers"sv, "timeout"sv};
constexpr std::array kQueueKeys{"retry"sv, "expire_after"sv, "delay_notice_after"sv};
constexpr std::array kSendConnectorKeys{
    "name"sv,           "address_spaces"sv, "cost"sv,           "port"sv,
    "smart_hosts"sv,    "auth"sv,           "max_connections"sv, "max_messages_per_connection"sv,
    "max_message_rate"sv, "source_ip"sv,    "helo_name"sv,      "tls"sv,
    "ca_file"sv,        "allow_plaintext_auth"sv, "connect_timeout"sv, "max_hosts_per_attempt"sv,
    "protocol_log"sv};
constexpr std::array kAdminKeys{"listen"sv, "enabled"sv, "token_file"sv};
constexpr std::array kDkimKeys{"domain"sv, "selector"sv, "key_file"sv, "algorithm"sv};
constexpr std::array kSendAuthKeys{"username"sv, "password_file"sv};

struct Section {
  std::string_view title;  // as written in the file: "[server]", "[[user]]"
  std::span<const std::string_view> keys;
};
const std::array<Section, 10> kSections{{{"[server]", kServerKeys},
                                        {"[[accepted_domain]]", kDomainKeys},
                                        {"[local_delivery]", kLocalDeliveryKeys},
                                        {"[[user]]", kUserKeys},
                                        {"[[receive_connector]]", kConnectorKeys},
                                        {"[dns]", kDnsKeys},
                                        {"[queue]", kQueueKeys},
                                        {"[[send_connector]]", kSendConnectorKeys},
                                        {"[admin]", kAdminKeys},
                                        {"[[dkim]]", kDkimKeys}}};

constexpr unsigned kMaxThreads = 1024;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest known key, if it is close enough to be a plausible typo.
std::optional<std::string_view> closest(std::string_view key, std::span<const std::string_view> known) {
  std::optional<std::string_view> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (std::string_view k : known) {
    const size_t d = edit_distance(key, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  const size_t limit = std::max<size_t>(1, std::min(key.size(), best ? best->size() : 0) / 3);
  if (best && best_distance <= limit) return best;
  return std::nullopt;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number with a fraction";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

bool is_atext(char c) {
  // RFC 5322 §3.2.3 atext.
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

std::string default_hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

class Loader {
 public:
  explicit Loader(std::string source) : source_(std::move(source)) {}

  LoadResult run(std::string_view text) {
    toml::table root;
    try {
      root = toml::parse(text, source_);
    } catch (const toml::parse_error& e) {
      error(e.source(), std::string(e.description()));
      return finish();
    }
    config_.source = source_;
    check_keys(root, kTopKeys, "", true);
    load_server(root);
    load_accepted_domains(root);
    load_local_delivery(root);
    load_users(root);
    load_connectors(root);
    load_dns(root);
    load_queue(root);
    load_send_connectors(root);
    load_admin(root);
    load_dkim(root);
    load_protection(root);
    return finish();
  }

  void error(const toml::source_region& where, std::string message) {
    result_.errors.push_back(Diagnostic{source_, int(where.begin.line), int(where.begin.column),
                                        std::move(message)});
  }
  void error_file(std::string message) {
    result_.errors.push_back(Diagnostic{source_, 0, 0, std::move(message)});
  }

 private:
  void warning(const toml::source_region& where, std::string message) {
    result_.warnings.push_back(Diagnostic{source_, int(where.begin.line), int(where.begin.column),
                                          std::move(message)});
  }

  LoadResult finish() {
    if (result_.errors.empty()) result_.config = std::move(config_);
    auto by_position = [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    };
    std::stable_sort(result_.errors.begin(), result_.errors.end(), by_position);
    std::stable_sort(result_.warnings.begin(), result_.warnings.end(), by_position);
    return std::move(result_);
  }

  // Reports keys of `table` that are not in `known`: a close match suggests the typo's fix;
  // a key that belongs to another section says where it goes.
  void check_keys(const toml::table& table, std::span<const std::string_view> known,
                  std::string_view section, bool top = false) {
    for (auto&& [key, value] : table) {
      const std::string_view k = key.str();
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      std::string message = top ? "unknown section '" + std::string(k) + "'"
                                : "unknown key '" + std::string(k) + "' in " + std::string(section);
      if (auto guess = closest(k, known)) {
        message += "; did you mean '" + std::string(*guess) + "'?";
      } else if (!top && k == "password") {
        message += "; never write a password in the configuration: give a password_hash (Argon2id) for a user, "
                   "or a password_file for a send connector";
      } else if (!top) {
        for (const Section& s : kSections) {
          if (s.title != section && std::find(s.keys.begin(), s.keys.end(), k) != s.keys.end()) {
            message += "; '" + std::string(k) + "' belongs in " + std::string(s.title);
            break;
          }
        }
      } else {
        message += " (known sections: [server], [[accepted_domain]], [local_delivery], [[user]], "
                   "[[receive_connector]], [dns], [queue], [[send_connector]], [admin], [[dkim]], [[dnsbl]], [protection], [greylist], [[rate_limit]])";
      }
      (void)value;
      error(key.source(), std::move(message));
    }
  }

  // The value of `key` if present and of type T; a wrong type is reported.
  template <typename T>
  const toml::value<T>* get(const toml::table& table, std::string_view key, const char* expected) {
    const toml::node* node = table.get(key);
    if (!node) return nullptr;
    if (auto* v = node->as<T>()) return v;
    error(node->source(), "'" + std::string(key) + "' must be " + expected + ", not " + type_name(*node));
    return nullptr;
  }

  // A string without control characters (they would corrupt SMTP lines and logs).
  bool read_string(const toml::table& t, std::string_view key, std::string& out, bool allow_empty = false) {
    auto* v = get<std::string>(t, key, "a string");
    if (!v) return false;
    const std::string& s = v->get();
    if (!allow_empty && s.empty()) {
      error(v->source(), "'" + std::string(key) + "' must not be empty");
      return false;
    }
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      error(v->source(), "'" + std::string(key) + "' must not contain control characters");
      return false;
    }
    out = s;
    return true;
  }

  void read_unsigned(const toml::table& t, std::string_view key, unsigned& out, unsigned min, unsigned max) {
    auto* v = get<int64_t>(t, key, "an integer");
    if (!v) return;
    const int64_t n = v->get();
    if (n < int64_t(min) || n > int64_t(max)) {
      error(v->source(), "'" + std::string(key) + "' must be from " + std::to_string(min) + " to " +
                             std::to_string(max) + ", not " + std::to_string(n));
      return;
    }
    out = unsigned(n);
  }

  void read_bool(const toml::table& t, std::string_view key, bool& out) {
    if (auto* v = get<bool>(t, key, "true or false")) out = v->get();
  }

  void read_duration(const toml::table& t, std::string_view key, std::chrono::seconds& out) {
    const toml::node* node = t.get(key);
    if (!node) return;
    if (auto d = duration_value(*node, key)) out = *d;
  }

  // A duration node (a key's value or an array element); errors name `key`.
  std::optional<std::chrono::seconds> duration_value(const toml::node& node, std::string_view key) {
    if (auto* n = node.as_integer()) {
      error(n->source(), "'" + std::string(key) + "' needs a unit: write \"" + std::to_string(n->get()) +
                             "s\" for seconds (or m, h, d), in quotes");
      return std::nullopt;
    }
    auto* v = node.as_string();
    if (!v) {
      error(node.source(), "'" + std::string(key) + "' must be a duration such as \"5m\", not " + type_name(node));
      return std::nullopt;
    }
    auto d = parse_duration(v->get());
    if (!d) {
      error(v->source(), "'" + std::string(key) + "': " + d.error().context);
      return std::nullopt;
    }
    if (d->count() == 0) {
      error(v->source(), "'" + std::string(key) + "' must be longer than 0s");
      return std::nullopt;
    }
    return *d;
  }

  void read_size(const toml::table& t, std::string_view key, uint64_t& out) {
    const toml::node* node = t.get(key);
    if (!node) return;
    Result<uint64_t> size = fail(ErrorClass::config, "");
    if (auto* n = node->as_integer()) {
      if (n->get() < 0) {
        error(n->source(), "'" + std::string(key) + "' must not be negative");
        return;
      }
      size = uint64_t(n->get());
    } else if (auto* s = node->as_string()) {
      size = parse_size(s->get());
    } else {
      error(node->source(), "'" + std::string(key) + "' must be a size such as \"35MB\", not " + type_name(*node));
      return;
    }
    if (!size) {
      error(node->source(), "'" + std::string(key) + "': " + size.error().context);
      return;
    }
    if (*size == 0) {
      error(node->source(), "'" + std::string(key) + "' must be larger than 0");
      return;
    }
    out = *size;
  }

  // The elements of an array of strings; wrong element types are reported one by one.
  std::vector<const toml::value<std::string>*> read_string_array(const toml::table& t, std::string_view key) {
    std::vector<const toml::value<std::string>*> out;
    const toml::node* node = t.get(key);
    if (!node) return out;
    const toml::array* array = node->as_array();
    if (!array) {
      error(node->source(), "'" + std::string(key) + "' must be an array of strings, e.g. [\"...\"], not " +
                                type_name(*node));
      return out;
    }
    for (const toml::node& element : *array) {
      if (auto* s = element.as_string()) {
        out.push_back(s);
      } else {
        error(element.source(), "'" + std::string(key) + "' must contain only strings, not " + type_name(element));
      }
    }
    return out;
  }

  // A [name] section: absent is fine (defaults), anything but a table is an error.
  const toml::table* table_section(const toml::table& root, std::string_view name) {
    const toml::node* node = root.get(name);
    if (!node) return nullptr;
    if (auto* t = node->as_table()) return t;
    error(node->source(), "'" + std::string(name) + "' must be a section: write [" + std::string(name) + "]");
    return nullptr;
  }

  // A [[name]] section: the tables of the array.
  std::vector<const toml::table*> array_section(const toml::table& root, std::string_view name) {
    std::vector<const toml::table*> out;
    const toml::node* node = root.get(name);
    if (!node) return out;
    const toml::array* array = node->as_array();
    if (!array) {
      error(node->source(), "'" + std::string(name) + "' is a list: write each one as [[" + std::string(name) + "]]");
      return out;
    }
    for (const toml::node& element : *array) {
      if (auto* t = element.as_table()) {
        out.push_back(t);
      } else {
        error(element.source(), "each '" + std::string(name) + "' must be a table: write [[" + std::string(name) + "]]");
      }
    }
    return out;
  }

  void load_server(const toml::table& root) {
    Server& s = config_.server;
    const toml::table* t = table_section(root, "server");
    bool hostname_given = false;
    if (t) {
      check_keys(*t, kServerKeys, "[server]");
      if (read_string(*t, "hostname", s.hostname)) {
        hostname_given = true;
        auto* v = t->get("hostname");
        if (auto why = check_domain_name(s.hostname); !why.empty()) {
          error(v->source(), "'hostname': " + why);
        } else {
          s.hostname = lower(s.hostname);
          if (s.hostname.find('.') == std::string::npos && s.hostname != "localhost") {
            warning(v->source(), "hostname '" + s.hostname +
                                     "' is not a fully qualified domain name; other servers may refuse "
                                     "its EHLO (RFC 5321 §4.1.1.1)");
          }
        }
      }
      read_string(*t, "data_dir", s.data_dir);
      read_unsigned(*t, "threads", s.threads, 0, kMaxThreads);
      if (read_string(*t, "users_file", s.users_file)) s.users_file_explicit = true;
    }
    if (!hostname_given) s.hostname = default_hostname();
    // State lives under data_dir, so the users file follows it unless written.
    if (!s.users_file_explicit) s.users_file = (std::filesystem::path(s.data_dir) / "users").string();
  }

  void load_accepted_domains(const toml::table& root) {
    std::map<std::string, int> seen;  // name -> line
    for (const toml::table* t : array_section(root, "accepted_domain")) {
      check_keys(*t, kDomainKeys, "[[accepted_domain]]");
      AcceptedDomain d;
      if (!t->get("name")) {
        error(t->source(), "[[accepted_domain]] needs a 'name'");
        continue;
      }
      if (!read_string(*t, "name", d.name)) continue;
      const auto& where = t->get("name")->source();
      if (auto why = check_domain_name(d.name); !why.empty()) {
        error(where, "accepted domain: " + why);
        continue;
      }
      d.name = lower(d.name);
      if (auto [it, inserted] = seen.emplace(d.name, int(where.begin.line)); !inserted) {
        error(where, "accepted domain '" + d.name + "' is already listed on line " + std::to_string(it->second));
        continue;
      }
      config_.accepted_domains.push_back(std::move(d));
    }
  }

  void load_local_delivery(const toml::table& root) {
    const toml::table* t = table_section(root, "local_delivery");
    if (!t) return;
    LocalDelivery& l = config_.local_delivery;
    check_keys(*t, kLocalDeliveryKeys, "[local_delivery]");
    read_string(*t, "maildir_root", l.maildir_root);
    if (read_string(*t, "aliases", l.aliases)) l.aliases_explicit = true;
  }

  void load_users(const toml::table& root) {
    std::map<std::string, int> seen;
    for (const toml::table* t : array_section(root, "user")) {
      check_keys(*t, kUserKeys, "[[user]]");
      User u;
      if (!t->get("address")) {
        error(t->source(), "[[user]] needs an 'address'");
        continue;
      }
      if (!read_string(*t, "address", u.address)) continue;
      const auto& where = t->get("address")->source();
      if (auto why = check_mailbox(u.address); !why.empty()) {
        error(where, "user address: " + why);
        continue;
      }
      const auto at = u.address.rfind('@');
      const std::string domain = lower(u.address.substr(at + 1));
      u.address = u.address.substr(0, at + 1) + domain;
      // Local parts are case-sensitive by the letter of RFC 5321 §2.4, but no one runs two
      // mailboxes differing only in case: treat that as the duplicate it almost surely is.
      if (auto [it, inserted] = seen.emplace(lower(u.address), int(where.begin.line)); !inserted) {
        error(where, "user '" + u.address + "' is already listed on line " + std::to_string(it->second));
        continue;
      }
      if (!config_.is_accepted_domain(domain)) {
        error(where, "user '" + u.address + "': '" + domain +
                         "' is not an accepted domain; add it as [[accepted_domain]] name = \"" + domain + "\"");
        continue;
      }
      if (read_string(*t, "password_hash", u.password_hash)) {
        if (auto why = check_password_hash(u.password_hash); !why.empty()) {
          error(t->get("password_hash")->source(), "user '" + u.address + "': 'password_hash': " + why);
          continue;
        }
      } else if (t->get("password_hash")) {
        continue;
      }
      config_.users.push_back(std::move(u));
    }
  }

  void load_connectors(const toml::table& root) {
    std::map<std::string, int> names;
    std::vector<std::pair<ReceiveConnector, const toml::table*>> loaded;
    const auto tables = array_section(root, "receive_connector");
    if (tables.empty() && !root.get("receive_connector")) {
      error_file("no [[receive_connector]]: sluiced would not listen anywhere; add one with a name and "
                 "listen = [\"0.0.0.0:25\"]");
      return;
    }
    for (const toml::table* t : tables) {
      const size_t errors_before = result_.errors.size();
      ReceiveConnector c;
      check_keys(*t, kConnectorKeys, "[[receive_connector]]");

      if (!t->get("name")) {
        error(t->source(), "[[receive_connector]] needs a 'name'");
      } else if (read_string(*t, "name", c.name)) {
        const auto& where = t->get("name")->source();
        if (auto [it, inserted] = names.emplace(c.name, int(where.begin.line)); !inserted) {
          error(where, "receive connector '" + c.name + "' is already defined on line " + std::to_string(it->second));
        }
      }

      if (!t->get("listen")) {
        error(t->source(), "[[receive_connector]] needs 'listen', e.g. listen = [\"0.0.0.0:25\"]");
      }
      const auto listen = read_string_array(*t, "listen");
      if (t->get("listen") && t->get("listen")->is_array() && t->get("listen")->as_array()->empty()) {
        error(t->get("listen")->source(), "'listen' must name at least one address");
      }
      for (auto* v : listen) {
        auto a = ListenAddress::parse(v->get());
        if (!a) {
          error(v->source(), "'listen': " + a.error().context);
        } else if (std::find(c.listen.begin(), c.listen.end(), *a) != c.listen.end()) {
          error(v->source(), "'listen': " + a->to_string() + " is listed twice");
        } else {
          c.listen.push_back(*a);
        }
      }

      if (auto* v = get<std::string>(*t, "usage", "a string")) {
        if (auto u = parse_connector_usage(v->get())) {
          c.usage = *u;
        } else {
          std::string message = "'usage' must be internet, relay, client or custom, not '" + v->get() + "'";
          constexpr std::array kUsageNames{"internet"sv, "relay"sv, "client"sv, "custom"sv};
          if (auto guess = closest(v->get(), kUsageNames)) message += "; did you mean '" + std::string(*guess) + "'?";
          error(v->source(), std::move(message));
        }
      }

      for (auto* v : read_string_array(*t, "remote_ip_ranges")) {
        auto r = IpRange::parse(v->get());
        if (!r) {
          error(v->source(), "'remote_ip_ranges': " + r.error().context);
          continue;
        }
        if (r->specificity() == 0) {
          warning(v->source(), "'remote_ip_ranges': " + r->to_string() + " matches every " +
                                   (r->first.family == IpFamily::v4 ? "IPv4" : "IPv6") + " client");
        }
        c.remote_ip_ranges.push_back(*r);
      }
      if (auto* node = t->get("remote_ip_ranges"); node && node->is_array() && node->as_array()->empty()) {
        error(node->source(), "'remote_ip_ranges' is empty, so no client could connect; "
                              "leave the key out to accept every client");
      }

      read_size(*t, "max_message_size", c.max_message_size);
      read_unsigned(*t, "max_recipients", c.max_recipients, 1, 100000);
      read_string(*t, "banner", c.banner);
      read_unsigned(*t, "max_errors", c.max_errors, 1, 1000);
      read_unsigned(*t, "max_connections", c.max_connections, 1, 1000000);
      read_unsigned(*t, "max_connections_per_ip", c.max_connections_per_ip, 1, 1000000);
      read_unsigned(*t, "max_hop_count", c.max_hop_count, 1, 1000);
      read_duration(*t, "command_timeout", c.command_timeout);
      read_duration(*t, "data_timeout", c.data_timeout);
      read_bool(*t, "protocol_log", c.protocol_log);

      load_receive_tls(*t, c);
      read_bool(*t, "implicit_tls", c.implicit_tls);
      if (const toml::node* node = t->get("tls_min_version")) {
        const auto* v = node->as_string();
        const auto version = v ? parse_tls_version(v->get()) : std::nullopt;
        if (version) {
          c.tls_min_version = *version;
        } else {
          error(node->source(), "'tls_min_version' must be \"1.0\", \"1.1\", \"1.2\" or \"1.3\", in quotes");
        }
      }
      read_bool(*t, "require_tls", c.require_tls);
      read_bool(*t, "allow_plaintext_auth", c.allow_plaintext_auth);
      c.sender_login_match = c.usage == ConnectorUsage::client;
      read_bool(*t, "sender_login_match", c.sender_login_match);
      read_unsigned(*t, "max_logon_failures", c.max_logon_failures, 1, 1000);
      read_duration(*t, "logon_failure_window", c.logon_failure_window);
      read_duration(*t, "tarpit", c.tarpit);

      if (result_.errors.size() == errors_before) {
        connector_warnings(*t, c);
        loaded.emplace_back(std::move(c), t);
      }
    }
    check_ambiguous(loaded);
    for (auto& [c, t] : loaded) config_.receive_connectors.push_back(std::move(c));
  }

  void connector_warnings(const toml::table& t, const ReceiveConnector& c) {
    const std::string who = "receive connector '" + c.name + "': ";
    if (c.usage == ConnectorUsage::relay && c.remote_ip_ranges.empty()) {
      error(t.source(), who + "usage = \"relay\" without remote_ip_ranges would relay for anyone "
                              "(an open relay); list the networks allowed to relay");
    }
    if (auto* v = t.get("command_timeout"); v && c.command_timeout < std::chrono::minutes(5)) {
      warning(v->source(), who + "command_timeout " + format_duration(c.command_timeout) +
                               " is below the 5 minutes of RFC 5321 §4.5.3.2.7; slow clients may be cut off");
    }
    if (auto* v = t.get("max_connections_per_ip"); v && c.max_connections_per_ip > c.max_connections) {
      warning(v->source(), who + "max_connections_per_ip is above max_connections, so it never applies");
    }
    const std::string add_tls = "; add tls = { certificate = \"cert.pem\", key = \"key.pem\" }";
    if (auto* v = t.get("implicit_tls"); v && c.implicit_tls && !c.offers_tls()) {
      error(v->source(), who + "implicit_tls needs a certificate" + add_tls);
    }
    if (auto* v = t.get("require_tls"); v && c.require_tls && !c.offers_tls()) {
      error(v->source(), who + "require_tls without a certificate would refuse every message" + add_tls);
    }
    if (auto* v = t.get("tls_min_version"); v && !c.offers_tls()) {
      warning(v->source(), who + "tls_min_version is used only with tls");
    } else if (v && c.tls_min_version < TlsVersion::v1_2) {
      warning(v->source(), who + "TLS " + std::string(to_string(c.tls_min_version)) +
                               " is deprecated (RFC 8996) and weak; keep \"1.2\" unless old clients need it");
    }
    if (c.usage == ConnectorUsage::client && !c.offers_tls() && !c.allow_plaintext_auth) {
      warning(t.source(), who + "a client connector without tls never offers AUTH (it needs TLS unless "
                                "allow_plaintext_auth = true), so no user can log in" + add_tls);
    }
  }

  // tls = { certificate = "...", key = "..." }, or a list of them for SNI:
  // tls = [{ certificate = "a.pem", key = "a.key" }, { ... }] (also [[receive_connector.tls]]).
  void load_receive_tls(const toml::table& t, ReceiveConnector& c) {
    const toml::node* node = t.get("tls");
    if (!node) return;
    if (const toml::table* table = node->as_table()) {
      if (auto cert = tls_certificate(*table, *node)) c.tls_certificates.push_back(std::move(*cert));
      return;
    }
    const toml::array* array = node->as_array();
    if (!array) {
      error(node->source(), "'tls' of a receive connector names its certificate: tls = { certificate = "
                            "\"cert.pem\", key = \"key.pem\" }, or a list of them chosen by SNI");
      return;
    }
    if (array->empty()) {
      error(node->source(), "'tls' is empty; leave the key out for a connector without TLS");
      return;
    }
    for (const toml::node& element : *array) {
      const toml::table* table = element.as_table();
      if (!table) {
        error(element.source(), "each certificate in 'tls' must be a table { certificate = \"...\", key = \"...\" }");
        continue;
      }
      auto cert = tls_certificate(*table, element);
      if (!cert) continue;
      const bool twice = std::any_of(c.tls_certificates.begin(), c.tls_certificates.end(),
                                     [&](const TlsCertificate& x) { return x.certificate == cert->certificate; });
      if (twice) {
        error(element.source(), "'tls': certificate '" + cert->certificate + "' is listed twice");
        continue;
      }
      c.tls_certificates.push_back(std::move(*cert));
    }
  }

  std::optional<TlsCertificate> tls_certificate(const toml::table& table, const toml::node& where) {
    bool ok = check_inline_keys(table, kTlsCertificateKeys, "tls");
    TlsCertificate cert;
    for (const auto& [key, out] : {std::pair{"certificate"sv, &cert.certificate}, std::pair{"key"sv, &cert.key}}) {
      if (!table.get(key)) {
        error(where.source(), "'tls' needs '" + std::string(key) + "' (a PEM file)");
        ok = false;
      } else if (!read_string(table, key, *out)) {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return cert;
  }

  // Unknown keys of an inline table (auth = {...}, tls = {...}); false if any.
  bool check_inline_keys(const toml::table& table, std::span<const std::string_view> known, std::string_view name) {
    bool ok = true;
    for (auto&& [key, value] : table) {
      const std::string_view k = key.str();
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      ok = false;
      std::string message = "unknown key '" + std::string(k) + "' in " + std::string(name);
      if (k == "password") {
        message = "'" + std::string(name) + "': put the password in a file readable only by sluiced and give its "
                  "path as password_file, so that it stays out of the configuration";
      } else if (auto guess = closest(k, known)) {
        message += "; did you mean '" + std::string(*guess) + "'?";
      } else {
        message += " (known:";
        for (std::string_view n : known) message += " " + std::string(n);
        message += ")";
      }
      (void)value;
      error(key.source(), std::move(message));
    }
    return ok;
  }

  // Two connectors on one listen address with the same remote_ip_ranges: no rule decides
  // which one serves a client. Port 0 listeners are distinct sockets, never shared.
  void check_ambiguous(const std::vector<std::pair<ReceiveConnector, const toml::table*>>& loaded) {
    auto key = [](const ReceiveConnector& c) {
      auto ranges = c.remote_ip_ranges;
      std::sort(ranges.begin(), ranges.end(), [](const IpRange& a, const IpRange& b) {
        return std::tie(a.first.family, a.first.bytes, a.last.bytes) <
               std::tie(b.first.family, b.first.bytes, b.last.bytes);
      });
      ranges.erase(std::unique(ranges.begin(), ranges.end()), ranges.end());
      return ranges;
    };
    for (size_t i = 0; i < loaded.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const ReceiveConnector& a = loaded[j].first;
        const ReceiveConnector& b = loaded[i].first;
        for (const ListenAddress& l : b.listen) {
          if (l.port == 0 || std::find(a.listen.begin(), a.listen.end(), l) == a.listen.end()) continue;
          if (key(a) != key(b)) continue;
          const toml::node* where = loaded[i].second->get("listen");
          error(where ? where->source() : loaded[i].second->source(),
                "receive connectors '" + a.name + "' and '" + b.name + "' both listen on " + l.to_string() +
                    " with the same remote_ip_ranges, so neither can be chosen; give one of them "
                    "narrower remote_ip_ranges or another address");
        }
      }
    }
  }

  void load_dns(const toml::table& root) {
    const toml::table* t = table_section(root, "dns");
    if (!t) return;
    check_keys(*t, kDnsKeys, "[dns]");
    DnsSettings& d = config_.dns;
    for (auto* v : read_string_array(*t, "servers")) {
      auto a = dns_server(v->get());
      if (!a) {
        error(v->source(), "'servers': " + a.error().context);
      } else if (std::find(d.servers.begin(), d.servers.end(), *a) != d.servers.end()) {
        error(v->source(), "'servers': " + a->to_string() + " is listed twice");
      } else {
        d.servers.push_back(*a);
      }
    }
    read_duration(*t, "timeout", d.timeout);
  }

  // "ip" (port 53) or "ip:port" / "[ipv6]:port"; a DNS server needs a real port.
  static Result<ListenAddress> dns_server(std::string_view text) {
    if (auto ip = IpAddress::parse(text)) return ListenAddress{ip->unmapped().to_string(), 53};
    auto a = ListenAddress::parse(text);
    if (!a) return a;
    if (a->port == 0) return fail(ErrorClass::config, "'" + std::string(text) + "': port 0 is not a DNS server's port");
    return a;
  }

  void load_admin(const toml::table& root) {
    AdminSettings& a = config_.admin;
    if (const toml::table* t = table_section(root, "admin")) {
      check_keys(*t, kAdminKeys, "[admin]");
      if (auto* v = get<std::string>(*t, "listen", "a string")) {
        auto l = ListenAddress::parse(v->get());
        if (!l) error(v->source(), "'listen': " + l.error().context + " (e.g. \"127.0.0.1:8025\")");
        else a.listen = *l;
      }
      if (auto* v = get<bool>(*t, "enabled", "true or false")) a.enabled = v->get();
      if (read_string(*t, "token_file", a.token_file)) a.token_file_explicit = true;
    }
    // The token is state, so it lives under data_dir unless written.
    if (!a.token_file_explicit) a.token_file = (std::filesystem::path(config_.server.data_dir) / "admin.token").string();
  }

  // [[dkim]]: the key file is read by the daemon (auth/dkim_signer), which says what is wrong
  // with it; here only the shape is checked.
  // [[dnsbl]], [protection], [greylist], [[rate_limit]] (issue 8; policy/ applies them).
  std::optional<DnsblAction> dnsbl_action(const toml::node& node, std::string_view key) {
    const auto* v = node.as_string();
    const std::string a = v ? lower(v->get()) : "";
    if (a == "connect") return DnsblAction::connect;
    if (a == "rcpt") return DnsblAction::rcpt;
    if (a == "record") return DnsblAction::record;
    error(node.source(), "'" + std::string(key) + "' must be \"connect\" (refuse the connection), \"rcpt\" (refuse "
                         "recipients) or \"record\" (only record the listing)");
    return std::nullopt;
  }

  void load_protection(const toml::table& root) {
    Protection& p = config_.protection;
    std::map<std::string, int> zones_seen;
    for (const toml::table* t : array_section(root, "dnsbl")) {
      check_keys(*t, kDnsblKeys, "[[dnsbl]]");
      DnsblZone z;
      if (!t->get("zone")) {
        error(t->source(), "[[dnsbl]] needs 'zone', e.g. zone = \"zen.spamhaus.org\"");
        continue;
      }
      if (!read_string(*t, "zone", z.zone)) continue;
      z.zone = lower(z.zone);
      while (!z.zone.empty() && z.zone.back() == '.') z.zone.pop_back();
      if (auto why = check_domain_name(z.zone); !why.empty()) {
        error(t->get("zone")->source(), "'zone': " + why);
        continue;
      }
      std::string type = "block";
      if (read_string(*t, "type", type)) {
        type = lower(type);
        if (type != "block" && type != "allow") {
          error(t->get("type")->source(), "'type' must be \"block\" (a blocklist) or \"allow\" (an allowlist, DNSWL)");
          continue;
        }
      }
      z.allow = type == "allow";
      if (const toml::node* node = t->get("codes")) {
        if (const toml::table* codes = node->as_table()) {
          for (auto&& [code, meaning] : *codes) {
            auto ip = IpAddress::parse(code.str());
            if (!ip || ip->family != IpFamily::v4 || ip->bytes[0] != 127) {
              error(code.source(), "'codes': '" + std::string(code.str()) +
                                       "' is not a blocklist answer; answers are 127.0.0.x addresses (RFC 5782)");
              continue;
            }
            if (auto* m = meaning.as_string()) z.codes[std::string(code.str())] = m->get();
            else error(meaning.source(), "'codes': the meaning of " + std::string(code.str()) + " must be a string");
          }
        } else {
          error(node->source(), "'codes' must be a table, e.g. codes = { \"127.0.0.2\" = \"spam source\" }");
        }
      }
      read_bool(*t, "only_codes", z.only_codes);
      if (z.only_codes && z.codes.empty()) {
        error(t->get("only_codes")->source(), "'only_codes' = true needs 'codes': without them nothing would ever be listed");
      }
      if (const toml::node* node = t->get("action")) {
        if (auto a = dnsbl_action(*node, "action")) z.action = *a;
      }
      for (auto* v : read_string_array(*t, "connectors")) z.connectors.push_back(v->get());
      if (const toml::node* node = t->get("actions")) {
        if (const toml::table* actions = node->as_table()) {
          for (auto&& [name, action] : *actions)
            if (auto a = dnsbl_action(action, "actions")) z.actions[std::string(name.str())] = *a;
        } else {
          error(node->source(), "'actions' must be a table of connector names, e.g. actions = { \"Default Frontend\" = \"rcpt\" }");
        }
      }
      const auto& where = t->source();
      if (auto [it, inserted] = zones_seen.emplace(z.zone, int(where.begin.line)); !inserted) {
        error(where, "[[dnsbl]] zone '" + z.zone + "' is already defined on line " + std::to_string(it->second));
        continue;
      }
      p.dnsbl.push_back(std::move(z));
    }
    if (const toml::table* t = table_section(root, "protection")) {
      check_keys(*t, kProtectionKeys, "[protection]");
      for (auto* v : read_string_array(*t, "allowlist")) {
        auto r = IpRange::parse(v->get());
        if (!r) error(v->source(), "'allowlist': " + r.error().context);
        else p.settings.allowlist.push_back(*r);
      }
      read_bool(*t, "require_reverse_dns", p.settings.require_reverse_dns);
      read_bool(*t, "require_fcrdns", p.settings.require_fcrdns);
    }
    if (const toml::table* t = table_section(root, "greylist")) {
      check_keys(*t, kGreylistKeys, "[greylist]");
      GreylistSettings& g = p.greylist;
      g.enabled = true;  // writing the section turns it on; enabled = false keeps the values
      read_bool(*t, "enabled", g.enabled);
      read_duration(*t, "delay", g.delay);
      read_duration(*t, "lifetime", g.lifetime);
      read_duration(*t, "pass_for", g.pass_for);
      for (auto* v : read_string_array(*t, "connectors")) g.connectors.push_back(v->get());
      if (g.lifetime <= g.delay) {
        error(t->source(), "[greylist] lifetime (" + format_duration(g.lifetime) + ") must be longer than delay (" +
                               format_duration(g.delay) + "), or no retry could ever pass");
      }
    }
    for (const toml::table* t : array_section(root, "rate_limit")) {
      check_keys(*t, kRateLimitKeys, "[[rate_limit]]");
      RateLimitSettings r;
      if (!t->get("connector")) {
        error(t->source(), "[[rate_limit]] needs 'connector', the name of a [[receive_connector]]");
        continue;
      }
      if (!read_string(*t, "connector", r.connector)) continue;
      const unsigned kMax = 1000000;
      read_unsigned(*t, "connections_per_minute_per_ip", r.connections_per_minute_per_ip, 0, kMax);
      read_unsigned(*t, "messages_per_minute_per_ip", r.messages_per_minute_per_ip, 0, kMax);
      read_unsigned(*t, "messages_per_minute_per_sender", r.messages_per_minute_per_sender, 0, kMax);
      read_unsigned(*t, "messages_per_minute_per_user", r.messages_per_minute_per_user, 0, kMax);
      read_unsigned(*t, "recipients_per_message", r.recipients_per_message, 0, kMax);
      if (p.rate_limit_for(r.connector)) {
        error(t->source(), "[[rate_limit]] for connector '" + r.connector + "' is already defined");
        continue;
      }
      p.rate_limits.push_back(std::move(r));
    }
    // Names must match a connector: a typo would silently protect nothing.
    auto check_connector = [&](const std::string& name, std::string_view where) {
      if (!config_.find_connector(name))
        error_file(std::string(where) + ": no [[receive_connector]] is named '" + name + "'");
    };
    for (const auto& z : p.dnsbl) {
      for (const auto& c : z.connectors) check_connector(c, "[[dnsbl]] " + z.zone + " connectors");
      for (const auto& [c, a] : z.actions) check_connector(c, "[[dnsbl]] " + z.zone + " actions");
    }
    for (const auto& c : p.greylist.connectors) check_connector(c, "[greylist] connectors");
    for (const auto& r : p.rate_limits) check_connector(r.connector, "[[rate_limit]]");
  }

  void load_dkim(const toml::table& root) {
    std::map<std::string, int> seen;
    for (const toml::table* t : array_section(root, "dkim")) {
      check_keys(*t, kDkimKeys, "[[dkim]]");
      DkimSigning d;
      bool complete = true;
      for (auto [key, out] : {std::pair<std::string_view, std::string*>{"domain", &d.domain},
                              {"selector", &d.selector}, {"key_file", &d.key_file}}) {
        if (!t->get(key)) {
          error(t->source(), "[[dkim]] needs '" + std::string(key) + "'" +
                                 (key == "key_file" ? " (create one with: sluice dkim keygen --domain D --selector S)" : ""));
          complete = false;
        } else if (!read_string(*t, key, *out)) {
          complete = false;
        }
      }
      d.domain = lower(d.domain);
      if (read_string(*t, "algorithm", d.algorithm)) {
        const std::string a = lower(d.algorithm);
        if (a == "rsa" || a == "rsa-sha256") d.algorithm = "rsa-sha256";
        else if (a == "ed25519" || a == "ed25519-sha256") d.algorithm = "ed25519-sha256";
        else {
          error(t->get("algorithm")->source(), "'algorithm' must be \"rsa-sha256\" or \"ed25519-sha256\" "
                                               "(rsa-sha1 is not allowed: RFC 8301)");
          complete = false;
        }
      }
      if (!complete) continue;
      const auto& where = t->source();
      if (auto [it, inserted] = seen.emplace(d.selector + "._domainkey." + d.domain, int(where.begin.line)); !inserted) {
        error(where, "[[dkim]] for domain '" + d.domain + "' with selector '" + d.selector +
                         "' is already defined on line " + std::to_string(it->second));
        continue;
      }
      config_.dkim.push_back(std::move(d));
    }
  }

  void load_queue(const toml::table& root) {
    const toml::table* t = table_section(root, "queue");
    if (!t) return;
    check_keys(*t, kQueueKeys, "[queue]");
    QueueSettings& q = config_.queue;
    if (const toml::node* node = t->get("retry")) {
      const toml::array* array = node->as_array();
      if (!array) {
        error(node->source(), "'retry' must be an array of durations, e.g. [\"1m\", \"5m\", \"1h\"], not " +
                                  std::string(type_name(*node)));
      } else if (array->empty()) {
        error(node->source(), "'retry' must list at least one interval; the last one repeats");
      } else {
        std::vector<std::chrono::seconds> retry;
        bool ok = true;
        for (const toml::node& element : *array) {
          if (auto d = duration_value(element, "retry")) {
            if (!retry.empty() && *d < retry.back()) {
              warning(element.source(), "'retry': " + format_duration(*d) + " after " + format_duration(retry.back()) +
                                            " retries sooner than the attempt before; intervals usually grow");
            }
            retry.push_back(*d);
          } else {
            ok = false;
          }
        }
        if (ok) q.retry = std::move(retry);
      }
    }
    read_duration(*t, "expire_after", q.expire_after);
    read_duration(*t, "delay_notice_after", q.delay_notice_after);
    if (q.delay_notice_after >= q.expire_after) {
      const toml::node* where = t->get("delay_notice_after") ? t->get("delay_notice_after") : t->get("expire_after");
      warning(where ? where->source() : t->source(),
              "no delay notice is ever sent: delay_notice_after (" + format_duration(q.delay_notice_after) +
                  ") is not shorter than expire_after (" + format_duration(q.expire_after) + ")");
    }
  }

  void load_send_connectors(const toml::table& root) {
    std::map<std::string, int> names;
    std::vector<std::pair<SendConnector, const toml::table*>> loaded;
    for (const toml::table* t : array_section(root, "send_connector")) {
      const size_t errors_before = result_.errors.size();
      SendConnector c;
      check_keys(*t, kSendConnectorKeys, "[[send_connector]]");

      if (!t->get("name")) {
        error(t->source(), "[[send_connector]] needs a 'name'");
      } else if (read_string(*t, "name", c.name)) {
        const auto& where = t->get("name")->source();
        if (auto [it, inserted] = names.emplace(c.name, int(where.begin.line)); !inserted) {
          error(where, "send connector '" + c.name + "' is already defined on line " + std::to_string(it->second));
        }
      }

      if (!t->get("address_spaces")) {
        error(t->source(), "[[send_connector]] needs 'address_spaces', e.g. address_spaces = [\"*\"] for every domain");
      } else if (auto* a = t->get("address_spaces")->as_array(); a && a->empty()) {
        error(t->get("address_spaces")->source(), "'address_spaces' must name at least one domain, or \"*\"");
      }
      for (auto* v : read_string_array(*t, "address_spaces")) {
        const std::string space = lower(v->get());
        if (auto why = check_address_space(space); !why.empty()) {
          error(v->source(), "'address_spaces': " + why);
        } else if (std::find(c.address_spaces.begin(), c.address_spaces.end(), space) != c.address_spaces.end()) {
          error(v->source(), "'address_spaces': '" + space + "' is listed twice");
        } else {
          c.address_spaces.push_back(space);
        }
      }

      read_unsigned(*t, "cost", c.cost, 1, 100);
      unsigned port = c.port;
      read_unsigned(*t, "port", port, 1, 65535);
      c.port = uint16_t(port);

      if (auto* node = t->get("smart_hosts"); node && node->is_array() && node->as_array()->empty()) {
        error(node->source(), "'smart_hosts' is empty; leave the key out to deliver by MX lookup");
      }
      for (auto* v : read_string_array(*t, "smart_hosts")) {
        auto h = HostPort::parse(v->get());
        if (!h) {
          error(v->source(), "'smart_hosts': " + h.error().context);
          continue;
        }
        if (h->port == 0) h->port = c.port;
        if (std::find(c.smart_hosts.begin(), c.smart_hosts.end(), *h) != c.smart_hosts.end()) {
          error(v->source(), "'smart_hosts': " + h->to_string() + " is listed twice");
          continue;
        }
        c.smart_hosts.push_back(std::move(*h));
      }

      load_send_auth(*t, c);
      read_unsigned(*t, "max_connections", c.max_connections, 1, 10000);
      read_unsigned(*t, "max_messages_per_connection", c.max_messages_per_connection, 1, 1000000);
      if (auto* v = get<std::string>(*t, "max_message_rate", "a string such as \"600/min\"")) {
        auto rate = MessageRate::parse(v->get());
        if (rate) {
          c.max_message_rate = *rate;
        } else {
          error(v->source(), "'max_message_rate': " + rate.error().context);
        }
      }
      if (read_string(*t, "source_ip", c.source_ip)) {
        if (auto ip = IpAddress::parse(c.source_ip)) {
          c.source_ip = ip->unmapped().to_string();
        } else {
          error(t->get("source_ip")->source(), "'source_ip': '" + c.source_ip +
                                                   "' is not an IP address (one of this machine's addresses)");
        }
      }
      if (read_string(*t, "helo_name", c.helo_name)) {
        if (auto why = check_domain_name(c.helo_name); !why.empty()) {
          error(t->get("helo_name")->source(), "'helo_name': " + why);
        }
        c.helo_name = lower(c.helo_name);
      } else {
        c.helo_name = config_.server.hostname;
      }
      if (auto* v = get<std::string>(*t, "tls", "a string")) {
        if (auto m = parse_tls_mode(v->get())) {
          c.tls = *m;
        } else {
          std::string message = "'tls' must be none, opportunistic, required or verify, not '" + v->get() + "'";
          constexpr std::array kModeNames{"none"sv, "opportunistic"sv, "required"sv, "verify"sv};
          if (auto guess = closest(v->get(), kModeNames)) message += "; did you mean '" + std::string(*guess) + "'?";
          error(v->source(), std::move(message));
        }
      }
      read_string(*t, "ca_file", c.ca_file);
      read_bool(*t, "allow_plaintext_auth", c.allow_plaintext_auth);
      read_duration(*t, "connect_timeout", c.connect_timeout);
      read_unsigned(*t, "max_hosts_per_attempt", c.max_hosts_per_attempt, 1, 100);
      read_bool(*t, "protocol_log", c.protocol_log);

      if (result_.errors.size() == errors_before) {
        send_connector_rules(*t, c);
        loaded.emplace_back(std::move(c), t);
      }
    }
    check_overlapping_spaces(loaded);
    for (auto& [c, t] : loaded) config_.send_connectors.push_back(std::move(c));
  }

  // auth = { username = "...", password_file = "..." } (or a [send_connector.auth] table).
  void load_send_auth(const toml::table& t, SendConnector& c) {
    const toml::node* node = t.get("auth");
    if (!node) return;
    const toml::table* a = node->as_table();
    if (!a) {
      error(node->source(), "'auth' must be a table: auth = { username = \"...\", password_file = \"...\" }");
      return;
    }
    bool ok = check_inline_keys(*a, kSendAuthKeys, "auth");
    SendAuth auth;
    for (const auto& [key, out] : {std::pair{"username"sv, &auth.username}, std::pair{"password_file"sv, &auth.password_file}}) {
      if (!a->get(key)) {
        error(node->source(), "'auth' needs '" + std::string(key) + "'");
        ok = false;
      } else if (!read_string(*a, key, *out)) {
        ok = false;
      }
    }
    if (ok) c.auth = std::move(auth);
  }

  // Rules between the keys of one send connector.
  void send_connector_rules(const toml::table& t, const SendConnector& c) {
    const std::string who = "send connector '" + c.name + "': ";
    const toml::node* auth = t.get("auth");
    if (c.auth && c.tls == TlsMode::none && !c.allow_plaintext_auth) {
      error(auth->source(), who + "auth with tls = \"none\" could never log in (AUTH is sent only over TLS); "
                                  "use tls = \"opportunistic\" or set allow_plaintext_auth = true");
    }
    if (c.auth && !c.uses_smart_hosts()) {
      warning(auth->source(), who + "auth is used only with smart_hosts; MX hosts are never logged in to");
    }
    if (c.auth && c.allow_plaintext_auth && c.tls != TlsMode::required && c.tls != TlsMode::verify) {
      warning(t.get("allow_plaintext_auth")->source(),
              who + "the password crosses the network in the clear when the smart host offers no STARTTLS");
    }
    if (auto* v = t.get("ca_file"); v && c.tls != TlsMode::verify) {
      warning(v->source(), who + "ca_file is used only with tls = \"verify\"");
    }
  }

  // Two connectors offering the same address space at the same cost: routing takes the first
  // in the file, which is legal but rarely meant (Exchange load-balances them instead).
  void check_overlapping_spaces(const std::vector<std::pair<SendConnector, const toml::table*>>& loaded) {
    for (size_t i = 0; i < loaded.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const SendConnector& a = loaded[j].first;
        const SendConnector& b = loaded[i].first;
        if (a.cost != b.cost) continue;
        for (const std::string& space : b.address_spaces) {
          if (std::find(a.address_spaces.begin(), a.address_spaces.end(), space) == a.address_spaces.end()) continue;
          warning(loaded[i].second->get("address_spaces")->source(),
                  "send connectors '" + a.name + "' and '" + b.name + "' both serve '" + space + "' with cost " +
                      std::to_string(a.cost) + ", so '" + a.name + "' (first in the file) is always used; give "
                      "them different costs to make the choice explicit");
        }
      }
    }
  }

  std::string source_;
  Config config_;
  LoadResult result_;
};

}  // namespace

std::string check_domain_name(std::string_view name) {
  const std::string quoted = "'" + std::string(name) + "'";
  if (name.empty()) return "the domain is empty";
  if (name.size() > 253) return quoted + " is longer than 253 characters";
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) {
    return quoted + " is not ASCII; write an internationalized domain in its xn-- form";
  }
  if (name.back() == '.') return quoted + " ends with a dot; leave the trailing dot out";
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('.', start), name.size());
    const std::string_view label = name.substr(start, end - start);
    if (label.empty()) return quoted + " has an empty label";
    if (label.size() > 63) return quoted + " has a label longer than 63 characters";
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return quoted + " is not a domain name: '" + std::string(1, c) + "' is not allowed (letters, digits, '-', '.')";
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return quoted + " is not a domain name: a label cannot begin or end with '-'";
    }
    start = end + 1;
  }
  return "";
}

namespace {
// RFC 3629 well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool well_formed_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : b & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}
}  // namespace

std::string check_mailbox(std::string_view address) {
  const std::string quoted = "'" + std::string(address) + "'";
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return quoted + " is not an address (expected local@domain)";
  const std::string_view local = address.substr(0, at);
  if (local.empty()) return quoted + " has an empty local part";
  if (local.size() > 64) return quoted + " has a local part longer than 64 characters (RFC 5321 §4.5.3.1.1)";
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return quoted + ": the local part cannot begin or end with '.' or contain '..'";
  }
  // RFC 6531 §3.3: a local part may hold UTF-8 (delivered to SMTPUTF8 clients only).
  if (!well_formed_utf8(local)) return quoted + ": the local part is not valid UTF-8";
  for (char c : local) {
    if (c != '.' && !is_atext(c) && static_cast<unsigned char>(c) < 0x80) {
      return quoted + ": '" + std::string(1, c) + "' is not allowed in a local part";
    }
  }
  if (auto why = check_domain_name(address.substr(at + 1)); !why.empty()) return quoted + ": " + why;
  return "";
}

LoadResult load_string(std::string_view text, const std::string& source_name) {
  return Loader(source_name).run(text);
}

LoadResult load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.errors.push_back(Diagnostic{path, 0, 0, std::string("cannot read the file: ") + std::strerror(errno)});
    return result;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(text.str(), path);
}

}  // namespace sluice::config
