// admin/admin_views.cpp: see admin_views.hpp.
#include "admin/admin_views.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "config/units.hpp"
#include "log/log_format.hpp"
#include "log/metrics.hpp"

namespace sluice::admin {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  return needle.empty() || lower(hay).find(lower(needle)) != std::string::npos;
}

json time_or_null(const std::optional<SystemTime>& t) { return t ? json(rfc3339(*t)) : json(nullptr); }

json attempt_json(const queue::AttemptInfo& a) {
  return json{{"time", rfc3339(a.time)},  {"recipients", a.recipients}, {"queue", a.queue},
              {"connector", a.connector}, {"remote_host", a.remote_host}, {"remote_ip", a.remote_ip},
              {"port", a.port},           {"tls", a.tls},               {"reply", a.reply},
              {"status", a.status},       {"latency_ms", a.latency_ms}};
}

}  // namespace

std::string rfc3339(SystemTime t) { return log::format_timestamp(t); }

json queue_json(const queue::QueueInfo& q) {
  return json{{"identity", q.identity},
              {"delivery_type", queue::to_string(q.delivery_type)},
              {"status", queue::to_string(q.status)},
              {"message_count", q.message_count},
              {"next_hop_domain", q.identity},
              {"next_hop_connector", q.next_hop_connector},
              {"active_connections", q.active_connections},
              {"last_error", q.last_error},
              {"retry_count", q.retry_count},
              {"first_retry_time", time_or_null(q.first_retry_time)},
              {"last_retry_time", time_or_null(q.last_retry_time)},
              {"next_retry_time", time_or_null(q.next_retry_time)},
              {"incoming_rate", q.incoming_rate},
              {"outgoing_rate", q.outgoing_rate}};
}

std::string message_status(const queue::MessageInfo& m) {
  if (m.suspended) return "Suspended";
  for (const auto& r : m.recipients)
    if (r.state.status == spool::RecipientStatus::deferred) return "Retry";
  return "Ready";
}

json message_json(const queue::MessageInfo& m, SystemTime now) {
  json recipients = json::array();
  for (const auto& r : m.recipients) {
    json j{{"address", r.address},
           {"queue", r.queue},
           {"status", spool::to_string(r.state.status)},
           {"last_reply", r.state.last_reply},
           {"attempts", r.state.attempts},
           {"remote_mta", r.state.remote_mta}};
    j["next_retry_time"] = r.state.next_attempt_us > 0 && r.state.status == spool::RecipientStatus::deferred
                               ? json(rfc3339(SystemTime(std::chrono::microseconds(r.state.next_attempt_us))))
                               : json(nullptr);
    recipients.push_back(std::move(j));
  }
  json attempts = json::array();
  for (const auto& a : m.attempts) attempts.push_back(attempt_json(a));
  std::set<std::string> queues;
  for (const auto& r : m.recipients) queues.insert(r.queue);
  json j{{"identity", m.queue_id},
         {"queue_id", m.queue_id},
         {"queues", std::vector<std::string>(queues.begin(), queues.end())},
         {"from_address", m.from},
         {"message_id", m.message_id},
         {"size", m.size},
         {"status", message_status(m)},
         {"date_received", time_or_null(m.date_received)},
         {"expiration_time", time_or_null(m.expiration_time)},
         {"last_error", m.last_error},
         {"retry_count", m.retry_count},
         {"recipients", std::move(recipients)},
         {"attempts", std::move(attempts)}};
  j["age_seconds"] =
      m.date_received ? json(std::chrono::duration_cast<std::chrono::seconds>(now - *m.date_received).count()) : json(nullptr);
  return j;
}

json header_fields(std::string_view content) {
  json out = json::array();
  std::string name, value;
  auto flush = [&] {
    if (!name.empty()) out.push_back(json{{"name", name}, {"value", value}});
    name.clear();
    value.clear();
  };
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    if (line.front() == ' ' || line.front() == '\t') {
      if (!name.empty()) value += " " + std::string(line.substr(line.find_first_not_of(" \t")));
      continue;
    }
    flush();
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a header field: skipped, not guessed at
    name = std::string(line.substr(0, colon));
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    value = std::string(v);
  }
  flush();
  return out;
}

bool MessageQuery::empty() const {
  return queue.empty() && status.empty() && from.empty() && to.empty() && !min_age && !min_size;
}

