// diagnose/doctor.cpp: see doctor.hpp. The checks run one after the other on the caller's
// thread, each DNS question answered by driving the resolver's loop until its callback ran:
// a doctor run is a handful of queries, clarity beats concurrency here.
#include "diagnose/doctor.hpp"

#include <algorithm>
#include <asio/io_context.hpp>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include "diagnose/smtp_probe.hpp"

namespace sluice::diagnose {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::info: return "INFO";
    case Verdict::warn: return "WARN";
    case Verdict::fail: return "FAIL";
  }
  return "?";
}

int DoctorReport::exit_code() const {
  if (count(Verdict::fail)) return 2;
  if (count(Verdict::warn)) return 1;
  return 0;
}

size_t DoctorReport::count(Verdict v) const {
  return static_cast<size_t>(std::count_if(findings.begin(), findings.end(), [v](const Finding& f) { return f.verdict == v; }));
}

namespace {

constexpr int kSpfLookupLimit = 10;  // RFC 7208 §4.6.4
constexpr int kCertificateWarnDays = 14;
const std::vector<std::string> kCommonDkimSelectors = {"default", "dkim", "mail", "selector1", "selector2",
                                                       "google", "k1", "s1", "s2", "sluice"};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Asks one question and drives `loop` until the answer's callback ran.
template <typename T, typename Start>
dns::Answer<T> wait_for(asio::io_context& loop, Start start) {
  std::optional<dns::Answer<T>> got;
  start([&got](dns::Answer<T> a) { got = std::move(a); });
  loop.restart();
  while (!got) {
    if (loop.run_one() == 0) break;  // no work left and no answer: the resolver is broken
  }
  if (!got) {
    dns::Answer<T> none;
    none.status = dns::Status::error;
    none.detail = "the resolver gave no answer";
    return none;
  }
  return std::move(*got);
}

struct Dns {
  dns::Resolver& r;
  asio::io_context& loop;
  dns::Answer<dns::MxRecord> mx(const std::string& n) {
    return wait_for<dns::MxRecord>(loop, [&](auto cb) { r.mx(n, std::move(cb)); });
  }
  dns::Answer<std::string> a(const std::string& n) {
    return wait_for<std::string>(loop, [&](auto cb) { r.a(n, std::move(cb)); });
  }
  dns::Answer<std::string> aaaa(const std::string& n) {
    return wait_for<std::string>(loop, [&](auto cb) { r.aaaa(n, std::move(cb)); });
  }
  dns::Answer<std::string> txt(const std::string& n) {
    return wait_for<std::string>(loop, [&](auto cb) { r.txt(n, std::move(cb)); });
  }
  dns::Answer<std::string> ptr(const std::string& ip) {
    return wait_for<std::string>(loop, [&](auto cb) { r.ptr(ip, std::move(cb)); });
  }
  // TXT records that start with `prefix` (case-insensitive, then a space, ';' or the end).
  std::vector<std::string> records(const dns::Answer<std::string>& ans, const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& t : ans.records) {
      const std::string l = lower(t);
      if (l.rfind(lower(prefix), 0) == 0 && (l.size() == prefix.size() || l[prefix.size()] == ' ' || l[prefix.size()] == ';'))
        out.push_back(t);
    }
    return out;
  }
};

bool transient(dns::Status s) { return s == dns::Status::servfail || s == dns::Status::timeout || s == dns::Status::error; }

class Checker {
 public:
  Checker(Dns dns, DoctorReport& rep) : dns_(dns), rep_(rep) {}
  void add(std::string section, Verdict v, std::string message, std::string advice = "") {
    rep_.findings.push_back({std::move(section), v, std::move(message), std::move(advice)});
  }

