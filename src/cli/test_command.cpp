// cli/test_command.cpp: see test_command.hpp.
#include "cli/test_command.hpp"

#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "diagnose/knowledge_base.hpp"

namespace sluice::cli {
namespace {

constexpr int kExitNoInput = 66;  // EX_NOINPUT

struct TestArgs {
  std::string target;
  std::string connect_ip;
  std::string tls = "opportunistic";
  std::string ca_file;
  std::string user;
  std::string password_file;
  std::string from;
  std::vector<std::string> to;
  bool data = false;
  std::string helo = "sluice-test.invalid";
  int timeout = 30;
  bool json = false;
};

// The password: the first line of the file, or asked on the terminal with echo off.
std::optional<std::string> read_password(const TestArgs& a, CliContext& ctx) {
  std::string pw;
  if (!a.password_file.empty()) {
    std::ifstream f(a.password_file);
    if (!f || !std::getline(f, pw)) {
      ctx.err << "sluice test: cannot read the password from " << a.password_file
              << " (the first line of the file is the password)\n";
      return std::nullopt;
    }
    if (!pw.empty() && pw.back() == '\r') pw.pop_back();
    return pw;
  }
  if (isatty(STDIN_FILENO)) {
    ctx.err << "Password for " << a.user << ": " << std::flush;
    termios old {};
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, pw);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    ctx.err << "\n";
    return pw;
  }
  if (!std::getline(std::cin, pw)) {
    ctx.err << "sluice test: --user needs a password: give --password-file FILE or type it at the prompt\n";
    return std::nullopt;
  }
  return pw;
}

void run_test(TestArgs& a, CliContext& ctx) {
  diagnose::ProbeOptions o;
  if (a.tls == "none") o.tls = diagnose::ProbeTls::none;
  else if (a.tls == "opportunistic") o.tls = diagnose::ProbeTls::opportunistic;
  else if (a.tls == "required") o.tls = diagnose::ProbeTls::required;
  else if (a.tls == "implicit") o.tls = diagnose::ProbeTls::implicit;
  const uint16_t default_port = o.tls == diagnose::ProbeTls::implicit ? 465 : 25;
  auto hp = parse_host_port(a.target, default_port);
  if (!hp) {
    ctx.err << "sluice test: '" << a.target << "' is not HOST or HOST:PORT (port 1-65535)\n";
    ctx.exit_code = kExitUsage;
    return;
  }
  o.host = hp->first;
  o.port = hp->second;
  o.connect_ip = a.connect_ip;
  o.ca_file = a.ca_file;
  o.helo_name = a.helo;
  o.mail_from = a.from;
  o.rcpt_to = a.to;
  o.send_data = a.data;
  o.connect_timeout = std::chrono::seconds(a.timeout);
  o.command_timeout = std::chrono::seconds(a.timeout);
  if (a.data && (a.from.empty() || a.to.empty())) {
    ctx.err << "sluice test: --data needs --from and at least one --to\n";
    ctx.exit_code = kExitUsage;
    return;
  }
  // --to without --from sends MAIL FROM:<> (the null sender of bounces), which every server must accept.
  if (!a.user.empty()) {
    auto pw = read_password(a, ctx);
    if (!pw) {
      ctx.exit_code = kExitNoInput;
      return;
    }
    o.auth = std::make_pair(a.user, *pw);
  }
  const diagnose::ProbeReport r = diagnose::probe_smtp(o);
  ctx.out << (a.json ? probe_json(r, o) + "\n" : render_probe(r, o));
  if (!r.ok) ctx.exit_code = 2;
  else if (r.certificate && !r.certificate->verified()) ctx.exit_code = 1;
  else ctx.exit_code = kExitOk;
}

std::string certificate_line(const diagnose::CertificateInfo& c) {
  std::string sans;
  for (const auto& s : c.sans) sans += (sans.empty() ? "" : ", ") + s;
  std::string verification = c.verified() ? "verified"
                             : !c.chain_verified ? "NOT verified: " + c.verify_error
                                                 : "NOT verified: the name does not match";
  return "  subject:  " + c.subject + "\n  SANs:     " + (sans.empty() ? "(none)" : sans) + "\n  issuer:   " + c.issuer +
         "\n  valid:    " + c.not_before + " to " + c.not_after + " (" + std::to_string(c.days_left) + " days left" +
         (c.expired ? ", EXPIRED" : "") + ")\n  verify:   " + verification + "\n";
}

}  // namespace

std::optional<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text, uint16_t default_port) {
  std::string host = text, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port = text.substr(close + 2);
      if (port.empty()) return std::nullopt;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
    if (port.empty()) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  if (port.empty()) return std::make_pair(host, default_port);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  const int n = std::stoi(port);
  if (n < 1 || n > 65535) return std::nullopt;
  return std::make_pair(host, static_cast<uint16_t>(n));
}

