// cli/admin_client.hpp: how `sluice` reaches sluiced — the admin API's address and bearer
// token from the configuration (`--config`, $SLUICE_CONFIG, /etc/sluice/sluice.toml), one
// HTTP request per call, and every failure turned into a sysexits code and a sentence that
// says what to do (daemon not running, token unreadable or refused, no such message).
// Owns: the client side of the API's transport and error contract. Not: the routes' meaning
// or output formats (the *_command.cpp files), the server (admin/). cpp-httplib stays inside
// admin_client.cpp: its header is slow to compile.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cli/cli_context.hpp"

namespace sluice::cli {

inline constexpr int kExitNoInput = 66;      // EX_NOINPUT: no such message or queue (404)
inline constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: sluiced not running
inline constexpr int kExitTempFail = 75;     // EX_TEMPFAIL
inline constexpr int kExitProtocol = 76;     // EX_PROTOCOL: the API answered something unexpected
inline constexpr int kExitNoPerm = 77;       // EX_NOPERM: token unreadable or refused

struct ApiReply {
  int exit_code = kExitOk;  // kExitOk when the request succeeded (2xx)
  std::string message;      // why not, for the operator; empty on success
  int status = 0;           // HTTP status, 0 when there was no answer
  nlohmann::json body;      // parsed JSON (null when the body is not JSON)
  std::string raw;          // the body as received (export)

  bool ok() const { return exit_code == kExitOk; }
};

class AdminClient {
 public:
  // Reads the configuration and the token. On failure returns nullptr and fills `failure`
  // (exit code and message).
  static std::unique_ptr<AdminClient> open(const std::string& config_path, ApiReply& failure);
  // For tests: a known address and token.
  AdminClient(std::string host, uint16_t port, std::string token, std::string config_path);

  ApiReply get(const std::string& path_and_query) const;
  ApiReply post(const std::string& path_and_query, const nlohmann::json& body = nlohmann::json::object()) const;

  std::string address() const;  // "127.0.0.1:8025"

 private:
  ApiReply finish(int status, std::string body) const;
  ApiReply request(const std::string& method, const std::string& path, const std::string& body) const;

  std::string host_;
  uint16_t port_;
  std::string token_;
  std::string config_path_;
};

// "?a=1&b=x%40y" from pairs with non-empty values (percent-encoded per RFC 3986 §2.1).
std::string query_string(std::initializer_list<std::pair<std::string_view, std::string>> params);
std::string url_encode(std::string_view text);

// A field of an API object by its snake_case name, also found in the API's other spellings
// (camelCase, PascalCase as in Get-Queue); null when absent.
const nlohmann::json& field(const nlohmann::json& object, std::string_view snake_name);
// The field as text for a table cell: strings as they are, numbers printed, null as "".
std::string text_of(const nlohmann::json& value);

// AdminClient::open for a command: on failure reports it (context.err, exit code) and
// returns nullptr.
std::unique_ptr<AdminClient> open_admin_client(CliContext& context);

// Prints a successful reply: with `json` the body as JSON (indented), else `human`'s text.
// Returns reply.ok(); a failure is reported as report_failure does.
bool print_reply(const ApiReply& reply, bool json, const std::string& human, CliContext& context);

// Writes the failure to `context.err` and sets the exit code; returns reply.ok().
bool report_failure(const ApiReply& reply, CliContext& context);

}  // namespace sluice::cli