  // Returns the MX hosts to look at (empty for null MX or failures).
  std::vector<std::string> mx(const std::string& domain) {
    auto ans = dns_.mx(domain);
    if (ans.status == dns::Status::nxdomain) {
      add("MX", Verdict::fail, domain + " does not exist (NXDOMAIN)", "register the domain or fix its delegation at the registrar");
      return {};
    }
    if (transient(ans.status)) {
      add("MX", Verdict::fail, std::string("MX lookup failed: ") + dns::to_string(ans.status) + (ans.detail.empty() ? "" : " (" + ans.detail + ")"),
          "fix the domain's name servers: senders cannot find where to deliver and will defer");
      return {};
    }
    if (ans.status == dns::Status::nodata) {
      auto a = dns_.a(domain);
      if (a.status == dns::Status::ok) {
        add("MX", Verdict::warn, "no MX record: senders fall back to the domain's own address " + a.records.front() + " (implicit MX)",
            "publish an MX record naming the host that receives mail for " + domain);
        return {domain};
      }
      add("MX", Verdict::fail, "no MX record and no address: nobody can send mail to " + domain,
          "publish an MX record (e.g. '" + domain + ". MX 10 mail." + domain + ".') and the host's A record");
      return {};
    }
    if (ans.records.size() == 1 && ans.records.front().exchange.empty()) {
      add("MX", Verdict::warn, "null MX (RFC 7505): " + domain + " declares that it accepts no mail",
          "remove the null MX if " + domain + " should receive mail");
      return {};
    }
    std::vector<std::string> hosts;
    for (const auto& r : ans.records) {
      if (r.exchange.empty()) {
        add("MX", Verdict::fail, "a null MX mixed with other MX records", "a null MX must be the only MX record (RFC 7505 §3)");
        continue;
      }
      add("MX", Verdict::pass, "MX " + std::to_string(r.preference) + " " + r.exchange);
      hosts.push_back(r.exchange);
    }
    return hosts;
  }

  // The addresses of an MX host (A and AAAA), with a finding when there are none.
  std::vector<std::string> addresses(const std::string& host) {
    std::vector<std::string> out;
    auto a = dns_.a(host);
    auto aaaa = dns_.aaaa(host);
    for (const auto& x : a.records) out.push_back(x);
    for (const auto& x : aaaa.records) out.push_back(x);
    if (out.empty()) {
      const bool temp = transient(a.status) || transient(aaaa.status);
      add("Addresses", Verdict::fail,
          host + " has no address (" + (temp ? std::string("lookup failed: ") + dns::to_string(transient(a.status) ? a.status : aaaa.status)
                                             : std::string(dns::to_string(a.status))) + ")",
          "publish an A (and AAAA) record for " + host + ", or point the MX at a host that has one");
    } else {
      std::string list;
      for (const auto& x : out) list += (list.empty() ? "" : ", ") + x;
      add("Addresses", Verdict::pass, host + " has " + list);
    }
    return out;
  }

  void reverse(const std::string& ip, const std::string& host) {
    auto names = dns_.ptr(ip);
    if (names.status != dns::Status::ok) {
      add("Reverse DNS", Verdict::fail, ip + " (" + host + ") has no PTR record (" + dns::to_string(names.status) + ")",
          "ask whoever owns the address block (your ISP or cloud provider) to set its PTR to " + host);
      return;
    }
    for (const auto& name : names.records) {
      auto fwd = ip.find(':') == std::string::npos ? dns_.a(name) : dns_.aaaa(name);
      if (std::find(fwd.records.begin(), fwd.records.end(), ip) != fwd.records.end()) {
        add("Reverse DNS", Verdict::pass, ip + " PTR " + name + ", which resolves back (FCrDNS)");
        return;
      }
    }
    add("Reverse DNS", Verdict::fail, ip + " PTR " + names.records.front() + ", which does not resolve back to " + ip,
        "make the PTR name's A/AAAA record include " + ip + " (many receivers refuse mail without forward-confirmed reverse DNS)");
  }