std::string render_probe(const diagnose::ProbeReport& r, const diagnose::ProbeOptions& o) {
  std::string out = "sluice test " + o.host + ":" + std::to_string(o.port) + "\n\n";
  for (const auto& l : r.transcript) {
    std::string t = std::to_string(l.elapsed_ms) + " ms";
    if (t.size() < 8) t.insert(0, 8 - t.size(), ' ');
    out += t + "  " + (l.direction == '*' ? std::string("--") : std::string(1, l.direction)) + " " + l.text + "\n";
  }
  if (r.tls) {
    out += "\nTLS: " + r.tls_version + " " + r.tls_cipher + "\n";
    if (r.certificate) out += certificate_line(*r.certificate);
  }
  if (r.ok) {
    out += "\nresult: PASS";
    if (r.connect_ms >= 0) out += " (connected in " + std::to_string(r.connect_ms) + " ms)";
    out += "\n";
  } else {
    out += std::string("\nresult: FAIL at ") + diagnose::to_string(r.failed_stage) + ": " + r.failure + "\n";
    if (r.failure_reply) out += "meaning: " + diagnose::one_line_advice(*r.failure_reply) + "\n";
  }
  const std::string advice = diagnose::probe_advice(r, o);
  if (!advice.empty()) out += "what to do: " + advice + "\n";
  return out;
}

std::string probe_json(const diagnose::ProbeReport& r, const diagnose::ProbeOptions& o) {
  nlohmann::json j;
  j["host"] = o.host;
  j["port"] = o.port;
  j["address"] = r.address;
  j["connect_ms"] = r.connect_ms;
  j["banner"] = r.banner;
  j["extensions"] = r.extensions;
  j["starttls_offered"] = r.starttls_offered;
  j["auth_mechanisms"] = r.auth_mechanisms;
  j["tls"] = r.tls;
  if (r.tls) {
    j["tls_version"] = r.tls_version;
    j["tls_cipher"] = r.tls_cipher;
  }
  if (r.certificate) {
    const auto& c = *r.certificate;
    j["certificate"] = {{"subject", c.subject}, {"issuer", c.issuer}, {"sans", c.sans},
                        {"not_before", c.not_before}, {"not_after", c.not_after}, {"days_left", c.days_left},
                        {"expired", c.expired}, {"self_signed", c.self_signed}, {"chain_verified", c.chain_verified},
                        {"name_matches", c.name_matches}, {"verified", c.verified()}, {"verify_error", c.verify_error}};
  }
  j["authenticated"] = r.authenticated;
  nlohmann::json rcpts = nlohmann::json::array();
  for (const auto& [addr, reply] : r.rcpt_replies) rcpts.push_back({{"recipient", addr}, {"reply", reply.text()}});
  j["recipients"] = rcpts;
  if (r.data_reply) j["data_reply"] = r.data_reply->text();
  nlohmann::json t = nlohmann::json::array();
  for (const auto& l : r.transcript)
    t.push_back({{"ms", l.elapsed_ms}, {"dir", std::string(1, l.direction)}, {"text", l.text}});
  j["transcript"] = t;
  j["ok"] = r.ok;
  if (!r.ok) {
    j["failed_stage"] = diagnose::to_string(r.failed_stage);
    j["failure"] = r.failure;
    if (r.failure_reply) j["meaning"] = diagnose::one_line_advice(*r.failure_reply);
  }
  j["advice"] = diagnose::probe_advice(r, o);
  return j.dump(2);
}

void add_test_command(CLI::App& app, CliContext& context) {
  auto args = std::make_shared<TestArgs>();
  CLI::App* cmd = app.add_subcommand("test", "Talk SMTP to a server and show the whole conversation and its first failure");
  cmd->add_option("target", args->target, "HOST or HOST:PORT (port 25 by default, 465 with --tls implicit)")->required();
  cmd->add_option("--connect", args->connect_ip, "connect to this IP address instead of resolving HOST");
  cmd->add_option("--tls", args->tls, "none | opportunistic (default) | required | implicit")
      ->check(CLI::IsMember({"none", "opportunistic", "required", "implicit"}));
  cmd->add_option("--ca-file", args->ca_file, "verify the certificate against this CA file instead of the system store");
  cmd->add_option("--user", args->user, "authenticate as this user (password from --password-file or a prompt)");
  cmd->add_option("--password-file", args->password_file, "file whose first line is the password");
  cmd->add_option("--from", args->from, "MAIL FROM address (with --to)");
  cmd->add_option("--to", args->to, "RCPT TO address (repeatable)");
  cmd->add_flag("--data", args->data, "send a small test message after the recipients were accepted");
  cmd->add_option("--helo", args->helo, "the name to give in EHLO");
  cmd->add_option("--timeout", args->timeout, "seconds for the connection and each reply (default 30)")->check(CLI::Range(1, 600));
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->callback([args, &context] { run_test(*args, context); });
}

}  // namespace sluice::cli
