// log/tracking_log.cpp: see tracking_log.hpp.
#include "log/tracking_log.hpp"

#include <nlohmann/json.hpp>

#include "log/log_format.hpp"

namespace sluice::log {

TrackingLog::TrackingLog(std::filesystem::path dir, std::string server_hostname,
                         const Clock& clock, LogRetention retention)
    : clock_(clock),
      server_hostname_(std::move(server_hostname)),
      file_(std::move(dir), std::string(kFilePrefix), clock, retention, nullptr) {}

std::string TrackingLog::format(SystemTime at, const TrackingEvent& e) const {
  // ordered_json keeps the documented key order, so lines read the same way every time.
  nlohmann::ordered_json j;
  j["date-time"] = format_timestamp(at);
  j["client-ip"] = e.client_ip;
  j["client-hostname"] = e.client_hostname;
  j["server-ip"] = e.server_ip;
  j["server-hostname"] = server_hostname_;
  j["source-context"] = e.source_context;
  j["connector-id"] = e.connector;
  j["source"] = e.source;
  j["event-id"] = e.event_id;
  j["internal-message-id"] = e.queue_id;
  j["message-id"] = e.message_id;
  j["recipient-address"] = e.recipient;
  j["recipient-status"] = e.recipient_status;
  j["total-bytes"] = e.total_bytes;
  j["recipient-count"] = e.recipient_count;
  j["related-recipient-address"] = e.related_recipient;
  j["sender-address"] = e.sender;
  j["return-path"] = e.return_path;
  j["tls-version"] = e.tls_version;
  j["tls-cipher"] = e.tls_cipher;
  j["tls-verified"] = e.tls_verified;
  j["auth-user"] = e.auth_user;
  j["schema-version"] = kSchemaVersion;
  // error_handler_t::replace: invalid UTF-8 from a peer must not throw (dump's default) nor
  // break the line; control characters are escaped by dump, so a record is always one line.
  std::string line = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  line += '\n';
  return line;
}

void TrackingLog::write(const TrackingEvent& event) {
  const SystemTime at = clock_.now();
  file_.append(at, format(at, event));
}

}  // namespace sluice::log
