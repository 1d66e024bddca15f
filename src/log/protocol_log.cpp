// log/protocol_log.cpp: see protocol_log.hpp.
#include "log/protocol_log.hpp"

#include "log/log_format.hpp"
#include "log/session_id.hpp"

namespace sluice::log {

std::string_view ProtocolLog::file_prefix(ProtocolLogKind kind) {
  return kind == ProtocolLogKind::receive ? "RECV" : "SEND";
}

std::string ProtocolLog::header(ProtocolLogKind kind, SystemTime opened) {
  std::string h;
  h += "#Software: ";
  h += kSoftwareName;
  h += "\n#Version: ";
  h += kSoftwareVersion;
  h += kind == ProtocolLogKind::receive ? "\n#Log-type: SMTP Receive Protocol Log"
                                        : "\n#Log-type: SMTP Send Protocol Log";
  h += "\n#Date: ";
  h += format_timestamp(opened);
  h += "\n#Fields: ";
  h += kFields;
  h += '\n';
  return h;
}

ProtocolLog::ProtocolLog(std::filesystem::path dir, ProtocolLogKind kind, std::string hostname,
                         const Clock& clock, LogRetention retention)
    : clock_(clock),
      hostname_(std::move(hostname)),
      file_(std::move(dir), std::string(file_prefix(kind)), clock, retention,
            [kind](SystemTime opened) { return header(kind, opened); }) {}

std::string ProtocolLog::format(SystemTime at, const ProtocolEvent& e) const {
  std::string line;
  line.reserve(96 + hostname_.size() + e.connector.size() + e.data.size() + e.context.size());
  line += format_timestamp(at);
  line += ',';
  // Connector names come from the configuration, which may hold a comma: quote as needed.
  std::string connector_id = hostname_;
  connector_id += '\\';
  connector_id += e.connector;
  append_csv_field(line, connector_id);
  line += ',';
  line += SessionIdGenerator::format(e.session_id);
  line += ',';
  line += std::to_string(e.sequence);
  line += ',';
  line += e.local_endpoint;
  line += ',';
  line += e.remote_endpoint;
  line += ',';
  line += e.event;
  line += ',';
  append_csv_field(line, e.data);
  line += ',';
  append_csv_field(line, e.context);
  line += '\n';
  return line;
}

void ProtocolLog::write(const ProtocolEvent& event) {
  // Formatting happens outside the file's lock; only the copy into the buffer is serialized.
  const SystemTime at = clock_.now();
  file_.append(at, format(at, event));
}

void ProtocolSession::write(char event, std::string_view data, std::string_view context) {
  if (!log_) return;
  ProtocolEvent e;
  e.connector = connector_;
  e.session_id = session_id_;
  e.sequence = sequence_++;
  e.local_endpoint = local_;
  e.remote_endpoint = remote_;
  e.event = event;
  e.data = data;
  e.context = context;
  log_->write(e);
}

void ProtocolSession::write_reply(char event, const Reply& reply) {
  const std::string wire = reply.wire();
  for (size_t start = 0; start < wire.size();) {
    size_t end = wire.find("\r\n", start);
    if (end == std::string::npos) end = wire.size();
    write(event, std::string_view(wire).substr(start, end - start), "");
    start = end + 2;
  }
}

}  // namespace sluice::log
