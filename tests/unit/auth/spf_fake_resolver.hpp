// tests/unit/auth/spf_fake_resolver.hpp: an in-memory dns::Resolver for the SPF tests.
// Owns: a tiny zone (A, AAAA, MX, TXT, PTR, CNAME, names that time out or SERVFAIL) with the
// answers the real resolver gives — NXDOMAIN vs no data, CNAMEs followed — and a queue of
// pending callbacks that run() drains, so no answer arrives inside the query call (the
// Resolver contract) and tests stay single-threaded and deterministic.
// Not: the wire protocol (tests/unit/dns and tools/dns_server.py cover the real resolver).
#pragma once

#include <cctype>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "auth/spf_macro.hpp"
#include "dns/resolver.hpp"

namespace sluice::auth::testing {

class FakeResolver final : public dns::Resolver {
 public:
  // type: "A", "AAAA", "MX" ("10 mx.example.com"), "TXT" (one record, strings already joined),
  // "PTR", "CNAME", "TIMEOUT" / "SERVFAIL" (data "" : every query for the name, or one type).
  void add(const std::string& name, const std::string& type, const std::string& data = "") {
    std::string n = norm(name);
    if (type == "TIMEOUT" || type == "SERVFAIL") {
      modes_[n][data.empty() ? "*" : data] = type;
      return;
    }
    records_[n].push_back({type, data});
  }

  // Answers every pending query (and those they trigger); returns how many were answered.
  int run() {
    int n = 0;
    while (!pending_.empty() && n < 100000) {
      auto f = std::move(pending_.front());
      pending_.pop_front();
      f();
      ++n;
    }
    return n;
  }

  int queries() const { return queries_; }

  void mx(std::string name, std::function<void(dns::Answer<dns::MxRecord>)> done) override {
    auto raw = lookup(name, "MX");
    dns::Answer<dns::MxRecord> a{raw.status, {}, raw.detail, false};
    for (auto& r : raw.records) {
      dns::MxRecord mx;
      size_t sp = r.find(' ');
      mx.preference = static_cast<uint16_t>(std::stoi(r.substr(0, sp)));
      mx.exchange = norm(r.substr(sp + 1));
      if (mx.exchange == ".") mx.exchange.clear();
      a.records.push_back(mx);
    }
    queue(std::move(done), std::move(a));
  }
  void a(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    queue(std::move(done), lookup(name, "A"));
  }
  void aaaa(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    queue(std::move(done), lookup(name, "AAAA"));
  }
  void txt(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    queue(std::move(done), lookup(name, "TXT"));
  }
  void ptr(std::string ip, std::function<void(dns::Answer<std::string>)> done) override {
    std::string dotted = spf_dotted_ip(ip);
    std::vector<std::string> parts(1);
    for (char c : dotted) {
      if (c == '.') parts.emplace_back();
      else parts.back() += c;
    }
    std::string name;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) name += *it + ".";
    name += ip.find(':') != std::string::npos ? "ip6.arpa" : "in-addr.arpa";
    auto answer = lookup(name, "PTR");
    for (auto& r : answer.records) r = norm(r);
    queue(std::move(done), std::move(answer));
  }

 private:
  struct Record {
    std::string type;
    std::string data;
  };

  static std::string norm(std::string n) {
    for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n.size() > 1 && n.back() == '.') n.pop_back();
    return n;
  }

  bool exists(const std::string& n) const {
    if (records_.count(n) || modes_.count(n)) return true;
    std::string suffix = "." + n;
    for (auto& [name, _] : records_) {
      if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    }
    return false;
  }

  dns::Answer<std::string> lookup(const std::string& name, const std::string& type) {
    ++queries_;
    std::string n = norm(name);
    for (int hop = 0; hop < 8; ++hop) {
      auto modes = modes_.find(n);
      if (modes != modes_.end()) {
        auto mode = modes->second.count(type) ? modes->second.find(type) : modes->second.find("*");
        if (mode != modes->second.end()) {
          bool timeout = mode->second == "TIMEOUT";
          return {timeout ? dns::Status::timeout : dns::Status::servfail, {}, mode->second + " for " + n, false};
        }
      }
      auto it = records_.find(n);
      std::vector<std::string> out;
      std::string cname;
      if (it != records_.end()) {
        for (auto& r : it->second) {
          if (r.type == type) out.push_back(r.data);
          if (r.type == "CNAME") cname = norm(r.data);
        }
      }
      if (!out.empty()) return {dns::Status::ok, out, "", false};
      if (!cname.empty()) {
        n = cname;
        continue;
      }
      if (exists(n)) return {dns::Status::nodata, {}, "no " + type + " for " + n, false};
      return {dns::Status::nxdomain, {}, "NXDOMAIN for " + n, false};
    }
    return {dns::Status::servfail, {}, "CNAME loop at " + name, false};
  }

  template <typename T>
  void queue(std::function<void(dns::Answer<T>)> done, dns::Answer<T> answer) {
    pending_.push_back([done = std::move(done), answer = std::move(answer)]() mutable { done(std::move(answer)); });
  }

  std::map<std::string, std::vector<Record>> records_;
  std::map<std::string, std::map<std::string, std::string>> modes_;  // name -> type or "*" -> mode
  std::deque<std::function<void()>> pending_;
  int queries_ = 0;
};

}  // namespace sluice::auth::testing
