// tests/unit/auth/dkim_test_support.hpp: a resolver fake for the DKIM tests — TXT answers from
// a table, delivered only when the test pumps them (the Resolver contract: never inside the
// call) — and file helpers.
#pragma once

#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "dns/resolver.hpp"

namespace sluice::auth::testing_support {

class TableResolver final : public dns::Resolver {
 public:
  std::map<std::string, dns::Answer<std::string>> txt_answers;
  std::vector<std::string> asked;

  void set_txt(const std::string& name, std::vector<std::string> records) {
    dns::Answer<std::string> a;
    a.status = dns::Status::ok;
    a.records = std::move(records);
    txt_answers[name] = a;
  }
  void set_status(const std::string& name, dns::Status s) {
    dns::Answer<std::string> a;
    a.status = s;
    txt_answers[name] = a;
  }
  // Runs every pending callback; returns how many ran.
  size_t pump() {
    size_t n = 0;
    while (!pending_.empty() && n < 1000) {
      auto f = std::move(pending_.front());
      pending_.pop_front();
      f();
      ++n;
    }
    return n;
  }

  void txt(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    asked.push_back(name);
    dns::Answer<std::string> a;
    a.status = dns::Status::nxdomain;
    if (auto it = txt_answers.find(name); it != txt_answers.end()) a = it->second;
    pending_.push_back([a, done = std::move(done)] { done(a); });
  }
  void mx(std::string, std::function<void(dns::Answer<dns::MxRecord>)> done) override {
    pending_.push_back([done = std::move(done)] { done({}); });
  }
  void a(std::string, std::function<void(dns::Answer<std::string>)> done) override {
    pending_.push_back([done = std::move(done)] { done({}); });
  }
  void aaaa(std::string, std::function<void(dns::Answer<std::string>)> done) override {
    pending_.push_back([done = std::move(done)] { done({}); });
  }
  void ptr(std::string, std::function<void(dns::Answer<std::string>)> done) override {
    pending_.push_back([done = std::move(done)] { done({}); });
  }

 private:
  std::deque<std::function<void()>> pending_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace sluice::auth::testing_support
