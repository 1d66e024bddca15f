// Tests for config/check: the text `sluice config check` prints.
#include "config/check.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "config/default_config.hpp"

namespace sluice::config {
namespace {

TEST(Check, OkPrintsVerdictAndSummary) {
  auto r = load_string(default_config_text(), "var/sluice.toml");
  std::ostringstream out, err;
  EXPECT_TRUE(report(r, "var/sluice.toml", out, err));
  EXPECT_EQ(out.str(),
            "var/sluice.toml: ok\n"
            "3 receive connectors (internet 127.0.0.1:2525; apps 127.0.0.1:2526; submission 127.0.0.1:2587), "
            "2 accepted domains, 3 users, "
            "no send connectors (mail for other domains waits in Unreachable)\n");
  EXPECT_EQ(err.str(), "");
}

TEST(Check, SummaryUsesSingulars) {
  auto r = load_string("[[receive_connector]]\nname = \"a\"\nlisten = [\"[::1]:25\", \"127.0.0.1:25\"]\n"
                       "[[accepted_domain]]\nname = \"a.test\"\n[[user]]\naddress = \"u@a.test\"\n",
                       "x.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(summarize(*r.config),
            "1 receive connector (a [::1]:25 127.0.0.1:25), 1 accepted domain, 1 user, "
            "no send connectors (mail for other domains waits in Unreachable)");
}

TEST(Check, SummaryListsSendConnectors) {
  auto r = load_string("[[receive_connector]]\nname = \"a\"\nlisten = [\"127.0.0.1:25\"]\n"
                       "[[send_connector]]\nname = \"internet\"\naddress_spaces = [\"*\"]\n"
                       "[[send_connector]]\nname = \"partner\"\naddress_spaces = [\"p.test\", \"*.p.test\"]\n"
                       "smart_hosts = [\"relay.p.test:587\", \"[10.0.0.1]\"]\n",
                       "x.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(summarize(*r.config),
            "1 receive connector (a 127.0.0.1:25), 0 accepted domains, 0 users, "
            "2 send connectors (internet * by MX; partner p.test *.p.test via relay.p.test:587 [10.0.0.1]:25)");
}

TEST(Check, ErrorsThenWarningsInCompilerForm) {
  auto r = load_string("[[receive_connector]]\nname = \"a\"\nlisten = [\"0.0.0.0:25\"]\ncommand_timeout = \"1m\"\n"
                       "max_errors = 0\n[server]\nthreds = 2\n",
                       "bad.toml");
  std::ostringstream out, err;
  EXPECT_FALSE(report(r, "bad.toml", out, err));
  EXPECT_EQ(out.str(), "");
  const std::string e = err.str();
  EXPECT_EQ(e.rfind("bad.toml:5:14: error: 'max_errors' must be from 1 to 1000, not 0\n"
                    "bad.toml:7:1: error: unknown key 'threds' in [server]; did you mean 'threads'?\n",
                    0),
            0u)
      << e;
  EXPECT_NE(e.find("bad.toml: 2 errors\n"), std::string::npos) << e;
}

TEST(Check, WarningsDoNotFail) {
  auto r = load_string("[[receive_connector]]\nname = \"a\"\nlisten = [\"0.0.0.0:25\"]\ncommand_timeout = \"1m\"\n",
                       "w.toml");
  std::ostringstream out, err;
  EXPECT_TRUE(report(r, "w.toml", out, err));
  EXPECT_EQ(out.str().rfind("w.toml: ok\n", 0), 0u);
  EXPECT_EQ(err.str().rfind("w.toml:4:19: warning: receive connector 'a': command_timeout 1m", 0), 0u) << err.str();
}

}  // namespace
}  // namespace sluice::config
