// cli/message_command.cpp: see message_command.hpp.
#include "cli/message_command.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/admin_client.hpp"
#include "cli/table.hpp"
#include "cli/user_command.hpp"

namespace sluice::cli {
namespace {

struct MessageOptions {
  bool json = false;
  bool ndr = false;
  std::string id;
  std::string output;  // export: file, "-" or empty = standard output
};

void line(std::ostringstream& out, const char* label, const std::string& value) {
  if (value.empty()) return;
  out << label << std::string(value.empty() ? 0 : 16 - std::min<size_t>(15, std::string(label).size()), ' ') << value
      << "\n";
}

}  // namespace

std::string format_message(const nlohmann::json& m) {
  std::ostringstream out;
  line(out, "Identity:", text_of(field(m, "queue_id")));
  line(out, "Status:", text_of(field(m, "status")));
  const std::string from = text_of(field(m, "from_address"));
  line(out, "FromAddress:", from.empty() ? "<>" : from);
  line(out, "MessageId:", text_of(field(m, "message_id")));
  line(out, "Size:", text_of(field(m, "size")));
  line(out, "DateReceived:", text_of(field(m, "date_received")));
  line(out, "ExpirationTime:", text_of(field(m, "expiration_time")));
  line(out, "RetryCount:", text_of(field(m, "retry_count")));
  line(out, "LastError:", text_of(field(m, "last_error")));
  line(out, "Advice:", text_of(field(m, "advice")));

  if (const nlohmann::json& rs = field(m, "recipients"); rs.is_array() && !rs.empty()) {
    out << "\nRecipients:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : rs) {
      rows.push_back({"  " + text_of(field(r, "address")), text_of(field(r, "status")), text_of(field(r, "queue")),
                      text_of(field(r, "attempts")), text_of(field(r, "next_retry_time")),
                      text_of(field(r, "last_reply"))});
    }
    print_table(out, {"  Address", "Status", "Queue", "Attempts", "NextRetryTime", "LastReply"}, rows);
  }
  if (const nlohmann::json& as = field(m, "attempts"); as.is_array() && !as.empty()) {
    out << "\nAttempts:\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : as) {
      std::string host = text_of(field(a, "remote_host"));
      const std::string ip = text_of(field(a, "remote_ip"));
      if (!ip.empty()) host += "[" + ip + "]";
      if (const std::string port = text_of(field(a, "port")); !port.empty() && port != "0") host += ":" + port;
      rows.push_back({"  " + text_of(field(a, "time")), text_of(field(a, "status")), host, text_of(field(a, "tls")),
                      text_of(field(a, "reply"))});
    }
    print_table(out, {"  Time", "Status", "Remote", "TLS", "Reply"}, rows);
  }
  if (const nlohmann::json& hs = field(m, "headers"); hs.is_array() && !hs.empty()) {
    out << "\nHeaders:\n";
    for (const auto& h : hs) out << "  " << text_of(field(h, "name")) << ": " << text_of(field(h, "value")) << "\n";
  }
  const nlohmann::json& transcript = field(m, "transcript");
  if (transcript.is_string() && !transcript.get<std::string>().empty()) {
    out << "\nTranscript of the last failed attempt:\n";
    std::istringstream lines(transcript.get<std::string>());
    for (std::string l; std::getline(lines, l);) out << "  " << l << "\n";
  } else if (transcript.is_array() && !transcript.empty()) {
    out << "\nTranscript of the last failed attempt:\n";
    for (const auto& l : transcript) {
      if (l.is_string()) {
        out << "  " << l.get<std::string>() << "\n";
      } else {
        const std::string dir = text_of(field(l, "direction"));
        out << "  " << (dir.empty() ? "" : dir + " ") << text_of(field(l, "line")) << text_of(field(l, "text")) << "\n";
      }
    }
  }
  if (const std::string e = text_of(field(m, "content_error")); !e.empty()) out << "\nContent: " << e << "\n";
  return out.str();
}

void add_message_command(CLI::App& app, CliContext& context) {
  auto opt = std::make_shared<MessageOptions>();
  CLI::App* message = app.add_subcommand("message", "Show, retry, suspend, resume, remove or export one queued message");
  message->require_subcommand(1);

  CLI::App* show = message->add_subcommand("show", "Envelope, headers, recipients, attempts and the last failed transcript");
  show->add_option("id", opt->id, "queue id")->required();
  show->add_flag("--json", opt->json, "print the admin API's JSON");
  show->callback([opt, &context] {
    auto client = open_admin_client(context);
    if (!client) return;
    const ApiReply reply = client->get("/api/v1/messages/" + url_encode(opt->id));
    print_reply(reply, opt->json, format_message(reply.body), context);
  });

  for (const char* verb : {"retry", "suspend", "resume", "remove"}) {
    const std::string v = verb;
    const std::string help = v == "retry"     ? "Deliver the message now (its recipients still waiting)"
                             : v == "suspend" ? "Hold the message: no attempts until resumed"
                             : v == "resume"  ? "Release a suspended message"
                                              : "Delete the message from the queue; --ndr tells the sender with a DSN";
    CLI::App* cmd = message->add_subcommand(v, help);
    cmd->add_option("id", opt->id, "queue id")->required();
    cmd->add_flag("--json", opt->json, "print the admin API's JSON");
    if (v == "remove") cmd->add_flag("--ndr", opt->ndr, "send a non-delivery report to the sender");
    cmd->callback([opt, v, &context] {
      auto client = open_admin_client(context);
      if (!client) return;
      const std::string query = v == "remove" && opt->ndr ? "?ndr=1" : "";
      const ApiReply reply = client->post("/api/v1/messages/" + url_encode(opt->id) + "/" + v + query);
      const std::string done = v == "retry"     ? "retrying now"
                               : v == "suspend" ? "suspended"
                               : v == "resume"  ? "resumed"
                               : opt->ndr       ? "removed; a non-delivery report goes to the sender"
                                                : "removed without a report to the sender";
      print_reply(reply, opt->json, "Message " + opt->id + ": " + done + ".\n", context);
    });
  }

  CLI::App* exp = message->add_subcommand("export", "Write the message as .eml (to standard output, or -o FILE)");
  exp->add_option("id", opt->id, "queue id")->required();
  exp->add_option("-o,--output", opt->output, "file to write (default: standard output)");
  exp->callback([opt, &context] {
    auto client = open_admin_client(context);
    if (!client) return;
    const ApiReply reply = client->get("/api/v1/messages/" + url_encode(opt->id) + "/export");
    if (!report_failure(reply, context)) return;
    if (opt->output.empty() || opt->output == "-") {
      context.out << reply.raw;
    } else {
      std::ofstream f(opt->output, std::ios::binary | std::ios::trunc);
      f << reply.raw;
      f.close();
      if (!f) {
        context.err << "sluice: cannot write " << opt->output << ": " << std::strerror(errno) << "\n";
        context.exit_code = kExitCantCreat;
        return;
      }
      context.err << "Message " << opt->id << " written to " << opt->output << " (" << reply.raw.size() << " bytes).\n";
    }
    context.exit_code = kExitOk;
  });
}

}  // namespace sluice::cli