  void smtp(const std::string& host, const std::string& ip, const DomainCheckOptions& o) {
    ProbeOptions po;
    po.host = host;
    po.connect_ip = ip;
    po.port = o.smtp_port;
    po.helo_name = o.helo_name;
    po.ca_file = o.ca_file;
    po.tls = ProbeTls::opportunistic;
    po.connect_timeout = o.connect_timeout;
    po.command_timeout = o.command_timeout;
    ProbeReport r = probe_smtp(po);
    const std::string where = host + " [" + ip + "]:" + std::to_string(o.smtp_port);
    if (!r.ok && (r.failed_stage == ProbeStage::connect || r.failed_stage == ProbeStage::resolve)) {
      const bool refused = r.failure.find("refused") != std::string::npos;
      const bool timed_out = r.failure.find("timed out") != std::string::npos;
      add("SMTP", Verdict::fail, where + ": " + r.failure,
          refused ? "nothing accepts connections on port " + std::to_string(o.smtp_port) + ": start the mail server or fix its listen address"
          : timed_out ? "packets are dropped: open port " + std::to_string(o.smtp_port) + " in the firewall (and check the provider does not block it)"
                      : probe_advice(r, po));
      return;
    }
    if (!r.ok && r.failed_stage == ProbeStage::greeting) {
      add("SMTP", Verdict::fail, where + " accepted the connection but: " + r.failure, probe_advice(r, po));
      return;
    }
    add("SMTP", Verdict::pass, where + " answers in " + std::to_string(r.connect_ms) + " ms: " + r.banner);
    if (!r.ok && r.failed_stage == ProbeStage::ehlo) {
      add("SMTP", Verdict::fail, where + " refused EHLO: " + r.failure, probe_advice(r, po));
      return;
    }
    if (!r.starttls_offered) {
      add("TLS", Verdict::warn, where + " does not offer STARTTLS: mail to it travels in clear text",
          "configure a certificate and enable STARTTLS on the server");
      return;
    }
    if (!r.tls || !r.certificate) {
      add("TLS", Verdict::fail, where + " offers STARTTLS but it fails: " + r.failure, probe_advice(r, po));
      return;
    }
    const CertificateInfo& c = *r.certificate;
    const std::string tls = r.tls_version + " " + r.tls_cipher;
    if (c.expired) {
      add("TLS", Verdict::fail, where + ": certificate " + c.subject + " expired on " + c.not_after,
          "renew the certificate: senders that verify (MTA-STS, DANE, 'verify' connectors) refuse to deliver");
    } else if (c.self_signed) {
      add("TLS", Verdict::warn, where + ": " + tls + ", self-signed certificate " + c.subject,
          "install a certificate from a public CA (e.g. Let's Encrypt) for " + host);
    } else if (!c.chain_verified) {
      add("TLS", Verdict::warn, where + ": " + tls + ", certificate does not verify: " + c.verify_error,
          "install the full chain (with intermediates) from a public CA");
    } else if (!c.name_matches) {
      std::string names;
      for (const auto& s : c.sans) names += (names.empty() ? "" : ", ") + s;
      add("TLS", Verdict::warn, where + ": certificate names " + (names.empty() ? c.subject : names) + ", not " + host,
          "get a certificate that includes " + host + " (the MX name)");
    } else if (c.days_left < kCertificateWarnDays) {
      add("TLS", Verdict::warn, where + ": certificate expires in " + std::to_string(c.days_left) + " days (" + c.not_after + ")",
          "renew it now; check that automatic renewal works");
    } else {
      add("TLS", Verdict::pass, where + ": " + tls + ", certificate verified, expires in " + std::to_string(c.days_left) + " days");
    }
  }

