// diagnose/smtp_probe.hpp: one SMTP conversation with any server, fully recorded — what
// `sluice test HOST[:PORT]` shows and what `sluice doctor` uses to look at a domain's MX hosts.
// Owns: connecting (with timing), the banner, EHLO/HELO and capabilities, STARTTLS or implicit
// TLS with everything about the certificate (subject, SANs, issuer, validity, verification
// against the system store or a CA file and the host name), AUTH PLAIN/LOGIN, MAIL/RCPT and an
// optional DATA with a small test message, QUIT; the transcript (credentials masked) and the
// first failure with its stage.
// Not: delivery (delivery/ talks to peers for the queue, through smtp::ClientSession, whose
// fixed sequence always sends DATA after an accepted RCPT; a probe must be able to stop after
// RCPT, time each step and keep going to inspect a certificate that delivery would refuse),
// what a failure means in words (diagnose_advice / the knowledge base).
// RFC 5321 §3.1-§3.3, §4.2 (replies), §4.5.3.2 (timeouts); RFC 3207 (STARTTLS, §4.2 EHLO again);
// RFC 8314 §3 (implicit TLS); RFC 4954 (AUTH), RFC 4616 (PLAIN); RFC 6125 §6 (host names in
// certificates, checked by OpenSSL's X509_check_host).
// Keeps Asio out of this header: the blocking form runs its own event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/reply.hpp"

namespace sluice::diagnose {

enum class ProbeTls {
  none,           // never STARTTLS
  opportunistic,  // STARTTLS when offered (default)
  required,       // STARTTLS must be offered and succeed
  implicit,       // TLS from the first byte (port 465, RFC 8314)
};

struct ProbeOptions {
  std::string host;               // name or IP literal; the name checked in the certificate
  uint16_t port = 25;
  std::string connect_ip;         // connect here instead of resolving `host` ("" = resolve)
  std::string helo_name = "sluice-test.invalid";
  ProbeTls tls = ProbeTls::opportunistic;
  std::string ca_file;            // verify against this CA file instead of the system store
  std::optional<std::pair<std::string, std::string>> auth;  // user, password
  std::string mail_from;          // empty: stop after EHLO/TLS/AUTH (no MAIL)
  std::vector<std::string> rcpt_to;
  bool send_data = false;         // send a small test message after accepted RCPTs
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds command_timeout{30000};
};

struct CertificateInfo {
  std::string subject;              // "CN=mx.example.net"
  std::string issuer;
  std::vector<std::string> sans;    // DNS names and IP addresses
  std::string not_before, not_after;  // "2026-01-01 00:00:00 UTC"
  long days_left = 0;               // until not_after; negative once expired
  bool expired = false;
  bool not_yet_valid = false;
  bool self_signed = false;
  bool chain_verified = false;      // the chain ends at a trusted CA (system store or ca_file)
  bool name_matches = false;        // the host name is one of the certificate's names
  std::string verify_error;         // OpenSSL's words when the chain failed ("self-signed certificate")
  bool verified() const { return chain_verified && name_matches; }
};

struct TranscriptLine {
  char direction = '*';  // '>' we sent, '<' the server said, '*' an event (connect, TLS)
  std::string text;
  long elapsed_ms = 0;   // since the start of the probe
};

enum class ProbeStage { resolve, connect, greeting, ehlo, starttls, tls, auth, mail, rcpt, data, quit, done };
const char* to_string(ProbeStage s);  // "connect", "greeting", "EHLO", "STARTTLS", ...

struct ProbeReport {
  std::string address;            // "127.0.0.1:25" once connected
  long connect_ms = -1;
  std::string banner;             // the greeting's text, first line
  std::vector<std::string> extensions;  // EHLO lines after the first, as sent
  bool starttls_offered = false;
  std::vector<std::string> auth_mechanisms;
  bool tls = false;
  std::string tls_version, tls_cipher;
  std::optional<CertificateInfo> certificate;
  bool authenticated = false;
  std::vector<std::pair<std::string, Reply>> rcpt_replies;  // recipient, reply
  std::optional<Reply> data_reply;
  std::vector<TranscriptLine> transcript;

  // The first failure; ok when there was none.
  bool ok = true;
  ProbeStage failed_stage = ProbeStage::done;
  std::string failure;            // "Connection refused", "timed out waiting for the banner", a reply's text
  std::optional<Reply> failure_reply;  // when the failure is a server's reply
};

// Runs the conversation on its own event loop and returns when it is over (every step has a
// deadline, so it always returns).
ProbeReport probe_smtp(const ProbeOptions& options);

// One line saying what the first failure means and what to do; "" when the probe passed.
std::string probe_advice(const ProbeReport& report, const ProbeOptions& options);

}  // namespace sluice::diagnose
