// cli/dkim_command.cpp: see dkim_command.hpp.
#include "cli/dkim_command.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "auth/dkim_signer.hpp"
#include "auth/dkim_verifier.hpp"
#include "config/loader.hpp"
#include "dns/unbound_resolver.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kExitFailed = 1;
constexpr int kExitDataErr = 65;
constexpr int kExitNoInput = 66;
constexpr int kExitCantCreat = 73;
constexpr int kExitTempFail = 75;

struct Request {
  std::string domain;
  std::string selector;
  std::string algorithm = "rsa";
  int bits = 2048;
  std::string key_file;
  bool force = false;
  std::string message_file;  // "" = standard input
  std::string dns_server;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Writes `text` to `path` with mode 0600 from the first byte (the key is never readable by
// others, not even for a moment), through a temporary file and a rename so a crash leaves
// either no key or the whole key.
Result<void> write_private(const fs::path& path, const std::string& text, bool force) {
  std::error_code ec;
  if (!force && fs::exists(path, ec))
    return fail(ErrorClass::permanent, path.string() + " exists already; give --force to replace it, or another --key-file");
  if (path.has_parent_path() && !fs::exists(path.parent_path(), ec)) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) return fail(ErrorClass::io, "cannot create " + path.parent_path().string() + ": " + ec.message());
    fs::permissions(path.parent_path(), fs::perms::owner_all, ec);
  }
  const std::string tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorClass::io, "cannot write " + tmp + ": " + std::strerror(errno));
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  written = ::close(fd) == 0 && written;
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(ErrorClass::io, "cannot write " + path.string() + ": " + why);
  }
  return sluice::ok();
}

Result<std::string> read_message(const std::string& file) {
  std::stringstream s;
  if (file.empty() || file == "-") {
    s << std::cin.rdbuf();
    return s.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(ErrorClass::io, "cannot read " + file + ": " + std::strerror(errno));
  s << in.rdbuf();
  return s.str();
}

int run_keygen(const Request& r, CliContext& context) {
  const std::string algorithm = lower(r.algorithm);
  auth::DkimKeyType type;
  if (algorithm == "rsa" || algorithm == "rsa-sha256") type = auth::DkimKeyType::rsa;
  else if (algorithm == "ed25519" || algorithm == "ed25519-sha256") type = auth::DkimKeyType::ed25519;
  else {
    context.err << "sluice dkim keygen: --algorithm must be rsa or ed25519, not " << r.algorithm << "\n";
    return kExitUsage;
  }
  if (type == auth::DkimKeyType::rsa && (r.bits < 1024 || r.bits > 8192)) {
    context.err << "sluice dkim keygen: --bits " << r.bits
                << " is out of range: receivers ignore RSA keys under 1024 bits (RFC 8301); use 2048\n";
    return kExitUsage;
  }
  const std::string domain = lower(r.domain);
  fs::path path = r.key_file;
  if (path.empty()) {
    const auto config = config::load_file(context.config_path);
    if (!config.ok()) {
      for (const auto& e : config.errors) context.err << e.to_string("error") << "\n";
      context.err << "sluice dkim keygen: the configuration has errors; fix them or give --key-file FILE\n";
      return kExitConfig;
    }
    path = fs::path(config.config->server.data_dir) / "dkim" / (domain + "." + r.selector + ".key");
  }
  auto key = auth::DkimKey::generate(type, r.bits);
  if (!key) {
    context.err << "sluice dkim keygen: " << key.error().context << "\n";
    return kExitSoftware;
  }
  auto pem = key->private_pem();
  auto pub = key->public_record_value();
  if (!pem || !pub) {
    context.err << "sluice dkim keygen: cannot encode the new key\n";
    return kExitSoftware;
  }
  if (auto w = write_private(path, *pem, r.force); !w) {
    context.err << "sluice dkim keygen: " << w.error().context << "\n";
    return kExitCantCreat;
  }
  const bool rsa = type == auth::DkimKeyType::rsa;
  const std::string value = std::string("v=DKIM1; k=") + (rsa ? "rsa" : "ed25519") + "; p=" + *pub;
  context.out << "Wrote the private key to " << path.string() << " (mode 0600).\n\n"
              << "Publish this TXT record in the DNS zone of " << domain << ":\n\n"
              << dkim_txt_record(domain, r.selector, value) << "\n\n"
              << "Then add to the configuration and reload:\n\n"
              << "[[dkim]]\ndomain = \"" << domain << "\"\nselector = \"" << r.selector << "\"\nkey_file = \""
              << path.string() << "\"\nalgorithm = \"" << (rsa ? "rsa-sha256" : "ed25519-sha256") << "\"\n";
  if (!rsa) {
    context.out << "\nNot every receiver verifies Ed25519 yet (RFC 8463): sign with an RSA key as well, "
                   "under another selector.\n";
  }
  return kExitOk;
}

int run_sign(const Request& r, CliContext& context) {
  auto signer = auth::DkimSigner::load(r.domain, r.selector, r.key_file);
  if (!signer) {
    context.err << "sluice dkim sign: " << signer.error().context << "\n";
    return kExitDataErr;
  }
  auto message = read_message(r.message_file);
  if (!message) {
    context.err << "sluice dkim sign: " << message.error().context << "\n";
    return kExitNoInput;
  }
  SystemClock clock;
  auto signed_message = signer->sign(*message, clock.now());
  if (!signed_message) {
    context.err << "sluice dkim sign: " << signed_message.error().context << "\n";
    return kExitDataErr;
  }
  context.out << *signed_message;
  return kExitOk;
}

int run_verify(const Request& r, CliContext& context) {
  auto message = read_message(r.message_file);
  if (!message) {
    context.err << "sluice dkim verify: " << message.error().context << "\n";
    return kExitNoInput;
  }
  dns::UnboundOptions options;
  if (!r.dns_server.empty()) {
    std::string server = r.dns_server;
    // unbound spells a port "ip@port"; accept the usual "ip:port" for IPv4.
    if (auto colon = server.rfind(':'); colon != std::string::npos && server.find(':') == colon) server[colon] = '@';
    options.forwarders.push_back(server);
  } else if (auto config = config::load_file(context.config_path); config.ok()) {
    options = dns::unbound_options(config.config->dns);
  }
  asio::io_context loop;
  std::vector<auth::DkimResult> results;
  {
    auto resolver = dns::make_unbound_resolver(loop, options);
    SystemClock clock;
    auth::DkimVerifier verifier(*resolver, clock);
    verifier.verify(*message, [&](std::vector<auth::DkimResult> r) { results = std::move(r); });
    loop.run();
  }
  if (results.empty()) {
    context.out << "dkim=none (the message has no DKIM-Signature)\n";
    return kExitFailed;
  }
  bool all_pass = true, any_fail = false;
  for (const auto& res : results) {
    context.out << "dkim=" << auth::to_string(res.status);
    if (!res.domain.empty()) context.out << " d=" << res.domain << " s=" << res.selector << " a=" << res.algorithm;
    if (!res.header_b.empty()) context.out << " b=" << res.header_b;
    if (res.testing) context.out << " (testing key)";
    if (!res.reason.empty()) context.out << ": " << res.reason;
    context.out << "\n";
    all_pass = all_pass && res.status == auth::DkimStatus::pass;
    any_fail = any_fail || res.status != auth::DkimStatus::temperror;
  }
  if (all_pass) return kExitOk;
  return any_fail ? kExitFailed : kExitTempFail;
}

}  // namespace