  void spf(const std::string& domain) {
    auto ans = dns_.txt(domain);
    if (transient(ans.status)) {
      add("SPF", Verdict::fail, std::string("TXT lookup for ") + domain + " failed: " + dns::to_string(ans.status),
          "fix the name servers: receivers treat this as a temporary SPF error");
      return;
    }
    auto recs = dns_.records(ans, "v=spf1");
    if (recs.empty()) {
      add("SPF", Verdict::fail, "no SPF record for " + domain,
          "publish a TXT record such as 'v=spf1 mx -all' listing the hosts that send mail for " + domain);
      return;
    }
    if (recs.size() > 1) {
      add("SPF", Verdict::fail, std::to_string(recs.size()) + " SPF records for " + domain + " (a permerror for every receiver)",
          "merge them into one TXT record (RFC 7208 §4.5)");
      return;
    }
    const SpfTerms top = parse_spf_terms(recs.front());
    add("SPF", Verdict::info, "record: " + recs.front());
    for (const auto& e : top.errors) add("SPF", Verdict::fail, "syntax: " + e, "fix the record: receivers answer permerror and may refuse the mail");
    // Walk include/redirect targets, counting every DNS-querying term (RFC 7208 §4.6.4).
    int lookups = top.lookups;
    std::vector<std::string> pending = top.includes;
    std::set<std::string> seen{lower(domain)};
    std::vector<std::string> problems;
    for (size_t guard = 0; !pending.empty() && guard < 40 && lookups <= 3 * kSpfLookupLimit; ++guard) {
      const std::string target = pending.front();
      pending.erase(pending.begin());
      if (target.find('%') != std::string::npos || !seen.insert(lower(target)).second) continue;
      auto inc = dns_.txt(target);
      auto irecs = dns_.records(inc, "v=spf1");
      if (irecs.size() != 1) {
        problems.push_back(target + (irecs.empty() ? " has no SPF record" : " has several SPF records"));
        continue;
      }
      const SpfTerms t = parse_spf_terms(irecs.front());
      lookups += t.lookups;
      for (const auto& e : t.errors) problems.push_back(target + ": " + e);
      pending.insert(pending.end(), t.includes.begin(), t.includes.end());
    }
    for (const auto& p : problems)
      add("SPF", Verdict::fail, "included " + p, "fix or remove that include: receivers answer permerror");
    if (lookups > kSpfLookupLimit) {
      add("SPF", Verdict::fail, std::to_string(lookups) + " DNS lookups (the limit is 10): receivers answer permerror",
          "flatten includes (replace some by ip4:/ip6: ranges) or drop unused ones");
    } else {
      add("SPF", Verdict::pass, std::to_string(lookups) + " DNS lookups (limit 10)");
    }
    if (top.uses_ptr) add("SPF", Verdict::warn, "uses the ptr mechanism (slow, deprecated by RFC 7208 §5.5)", "replace ptr by ip4:/ip6: or a");
    if (top.all == "+all" || top.all == "all") {
      add("SPF", Verdict::fail, "'" + top.all + "' authorizes every host on the internet to send as " + domain,
          "end the record with '-all' (or '~all') after listing your senders");
    } else if (top.all == "?all") {
      add("SPF", Verdict::warn, "'?all' is neutral: SPF protects nothing for " + domain, "end the record with '-all' or '~all'");
    } else if (top.all.empty() && !top.has_redirect) {
      add("SPF", Verdict::warn, "no 'all' at the end: unlisted hosts get neutral", "end the record with '-all' or '~all'");
    } else if (!top.all.empty()) {
      add("SPF", Verdict::pass, "ends with '" + top.all + "'");
    }
  }

  void dmarc(const std::string& domain) {
    auto ans = dns_.txt("_dmarc." + domain);
    if (transient(ans.status)) {
      add("DMARC", Verdict::fail, std::string("lookup of _dmarc.") + domain + " failed: " + dns::to_string(ans.status),
          "fix the name servers");
      return;
    }
    auto recs = dns_.records(ans, "v=DMARC1");
    if (recs.empty()) {
      add("DMARC", Verdict::fail, "no DMARC record at _dmarc." + domain,
          "publish 'v=DMARC1; p=none; rua=mailto:dmarc@" + domain + "' and tighten p= once reports look clean (large receivers require DMARC)");
      return;
    }
    if (recs.size() > 1) {
      add("DMARC", Verdict::fail, "several DMARC records at _dmarc." + domain + ": receivers ignore them all", "keep exactly one");
      return;
    }
    std::map<std::string, std::string> tags;
    const std::string& rec = recs.front();
    size_t pos = 0;
    while (pos < rec.size()) {
      size_t end = rec.find(';', pos);
      if (end == std::string::npos) end = rec.size();
      std::string item = rec.substr(pos, end - pos);
      pos = end + 1;
      const size_t eq = item.find('=');
      if (eq == std::string::npos) continue;
      auto trim = [](std::string s) {
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
        return s;
      };
      tags[lower(trim(item.substr(0, eq)))] = trim(item.substr(eq + 1));
    }
    add("DMARC", Verdict::info, "record: " + rec);
    const std::string p = lower(tags["p"]);
    if (p.empty()) {
      add("DMARC", Verdict::fail, "the DMARC record has no p= policy (invalid)", "add p=none, p=quarantine or p=reject right after v=DMARC1");
    } else if (p == "none") {
      add("DMARC", Verdict::warn, "policy p=none: monitoring only, spoofed mail is still delivered",
          "move to p=quarantine, then p=reject, once the aggregate reports show only your own senders");
    } else if (p == "quarantine" || p == "reject") {
      add("DMARC", Verdict::pass, "policy p=" + p);
    } else {
      add("DMARC", Verdict::fail, "unknown policy p=" + p, "use none, quarantine or reject");
    }
    if (tags.count("rua") == 0) {
      add("DMARC", Verdict::warn, "no rua= reporting address: you receive no aggregate reports", "add rua=mailto:dmarc-reports@" + domain);
    } else {
      add("DMARC", Verdict::pass, "aggregate reports go to " + tags["rua"]);
    }
  }

