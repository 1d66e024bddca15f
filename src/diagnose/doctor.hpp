// diagnose/doctor.hpp: `sluice doctor DOMAIN` and `sluice doctor --ip ADDR` — the outside-in
// checklist an administrator walks by hand when mail to or from a domain does not flow, each
// finding PASS/WARN/FAIL (or INFO) with one line saying what to do.
// Owns: the checks and their verdicts: MX (present, null MX RFC 7505, addresses), A/AAAA, PTR
// and forward-confirmed reverse DNS, TCP port 25 (refused vs timed out), banner/EHLO, STARTTLS
// and the certificate (through smtp_probe), SPF (RFC 7208 §4.6 syntax, §4.6.4 the 10-lookup
// limit, +all/?all), DMARC (RFC 7489 §6.3: present, p=, rua=), DKIM keys at given or common
// selectors (RFC 6376 §3.6.1), MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) records,
// DNS blocklists for an address (RFC 5782 §2).
// Not: DNS itself (dns::Resolver), the SMTP conversation (smtp_probe), output formats (the CLI),
// full SPF evaluation (auth/spf: the doctor only reads the published policy), DANE TLSA (the
// resolver has no TLSA query yet: reported as not checked).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace asio {
class io_context;
}

namespace sluice::diagnose {

enum class Verdict { pass, info, warn, fail };
const char* to_string(Verdict v);  // "PASS", "INFO", "WARN", "FAIL"

struct Finding {
  std::string section;  // "MX", "Reverse DNS", "SMTP", "TLS", "SPF", "DMARC", "DKIM", ...
  Verdict verdict = Verdict::info;
  std::string message;  // what was found
  std::string advice;   // one line: what to do (for WARN and FAIL)
};

struct DoctorReport {
  std::string subject;  // the domain or address checked
  std::vector<Finding> findings;
  // 0 all pass (INFO included), 1 warnings, 2 failures.
  int exit_code() const;
  size_t count(Verdict v) const;
};

struct DomainCheckOptions {
  std::string domain;
  uint16_t smtp_port = 25;           // tests use another port
  bool check_smtp = true;            // connect to the MX hosts
  size_t max_smtp_hosts = 2;         // the most preferred ones
  std::vector<std::string> dkim_selectors;  // empty: try the common ones
  std::string helo_name = "sluice-doctor.invalid";
  std::string ca_file;               // verify certificates against this CA file
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds command_timeout{30000};
};

// `resolver` must run its callbacks on `loop`, which this call drives until each answer arrives
// (it must not be running elsewhere). Blocking; every step has a deadline.
DoctorReport check_domain(dns::Resolver& resolver, asio::io_context& loop, const DomainCheckOptions& options);

// The address on each DNS blocklist zone: listed (with the return code's meaning and the
// zone's TXT reason) or not.
DoctorReport check_ip(dns::Resolver& resolver, asio::io_context& loop, const std::string& ip,
                      const std::vector<std::string>& zones);

// The human form: sections in order of first appearance, one line per finding, advice below
// each WARN/FAIL, a summary line.
std::string render_text(const DoctorReport& report);

// SPF record analysis without DNS, exposed for tests: the terms that need a DNS lookup
// (include, a, mx, ptr, exists, redirect; RFC 7208 §4.6.4), and syntax errors.
struct SpfTerms {
  std::vector<std::string> includes;   // include: targets and redirect= target (in order)
  int lookups = 0;                     // lookups this record itself causes
  std::string all;                     // the all mechanism with its qualifier ("-all", "+all"), "" if none
  bool has_redirect = false;
  bool uses_ptr = false;
  std::vector<std::string> errors;     // "unknown mechanism 'foo'"
};
SpfTerms parse_spf_terms(const std::string& record);

}  // namespace sluice::diagnose
