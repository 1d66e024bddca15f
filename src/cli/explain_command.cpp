// cli/explain_command.cpp: see explain_command.hpp.
#include "cli/explain_command.hpp"

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "diagnose/knowledge_base.hpp"

namespace sluice::cli {
namespace {

nlohmann::json to_json(const diagnose::Explanation& e) {
  nlohmann::json j;
  j["input"] = e.input;
  j["code"] = e.code == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.code);
  j["status"] = e.status.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.status);
  j["text"] = e.text;
  j["category"] = diagnose::to_key(e.category);
  j["category_words"] = diagnose::to_string(e.category);
  j["provider"] = e.provider.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.provider);
  j["title"] = e.title;
  j["meaning"] = e.meaning;
  j["causes"] = e.causes;
  j["todo"] = e.todo;
  j["retry"] = diagnose::to_string(e.retry);
  j["rule"] = e.rule.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.rule);
  return j;
}

}  // namespace

void add_explain_command(CLI::App& app, CliContext& context) { add_explain_command(app, context, std::cin); }

void add_explain_command(CLI::App& app, CliContext& context, std::istream& in) {
  CLI::App* explain = app.add_subcommand(
      "explain", "Explain an SMTP reply or delivery error: meaning, likely causes, what to do, whether retrying helps");
  struct Options {
    std::vector<std::string> words;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  explain->add_option("reply", options->words,
                      "the reply as received, e.g. \"550 5.7.26 ...\" (quoted or not); none or '-': read standard input");
  explain->add_flag("--json", options->json, "print the explanation as JSON");
  explain->callback([&context, &in, options] {
    std::string input;
    if (options->words.empty() || (options->words.size() == 1 && options->words[0] == "-")) {
      std::ostringstream s;
      s << in.rdbuf();
      input = s.str();
    } else {
      for (const std::string& w : options->words) input += (input.empty() ? "" : " ") + w;
    }
    if (input.find_first_not_of(" \t\r\n") == std::string::npos) {
      context.err << "sluice explain: nothing to explain: give the reply as an argument, e.g.\n"
                  << "  sluice explain \"550 5.1.1 <bob@example.net>: User unknown\"\n"
                  << "or paste it on standard input.\n";
      context.exit_code = kExitNoInput;
      return;
    }
    const diagnose::Explanation e = diagnose::explain(input);
    if (options->json) {
      context.out << to_json(e).dump(2) << "\n";
    } else {
      context.out << diagnose::format_explanation(e);
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
