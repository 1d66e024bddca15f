// cli/admin_client.cpp: see admin_client.hpp.
#include "cli/admin_client.hpp"

#include "admin/http.hpp"  // cpp-httplib as Debian compiled it (ODR)

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/loader.hpp"

namespace sluice::cli {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = 0;
  while (start < s.size() && (s[start] == ' ' || s[start] == '\t')) ++start;
  return s.substr(start);
}

std::string camel(std::string_view snake, bool pascal) {
  std::string out;
  bool upper = pascal;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

}  // namespace

std::unique_ptr<AdminClient> AdminClient::open(const std::string& config_path, ApiReply& failure) {
  const auto loaded = config::load_file(config_path);
  if (!loaded.ok()) {
    failure.exit_code = kExitConfig;
    failure.message = "cannot read the configuration " + config_path + " to find sluiced's admin API";
    if (!loaded.errors.empty()) failure.message += ": " + loaded.errors.front().message;
    failure.message += " (give the file with --config FILE or $SLUICE_CONFIG; `sluice config check` shows every error)";
    return nullptr;
  }
  const config::AdminSettings& admin = loaded.config->admin;
  if (!admin.enabled) {
    failure.exit_code = kExitUnavailable;
    failure.message = "the admin API is disabled in " + config_path + " ([admin] enabled = false); enable it and reload sluiced";
    return nullptr;
  }
  if (admin.listen.port == 0) {
    failure.exit_code = kExitConfig;
    failure.message = "[admin] listen in " + config_path + " has port 0, so the CLI cannot know where sluiced listens; "
                      "give it a fixed port";
    return nullptr;
  }
  std::string host = admin.listen.host;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";

  std::ifstream in(admin.token_file);
  if (!in) {
    const int err = errno;
    failure.exit_code = err == EACCES ? kExitNoPerm : kExitUnavailable;
    failure.message = "cannot read the admin token " + admin.token_file + ": " + std::strerror(err);
    if (err == EACCES) {
      failure.message += " (run sluice as the user that runs sluiced, or as root)";
    } else if (err == ENOENT) {
      failure.message += " (sluiced creates it on its first start: is sluiced running with " + config_path + "?)";
    }
    return nullptr;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string token = trim(buf.str());
  if (token.empty()) {
    failure.exit_code = kExitNoPerm;
    failure.message = "the admin token file " + admin.token_file + " is empty; remove it and restart sluiced to make a new one";
    return nullptr;
  }
  return std::make_unique<AdminClient>(host, admin.listen.port, std::move(token), config_path);
}

AdminClient::AdminClient(std::string host, uint16_t port, std::string token, std::string config_path)
    : host_(std::move(host)), port_(port), token_(std::move(token)), config_path_(std::move(config_path)) {}

std::string AdminClient::address() const {
  return (host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

ApiReply AdminClient::get(const std::string& path) const { return request("GET", path, {}); }

ApiReply AdminClient::post(const std::string& path, const nlohmann::json& body) const {
  return request("POST", path, body.dump());
}

ApiReply AdminClient::request(const std::string& method, const std::string& path, const std::string& body) const {
  httplib::Client client(host_, port_);
  client.set_bearer_token_auth(token_);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(60, 0);
  client.set_write_timeout(30, 0);
  httplib::Result res = method == "GET" ? client.Get(path) : client.Post(path, body, "application/json");
  if (!res) {
    ApiReply r;
    r.exit_code = kExitUnavailable;
    const httplib::Error e = res.error();
    if (e == httplib::Error::Connection) {
      r.message = "sluiced is not running on " + address() + " (connection refused); start it with `sluiced --config " +
                  config_path_ + "` (or `systemctl start sluiced`)";
    } else if (e == httplib::Error::ConnectionTimeout || e == httplib::Error::Read) {
      r.message = "sluiced on " + address() + " did not answer (" + httplib::to_string(e) +
                  "); it may be overloaded or stuck: check its log";
      r.exit_code = kExitTempFail;
    } else {
      r.message = "cannot talk to sluiced on " + address() + ": " + httplib::to_string(e);
    }
    return r;
  }
  return finish(res->status, std::move(res->body));
}

ApiReply AdminClient::finish(int status, std::string body) const {
  ApiReply r;
  r.status = status;
  r.body = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (r.body.is_discarded()) r.body = nullptr;
  r.raw = std::move(body);
  if (status >= 200 && status < 300) return r;

  std::string said;
  if (r.body.is_object()) {
    const nlohmann::json& e = r.body.contains("error") ? r.body["error"] : r.body;
    if (e.is_string()) said = e.get<std::string>();
    else if (e.is_object() && e.contains("message") && e["message"].is_string()) said = e["message"].get<std::string>();
    else if (r.body.contains("message") && r.body["message"].is_string()) said = r.body["message"].get<std::string>();
  }
  if (said.empty()) said = trim(r.raw.substr(0, 200));
  switch (status) {
    case 401:
    case 403:
      r.exit_code = kExitNoPerm;
      r.message = "sluiced refused the admin token (" + std::to_string(status) + "): " + said +
                  " — was the token file replaced? Restart sluiced or use the token it was started with";
      break;
    case 404:
      r.exit_code = kExitNoInput;
      r.message = said;
      break;
    case 400:
    case 422:
      r.exit_code = kExitUsage;
      r.message = said;
      break;
    case 409:
    case 503:
      r.exit_code = kExitTempFail;
      r.message = said;
      break;
    default:
      r.exit_code = kExitSoftware;
      r.message = "sluiced answered " + std::to_string(status) + ": " + said;
  }
  return r;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string query_string(std::initializer_list<std::pair<std::string_view, std::string>> params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? '?' : '&';
    out += std::string(key) + "=" + url_encode(value);
  }
  return out;
}

const nlohmann::json& field(const nlohmann::json& object, std::string_view snake_name) {
  static const nlohmann::json kNull;  // NOLINT: immutable
  if (!object.is_object()) return kNull;
  for (const std::string& name : {std::string(snake_name), camel(snake_name, false), camel(snake_name, true)}) {
    if (auto it = object.find(name); it != object.end()) return *it;
  }
  return kNull;
}

std::string text_of(const nlohmann::json& value) {
  if (value.is_null()) return {};
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "yes" : "no";
  return value.dump();
}

bool report_failure(const ApiReply& reply, CliContext& context) {
  if (reply.ok()) return true;
  context.err << "sluice: " << reply.message << "\n";
  context.exit_code = reply.exit_code;
  return false;
}

std::unique_ptr<AdminClient> open_admin_client(CliContext& context) {
  ApiReply failure;
  auto client = AdminClient::open(context.config_path, failure);
  if (!client) report_failure(failure, context);
  return client;
}

bool print_reply(const ApiReply& reply, bool json, const std::string& human, CliContext& context) {
  if (!report_failure(reply, context)) return false;
  if (json) context.out << (reply.body.is_null() ? nlohmann::json::object() : reply.body).dump(2) << "\n";
  else context.out << human;
  context.exit_code = kExitOk;
  return true;
}

}  // namespace sluice::cli