  void dkim(const std::string& domain, const std::vector<std::string>& given) {
    const bool guessing = given.empty();
    const auto& selectors = guessing ? kCommonDkimSelectors : given;
    size_t found = 0;
    for (const auto& sel : selectors) {
      const std::string name = sel + "._domainkey." + domain;
      auto ans = dns_.txt(name);
      std::vector<std::string> keys;
      for (const auto& t : ans.records)
        if (t.find("p=") != std::string::npos) keys.push_back(t);
      if (keys.empty()) {
        if (!guessing)
          add("DKIM", Verdict::fail, "no DKIM key at " + name + " (" + dns::to_string(ans.status) + ")",
              "publish the public key the signer uses (e.g. 'sluice dkim keygen' prints the record)");
        continue;
      }
      ++found;
      const std::string& k = keys.front();
      // p= empty means the key was revoked (RFC 6376 §3.6.1).
      const size_t p = k.find("p=");
      size_t v = p + 2;
      while (v < k.size() && k[v] == ' ') ++v;
      if (v >= k.size() || k[v] == ';') {
        add("DKIM", Verdict::warn, "the key at " + name + " is revoked (empty p=)", "publish the current key or stop signing with selector " + sel);
      } else {
        const bool ed = lower(k).find("k=ed25519") != std::string::npos;
        add("DKIM", Verdict::pass, std::string("key at ") + name + " (" + (ed ? "ed25519" : "rsa") + ")");
      }
    }
    if (guessing && found == 0) {
      std::string list;
      for (const auto& s : selectors) list += (list.empty() ? "" : ", ") + s;
      add("DKIM", Verdict::warn, "no DKIM key at the common selectors (" + list + ")",
          "give the selector your signer uses with --selector, or set up DKIM signing");
    }
  }

  void mta_sts(const std::string& domain) {
    auto sts = dns_.records(dns_.txt("_mta-sts." + domain), "v=STSv1");
    if (sts.empty()) {
      add("MTA-STS", Verdict::info, "no MTA-STS record at _mta-sts." + domain + ": senders may deliver without verified TLS",
          "publish _mta-sts TXT 'v=STSv1; id=...' and the policy at https://mta-sts." + domain + "/.well-known/mta-sts.txt");
    } else {
      add("MTA-STS", Verdict::pass, "record: " + sts.front());
    }
    auto rpt = dns_.records(dns_.txt("_smtp._tls." + domain), "v=TLSRPTv1");
    if (rpt.empty()) {
      add("TLS-RPT", Verdict::info, "no TLS-RPT record at _smtp._tls." + domain,
          "publish 'v=TLSRPTv1; rua=mailto:tlsrpt@" + domain + "' to hear about TLS failures toward you");
    } else if (rpt.front().find("rua=") == std::string::npos) {
      add("TLS-RPT", Verdict::warn, "TLS-RPT record without rua=: " + rpt.front(), "add rua=mailto:...");
    } else {
      add("TLS-RPT", Verdict::pass, "record: " + rpt.front());
    }
  }

 private:
  Dns dns_;
  DoctorReport& rep_;
};

