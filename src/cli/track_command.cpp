// cli/track_command.cpp: see track_command.hpp.
#include "cli/track_command.hpp"

#include <memory>
#include <sstream>

#include "cli/admin_client.hpp"
#include "cli/table.hpp"

namespace sluice::cli {
namespace {

struct TrackOptions {
  bool json = false;
  std::string sender, recipient, message_id, queue_id, event, since, until, limit;
};

std::string get(const nlohmann::json& r, const char* key) {
  auto it = r.find(key);
  return it == r.end() ? std::string() : text_of(*it);
}

}  // namespace

std::string format_track(const nlohmann::json& records) {
  if (!records.is_array() || records.empty()) return "No tracking records match.\n";
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& r : records) {
    if (!r.is_object()) continue;
    std::string sender = get(r, "sender-address");
    rows.push_back({get(r, "date-time"), get(r, "event-id"), get(r, "internal-message-id"),
                    sender.empty() ? "<>" : sender, get(r, "recipient-address"), get(r, "recipient-status")});
  }
  std::ostringstream out;
  print_table(out, {"Time", "Event", "QueueId", "Sender", "Recipient", "Status"}, rows);
  return out.str();
}

void add_track_command(CLI::App& app, CliContext& context) {
  auto opt = std::make_shared<TrackOptions>();
  CLI::App* cmd = app.add_subcommand("track", "Search the message tracking log (RECEIVE, SEND, DELIVER, DEFER, FAIL, DSN, EXPIRE)");
  cmd->add_option("--sender", opt->sender, "envelope sender");
  cmd->add_option("--recipient", opt->recipient, "recipient address");
  cmd->add_option("--message-id", opt->message_id, "Message-ID header value");
  cmd->add_option("--queue-id", opt->queue_id, "sluice queue id");
  cmd->add_option("--event", opt->event, "event id, e.g. DEFER");
  cmd->add_option("--since", opt->since, "start time (RFC 3339, e.g. 2026-11-23T10:00:00Z)");
  cmd->add_option("--until", opt->until, "end time (RFC 3339)");
  cmd->add_option("--limit", opt->limit, "at most this many records (the newest)");
  cmd->add_flag("--json", opt->json, "print the admin API's JSON");
  cmd->callback([opt, &context] {
    auto client = open_admin_client(context);
    if (!client) return;
    const ApiReply reply = client->get("/api/v1/track" + query_string({{"sender", opt->sender},
                                                                       {"recipient", opt->recipient},
                                                                       {"message_id", opt->message_id},
                                                                       {"queue_id", opt->queue_id},
                                                                       {"event", opt->event},
                                                                       {"since", opt->since},
                                                                       {"until", opt->until},
                                                                       {"limit", opt->limit}}));
    print_reply(reply, opt->json, format_track(reply.body), context);
  });
}

}  // namespace sluice::cli
