// cli/status_command.cpp: see status_command.hpp.
#include "cli/status_command.hpp"

#include <memory>
#include <sstream>

#include "cli/admin_client.hpp"

namespace sluice::cli {

std::string format_status(const nlohmann::json& s) {
  std::ostringstream out;
  out << "sluiced " << text_of(field(s, "version")) << " on " << text_of(field(s, "hostname")) << " is running";
  if (const std::string started = text_of(field(s, "started")); !started.empty()) {
    out << " since " << started;
  }
  if (const nlohmann::json& up = field(s, "uptime_seconds"); up.is_number()) {
    const int64_t t = up.get<int64_t>();
    out << " (up " << t / 86400 << "d " << (t % 86400) / 3600 << "h " << (t % 3600) / 60 << "m)";
  }
  out << "\n";
  const nlohmann::json& m = field(s, "messages");
  out << "queues: " << text_of(field(s, "queues")) << ", messages ready: " << text_of(field(m, "ready"))
      << ", waiting for retry: " << text_of(field(m, "waiting")) << "\n";
  const nlohmann::json& r = field(s, "recipients");
  if (r.is_object()) {
    out << "recipients since start: delivered " << text_of(field(r, "delivered")) << ", deferred "
        << text_of(field(r, "deferred")) << ", failed " << text_of(field(r, "failed")) << "; DSNs sent "
        << text_of(field(s, "dsns")) << "\n";
  }
  return out.str();
}

void add_status_command(CLI::App& app, CliContext& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("status", "Is sluiced running, since when, and what is queued");
  cmd->add_flag("--json", *json, "print the admin API's JSON");
  cmd->callback([json, &context] {
    auto client = open_admin_client(context);
    if (!client) return;
    const ApiReply reply = client->get("/api/v1/status");
    print_reply(reply, *json, format_status(reply.body), context);
  });
}

void add_reload_command(CLI::App& app, CliContext& context) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("reload", "Apply the configuration file to the running sluiced (as SIGHUP does)");
  cmd->add_flag("--json", *json, "print the admin API's JSON");
  cmd->callback([json, &context] {
    auto client = open_admin_client(context);
    if (!client) return;
    ApiReply reply = client->post("/api/v1/reload");
    if (reply.status == 422) reply.exit_code = kExitConfig;  // the new file is invalid; the old one runs on
    print_reply(reply, *json, "Configuration reloaded.\n", context);
  });
}

}  // namespace sluice::cli
