// policy/greylist.cpp: see greylist.hpp.
#include "policy/greylist.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "config/ip_range.hpp"

namespace sluice::policy {

namespace {

int64_t to_us(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

int64_t us(std::chrono::seconds s) { return int64_t(s.count()) * 1000000; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

void LocalGreylistStore::get(const std::string& key, std::function<void(std::optional<GreylistRecord>)> done) {
  std::optional<GreylistRecord> found;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) found = it->second;
  }
  done(found);
}

void LocalGreylistStore::put(const std::string& key, const GreylistRecord& record) {
  std::lock_guard lock(mu_);
  entries_[key] = record;
}

size_t LocalGreylistStore::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

Result<void> LocalGreylistStore::load() {
  if (path_.empty()) return ok();
  std::ifstream in(path_);
  if (!in) {
    if (!std::filesystem::exists(path_)) return ok();
    return fail(ErrorClass::io, "cannot read " + path_);
  }
  std::lock_guard lock(mu_);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    GreylistRecord r;
    if (fields >> key >> r.first_seen_us >> r.passed_us) entries_[key] = r;
  }
  return ok();
}

Result<void> LocalGreylistStore::save(int64_t now_us, int64_t keep_us) {
  std::string text;
  {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      const int64_t last = std::max(it->second.first_seen_us, it->second.passed_us);
      if (now_us - last > keep_us) {
        it = entries_.erase(it);
        continue;
      }
      text += it->first + " " + std::to_string(it->second.first_seen_us) + " " +
              std::to_string(it->second.passed_us) + "\n";
      ++it;
    }
  }
  if (path_.empty()) return ok();
  const std::string tmp = path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return fail(ErrorClass::io, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path_, ec);
  if (ec) return fail(ErrorClass::io, "cannot rename " + tmp + ": " + ec.message());
  return ok();
}

std::string Greylist::client_network(const std::string& ip) {
  auto parsed = config::IpAddress::parse(ip);
  if (!parsed) return ip;
  config::IpAddress a = parsed->unmapped();
  const int keep = a.family == config::IpFamily::v4 ? 3 : 8;  // /24, /64
  const int prefix = keep * 8;
  for (size_t i = size_t(keep); i < a.bytes.size(); ++i) a.bytes[i] = 0;
  return a.to_string() + "/" + std::to_string(prefix);
}

void Greylist::check(const std::string& client_ip, const std::string& sender, const std::string& recipient,
                     std::function<void(std::optional<Reply>)> done) {
  const std::string network = client_network(client_ip);
  const std::string client_key = "client:" + network;
  // Spaces would break the store's line format; addresses cannot hold them unquoted, and a
  // quoted one with a space is rare enough to share a key.
  std::string triplet = "triplet:" + network + "," + lower(sender) + "," + lower(recipient);
  for (char& c : triplet)
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') c = '_';

  // The callbacks may run later, on another thread: they hold no reference to the caller.
  auto shared_done = std::make_shared<std::function<void(std::optional<Reply>)>>(std::move(done));
  store_.get(client_key, [this, client_key, triplet, shared_done](std::optional<GreylistRecord> client) {
    const int64_t now = to_us(clock_.now());
    if (client && client->passed_us != 0 && now - client->passed_us <= us(settings_.pass_for)) {
      store_.put(client_key, GreylistRecord{client->first_seen_us, now});  // auto-pass, kept fresh
      (*shared_done)(std::nullopt);
      return;
    }
    store_.get(triplet, [this, client_key, triplet, shared_done](std::optional<GreylistRecord> seen) {
      const int64_t now = to_us(clock_.now());
      const int64_t delay = us(settings_.delay);
      const bool expired = seen && seen->passed_us == 0 && now - seen->first_seen_us > us(settings_.lifetime);
      if (!seen || expired) {
        store_.put(triplet, GreylistRecord{now, 0});
        (*shared_done)(Reply(451, "4.7.1",
                             "Greylisted, try again in " + std::to_string(settings_.delay.count()) + " seconds"));
        return;
      }
      const int64_t waited = now - seen->first_seen_us;
      if (seen->passed_us == 0 && waited < delay) {
        const int64_t left = (delay - waited + 999999) / 1000000;
        (*shared_done)(Reply(451, "4.7.1", "Greylisted, try again in " + std::to_string(left) + " seconds"));
        return;
      }
      store_.put(triplet, GreylistRecord{seen->first_seen_us, now});
      store_.put(client_key, GreylistRecord{now, now});
      (*shared_done)(std::nullopt);
    });
  });
}

}  // namespace sluice::policy
