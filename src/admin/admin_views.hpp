// admin/admin_views.hpp: the JSON the admin API answers with, and the filters it applies —
// queues (Exchange's Get-Queue fields), messages (Get-Message fields plus recipients and
// attempts), message filters, the tracking-log search, the queue gauges of /metrics, and the
// bearer token file. Pure functions over snapshots: no HTTP here, so each is unit-tested.
// Owns: field names and formats of the API (times as RFC 3339 UTC strings, sizes in bytes,
// ages in seconds). Not: serving (admin_server.cpp), the data (queue/, log/).
// RFC 3339 (timestamps), RFC 5322 §2.2 (header fields, unfolded for display), RFC 6750 §2.1
// (bearer tokens).
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "queue/queue_manager.hpp"

namespace sluice::admin {

nlohmann::json queue_json(const queue::QueueInfo& q);
// Exchange's message Status: Suspended, Retry (a recipient was deferred), Active (in an
// attempt now is not visible here, so:) Ready otherwise.
std::string message_status(const queue::MessageInfo& m);
nlohmann::json message_json(const queue::MessageInfo& m, SystemTime now);
// The header fields of `content` in order, unfolded: [{"name": ..., "value": ...}].
nlohmann::json header_fields(std::string_view content);

// GET /api/v1/messages?queue=&status=&from=&to=&min_age=&min_size=
struct MessageQuery {
  std::string queue, status, from, to;  // status: Ready, Retry, Suspended (case-insensitive)
  std::optional<std::chrono::seconds> min_age;
  std::optional<uint64_t> min_size;
  bool empty() const;
};
// From query parameters; an unknown parameter or bad value is an error saying which.
Result<MessageQuery> parse_message_query(const std::multimap<std::string, std::string>& params);
bool matches(const queue::MessageInfo& m, const MessageQuery& q, SystemTime now);

// GET /api/v1/track?sender=&recipient=&message_id=&queue_id=&event=&since=&until=&limit=
struct TrackQuery {
  std::string sender, recipient, message_id, queue_id, event;
  std::string since, until;  // RFC 3339 prefixes compare as strings: "2026-11-23", "2026-11-23T15:00"
  size_t limit = 1000;
};
Result<TrackQuery> parse_track_query(const std::multimap<std::string, std::string>& params);
// Every record of the MSGTRK*.LOG files in `dir` that matches, oldest first (files in name
// order, which is date order), at most q.limit (the newest ones when there are more).
Result<nlohmann::json> search_tracking(const std::filesystem::path& dir, const TrackQuery& q);

// The SMTP transcript of the last outbound connection that carried `queue_id` (its SEND
// protocol log session: the one with the '*' "sending message" record naming the id), or, when
// none did (the connection failed before), the last session to `remote_endpoint` ("ip:port").
// AUTH data is masked in the log already. null when there is none (protocol_log = false on the
// connector, or logs rotated away). {"session_id", "lines": [..."C: EHLO x", "S: 250 ..."]}.
Result<nlohmann::json> find_transcript(const std::filesystem::path& protocol_dir, std::string_view queue_id,
                                       std::string_view remote_endpoint);

// The per-queue gauges for /metrics, in the text format: message count and oldest message age.
std::string queue_metrics(const std::vector<queue::QueueInfo>& queues, const std::vector<queue::MessageInfo>& messages,
                          SystemTime now);

// The bearer token: read from `path`, or created there (0600, 32 random bytes as hex) when
// the file does not exist. Fails with what to do when it cannot be read or written.
Result<std::string> load_or_create_token(const std::filesystem::path& path);
// Constant-time comparison of "Bearer <token>" with the expected token.
bool authorized(std::string_view authorization_header, std::string_view token);

std::string rfc3339(SystemTime t);

}  // namespace sluice::admin
