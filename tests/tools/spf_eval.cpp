// tests/tools/spf_eval.cpp: a test-only program that evaluates SPF cases with sluice's
// SpfEvaluator over the real resolver (libunbound), for tests/tools/spf_suite.py, which serves
// each RFC 7208 test-suite scenario's zone with tests/tools/dns_server.py.
// Owns: reading cases, one JSON object per line on stdin ({"name","ip","sender","helo"}),
// running them all concurrently on one event loop, and writing one JSON line per case
// ({"name","result","mechanism","detail","explanation"}) in input order.
// Not: deciding whether a result is right (the Python driver compares with the suite).
//
//   spf_eval --dns 127.0.0.1@PORT [--timeout-ms N] < cases.jsonl
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "auth/spf.hpp"
#include "dns/unbound_resolver.hpp"

int main(int argc, char** argv) {
  using namespace sluice;
  dns::UnboundOptions options;
  options.timeout = std::chrono::milliseconds(1000);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--dns") options.forwarders.push_back(argv[i + 1]);
    else if (flag == "--timeout-ms") options.timeout = std::chrono::milliseconds(std::atoi(argv[i + 1]));
    else {
      std::cerr << "spf_eval: unknown option " << flag << "\n";
      return 64;
    }
  }
  struct Case {
    std::string name;
    std::optional<auth::SpfOutcome> outcome;
  };
  std::vector<nlohmann::json> inputs;
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty()) inputs.push_back(nlohmann::json::parse(line));
  }
  std::vector<Case> cases(inputs.size());

  asio::io_context loop;
  auto resolver = dns::make_unbound_resolver(loop, options);
  auth::SpfEvaluator spf(*resolver);
  size_t remaining = inputs.size();
  for (size_t i = 0; i < inputs.size(); ++i) {
    cases[i].name = inputs[i].value("name", "");
    auth::SpfCheck check{inputs[i].value("ip", ""), inputs[i].value("sender", ""), inputs[i].value("helo", ""),
                         "", 0};
    spf.check_mail_from(std::move(check), [&, i](auth::SpfOutcome o) {
      cases[i].outcome = std::move(o);
      if (--remaining == 0) loop.stop();
    });
  }
  if (remaining > 0) loop.run();
  resolver.reset();
  for (auto& c : cases) {
    nlohmann::json out{{"name", c.name}};
    if (c.outcome) {
      out["result"] = auth::to_string(c.outcome->result);
      out["mechanism"] = c.outcome->mechanism;
      out["detail"] = c.outcome->detail;
      out["explanation"] = c.outcome->explanation;
    } else {
      out["result"] = "unfinished";
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}
