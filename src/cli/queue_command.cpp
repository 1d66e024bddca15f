// cli/queue_command.cpp: see queue_command.hpp.
#include "cli/queue_command.hpp"

#include <memory>
#include <sstream>

#include "cli/admin_client.hpp"
#include "cli/table.hpp"

namespace sluice::cli {
namespace {

struct QueueOptions {
  bool json = false;
  std::string queue, status, from, to, name;
};

std::string recipients_text(const nlohmann::json& recipients) {
  std::string out;
  if (!recipients.is_array()) return out;
  for (const nlohmann::json& r : recipients) {
    if (!out.empty()) out += ",";
    out += r.is_string() ? r.get<std::string>() : text_of(field(r, "address"));
  }
  return out;
}

}  // namespace

std::string format_queues(const nlohmann::json& queues) {
  if (!queues.is_array() || queues.empty()) return "No queues: nothing is waiting for delivery.\n";
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& q : queues) {
    rows.push_back({text_of(field(q, "identity")), text_of(field(q, "delivery_type")), text_of(field(q, "status")),
                    text_of(field(q, "message_count")), text_of(field(q, "next_retry_time")),
                    text_of(field(q, "last_error"))});
  }
  std::ostringstream out;
  print_table(out, {"Identity", "DeliveryType", "Status", "MessageCount", "NextRetryTime", "LastError"}, rows);
  return out.str();
}

std::string format_messages(const nlohmann::json& messages) {
  if (!messages.is_array() || messages.empty()) return "No messages match.\n";
  std::vector<std::vector<std::string>> rows;
  for (const nlohmann::json& m : messages) {
    std::string queues;
    if (const nlohmann::json& qs = field(m, "queues"); qs.is_array())
      for (const auto& q : qs) queues += (queues.empty() ? "" : ",") + text_of(q);
    std::string from = text_of(field(m, "from_address"));
    rows.push_back({text_of(field(m, "queue_id")), queues, text_of(field(m, "status")), from.empty() ? "<>" : from,
                    recipients_text(field(m, "recipients")), text_of(field(m, "size")),
                    text_of(field(m, "retry_count")), text_of(field(m, "last_error"))});
  }
  std::ostringstream out;
  print_table(out, {"Identity", "Queue", "Status", "FromAddress", "Recipients", "Size", "RetryCount", "LastError"},
              rows);
  return out.str();
}

void add_queue_command(CLI::App& app, CliContext& context) {
  auto opt = std::make_shared<QueueOptions>();
  CLI::App* queue = app.add_subcommand("queue", "Show the queues (Get-Queue), their messages, or retry/suspend/resume one");
  queue->add_flag("--json", opt->json, "print the admin API's JSON");
  queue->require_subcommand(0, 1);
  queue->callback([queue, opt, &context] {
    if (!queue->get_subcommands().empty()) return;  // a subcommand ran
    auto client = open_admin_client(context);
    if (!client) return;
    const ApiReply reply = client->get("/api/v1/queues");
    print_reply(reply, opt->json, format_queues(reply.body), context);
  });

  CLI::App* messages = queue->add_subcommand("messages", "List queued messages with their LastError (Get-Message)");
  messages->add_option("--queue", opt->queue, "only messages waiting in this queue (next hop)");
  messages->add_option("--status", opt->status, "ready, retry or suspended");
  messages->add_option("--from", opt->from, "envelope sender");
  messages->add_option("--to", opt->to, "recipient");
  messages->add_flag("--json", opt->json, "print the admin API's JSON");
  messages->callback([opt, &context] {
    auto client = open_admin_client(context);
    if (!client) return;
    const ApiReply reply = client->get("/api/v1/messages" + query_string({{"queue", opt->queue},
                                                                          {"status", opt->status},
                                                                          {"from", opt->from},
                                                                          {"to", opt->to}}));
    print_reply(reply, opt->json, format_messages(reply.body), context);
  });

  for (const char* verb : {"retry", "suspend", "resume"}) {
    const std::string v = verb;
    const std::string help = v == "retry"     ? "Try a queue in Retry now (Retry-Queue)"
                             : v == "suspend" ? "Stop deliveries from a queue; new mail still enters (Suspend-Queue)"
                                              : "Restart deliveries from a suspended queue (Resume-Queue)";
    CLI::App* cmd = queue->add_subcommand(v, help);
    cmd->add_option("queue", opt->name, "the queue's identity, as `sluice queue` lists it")->required();
    cmd->add_flag("--json", opt->json, "print the admin API's JSON");
    cmd->callback([opt, v, &context] {
      auto client = open_admin_client(context);
      if (!client) return;
      const ApiReply reply = client->post("/api/v1/queues/" + url_encode(opt->name) + "/" + v);
      const std::string done = v == "retry" ? "retrying" : v == "suspend" ? "suspended" : "resumed";
      print_reply(reply, opt->json, "Queue " + opt->name + ": " + done + ".\n", context);
    });
  }
}

}  // namespace sluice::cli