Result<MessageQuery> parse_message_query(const std::multimap<std::string, std::string>& params) {
  MessageQuery q;
  for (const auto& [k, v] : params) {
    if (k == "queue") q.queue = v;
    else if (k == "status") {
      const std::string s = lower(v);
      if (s != "ready" && s != "retry" && s != "suspended")
        return fail(ErrorClass::permanent, "status='" + v + "': use Ready, Retry or Suspended");
      q.status = s;
    } else if (k == "from") q.from = v;
    else if (k == "to") q.to = v;
    else if (k == "min_age") {
      auto d = config::parse_duration(v);
      if (!d) {
        bool digits = !v.empty() && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
        if (!digits || v.size() > 12) return fail(ErrorClass::permanent, "min_age='" + v + "': use seconds or a duration like 30m, 4h, 2d");
        q.min_age = std::chrono::seconds(std::stoll(v));
      } else {
        q.min_age = *d;
      }
    } else if (k == "min_size") {
      auto s = config::parse_size(v);
      if (!s) return fail(ErrorClass::permanent, "min_size='" + v + "': use bytes or a size like 10KB, 5MB");
      q.min_size = *s;
    } else if (k == "ndr" || k == "all") {
      // action parameters, read by the action routes
    } else {
      return fail(ErrorClass::permanent, "unknown parameter '" + k + "': filters are queue, status, from, to, min_age, min_size");
    }
  }
  return q;
}

bool matches(const queue::MessageInfo& m, const MessageQuery& q, SystemTime now) {
  if (!q.queue.empty() && std::none_of(m.recipients.begin(), m.recipients.end(), [&](const auto& r) { return r.queue == q.queue; }))
    return false;
  if (!q.status.empty() && lower(message_status(m)) != q.status) return false;
  if (!q.from.empty() && !contains_ci(m.from, q.from)) return false;
  if (!q.to.empty() &&
      std::none_of(m.recipients.begin(), m.recipients.end(), [&](const auto& r) { return contains_ci(r.address, q.to); }))
    return false;
  if (q.min_age && (!m.date_received || now - *m.date_received < *q.min_age)) return false;
  if (q.min_size && m.size < *q.min_size) return false;
  return true;
}

Result<TrackQuery> parse_track_query(const std::multimap<std::string, std::string>& params) {
  TrackQuery q;
  for (const auto& [k, v] : params) {
    if (k == "sender") q.sender = v;
    else if (k == "recipient") q.recipient = v;
    else if (k == "message_id") q.message_id = v;
    else if (k == "queue_id") q.queue_id = v;
    else if (k == "event") q.event = v;
    else if (k == "since") q.since = v;
    else if (k == "until") q.until = v;
    else if (k == "limit") {
      bool digits = !v.empty() && v.size() < 9 && std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
      if (!digits || std::stoul(v) == 0) return fail(ErrorClass::permanent, "limit='" + v + "': use a positive number");
      q.limit = std::stoul(v);
    } else {
      return fail(ErrorClass::permanent, "unknown parameter '" + k +
                                             "': search by sender, recipient, message_id, queue_id, event, since, until, limit");
    }
  }
  return q;
}

Result<json> search_tracking(const fs::path& dir, const TrackQuery& q) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("MSGTRK", 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".LOG") files.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(ErrorClass::io, "cannot read the tracking log folder " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  auto str = [](const json& r, const char* key) -> std::string {
    auto it = r.find(key);
    return it != r.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::deque<json> found;
  for (const auto& f : files) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json r = json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.is_object()) continue;  // a line cut by a crash: skipped
      const std::string at = str(r, "date-time");
      if (!q.since.empty() && at < q.since) continue;
      if (!q.until.empty() && at.compare(0, q.until.size(), q.until) > 0) continue;
      if (!contains_ci(str(r, "sender-address"), q.sender)) continue;
      if (!contains_ci(str(r, "recipient-address"), q.recipient) && !contains_ci(str(r, "related-recipient-address"), q.recipient))
        continue;
      if (!q.message_id.empty() && !contains_ci(str(r, "message-id"), q.message_id)) continue;
      if (!q.queue_id.empty() && str(r, "internal-message-id") != q.queue_id) continue;
      if (!q.event.empty() && lower(str(r, "event-id")) != lower(q.event)) continue;
      found.push_back(std::move(r));
      if (found.size() > q.limit) found.pop_front();
    }
  }
  return json(std::vector<json>(found.begin(), found.end()));
}

namespace {

// One CSV record of the protocol log (RFC 4180 quoting; a quoted field may span lines).
bool read_csv_record(std::istream& in, std::vector<std::string>& fields) {
  fields.clear();
  std::string line;
  if (!std::getline(in, line)) return false;
  std::string field;
  bool quoted = false;
  for (;;) {
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          field += c;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.push_back(std::move(field));
        field.clear();
      } else {
        field += c;
      }
    }
    if (!quoted || !std::getline(in, line)) break;
    field += '\n';
  }
  fields.push_back(std::move(field));
  return true;
}

// Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context
constexpr size_t kTime = 0, kSession = 2, kRemote = 5, kEvent = 6, kData = 7, kContext = 8, kFields = 9;

std::vector<fs::path> send_logs(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("SEND", 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".LOG") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

Result<json> find_transcript(const fs::path& protocol_dir, std::string_view queue_id, std::string_view remote_endpoint) {
  const auto files = send_logs(protocol_dir);
  std::string carried, to_endpoint;  // the last session of each kind
  std::vector<std::string> f;
  for (const auto& p : files) {
    std::ifstream in(p);
    while (read_csv_record(in, f)) {
      if (f.size() < kFields || f[0].empty() || f[0][0] == '#') continue;
      if (f[kEvent] == "*" && f[kContext] == "sending message" && f[kData] == queue_id) carried = f[kSession];
      if (!remote_endpoint.empty() && f[kRemote] == remote_endpoint) to_endpoint = f[kSession];
    }
  }
  const std::string session = carried.empty() ? to_endpoint : carried;
  if (session.empty()) return json(nullptr);
  json lines = json::array();
  for (const auto& p : files) {
    std::ifstream in(p);
    while (read_csv_record(in, f)) {
      if (f.size() < kFields || f[kSession] != session) continue;
      const std::string& e = f[kEvent];
      std::string text = e == ">"   ? "C: " + f[kData]
                         : e == "<" ? "S: " + f[kData]
                         : e == "+" ? "* connected"
                         : e == "-" ? "* disconnected: " + f[kContext]
                                    : "* " + f[kContext] + (f[kData].empty() ? "" : ": " + f[kData]);
      lines.push_back(f[kTime] + " " + text);
    }
  }
  return json{{"session_id", session}, {"lines", std::move(lines)}};
}

std::string queue_metrics(const std::vector<queue::QueueInfo>& queues, const std::vector<queue::MessageInfo>& messages,
                          SystemTime now) {
  std::map<std::string, double> oldest;
  for (const auto& m : messages) {
    if (!m.date_received) continue;
    const double age = std::chrono::duration<double>(now - *m.date_received).count();
    std::set<std::string> qs;
    for (const auto& r : m.recipients)
      if (r.state.status != spool::RecipientStatus::delivered && r.state.status != spool::RecipientStatus::failed) qs.insert(r.queue);
    for (const auto& q : qs) oldest[q] = std::max(oldest[q], age);
  }
  std::string out =
      "# HELP sluice_queue_messages Messages waiting in each queue (next hop).\n# TYPE sluice_queue_messages gauge\n";
  for (const auto& q : queues)
    out += "sluice_queue_messages" + log::format_labels({{"queue", q.identity}, {"status", queue::to_string(q.status)}}) + " " +
           std::to_string(q.message_count) + "\n";
  out += "# HELP sluice_queue_oldest_message_age_seconds Age of the oldest message waiting in each queue.\n"
         "# TYPE sluice_queue_oldest_message_age_seconds gauge\n";
  for (const auto& q : queues)
    out += "sluice_queue_oldest_message_age_seconds" + log::format_labels({{"queue", q.identity}}) + " " +
           log::format_metric_value(oldest.count(q.identity) ? oldest[q.identity] : 0.0) + "\n";
  return out;
}

Result<std::string> load_or_create_token(const fs::path& path) {
  std::ifstream in(path);
  if (in) {
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16)
      return fail(ErrorClass::config, "the admin token in " + path.string() +
                                          " is shorter than 16 characters; delete the file and restart sluiced to make a new one");
    return token;
  }
  if (errno != ENOENT)
    return fail(ErrorClass::config, "cannot read the admin token " + path.string() + ": " + std::strerror(errno));
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return fail(ErrorClass::io, "cannot make an admin token: no randomness from OpenSSL");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : raw) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  // Written to a temporary name and renamed: a crash never leaves a half token behind.
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorClass::config, "cannot create the admin token " + path.string() + ": " + std::strerror(errno));
  const std::string text = token + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return fail(ErrorClass::config, "cannot write the admin token " + path.string() + ": " + why);
  }
  return token;
}

bool authorized(std::string_view header, std::string_view token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() != kBearer.size() + token.size() || header.substr(0, kBearer.size()) != kBearer) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(header[kBearer.size() + i] ^ token[i]);
  return diff == 0 && !token.empty();
}

}  // namespace sluice::admin