// What a blocklist return code means, for the zones whose codes are documented.
std::string listing_meaning(const std::string& zone, const std::string& code) {
  const std::string z = lower(zone);
  if (code.rfind("127.255.255.", 0) == 0)
    return "the list refused the query (error code " + code + "): it is not a listing; query it from your own resolver, not a public one";
  if (z.find("spamhaus") != std::string::npos) {
    static const std::map<std::string, std::string> kCodes = {
        {"127.0.0.2", "SBL: a spam source or spam operation"},
        {"127.0.0.3", "SBL CSS: snowshoe spam or a compromised host"},
        {"127.0.0.4", "XBL: an infected or exploited host"},
        {"127.0.0.9", "DROP: a hijacked or criminal network"},
        {"127.0.0.10", "PBL: a dynamic/end-user range that should not send mail directly (provider policy)"},
        {"127.0.0.11", "PBL: a range Spamhaus marks as not meant to send mail directly"}};
    auto it = kCodes.find(code);
    if (it != kCodes.end()) return it->second;
  }
  return "listed (return code " + code + ")";
}

std::string removal_hint(const std::string& zone) {
  const std::string z = lower(zone);
  if (z.find("spamhaus") != std::string::npos) return "look the address up and request removal at https://check.spamhaus.org/";
  if (z.find("spamcop") != std::string::npos) return "SpamCop listings expire by themselves 24 h after the last report: stop the spam source";
  if (z.find("barracuda") != std::string::npos) return "request removal at https://www.barracudacentral.org/rbl/removal-request";
  if (z.find("sorbs") != std::string::npos) return "request delisting at the SORBS support site";
  return "find and stop what sent the spam, then request removal from the operator of " + zone;
}

}  // namespace

SpfTerms parse_spf_terms(const std::string& record) {
  SpfTerms t;
  size_t pos = 0;
  bool first = true;
  while (pos < record.size()) {
    while (pos < record.size() && record[pos] == ' ') ++pos;
    if (pos >= record.size()) break;
    size_t end = record.find(' ', pos);
    if (end == std::string::npos) end = record.size();
    std::string term = record.substr(pos, end - pos);
    pos = end;
    if (first) {
      first = false;
      if (lower(term) != "v=spf1") t.errors.push_back("the record does not start with v=spf1");
      continue;
    }
    const size_t eq = term.find('=');
    const size_t colon = term.find_first_of(":/");
    if (eq != std::string::npos && (colon == std::string::npos || eq < colon)) {
      const std::string name = lower(term.substr(0, eq));
      const std::string value = term.substr(eq + 1);
      if (name == "redirect") {
        t.has_redirect = true;
        ++t.lookups;
        t.includes.push_back(value);
      } else if (name != "exp" && (name.empty() || !std::isalpha(static_cast<unsigned char>(name[0])))) {
        t.errors.push_back("malformed modifier '" + term + "'");
      }
      continue;  // unknown modifiers are ignored (RFC 7208 §6)
    }
    std::string qualifier;
    if (!term.empty() && (term[0] == '+' || term[0] == '-' || term[0] == '~' || term[0] == '?')) {
      qualifier = term.substr(0, 1);
      term.erase(0, 1);
    }
    const std::string name = lower(term.substr(0, term.find_first_of(":/")));
    const std::string arg = colon == std::string::npos ? "" : term.substr(term.find_first_of(":/"));
    if (name == "all") {
      if (!arg.empty()) t.errors.push_back("'all' takes no argument");
      t.all = qualifier + "all";
    } else if (name == "include") {
      ++t.lookups;
      if (arg.size() < 2 || arg[0] != ':') t.errors.push_back("include needs a domain (include:example.com)");
      else t.includes.push_back(arg.substr(1));
    } else if (name == "a" || name == "mx" || name == "exists") {
      ++t.lookups;
      if (name == "exists" && (arg.size() < 2 || arg[0] != ':')) t.errors.push_back("exists needs a domain");
    } else if (name == "ptr") {
      ++t.lookups;
      t.uses_ptr = true;
    } else if (name == "ip4" || name == "ip6") {
      if (arg.size() < 2 || arg[0] != ':') t.errors.push_back(name + " needs an address");
    } else {
      t.errors.push_back("unknown mechanism '" + qualifier + term + "'");
    }
  }
  return t;
}

