// cli/config_show_command.cpp: see config_show_command.hpp.
#include "cli/config_show_command.hpp"

#include <memory>
#include <sstream>

#include "config/loader.hpp"
#include "config/units.hpp"

namespace sluice::cli {
namespace {

// A TOML basic string (TOML 1.0 §String): quotes, backslashes and controls escaped.
std::string q(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

template <typename T, typename F>
std::string list(const std::vector<T>& items, F text) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + q(text(items[i]));
  return out + "]";
}

const char* b(bool v) { return v ? "true" : "false"; }
std::string d(std::chrono::seconds s) { return q(config::format_duration(s)); }

}  // namespace

std::string render_effective_config(const config::Config& c) {
  std::ostringstream o;
  o << "# effective configuration of " << c.source << " (defaults filled in)\n\n";
  o << "[server]\nhostname = " << q(c.server.hostname) << "\ndata_dir = " << q(c.server.data_dir)
    << "\nthreads = " << c.server.threads << (c.server.threads == 0 ? "  # one per core" : "")
    << "\nusers_file = " << q(c.server.users_file) << "\n\n";
  for (const auto& a : c.accepted_domains) o << "[[accepted_domain]]\nname = " << q(a.name) << "\n\n";
  o << "[local_delivery]\nmaildir_root = " << q(c.local_delivery.maildir_root)
    << "\naliases = " << q(c.local_delivery.aliases) << "\n\n";
  for (const auto& u : c.users) {
    o << "[[user]]\naddress = " << q(u.address) << "\n";
    if (!u.password_hash.empty()) o << "# password_hash: set (not shown)\n";
    o << "\n";
  }
  for (const auto& r : c.receive_connectors) {
    o << "[[receive_connector]]\nname = " << q(r.name)
      << "\nlisten = " << list(r.listen, [](const config::ListenAddress& l) { return l.to_string(); })
      << "\nusage = " << q(config::to_string(r.usage))
      << (r.remote_ip_ranges.empty()
              ? std::string("\n# remote_ip_ranges left out: every client")
              : "\nremote_ip_ranges = " + list(r.remote_ip_ranges, [](const config::IpRange& x) { return x.to_string(); }))
      << "\nmax_message_size = " << q(config::format_size(r.max_message_size))
      << "\nmax_recipients = " << r.max_recipients << "\nbanner = " << q(r.banner)
      << "\nmax_errors = " << r.max_errors << "\nmax_connections = " << r.max_connections
      << "\nmax_connections_per_ip = " << r.max_connections_per_ip << "\nmax_hop_count = " << r.max_hop_count
      << "\ncommand_timeout = " << d(r.command_timeout) << "\ndata_timeout = " << d(r.data_timeout)
      << "\nprotocol_log = " << b(r.protocol_log);
    if (r.offers_tls()) {
      o << "\ntls = [" ;
      for (size_t i = 0; i < r.tls_certificates.size(); ++i)
        o << (i ? ", " : "") << "{ certificate = " << q(r.tls_certificates[i].certificate)
          << ", key = " << q(r.tls_certificates[i].key) << " }";
      o << "]";
    }
    o << "\nimplicit_tls = " << b(r.implicit_tls) << "\ntls_min_version = " << q(config::to_string(r.tls_min_version))
      << "\nrequire_tls = " << b(r.require_tls) << "\nallow_plaintext_auth = " << b(r.allow_plaintext_auth)
      << "\nsender_login_match = " << b(r.sender_login_match) << "\nmax_logon_failures = " << r.max_logon_failures
      << "\nlogon_failure_window = " << d(r.logon_failure_window) << "\ntarpit = " << d(r.tarpit) << "\n\n";
  }
  o << "[dns]\nservers = " << list(c.dns.servers, [](const config::ListenAddress& l) { return l.to_string(); })
    << (c.dns.servers.empty() ? "  # the system resolver" : "") << "\ntimeout = " << d(c.dns.timeout) << "\n\n";
  o << "[queue]\nretry = " << list(c.queue.retry, [](std::chrono::seconds s) { return config::format_duration(s); })
    << "\nexpire_after = " << d(c.queue.expire_after) << "\ndelay_notice_after = " << d(c.queue.delay_notice_after)
    << "\n\n";
  for (const auto& s : c.send_connectors) {
    o << "[[send_connector]]\nname = " << q(s.name)
      << "\naddress_spaces = " << list(s.address_spaces, [](const std::string& x) { return x; })
      << "\ncost = " << s.cost << "\nport = " << s.port
      << "\nsmart_hosts = " << list(s.smart_hosts, [](const config::HostPort& h) { return h.to_string(); });
    if (s.auth) o << "\nauth = { username = " << q(s.auth->username) << ", password_file = " << q(s.auth->password_file) << " }";
    o << "\nmax_connections = " << s.max_connections << "\nmax_messages_per_connection = " << s.max_messages_per_connection
      << (s.max_message_rate.count == 0 ? std::string("\n# max_message_rate left out: unlimited")
                                         : "\nmax_message_rate = " + q(s.max_message_rate.to_string()));
    if (!s.source_ip.empty()) o << "\nsource_ip = " << q(s.source_ip);
    o << "\nhelo_name = " << q(s.helo_name) << "\ntls = " << q(config::to_string(s.tls));
    if (!s.ca_file.empty()) o << "\nca_file = " << q(s.ca_file);
    o << "\nallow_plaintext_auth = " << b(s.allow_plaintext_auth) << "\nconnect_timeout = " << d(s.connect_timeout)
      << "\nmax_hosts_per_attempt = " << s.max_hosts_per_attempt << "\nprotocol_log = " << b(s.protocol_log) << "\n\n";
  }
  if (c.send_connectors.empty()) o << "# no [[send_connector]]: mail for other domains waits in Unreachable\n\n";
  o << "[admin]\nlisten = " << q(c.admin.listen.to_string()) << "\nenabled = " << b(c.admin.enabled)
    << "\ntoken_file = " << q(c.admin.token_file) << "\n";
  return o.str();
}

void add_config_show_command(CLI::App& app, CliContext& context) {
  CLI::App* config = nullptr;
  for (CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == "config") config = sub;
  if (!config) return;  // registered before add_config_command: nothing to extend
  auto file = std::make_shared<std::string>();
  CLI::App* show = config->add_subcommand(
      "show", "Print the effective configuration (every key with the value sluiced uses, defaults included)");
  show->add_option("file", *file, "the file to show (default: the global --config)");
  show->callback([&context, file] {
    const std::string path = file->empty() ? context.config_path : *file;
    const auto result = config::load_file(path);
    if (!result.ok()) {
      context.err << "sluice: " << path << " is not valid, so it has no effective configuration:\n";
      for (const auto& e : result.errors) context.err << "  " << e.to_string() << "\n";
      context.err << "Run 'sluice config check " << path << "' for the full report.\n";
      context.exit_code = kExitConfig;
      return;
    }
    context.out << render_effective_config(*result.config);
    context.exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
