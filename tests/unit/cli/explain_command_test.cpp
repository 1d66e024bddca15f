// Tests for `sluice explain`: the reply from the arguments (quoted or as several words) or from
// standard input, the human and JSON forms, and the exit codes.
#include "cli/explain_command.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "cli/cli_app.hpp"

namespace sluice::cli {
namespace {

struct ExplainRun {
  int status;
  std::string out, err;
};

ExplainRun run_explain(std::vector<std::string> args, const std::string& stdin_text = "") {
  CLI::App app{"sluice"};
  std::ostringstream out, err;
  std::istringstream in(stdin_text);
  CliContext context{out, err, "", kExitOk};
  add_explain_command(app, context, in);
  args.insert(args.begin(), "explain");
  std::vector<const char*> argv{"sluice"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return {context.exit_code, out.str(), err.str()};
}

TEST(ExplainCommand, QuotedReply) {
  ExplainRun r = run_explain({"550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.rfind("550 5.1.1 <bob@example.net>", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Category:     invalid recipient"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("What to do:"), std::string::npos);
}

TEST(ExplainCommand, UnquotedWordsAreJoined) {
  ExplainRun r = run_explain({"554", "5.7.1", "<bob@example.net>:", "Relay", "access", "denied"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Rule:         relay-denied"), std::string::npos) << r.out;
}

TEST(ExplainCommand, MultiLineReplyFromStandardInput) {
  ExplainRun r = run_explain({}, "421-4.7.0 [TSS04] Messages from 192.0.2.10 temporarily deferred due to unexpected\n"
                          "421 4.7.0 volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Receiver:     Yahoo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Category:     rate limited"), std::string::npos) << r.out;
  ExplainRun dash = run_explain({"-"}, "Connection refused\n");
  EXPECT_NE(dash.out.find("Rule:         connect-refused"), std::string::npos) << dash.out;
}

TEST(ExplainCommand, Json) {
  ExplainRun r = run_explain({"--json", "451 4.7.1 Greylisted, please try again later"});
  EXPECT_EQ(r.status, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["code"], 451);
  EXPECT_EQ(j["status"], "4.7.1");
  EXPECT_EQ(j["category"], "greylisting");
  EXPECT_EQ(j["retry"], "yes");
  EXPECT_EQ(j["rule"], "greylisted");
  EXPECT_TRUE(j["causes"].is_array());
  EXPECT_TRUE(j["provider"].is_null());
}

TEST(ExplainCommand, NothingToExplain) {
  ExplainRun r = run_explain({}, "  \n");
  EXPECT_EQ(r.status, kExitNoInput);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("nothing to explain"), std::string::npos) << r.err;
}

TEST(ExplainCommand, RegisteredInTheSluiceCommand) {
  std::ostringstream out, err;
  std::vector<const char*> argv{"sluice", "explain", "535 5.7.8 Authentication credentials invalid"};
  const int status = run_cli(static_cast<int>(argv.size()), argv.data(), out, err, std::nullopt);
  EXPECT_EQ(status, 0) << err.str();
  EXPECT_NE(out.str().find("authentication (SMTP AUTH)"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace sluice::cli
