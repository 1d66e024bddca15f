// smtp/received_header.cpp: builds our Received field; see received_header.hpp.
#include "smtp/received_header.hpp"

#include <chrono>
#include <cstdio>
#include <vector>

namespace sluice::smtp {
namespace {

constexpr size_t kFoldAt = 78;  // RFC 5322 §2.1.1: SHOULD be no more than 78 characters

// Client-supplied text must not be able to forge structure in the field: no CR/LF (a new
// header), no parentheses or angle brackets or semicolons (a fake clause or date), no spaces.
// UTF-8 octets stay only in a UTF8SMTP transaction (RFC 6532 headers); else they become '?'.
std::string sanitize(std::string_view s, bool keep_utf8) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool printable = c > 32 && c < 127 && ch != '(' && ch != ')' && ch != '<' && ch != '>' &&
                           ch != ';' && ch != '\\' && ch != '"';
    out += printable || (keep_utf8 && c >= 0x80) ? ch : '?';
  }
  return out;
}

std::string sanitize_address(std::string_view s, bool keep_utf8) {
  // A quoted local part may hold spaces and quotes; keep those, drop only what breaks lines
  // or the angle brackets around it.
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 32 && c < 127 && ch != '<' && ch != '>') || (keep_utf8 && c >= 0x80);
    out += ok ? ch : '?';
  }
  return out;
}

// Joins the words of each clause with single spaces; each clause starts a continuation line
// ("\t..."), and inside a clause a word that would pass kFoldAt starts one too. Folding only
// ever happens at a space, as RFC 5322 §2.2.3 requires.
std::string fold(const std::vector<std::vector<std::string>>& clauses) {
  std::string out;
  size_t line_len = 0;
  for (size_t c = 0; c < clauses.size(); ++c) {
    for (size_t i = 0; i < clauses[c].size(); ++i) {
      const std::string& w = clauses[c][i];
      if (c == 0 && i == 0) {
        out += w;
        line_len = w.size();
      } else if (i == 0 || line_len + 1 + w.size() > kFoldAt) {
        out += "\r\n\t";
        out += w;
        line_len = 1 + w.size();  // the tab counts as one octet
      } else {
        out += ' ';
        out += w;
        line_len += 1 + w.size();
      }
    }
  }
  out += "\r\n";
  return out;
}

}  // namespace

std::string rfc5322_date(SystemTime t) {
  using namespace std::chrono;
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const weekday wd{day};
  const hh_mm_ss hms{floor<seconds>(t - day)};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d +0000", kDays[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buf;
}

std::string make_received_header(const ReceivedInfo& info) {
  const bool utf8 = info.protocol.rfind("UTF8", 0) == 0;
  const std::string helo = info.helo.empty() ? std::string("unknown") : sanitize(info.helo, utf8);
  const std::string rev = info.reverse_name.empty() ? std::string("unknown") : sanitize(info.reverse_name, false);
  // RFC 5321 §4.1.3 address literal: IPv6 carries its tag.
  const bool v6 = info.ip.find(':') != std::string::npos;
  const std::string literal = "[" + std::string(v6 ? "IPv6:" : "") + sanitize(info.ip, false) + "]";

  // Clauses on lines of their own, as Postfix writes them, so admins read them at a glance.
  std::vector<std::vector<std::string>> clauses;
  clauses.push_back({"Received:", "from", helo, "(" + rev, literal + ")"});
  if (!info.tls_version.empty()) {
    std::vector<std::string> tls = {"(using", sanitize(info.tls_version, false), "with", "cipher",
                                    sanitize(info.tls_cipher, false)};
    if (info.tls_bits > 0) {
      const std::string bits = std::to_string(info.tls_bits);
      tls.push_back("(" + bits + "/" + bits + "");
      tls.push_back("bits)");
    }
    tls.back() += ")";
    clauses.push_back(std::move(tls));
  }
  if (!info.auth_user.empty()) {
    clauses.push_back({"(Authenticated", "sender:", sanitize(info.auth_user, true) + ")"});
  }
  std::vector<std::string> by = {"by", sanitize(info.hostname, false), "(sluice)", "with",
                                 sanitize(info.protocol, false)};
  if (!info.queue_id.empty()) {
    by.push_back("id");
    by.push_back(sanitize(info.queue_id, false));
  }
  const std::string date = rfc5322_date(info.when);
  if (!info.for_recipient.empty()) {
    clauses.push_back(std::move(by));
    clauses.push_back({"for", "<" + sanitize_address(info.for_recipient, utf8) + ">;", date});
  } else {
    by.back() += ";";
    clauses.push_back(std::move(by));
    clauses.push_back({date});
  }
  std::string out = fold(clauses);
  return out;
}

}  // namespace sluice::smtp
