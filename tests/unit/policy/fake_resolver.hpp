// A Resolver for policy tests: answers from tables, either at once (inside the call) or held
// until the test runs them (run_all), to exercise both halves of the asynchronous seam.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dns/resolver.hpp"

namespace sluice::policy::testing {

class FakeResolver final : public dns::Resolver {
 public:
  std::map<std::string, dns::Answer<std::string>> a_answers, aaaa_answers, txt_answers, ptr_answers;
  bool hold = false;  // keep callbacks until run_all()
  std::vector<std::string> asked;

  static dns::Answer<std::string> ok(std::vector<std::string> records) {
    dns::Answer<std::string> a;
    a.status = dns::Status::ok;
    a.records = std::move(records);
    return a;
  }
  static dns::Answer<std::string> status(dns::Status s) {
    dns::Answer<std::string> a;
    a.status = s;
    return a;
  }

  void mx(std::string, std::function<void(dns::Answer<dns::MxRecord>)> done) override {
    deliver([done] { done(dns::Answer<dns::MxRecord>{}); });
  }
  void a(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    answer("A " + name, a_answers, name, std::move(done));
  }
  void aaaa(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    answer("AAAA " + name, aaaa_answers, name, std::move(done));
  }
  void txt(std::string name, std::function<void(dns::Answer<std::string>)> done) override {
    answer("TXT " + name, txt_answers, name, std::move(done));
  }
  void ptr(std::string ip, std::function<void(dns::Answer<std::string>)> done) override {
    answer("PTR " + ip, ptr_answers, ip, std::move(done));
  }

  // Runs held callbacks (and those they queue) until none is left; bounded.
  void run_all() {
    for (int i = 0; i < 1000 && !held_.empty(); ++i) {
      auto f = std::move(held_.front());
      held_.erase(held_.begin());
      f();
    }
  }
  size_t held() const { return held_.size(); }

 private:
  void answer(std::string what, const std::map<std::string, dns::Answer<std::string>>& table,
              const std::string& key, std::function<void(dns::Answer<std::string>)> done) {
    asked.push_back(std::move(what));
    auto it = table.find(key);
    dns::Answer<std::string> result = it == table.end() ? status(dns::Status::nxdomain) : it->second;
    deliver([done = std::move(done), result]() { done(result); });
  }
  void deliver(std::function<void()> f) {
    if (hold) held_.push_back(std::move(f));
    else f();
  }
  std::vector<std::function<void()>> held_;
};

}  // namespace sluice::policy::testing
