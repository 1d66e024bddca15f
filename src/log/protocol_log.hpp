// log/protocol_log.hpp: the SMTP protocol log — every line a session sends or receives, and
// its connect, disconnect and information events, one CSV record per event in Exchange's
// layout, so admins find what they know from SmtpReceive/SmtpSend logs.
// Owns: the record and header format below. Not: what is logged and when (the sessions
// raise the events; they mask AUTH data before it gets here), files and rotation
// (log_file.hpp), session ids (session_id.hpp).
//
// Files: `RECV<yyyymmdd>-<n>.LOG` (receive) or `SEND<yyyymmdd>-<n>.LOG` (send) in the folder
// given (the daemon gives `<data_dir>/logs/protocol/`); UTC day, n from 1 each day. Each file
// starts with
//   #Software: sluice
//   #Version: 0.1.0
//   #Log-type: SMTP Receive Protocol Log            (or: SMTP Send Protocol Log)
//   #Date: 2019-01-25T00:03:58.478Z
//   #Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context
// then one record per event, ending in "\n" (LF, for Unix tools):
//   2019-01-25T00:03:58.478Z,mx1\Default,08D675E58CA1DA38,0,10.0.0.6:25,192.0.2.7:61061,+,,
//   date-time   UTC, milliseconds, stamped by the Clock when write() is called
//   connector-id `<hostname>\<connector name>`
//   session-id  16 uppercase hex digits; sequence-number as given (0, 1, ... per session)
//   endpoints   as given (see format_endpoint in log_format.hpp)
//   event       '+' connect, '-' disconnect, '>' sent, '<' received, '*' information
//   data, context quoted per RFC 4180 §2 when they hold ',', '"', CR or LF (a record then
//               spans lines inside the quotes, which CSV readers handle)
//   connector-id is quoted the same way (connector names come from the configuration). Other
//   fields never need it: numbers, hex, event characters, and endpoints from the socket.
//
// Threading and flushing: see RotatingLogFile. write() is thread-safe and does not wait for
// the disk except, rarely, for a write(2) into the page cache; the owner calls tick() about
// every second so no record waits in memory for longer than that.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/reply.hpp"
#include "base/version.hpp"
#include "log/log_file.hpp"

namespace sluice::log {

inline constexpr std::string_view kSoftwareName = "sluice";
inline constexpr std::string_view kSoftwareVersion = kVersion;

enum class ProtocolLogKind { receive, send };

struct ProtocolEvent {
  std::string_view connector;  // the connector's name; the log adds "<hostname>\"
  uint64_t session_id = 0;
  uint32_t sequence = 0;
  std::string_view local_endpoint, remote_endpoint;
  char event = '*';
  std::string_view data, context;
};

class ProtocolLog {
 public:
  static constexpr std::string_view kFields =
      "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,"
      "data,context";

  // Creates `dir`. I/O errors are counted and reported once on stderr, never thrown.
  ProtocolLog(std::filesystem::path dir, ProtocolLogKind kind, std::string hostname,
              const Clock& clock, LogRetention retention = {});

  void write(const ProtocolEvent& event);
  void flush() { file_.flush(); }
  void tick() { file_.tick(); }

  uint64_t error_count() const { return file_.error_count(); }
  std::filesystem::path current_path() const { return file_.current_path(); }

  // One record with its trailing "\n", as write() would append it at `at`.
  std::string format(SystemTime at, const ProtocolEvent& event) const;
  // The header block of a file opened at `opened`.
  static std::string header(ProtocolLogKind kind, SystemTime opened);
  static std::string_view file_prefix(ProtocolLogKind kind);

 private:
  const Clock& clock_;
  const std::string hostname_;
  RotatingLogFile file_;
};

// One session's view of a protocol log: its connector, session id, endpoints and the
// sequence numbers from 0 — shared by the receive and send sides so both number and split
// events alike. A null log drops every event (protocol_log = false on the connector).
class ProtocolSession {
 public:
  ProtocolSession(ProtocolLog* log, std::string connector, uint64_t session_id,
                  std::string local_endpoint = {}, std::string remote_endpoint = {})
      : log_(log), connector_(std::move(connector)), session_id_(session_id),
        local_(std::move(local_endpoint)), remote_(std::move(remote_endpoint)) {}

  void set_local_endpoint(std::string e) { local_ = std::move(e); }
  void set_remote_endpoint(std::string e) { remote_ = std::move(e); }
  void write(char event, std::string_view data, std::string_view context);
  // One record per line of the reply, so that a multi-line reply (EHLO) stays greppable.
  void write_reply(char event, const Reply& reply);

  const std::string& connector() const { return connector_; }
  uint64_t session_id() const { return session_id_; }
  uint32_t events() const { return sequence_; }

 private:
  ProtocolLog* log_;
  std::string connector_;
  uint64_t session_id_;
  std::string local_, remote_;
  uint32_t sequence_ = 0;
};

}  // namespace sluice::log
