// cli/mailq_command.cpp: see mailq_command.hpp.
#include "cli/mailq_command.hpp"

#include <cstdio>
#include <ctime>
#include <map>

#include "cli/admin_client.hpp"

namespace sluice::cli {
namespace {

const nlohmann::json& message_array(const nlohmann::json& messages) {
  if (messages.is_object()) {
    const nlohmann::json& inner = field(messages, "messages");
    if (inner.is_array()) return inner;
  }
  return messages;
}

// "Tue Mar  4 10:11:12 " — ctime's first 20 characters, as Postfix prints them.
std::string arrival_text(int64_t seconds, bool utc) {
  if (seconds < 0) return std::string(20, ' ');
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  if (utc) gmtime_r(&t, &tm);
  else localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return std::string(buf).substr(0, 20);
}

bool still_queued(const nlohmann::json& recipient) {
  const std::string status = text_of(field(recipient, "status"));
  std::string lower;
  for (char c : status) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower != "delivered" && lower != "failed" && lower != "bounced" && lower != "expanded" && lower != "relayed";
}

char status_char(const nlohmann::json& message) {
  std::string s = text_of(field(message, "status"));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "active") return '*';
  if (s == "suspended" || s == "pendingsuspend" || s == "hold") return '!';
  return ' ';
}

}  // namespace

int64_t api_time(const nlohmann::json& value) {
  if (value.is_number()) {
    const double v = value.get<double>();
    return static_cast<int64_t>(v > 1e12 ? v / 1e6 : v);
  }
  if (!value.is_string()) return -1;
  const std::string s = value.get<std::string>();
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0, used = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d%n", &year, &mon, &day, &hour, &min, &sec, &used) != 6) return -1;
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  int64_t t = timegm(&tm);
  size_t at = static_cast<size_t>(used);
  if (at < s.size() && s[at] == '.') {
    ++at;
    while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) ++at;
  }
  if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + at + 1, "%d:%d", &oh, &om) == 2) {
      const int64_t offset = oh * 3600 + om * 60;
      t += s[at] == '+' ? -offset : offset;
    }
  }
  return t;
}

std::string format_mailq(const nlohmann::json& messages, bool utc) {
  const nlohmann::json& list = message_array(messages);
  if (!list.is_array() || list.empty()) return "Mail queue is empty\n";
  std::string out = "----Queue ID-----  --Size-- ---Arrival Time---- -Sender/Recipient-------\n";
  uint64_t total = 0;
  unsigned requests = 0;
  char line[512];
  for (const nlohmann::json& m : list) {
    const std::string id = text_of(field(m, "queue_id"));
    const nlohmann::json& size_field = field(m, "size");
    const uint64_t size = size_field.is_number() ? size_field.get<uint64_t>() : 0;
    std::string sender = text_of(field(m, "from_address"));
    if (sender.empty()) sender = text_of(field(m, "from"));
    if (sender.empty()) sender = text_of(field(m, "sender"));
    if (sender.empty()) sender = "MAILER-DAEMON";  // Postfix's spelling of the null sender
    std::snprintf(line, sizeof line, "%-17s%c %8llu %20.20s %s\n", id.c_str(), status_char(m),
                  static_cast<unsigned long long>(size), arrival_text(api_time(field(m, "date_received")), utc).c_str(),
                  sender.c_str());
    out += line;
    // Recipients grouped under their deferral reason, in order of first appearance.
    std::vector<std::pair<std::string, std::vector<std::string>>> groups;
    const nlohmann::json& recipients = field(m, "recipients");
    if (recipients.is_array()) {
      for (const nlohmann::json& r : recipients) {
        if (r.is_string()) {
          groups.emplace_back(std::string{}, std::vector<std::string>{r.get<std::string>()});
          continue;
        }
        if (!still_queued(r)) continue;
        std::string reason = text_of(field(r, "last_reply"));
        // Only a deferral has a reason to show; a pending recipient's old reply is history.
        if (text_of(field(r, "status")) == "pending") reason.clear();
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == reason; });
        if (it == groups.end()) it = groups.insert(groups.end(), {reason, {}});
        it->second.push_back(text_of(field(r, "address")));
      }
    }
    for (const auto& [reason, addresses] : groups) {
      if (!reason.empty()) out += "(" + reason + ")\n";
      for (const std::string& a : addresses) out += std::string(49, ' ') + a + "\n";
    }
    out += "\n";
    total += size;
    ++requests;
  }
  out += "-- " + std::to_string((total + 1023) / 1024) + " Kbytes in " + std::to_string(requests) + " Request" +
         (requests == 1 ? "" : "s") + ".\n";
  return out;
}

void run_mailq(CliContext& context) {
  auto client = open_admin_client(context);
  if (!client) return;
  const ApiReply reply = client->get("/api/v1/messages");
  if (!report_failure(reply, context)) return;
  context.out << format_mailq(reply.body);
  context.exit_code = kExitOk;
}

void add_mailq_command(CLI::App& app, CliContext& context) {
  CLI::App* cmd = app.add_subcommand("mailq", "List the queue in Postfix's mailq format (as `mailq` and `sendmail -bp`)");
  cmd->callback([&context] { run_mailq(context); });
}

}  // namespace sluice::cli
