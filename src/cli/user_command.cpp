// cli/user_command.cpp: see user_command.hpp.
#include "cli/user_command.hpp"

#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <variant>

#include "auth/user_store.hpp"
#include "config/loader.hpp"

namespace sluice::cli {
namespace {

// Echo off on the terminal for as long as this lives (restored even on early return).
class EchoOff {
 public:
  EchoOff() : active_(::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    if (!active_) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the Enter still moves to the next line
    active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_;
};

Result<std::string> read_line(std::istream& in) {
  std::string line;
  if (!std::getline(in, line)) return fail(ErrorClass::permanent, "no password on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// What the subcommands share once the arguments are parsed.
struct Request {
  std::string address;
  std::string users_file;  // --users-file
};

struct Loaded {
  auth::UserStore store;
  std::string path;
};

// The users file and the store, or an exit status (already reported).
std::variant<Loaded, int> load_store(const Request& request, CliContext& context) {
  std::string path = request.users_file;
  std::vector<auth::ConfiguredUser> config_users;
  if (path.empty()) {
    const auto config = config::load_file(context.config_path);
    if (!config.ok()) {
      for (const auto& e : config.errors) context.err << e.to_string("error") << "\n";
      context.err << "sluice user: the configuration has errors; or give --users-file FILE\n";
      return kExitConfig;
    }
    // The loader fills "<data_dir>/users" when the key is left out. Like the data directory
    // itself, a relative path is relative to the working directory.
    path = config.config->server.users_file;
    for (const auto& u : config.config->users) config_users.push_back({u.address, u.password_hash});
  }
  auto store = auth::UserStore::load(path, config_users);
  if (!store) {
    context.err << "sluice user: " << store.error().context << "\n";
    return store.error().klass == ErrorClass::io ? kExitIoErr : kExitConfig;
  }
  return Loaded{std::move(*store), path};
}

int save(const Loaded& loaded, CliContext& context) {
  if (auto saved = loaded.store.save(loaded.path); !saved) {
    context.err << "sluice user: " << saved.error().context << "\n";
    return kExitCantCreat;
  }
  return kExitOk;
}

// A user the command may change: exists, and lives in the users file.
int check_editable(const Loaded& loaded, std::string_view address, CliContext& context) {
  const auth::User* user = loaded.store.find(address);
  if (!user) {
    context.err << "sluice user: " << address << ": no such user in " << loaded.path << "\n";
    return kExitNoUser;
  }
  if (user->origin == auth::UserOrigin::configuration) {
    context.err << "sluice user: " << user->address
                << " is a [[user]] with password_hash in the configuration: change it there\n";
    return kExitConfig;
  }
  return kExitOk;
}

int run_add(const Request& request, CliContext& context, const UserCommandOptions& options) {
  auto loaded = load_store(request, context);
  if (auto* status = std::get_if<int>(&loaded)) return *status;
  Loaded& l = std::get<Loaded>(loaded);
  if (const auth::User* existing = l.store.find(request.address)) {
    context.err << "sluice user: " << existing->address << " exists already (use `sluice user passwd`)\n";
    return kExitCantCreat;
  }
  auto password = options.passwords->new_password(request.address, context.err);
  if (!password) {
    context.err << "sluice user: " << password.error().context << "\n";
    return kExitDataErr;
  }
  if (auto added = l.store.add(request.address, *password, options.hash_params); !added) {
    context.err << "sluice user: " << added.error().context << "\n";
    return kExitDataErr;
  }
  if (int status = save(l, context); status != kExitOk) return status;
  context.out << "added " << l.store.find(request.address)->address << " to " << l.path << "\n";
  return kExitOk;
}

int run_passwd(const Request& request, CliContext& context, const UserCommandOptions& options) {
  auto loaded = load_store(request, context);
  if (auto* status = std::get_if<int>(&loaded)) return *status;
  Loaded& l = std::get<Loaded>(loaded);
  if (int status = check_editable(l, request.address, context); status != kExitOk) return status;
  auto password = options.passwords->new_password(request.address, context.err);
  if (!password) {
    context.err << "sluice user: " << password.error().context << "\n";
    return kExitDataErr;
  }
  if (auto set = l.store.set_password(request.address, *password, options.hash_params); !set) {
    context.err << "sluice user: " << set.error().context << "\n";
    return kExitDataErr;
  }
  if (int status = save(l, context); status != kExitOk) return status;
  context.out << "changed the password of " << l.store.find(request.address)->address << "\n";
  return kExitOk;
}

int run_del(const Request& request, CliContext& context) {
  auto loaded = load_store(request, context);
  if (auto* status = std::get_if<int>(&loaded)) return *status;
  Loaded& l = std::get<Loaded>(loaded);
  if (int status = check_editable(l, request.address, context); status != kExitOk) return status;
  const std::string address = l.store.find(request.address)->address;
  if (auto removed = l.store.remove(request.address); !removed) {
    context.err << "sluice user: " << removed.error().context << "\n";
    return kExitNoUser;
  }
  if (int status = save(l, context); status != kExitOk) return status;
  context.out << "removed " << address << " from " << l.path << "\n";
  return kExitOk;
}

int run_list(const Request& request, CliContext& context) {
  auto loaded = load_store(request, context);
  if (auto* status = std::get_if<int>(&loaded)) return *status;
  for (const std::string& address : std::get<Loaded>(loaded).store.list()) context.out << address << "\n";
  return kExitOk;
}

}  // namespace

Result<std::string> StdinPasswordSource::new_password(std::string_view address, std::ostream& err) {
  if (!::isatty(STDIN_FILENO)) {
    auto line = read_line(std::cin);
    if (line && line->empty()) return fail(ErrorClass::permanent, "empty password on standard input");
    return line;
  }
  EchoOff quiet;
  err << "New password for " << address << ": " << std::flush;
  auto first = read_line(std::cin);
  if (!first) return first;
  if (first->empty()) return fail(ErrorClass::permanent, "empty password");
  err << "Retype the password: " << std::flush;
  auto second = read_line(std::cin);
  if (!second) return second;
  if (*first != *second) return fail(ErrorClass::permanent, "the passwords do not match");
  return first;
}

void add_user_command(CLI::App& app, CliContext& context) { add_user_command(app, context, UserCommandOptions{}); }

void add_user_command(CLI::App& app, CliContext& context, UserCommandOptions options) {
  CLI::App* user = app.add_subcommand("user", "Manage the users who may log in (SMTP AUTH): add, passwd, del, list");
  user->require_subcommand(1);

  // Owned by the callbacks (CLI11 keeps them as long as the app); the options write into it.
  auto request = std::make_shared<Request>();
  auto shared = std::make_shared<UserCommandOptions>(std::move(options));
  auto users_file_option = [&](CLI::App* sub) {
    sub->add_option("--users-file", request->users_file,
                    "the users file (default: [server] users_file, else <data_dir>/users)");
  };
  auto address_argument = [&](CLI::App* sub) {
    sub->add_option("address", request->address, "the user's address (the login)")->required();
  };

  CLI::App* add = user->add_subcommand(
      "add", "Add a user; the password is asked (terminal) or read from the first line of stdin");
  address_argument(add);
  users_file_option(add);
  add->callback([&context, request, shared] { context.exit_code = run_add(*request, context, *shared); });

  CLI::App* passwd = user->add_subcommand(
      "passwd", "Change a user's password (asked, or the first line of stdin)");
  address_argument(passwd);
  users_file_option(passwd);
  passwd->callback([&context, request, shared] { context.exit_code = run_passwd(*request, context, *shared); });

  CLI::App* del = user->add_subcommand("del", "Remove a user from the users file");
  address_argument(del);
  users_file_option(del);
  del->callback([&context, request] { context.exit_code = run_del(*request, context); });

  CLI::App* list = user->add_subcommand("list", "Print every user who may log in, one address per line");
  users_file_option(list);
  list->callback([&context, request] { context.exit_code = run_list(*request, context); });
}

}  // namespace sluice::cli
