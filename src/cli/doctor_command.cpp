// cli/doctor_command.cpp: see doctor_command.hpp.
#include "cli/doctor_command.hpp"

#include <asio/io_context.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "config/listen_address.hpp"
#include "config/loader.hpp"
#include "dns/unbound_resolver.hpp"

namespace sluice::cli {
namespace {

struct DoctorArgs {
  std::string domain;
  std::string ip;
  std::vector<std::string> zones;
  std::vector<std::string> dns_servers;
  std::vector<std::string> selectors;
  int port = 25;
  bool no_smtp = false;
  std::string ca_file;
  std::string helo = "sluice-doctor.invalid";
  int timeout = 10;
  bool json = false;
};

// [[dnsbl]] zone = "..." entries of the configuration file, if it has any.
std::vector<std::string> configured_zones(const std::string& path) {
  std::vector<std::string> zones;
  try {
    toml::table t = toml::parse_file(path);
    if (auto* arr = t["dnsbl"].as_array()) {
      for (auto& e : *arr)
        if (auto* tbl = e.as_table())
          if (auto z = (*tbl)["zone"].value<std::string>()) zones.push_back(*z);
    }
  } catch (const std::exception&) {
    // No or unreadable configuration: only --zone counts (said in the output when none).
  }
  return zones;
}

void run_doctor(DoctorArgs& a, CliContext& ctx) {
  if (a.domain.empty() == a.ip.empty()) {
    ctx.err << "sluice doctor: give a DOMAIN to check or --ip ADDR for the blocklists"
               " (the inside-out check of the running server is not available yet)\n";
    ctx.exit_code = kExitUsage;
    return;
  }
  dns::UnboundOptions u;
  u.timeout = std::chrono::seconds(a.timeout);
  for (const auto& s : a.dns_servers) {
    auto addr = config::ListenAddress::parse(s);
    if (!addr) {
      // An address without a port: port 53.
      auto with_port = config::ListenAddress::parse(s.find(':') == std::string::npos ? s + ":53" : "[" + s + "]:53");
      if (!with_port) {
        ctx.err << "sluice doctor: --dns-server '" << s << "' is not IP or IP:PORT\n";
        ctx.exit_code = kExitUsage;
        return;
      }
      addr = with_port;
    }
    u.forwarders.push_back(addr->host + "@" + std::to_string(addr->port));
  }
  if (u.forwarders.empty()) {
    auto loaded = config::load_file(ctx.config_path);
    if (loaded.ok())
      for (const auto& s : loaded.config->dns.servers) u.forwarders.push_back(s.host + "@" + std::to_string(s.port));
  }
  asio::io_context loop;
  auto resolver = dns::make_unbound_resolver(loop, u);
  diagnose::DoctorReport report;
  if (!a.ip.empty()) {
    std::vector<std::string> zones = a.zones.empty() ? configured_zones(ctx.config_path) : a.zones;
    report = diagnose::check_ip(*resolver, loop, a.ip, zones);
  } else {
    diagnose::DomainCheckOptions o;
    o.domain = a.domain;
    o.smtp_port = static_cast<uint16_t>(a.port);
    o.check_smtp = !a.no_smtp;
    o.dkim_selectors = a.selectors;
    o.ca_file = a.ca_file;
    o.helo_name = a.helo;
    o.connect_timeout = std::chrono::seconds(a.timeout);
    o.command_timeout = std::chrono::seconds(a.timeout * 3);
    report = diagnose::check_domain(*resolver, loop, o);
  }
  resolver.reset();
  ctx.out << (a.json ? doctor_json(report) + "\n" : diagnose::render_text(report));
  ctx.exit_code = report.exit_code();
}

}  // namespace

std::string doctor_json(const diagnose::DoctorReport& report) {
  nlohmann::json j;
  j["subject"] = report.subject;
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : report.findings) {
    nlohmann::json x = {{"section", f.section}, {"status", diagnose::to_string(f.verdict)}, {"message", f.message}};
    if (!f.advice.empty() && (f.verdict == diagnose::Verdict::warn || f.verdict == diagnose::Verdict::fail)) x["advice"] = f.advice;
    findings.push_back(x);
  }
  j["findings"] = findings;
  j["summary"] = {{"pass", report.count(diagnose::Verdict::pass)},
                  {"warn", report.count(diagnose::Verdict::warn)},
                  {"fail", report.count(diagnose::Verdict::fail)},
                  {"info", report.count(diagnose::Verdict::info)}};
  j["exit_code"] = report.exit_code();
  return j.dump(2);
}

void add_doctor_command(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<DoctorArgs>();
  CLI::App* cmd = app.add_subcommand("doctor", "Check a domain's mail setup (DNS, SMTP, TLS, SPF, DMARC, DKIM...) or an address on blocklists");
  cmd->add_option("domain", args->domain, "the domain to check from the outside");
  cmd->add_option("--ip", args->ip, "check this address on the DNS blocklists instead");
  cmd->add_option("--zone", args->zones, "blocklist zone (repeatable; default: the configuration's [[dnsbl]] zones)");
  cmd->add_option("--dns-server", args->dns_servers, "ask this DNS server, IP or IP:PORT (repeatable; default: [dns] servers, else the system's)");
  cmd->add_option("--selector", args->selectors, "DKIM selector to check (repeatable; default: common ones)");
  cmd->add_option("--port", args->port, "SMTP port of the MX hosts (default 25)")->check(CLI::Range(1, 65535));
  cmd->add_flag("--no-smtp", args->no_smtp, "do not connect to the MX hosts");
  cmd->add_option("--ca-file", args->ca_file, "verify MX certificates against this CA file");
  cmd->add_option("--helo", args->helo, "the name to give in EHLO");
  cmd->add_option("--timeout", args->timeout, "seconds for each DNS query and connection (default 10)")->check(CLI::Range(1, 300));
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, &context] { run_doctor(*args, context); });
}

}  // namespace sluice::cli
