// policy/dnsbl.cpp: see dnsbl.hpp.
#include "policy/dnsbl.hpp"

#include <algorithm>
#include <memory>
#include <mutex>

#include "config/ip_range.hpp"

namespace sluice::policy {

namespace {

constexpr size_t kMaxReasonLength = 200;

// RFC 5782 §2.3: listings are 127.0.0.0/8; 127.255.255.0/24 is what big lists answer for
// refused or malformed queries (an error, not a listing).
enum class AnswerKind { listed, error, other };
AnswerKind classify(const std::string& a) {
  if (a.rfind("127.255.255.", 0) == 0) return AnswerKind::error;
  if (a.rfind("127.", 0) == 0) return AnswerKind::listed;
  return AnswerKind::other;
}

// dns::to_string lives in the dns library, which policy does not link (only the interface).
const char* status_text(dns::Status s) {
  switch (s) {
    case dns::Status::ok: return "ok";
    case dns::Status::nxdomain: return "NXDOMAIN";
    case dns::Status::nodata: return "no data";
    case dns::Status::servfail: return "SERVFAIL";
    case dns::Status::timeout: return "timeout";
    case dns::Status::error: return "error";
  }
  return "error";
}

// Reply text is ASCII on one line; a zone's TXT may hold anything.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= kMaxReasonLength) break;
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : '?';
  }
  return out;
}

// What check() collects while its queries are in flight. Listings land in per-zone slots so
// the result keeps the configuration order whichever zone answered first.
struct Collect {
  std::mutex mu;
  std::vector<std::optional<DnsblListing>> slots;
  std::vector<std::string> failures;
  size_t outstanding = 0;
  std::function<void(DnsblResult)> done;

  void fail(std::string why) {
    std::lock_guard lock(mu);
    failures.push_back(std::move(why));
  }
  void finish_one(size_t slot, std::optional<DnsblListing> listing) {
    DnsblResult r;
    {
      std::lock_guard lock(mu);
      slots[slot] = std::move(listing);
      if (--outstanding != 0) return;
      for (auto& s : slots)
        if (s) r.listings.push_back(std::move(*s));
      r.failures = std::move(failures);
    }
    auto d = std::move(done);
    d(std::move(r));
  }
};

}  // namespace

const DnsblListing* DnsblResult::allowed() const {
  for (const auto& l : listings)
    if (l.allow) return &l;
  return nullptr;
}

const DnsblListing* DnsblResult::blocked(config::DnsblAction action) const {
  if (allowed()) return nullptr;
  for (const auto& l : listings)
    if (!l.allow && l.action == action) return &l;
  return nullptr;
}

std::vector<AppliedZone> DnsblChecker::zones_for(const std::string& connector, bool internet_usage) const {
  std::vector<AppliedZone> out;
  for (const auto& z : zones_) {
    const bool applies = z.connectors.empty()
                             ? internet_usage
                             : std::find(z.connectors.begin(), z.connectors.end(), connector) != z.connectors.end();
    if (!applies) continue;
    auto it = z.actions.find(connector);
    out.push_back({&z, it == z.actions.end() ? z.action : it->second});
  }
  return out;
}

std::string DnsblChecker::query_name(const std::string& ip, const std::string& zone) {
  auto parsed = config::IpAddress::parse(ip);
  if (!parsed) return "";
  const config::IpAddress a = parsed->unmapped();
  std::string name;
  if (a.family == config::IpFamily::v4) {
    for (int i = 3; i >= 0; --i) name += std::to_string(a.bytes[size_t(i)]) + ".";
  } else {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      name += kHex[a.bytes[size_t(i)] & 0xf];
      name += '.';
      name += kHex[a.bytes[size_t(i)] >> 4];
      name += '.';
    }
  }
  return name + zone;
}

Reply DnsblChecker::refusal(const std::string& ip, const DnsblListing& listing) {
  const std::string reason = listing.text.empty() ? listing.meaning : listing.text;
  return Reply(554, "5.7.1",
               "Service unavailable; client [" + ip + "] blocked using " + listing.zone + ": " + printable(reason));
}

void DnsblChecker::check(const std::string& ip, std::vector<AppliedZone> zones,
                         std::function<void(DnsblResult)> done) {
  std::vector<std::pair<AppliedZone, std::string>> queries;
  for (const auto& z : zones) {
    std::string name = query_name(ip, z.zone->zone);
    if (!name.empty()) queries.emplace_back(z, std::move(name));
  }
  if (queries.empty()) {
    done(DnsblResult{});
    return;
  }
  auto collect = std::make_shared<Collect>();
  collect->outstanding = queries.size();
  collect->slots.resize(queries.size());
  collect->done = std::move(done);
  for (size_t i = 0; i < queries.size(); ++i) {
    const AppliedZone applied = queries[i].first;
    const std::string name = queries[i].second;
    resolver_.a(name, [this, collect, i, applied, name](dns::Answer<std::string> answer) {
      const config::DnsblZone& zone = *applied.zone;
      std::optional<std::string> code;
      if (answer.status == dns::Status::ok) {
        for (const auto& a : answer.records) {
          const AnswerKind kind = classify(a);
          if (kind == AnswerKind::error) {
            collect->fail(zone.zone + ": the list refused the query (" + a + ")");
            break;
          }
          if (kind != AnswerKind::listed) continue;
          if (zone.only_codes && zone.codes.count(a) == 0) continue;
          code = a;
          break;
        }
      } else if (answer.status != dns::Status::nxdomain && answer.status != dns::Status::nodata) {
        collect->fail(zone.zone + ": " + status_text(answer.status) +
                      (answer.detail.empty() ? "" : " (" + answer.detail + ")"));
      }
      if (!code) return collect->finish_one(i, std::nullopt);
      DnsblListing listing;
      listing.zone = zone.zone;
      listing.code = *code;
      auto it = zone.codes.find(*code);
      listing.meaning = it == zone.codes.end() ? "listed" : it->second;
      listing.allow = zone.allow;
      listing.action = applied.action;
      // The reason text, for the reply and the log (RFC 5782 §2.1: TXT at the same name).
      resolver_.txt(name, [collect, i, listing = std::move(listing)](dns::Answer<std::string> txt) mutable {
        if (txt.status == dns::Status::ok && !txt.records.empty()) listing.text = printable(txt.records.front());
        collect->finish_one(i, std::move(listing));
      });
    });
  }
}

}  // namespace sluice::policy
