// tests/unit/diagnose/probe_peer.hpp: what the probe and doctor tests talk to — certificates made
// by the test (self-signed, signed by a test CA, expired, for another name), and a scripted SMTP
// peer on 127.0.0.1 port 0 that serves one connection on its own thread with blocking I/O
// (the probe runs its own event loop, so the peer cannot share it).
// Not a conformance test of anything: just enough SMTP to produce each finding.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::diagnose::testing_peer {

inline std::string make_temp_dir() {
  std::string tmpl = ::testing::TempDir() + "probeXXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

struct KeyAndCert {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string key_file, cert_file;
};

// A P-256 key and a certificate for `name` valid from now+from_days to now+to_days, signed by
// `issuer` (self-signed when null), written as PEM files into `dir`.
inline KeyAndCert make_certificate(const std::string& dir, const std::string& file_stem, const std::string& name,
                                   long from_days, long to_days, const KeyAndCert* issuer, bool is_ca = false) {
  KeyAndCert kc;
  kc.key = EVP_EC_gen("P-256");
  kc.cert = X509_new();
  X509_set_version(kc.cert, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(kc.cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(kc.cert), from_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(kc.cert), to_days * 86400);
  X509_set_pubkey(kc.cert, kc.key);
  X509_NAME* subject = X509_get_subject_name(kc.cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(kc.cert, issuer ? X509_get_subject_name(issuer->cert) : subject);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer->cert : kc.cert, kc.cert, nullptr, nullptr, 0);
  auto add_ext = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(kc.cert, ext, -1);
    X509_EXTENSION_free(ext);
  };
  if (is_ca) {
    add_ext(NID_basic_constraints, "critical,CA:TRUE");
    add_ext(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(NID_subject_alt_name, "DNS:" + name);
  }
  X509_sign(kc.cert, issuer ? issuer->key : kc.key, EVP_sha256());
  kc.key_file = dir + "/" + file_stem + ".key";
  kc.cert_file = dir + "/" + file_stem + ".crt";
  FILE* f = std::fopen(kc.key_file.c_str(), "w");
  PEM_write_PrivateKey(f, kc.key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen(kc.cert_file.c_str(), "w");
  PEM_write_X509(f, kc.cert);
  std::fclose(f);
  return kc;
}

inline void free_certificate(KeyAndCert& kc) {
  X509_free(kc.cert);
  EVP_PKEY_free(kc.key);
  kc.cert = nullptr;
  kc.key = nullptr;
}

struct PeerScript {
  std::string greeting = "220 peer.test ESMTP probe peer";  // "" = accept and never speak
  bool starttls = false;
  std::string cert_file, key_file;  // for STARTTLS
  std::vector<std::string> auth_mechanisms;  // e.g. {"PLAIN", "LOGIN"}
  std::string auth_reply = "235 2.7.0 Authentication successful";
  std::string rcpt_reply = "250 2.1.5 Ok";
  std::string data_end_reply = "250 2.0.0 Ok: queued as TEST";
};

// Serves exactly one connection, then ends. Records each command line received.
class ProbePeer {
 public:
  explicit ProbePeer(PeerScript script)
      : script_(std::move(script)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~ProbePeer() {
    asio::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  // Valid once the probe returned (the peer's thread has then read everything).
  std::vector<std::string> lines() {
    if (thread_.joinable()) thread_.join();
    return lines_;
  }

 private:
  void serve() {
    asio::ip::tcp::socket sock(io_);
    asio::error_code ec;
    acceptor_.accept(sock, ec);
    if (ec) return;
    if (script_.greeting.empty()) {
      // Never speak: wait for the client to give up and close.
      char c;
      sock.read_some(asio::buffer(&c, 1), ec);
      return;
    }
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    std::optional<asio::ssl::stream<asio::ip::tcp::socket&>> tls;
    std::string in;
    auto send = [&](const std::string& s) {
      const std::string b = s + "\r\n";
      if (tls) asio::write(*tls, asio::buffer(b), ec); else asio::write(sock, asio::buffer(b), ec);
    };
    auto read_line = [&](std::string& line) -> bool {
      char buf[1024];
      for (;;) {
        size_t eol = in.find("\r\n");
        if (eol != std::string::npos) {
          line = in.substr(0, eol);
          in.erase(0, eol + 2);
          return true;
        }
        size_t n = tls ? tls->read_some(asio::buffer(buf), ec) : sock.read_some(asio::buffer(buf), ec);
        if (ec) return false;
        in.append(buf, n);
      }
    };
    send(script_.greeting);
    std::string line;
    bool in_data = false;
    while (read_line(line)) {
      if (in_data) {
        if (line == ".") {
          in_data = false;
          send(script_.data_end_reply);
        }
        continue;
      }
      lines_.push_back(line);
      std::string verb = line.substr(0, line.find(' '));
      for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (verb == "EHLO") {
        std::vector<std::string> ext{"250-peer.test", "250-PIPELINING"};
        if (script_.starttls && !tls) ext.push_back("250-STARTTLS");
        if (!script_.auth_mechanisms.empty()) {
          std::string a = "250-AUTH";
          for (const auto& m : script_.auth_mechanisms) a += " " + m;
          ext.push_back(a);
        }
        ext.push_back("250 8BITMIME");
        for (const auto& e : ext) send(e);
      } else if (verb == "STARTTLS" && script_.starttls) {
        send("220 2.0.0 Ready to start TLS");
        ctx.use_certificate_chain_file(script_.cert_file);
        ctx.use_private_key_file(script_.key_file, asio::ssl::context::pem);
        tls.emplace(sock, ctx);
        tls->handshake(asio::ssl::stream_base::server, ec);
        if (ec) return;
        in.clear();
      } else if (verb == "AUTH") {
        if (line.rfind("AUTH LOGIN", 0) == 0 || line.rfind("auth login", 0) == 0) {
          send("334 VXNlcm5hbWU6");
          if (!read_line(line)) return;
          lines_.push_back(line);
          send("334 UGFzc3dvcmQ6");
          if (!read_line(line)) return;
          lines_.push_back(line);
        }
        send(script_.auth_reply);
      } else if (verb == "MAIL" || verb == "RSET") {
        send("250 2.0.0 Ok");
      } else if (verb == "RCPT") {
        send(script_.rcpt_reply);
      } else if (verb == "DATA") {
        send("354 End data with <CR><LF>.<CR><LF>");
        in_data = true;
      } else if (verb == "QUIT") {
        send("221 2.0.0 Bye");
        return;
      } else {
        send("502 5.5.2 Error: command not recognized");
      }
    }
  }

  PeerScript script_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::string> lines_;
};

}  // namespace sluice::diagnose::testing_peer