DoctorReport check_domain(dns::Resolver& resolver, asio::io_context& loop, const DomainCheckOptions& o) {
  DoctorReport rep;
  rep.subject = o.domain;
  Checker c(Dns{resolver, loop}, rep);
  const auto hosts = c.mx(o.domain);
  size_t probed = 0;
  for (const auto& host : hosts) {
    const auto addrs = c.addresses(host);
    for (size_t i = 0; i < addrs.size() && i < 2; ++i) c.reverse(addrs[i], host);
    if (o.check_smtp && probed < o.max_smtp_hosts && !addrs.empty()) {
      c.smtp(host, addrs.front(), o);
      ++probed;
    }
  }
  c.spf(o.domain);
  c.dmarc(o.domain);
  c.dkim(o.domain, o.dkim_selectors);
  c.mta_sts(o.domain);
  if (!hosts.empty())
    c.add("DANE", Verdict::info, "TLSA records not checked: the resolver does not query TLSA yet",
          "check with 'dig TLSA _25._tcp." + hosts.front() + "'");
  return rep;
}

DoctorReport check_ip(dns::Resolver& resolver, asio::io_context& loop, const std::string& ip,
                      const std::vector<std::string>& zones) {
  DoctorReport rep;
  rep.subject = ip;
  Dns dns{resolver, loop};
  Checker c(dns, rep);
  std::string rev = dns::reverse_name(ip);
  if (rev.empty()) {
    c.add("Blocklists", Verdict::fail, ip + " is not an IP address", "give an IPv4 or IPv6 address");
    return rep;
  }
  // "4.3.2.1.in-addr.arpa" -> "4.3.2.1" (RFC 5782 §2.1, §2.4 nibbles for IPv6).
  rev = rev.substr(0, rev.rfind(ip.find(':') == std::string::npos ? ".in-addr.arpa" : ".ip6.arpa"));
  if (zones.empty()) {
    c.add("Blocklists", Verdict::info, "no [[dnsbl]] zones configured and none given",
          "add [[dnsbl]] zone = \"...\" to the configuration or pass --zone");
    return rep;
  }
  for (const auto& zone : zones) {
    const std::string name = rev + "." + zone;
    auto ans = dns.a(name);
    if (ans.status == dns::Status::nxdomain || ans.status == dns::Status::nodata) {
      c.add("Blocklists", Verdict::pass, ip + " is not listed on " + zone);
    } else if (ans.status == dns::Status::ok) {
      const std::string code = ans.records.front();
      const std::string meaning = listing_meaning(zone, code);
      auto txt = dns.txt(name);
      const std::string reason = txt.records.empty() ? "" : " — " + txt.records.front();
      if (code.rfind("127.255.255.", 0) == 0) {
        c.add("Blocklists", Verdict::warn, zone + ": " + meaning, "use a resolver of your own for DNSBL queries");
      } else {
        c.add("Blocklists", Verdict::fail, ip + " is listed on " + zone + ": " + meaning + reason, removal_hint(zone));
      }
    } else {
      c.add("Blocklists", Verdict::warn, zone + " did not answer (" + dns::to_string(ans.status) + ")",
            "check that the zone name is right and reachable from this resolver");
    }
  }
  return rep;
}

std::string render_text(const DoctorReport& report) {
  std::string out = "sluice doctor: " + report.subject + "\n";
  std::vector<std::string> order;
  for (const auto& f : report.findings)
    if (std::find(order.begin(), order.end(), f.section) == order.end()) order.push_back(f.section);
  for (const auto& section : order) {
    out += "\n" + section + "\n";
    for (const auto& f : report.findings) {
      if (f.section != section) continue;
      out += std::string("  ") + to_string(f.verdict) + "  " + f.message + "\n";
      if ((f.verdict == Verdict::warn || f.verdict == Verdict::fail) && !f.advice.empty()) out += "        -> " + f.advice + "\n";
    }
  }
  out += "\n" + std::to_string(report.count(Verdict::pass)) + " passed, " + std::to_string(report.count(Verdict::warn)) +
         " warnings, " + std::to_string(report.count(Verdict::fail)) + " failures\n";
  return out;
}

}  // namespace sluice::diagnose
