// auth/user_store.cpp: see user_store.hpp.
#include "auth/user_store.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "config/loader.hpp"

namespace sluice::auth {
namespace {

// The Argon2id hash (default parameters) of a random password nobody knows: verified for
// unknown logins so that they cost what a real verification costs.
constexpr std::string_view kDecoyHash =
    "$argon2id$v=19$m=65536,t=2,p=1$gQL3fwNC/M/R9bwtTTbCPw$tu3VAkznj6ecBxpwfNMRtIbi2TsxJKi5AE73cfSKwkk";

constexpr std::string_view kFileHeader =
    "# sluice users: address:argon2id-hash:scram-sha-256-data, one user per line.\n"
    "# Managed by `sluice user add|passwd|del|list`; rewritten whole on every change.\n";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Why `address` cannot be a login, or "".
std::string check_address(std::string_view address) {
  if (address.find(':') != std::string_view::npos) return "an address with ':' cannot be stored";
  std::string why = config::check_mailbox(address);
  return why.empty() ? std::string() : "'" + std::string(address) + "' is not a valid address: " + why;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t at = 0;;) {
    const size_t end = s.find(sep, at);
    out.push_back(s.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) return out;
    at = end + 1;
  }
}

User make_user(std::string address, std::string hash, std::optional<ScramCredentials> scram,
               UserOrigin origin) {
  User u;
  u.sender_addresses.push_back(address);
  u.address = std::move(address);
  u.password_hash = std::move(hash);
  u.scram = std::move(scram);
  u.origin = origin;
  return u;
}

Failure io_error(const std::string& what, const std::filesystem::path& path, int error) {
  return fail(ErrorClass::io, what + " " + path.string() + ": " + std::strerror(error));
}

}  // namespace

UserStore::UserStore() : secret_(32, '\0') {
  SLUICE_ASSERT(ensure_sodium());
  randombytes_buf(secret_.data(), secret_.size());
}

std::string UserStore::normalize_login(std::string_view login) {
  const size_t at = login.rfind('@');
  if (at == std::string_view::npos) return std::string(login);
  return std::string(login.substr(0, at + 1)) + lower(login.substr(at + 1));
}

Result<UserStore> UserStore::load(const std::filesystem::path& users_file,
                                  const std::vector<ConfiguredUser>& config_users) {
  UserStore store;
  for (const ConfiguredUser& cu : config_users) {
    if (cu.password_hash.empty()) continue;  // a mailbox that does not log in
    const std::string key = normalize_login(cu.address);
    if (!looks_like_argon2id(cu.password_hash)) {
      return fail(ErrorClass::config, "[[user]] " + cu.address + ": password_hash is not an Argon2id hash "
                                      "(create one with `sluice user add` and copy it)");
    }
    store.users_[key] = make_user(key, cu.password_hash, std::nullopt, UserOrigin::configuration);
  }

  std::error_code ec;
  if (!std::filesystem::exists(users_file, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory) return io_error("cannot read", users_file, ec.value());
    return store;
  }
  std::ifstream in(users_file, std::ios::binary);
  if (!in) return io_error("cannot read", users_file, errno);

  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    auto bad = [&](const std::string& what) {
      return fail(ErrorClass::config, users_file.string() + ":" + std::to_string(number) + ": " + what);
    };
    const auto fields = split(line, ':');
    if (fields.size() != 2 && fields.size() != 3) {
      return bad("expected address:argon2id-hash:scram-data (" + std::to_string(fields.size()) + " fields)");
    }
    if (std::string why = check_address(fields[0]); !why.empty()) return bad(why);
    if (!looks_like_argon2id(fields[1])) return bad("the password hash is not an Argon2id hash");
    std::optional<ScramCredentials> scram;
    if (fields.size() == 3 && !fields[2].empty()) {
      auto parsed = parse_scram_credentials(fields[2]);
      if (!parsed) return bad(parsed.error().context);
      scram = std::move(*parsed);
    }
    const std::string key = normalize_login(fields[0]);
    if (auto it = store.users_.find(key); it != store.users_.end()) {
      return bad(it->second.origin == UserOrigin::configuration
                     ? key + " also has a password_hash in a [[user]] of the configuration"
                     : key + " appears twice");
    }
    store.users_[key] = make_user(key, std::string(fields[1]), std::move(scram), UserOrigin::users_file);
  }
  if (in.bad()) return io_error("cannot read", users_file, errno);
  return store;
}

