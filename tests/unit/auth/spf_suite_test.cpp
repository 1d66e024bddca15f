// tests/unit/auth/spf_suite_test.cpp: every case of the official RFC 7208 test suite
// (openspf.org release 2014.04, from Debian's python3-spf; tests/data/spf/rfc7208-tests.yml,
// converted to rfc7208-tests.json by tests/tools/spf_suite.py) against SpfEvaluator, with each
// scenario's zone served by the in-memory resolver. One gtest case per suite case, so ctest
// lists them all. The same zones over the real libunbound resolver and tests/tools/dns_server.py:
// `spf_suite.py run` with tests/tools/spf_eval.cpp.
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "auth/spf.hpp"
#include "spf_fake_resolver.hpp"

namespace sluice::auth {
namespace {

struct SuiteCase {
  std::string scenario;
  std::string name;
  std::string spec;
  std::string helo, host, mailfrom;
  std::vector<std::string> results;
  std::optional<std::string> explanation;
  nlohmann::json zone;
};

std::vector<SuiteCase> load_suite() {
  std::ifstream in(std::string(SLUICE_TEST_DATA) + "/spf/rfc7208-tests.json");
  std::vector<SuiteCase> cases;
  if (!in) return cases;  // the SuiteIsComplete test reports it
  nlohmann::json j = nlohmann::json::parse(in);
  for (auto& sc : j["scenarios"]) {
    for (auto& t : sc["tests"]) {
      SuiteCase c;
      c.scenario = sc["description"];
      c.name = t["name"];
      c.spec = t["spec"];
      c.helo = t["helo"];
      c.host = t["host"];
      c.mailfrom = t["mailfrom"];
      for (auto& r : t["result"]) c.results.push_back(r);
      if (t["explanation"].is_string()) c.explanation = t["explanation"].get<std::string>();
      c.zone = sc["zone"];
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// gtest prints a failing parameter; the case's name says more than its bytes.
void PrintTo(const SuiteCase& c, std::ostream* os) { *os << c.scenario << " / " << c.name; }

const std::vector<SuiteCase>& suite() {
  static const std::vector<SuiteCase> cases = load_suite();
  return cases;
}

class SpfSuite : public ::testing::TestWithParam<SuiteCase> {};

TEST_P(SpfSuite, Case) {
  const SuiteCase& c = GetParam();
  testing::FakeResolver dns;
  for (auto& e : c.zone) {
    std::string type = e["type"];
    if (type == "TXT") {
      std::string joined;  // RFC 7208 §3.3: a record's strings are concatenated
      for (auto& s : e["strings"]) joined += s.get<std::string>();
      dns.add(e["name"], "TXT", joined);
    } else {
      dns.add(e["name"], type, e.value("data", ""));
    }
  }
  SpfEvaluator spf(dns);
  std::optional<SpfOutcome> out;
  spf.check_mail_from({c.host, c.mailfrom, c.helo, "", 0}, [&](SpfOutcome o) { out = std::move(o); });
  dns.run();
  ASSERT_TRUE(out.has_value()) << "the check never completed";
  std::string got = to_string(out->result);
  bool allowed = std::find(c.results.begin(), c.results.end(), got) != c.results.end();
  EXPECT_TRUE(allowed) << c.scenario << " / " << c.name << " (RFC 7208 " << c.spec << "): got " << got
                       << " (" << out->detail << "), want " << c.results.front();
  if (c.explanation && *c.explanation != "DEFAULT" && out->result == SpfResult::fail) {
    EXPECT_EQ(out->explanation, *c.explanation) << c.name;
  }
}

std::string case_name(const ::testing::TestParamInfo<SuiteCase>& info) {
  std::string n = info.param.name;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Rfc7208, SpfSuite, ::testing::ValuesIn(suite()), case_name);

TEST(SpfSuiteData, SuiteIsComplete) {
  // The 2014.04 release has 203 cases in 16 scenarios; a shorter list means a broken file.
  EXPECT_EQ(suite().size(), 203u);
}

}  // namespace
}  // namespace sluice::auth