std::string dkim_txt_record(const std::string& domain, const std::string& selector, const std::string& value) {
  std::string out = selector + "._domainkey." + domain + ". IN TXT (";
  for (size_t pos = 0; pos < value.size(); pos += 255) out += " \"" + value.substr(pos, 255) + "\"";
  return out + " )";
}

void add_dkim_command(CLI::App& app, CliContext& context) {
  CLI::App* dkim = app.add_subcommand("dkim", "DKIM keys and signatures: keygen, sign, verify");
  dkim->require_subcommand(1);
  auto request = std::make_shared<Request>();

  CLI::App* keygen = dkim->add_subcommand("keygen", "Make a signing key (0600) and print the TXT record to publish");
  keygen->add_option("--domain", request->domain, "the signing domain (d=)")->required();
  keygen->add_option("--selector", request->selector, "the selector (s=), e.g. the year: s2026")->required();
  keygen->add_option("--algorithm", request->algorithm, "rsa (default, 2048 bits) or ed25519");
  keygen->add_option("--bits", request->bits, "RSA key size (default 2048)");
  keygen->add_option("--key-file", request->key_file, "where to write the key (default <data_dir>/dkim/<domain>.<selector>.key)");
  keygen->add_flag("--force", request->force, "replace an existing key file");
  keygen->callback([&context, request] { context.exit_code = run_keygen(*request, context); });

  CLI::App* sign = dkim->add_subcommand("sign", "Print a message with a DKIM-Signature added");
  sign->add_option("--domain", request->domain, "the signing domain (d=)")->required();
  sign->add_option("--selector", request->selector, "the selector (s=)")->required();
  sign->add_option("--key-file", request->key_file, "the private key (PEM)")->required();
  sign->add_option("message", request->message_file, "the message file (default: standard input)");
  sign->callback([&context, request] { context.exit_code = run_sign(*request, context); });

  CLI::App* verify = dkim->add_subcommand("verify", "Verify every DKIM-Signature of a message, looking keys up in the DNS");
  verify->add_option("--dns-server", request->dns_server, "ask this server (IP[:PORT]) instead of [dns] servers");
  verify->add_option("message", request->message_file, "the message file (default: standard input)");
  verify->callback([&context, request] { context.exit_code = run_verify(*request, context); });
}

}  // namespace sluice::cli