const User* UserStore::find(std::string_view login) const {
  auto it = users_.find(normalize_login(login));
  return it == users_.end() ? nullptr : &it->second;
}

bool UserStore::verify(std::string_view login, std::string_view password) const {
  const User* user = find(login);
  if (!user) {
    (void)verify_password(kDecoyHash, password);
    return false;
  }
  return verify_password(user->password_hash, password);
}

Result<void> UserStore::add(std::string_view address, std::string_view password, const HashParams& params,
                            uint32_t scram_iterations) {
  if (std::string why = check_address(address); !why.empty()) return fail(ErrorClass::permanent, why);
  const std::string key = normalize_login(address);
  if (users_.count(key)) return fail(ErrorClass::permanent, key + " already exists");
  auto hash = hash_password(password, params);
  if (!hash) return fail(hash.error());
  users_[key] = make_user(key, std::move(*hash), make_scram_credentials(password, scram_iterations),
                          UserOrigin::users_file);
  return ok();
}

Result<void> UserStore::set_password(std::string_view address, std::string_view password,
                                     const HashParams& params, uint32_t scram_iterations) {
  auto it = users_.find(normalize_login(address));
  if (it == users_.end()) return fail(ErrorClass::permanent, std::string(address) + ": no such user");
  if (it->second.origin == UserOrigin::configuration) {
    return fail(ErrorClass::permanent, it->first + " is defined in the configuration: change its password_hash there");
  }
  auto hash = hash_password(password, params);
  if (!hash) return fail(hash.error());
  it->second.password_hash = std::move(*hash);
  it->second.scram = make_scram_credentials(password, scram_iterations);
  return ok();
}

Result<void> UserStore::remove(std::string_view address) {
  auto it = users_.find(normalize_login(address));
  if (it == users_.end()) return fail(ErrorClass::permanent, std::string(address) + ": no such user");
  if (it->second.origin == UserOrigin::configuration) {
    return fail(ErrorClass::permanent, it->first + " is defined in the configuration: remove it there");
  }
  users_.erase(it);
  return ok();
}

void UserStore::insert(User user) {
  std::string key = normalize_login(user.address);
  users_[std::move(key)] = std::move(user);
}

Result<void> UserStore::save(const std::filesystem::path& users_file) const {
  std::string text(kFileHeader);
  for (const auto& [key, user] : users_) {
    if (user.origin != UserOrigin::users_file) continue;
    text += user.address + ":" + user.password_hash + ":" +
            (user.scram ? format_scram_credentials(*user.scram) : std::string()) + "\n";
  }

  const std::filesystem::path dir = users_file.has_parent_path() ? users_file.parent_path() : ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("cannot create directory", dir, ec.value());

  // mkstemp creates the file with mode 0600 and a name nobody else can have taken.
  std::string temp = users_file.string() + ".tmpXXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return io_error("cannot write", users_file, errno);
  auto abandon = [&](int error) {
    ::close(fd);
    ::unlink(temp.c_str());
    return io_error("cannot write", users_file, error);
  };
  if (::fchmod(fd, 0600) != 0) return abandon(errno);
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon(n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon(errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return io_error("cannot write", users_file, error);
  }
  if (::rename(temp.c_str(), users_file.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    return io_error("cannot write", users_file, error);
  }
  // The rename is durable only once the directory is synced.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    const int rc = ::fsync(dir_fd);
    const int error = errno;
    ::close(dir_fd);
    if (rc != 0) return io_error("cannot sync the directory of", users_file, error);
  }
  return ok();
}

std::vector<std::string> UserStore::list() const {
  std::vector<std::string> out;
  out.reserve(users_.size());
  for (const auto& [key, user] : users_) out.push_back(user.address);
  return out;
}

std::string UserStore::decoy_salt(std::string_view login) const {
  return hmac_sha256(secret_, normalize_login(login)).substr(0, kScramSaltBytes);
}

}  // namespace sluice::auth
