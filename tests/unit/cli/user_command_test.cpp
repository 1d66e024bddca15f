// Tests for `sluice user add|passwd|del|list`: the users file it writes (read back through
// auth::UserStore), where the file is found (--users-file, [server] users_file, data_dir),
// every exit code, and that the password comes from the password source only. The commands
// run in their own CLI::App with a scripted password source and cheap hash parameters; usage
// errors and `list` also go through run_cli(), as an operator would.
#include "cli/user_command.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/user_store.hpp"
#include "cli/cli_app.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

// Hands out scripted answers and counts how often it was asked.
class ScriptedPasswords final : public PasswordSource {
 public:
  Result<std::string> new_password(std::string_view, std::ostream&) override {
    ++asked;
    if (answers.empty()) return fail(ErrorClass::permanent, "no password on standard input");
    std::string next = answers.front();
    answers.pop_front();
    if (next.empty()) return fail(ErrorClass::permanent, "empty password");
    return next;
  }
  std::deque<std::string> answers;
  int asked = 0;
};

struct CommandRun {
  int status;
  std::string out, err;
};

class UserCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "user_command_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    users_ = (dir_ / "users").string();
    passwords_ = std::make_shared<ScriptedPasswords>();
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandRun run(std::vector<std::string> args, const std::string& config = "/nonexistent/sluice.toml") {
    std::ostringstream out, err;
    CliContext context{out, err, config};
    CLI::App app{"test", "sluice"};
    app.add_option("-c,--config", context.config_path);
    add_user_command(app, context, UserCommandOptions{passwords_, auth::minimal_hash_params()});
    std::vector<const char*> argv{"sluice"};
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    return {context.exit_code, out.str(), err.str()};
  }
  CommandRun run_via_cli(std::vector<const char*> args) {
    args.insert(args.begin(), "sluice");
    std::ostringstream out, err;
    const int status = run_cli(static_cast<int>(args.size()), args.data(), out, err, std::nullopt);
    return {status, out.str(), err.str()};
  }
  auth::UserStore load(const std::string& path) {
    auto store = auth::UserStore::load(path, {});
    EXPECT_TRUE(store) << store.error().message();
    return store ? std::move(*store) : auth::UserStore{};
  }
  std::string write_config(const std::string& extra) {
    const std::string path = (dir_ / "sluice.toml").string();
    std::ofstream(path) << "[server]\nhostname = \"mx.example.test\"\ndata_dir = \"" << (dir_ / "data").string()
                        << "\"\n" << extra
                        << "[[receive_connector]]\nname = \"in\"\nlisten = [\"127.0.0.1:0\"]\n";
    return path;
  }

  fs::path dir_;
  std::string users_;
  std::shared_ptr<ScriptedPasswords> passwords_;
};

TEST_F(UserCommandTest, AddWritesAUsableEntryWithMode0600) {
  passwords_->answers = {"s3cret"};
  CommandRun r = run({"user", "add", "alice@Example.org", "--users-file", users_});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("added alice@example.org"), std::string::npos) << r.out;
  auto store = load(users_);
  EXPECT_TRUE(store.verify("alice@example.org", "s3cret"));
  EXPECT_TRUE(store.find("alice@example.org")->scram);
  struct stat st {};
  ASSERT_EQ(::stat(users_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(UserCommandTest, AddRefusesAnExistingUserWithoutAskingForAPassword) {
  passwords_->answers = {"one", "two"};
  ASSERT_EQ(run({"user", "add", "alice@example.org", "--users-file", users_}).status, 0);
  CommandRun r = run({"user", "add", "alice@EXAMPLE.org", "--users-file", users_});
  EXPECT_EQ(r.status, 73);
  EXPECT_NE(r.err.find("exists already"), std::string::npos) << r.err;
  EXPECT_EQ(passwords_->asked, 1);
  EXPECT_TRUE(load(users_).verify("alice@example.org", "one"));
}

TEST_F(UserCommandTest, BadAddressOrPasswordIsADataError) {
  CommandRun no_password = run({"user", "add", "alice@example.org", "--users-file", users_});
  EXPECT_EQ(no_password.status, 65);
  EXPECT_NE(no_password.err.find("no password"), std::string::npos) << no_password.err;
  passwords_->answers = {""};
  EXPECT_EQ(run({"user", "add", "alice@example.org", "--users-file", users_}).status, 65);
  passwords_->answers = {"pw"};
  CommandRun bad = run({"user", "add", "not an address", "--users-file", users_});
  EXPECT_EQ(bad.status, 65);
  EXPECT_NE(bad.err.find("not a valid address"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(users_)) << "nothing written";
}

TEST_F(UserCommandTest, PasswdChangesAKnownUserAndRefusesAnUnknownOne) {
  passwords_->answers = {"old", "new"};
  ASSERT_EQ(run({"user", "add", "alice@example.org", "--users-file", users_}).status, 0);
  CommandRun r = run({"user", "passwd", "alice@example.org", "--users-file", users_});
  EXPECT_EQ(r.status, 0) << r.err;
  auto store = load(users_);
  EXPECT_TRUE(store.verify("alice@example.org", "new"));
  EXPECT_FALSE(store.verify("alice@example.org", "old"));

  CommandRun unknown = run({"user", "passwd", "bob@example.org", "--users-file", users_});
  EXPECT_EQ(unknown.status, 67);
  EXPECT_NE(unknown.err.find("no such user"), std::string::npos) << unknown.err;
  EXPECT_EQ(passwords_->asked, 2) << "not asked for an unknown user";
}

TEST_F(UserCommandTest, DelRemovesAndRefusesUnknown) {
  passwords_->answers = {"a", "b"};
  ASSERT_EQ(run({"user", "add", "alice@example.org", "--users-file", users_}).status, 0);
  ASSERT_EQ(run({"user", "add", "bob@example.org", "--users-file", users_}).status, 0);
  CommandRun r = run({"user", "del", "alice@example.org", "--users-file", users_});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(load(users_).list(), std::vector<std::string>{"bob@example.org"});
  EXPECT_EQ(run({"user", "del", "alice@example.org", "--users-file", users_}).status, 67);
}

TEST_F(UserCommandTest, ListThroughRunCliPrintsOneAddressPerLine) {
  passwords_->answers = {"b", "a"};
  ASSERT_EQ(run({"user", "add", "bob@example.org", "--users-file", users_}).status, 0);
  ASSERT_EQ(run({"user", "add", "alice@example.org", "--users-file", users_}).status, 0);
  CommandRun r = run_via_cli({"user", "list", "--users-file", users_.c_str()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "alice@example.org\nbob@example.org\n");
  CommandRun empty = run_via_cli({"user", "list", "--users-file", (dir_ / "none").c_str()});
  EXPECT_EQ(empty.status, 0);
  EXPECT_EQ(empty.out, "");
}

TEST_F(UserCommandTest, UsageErrorsExit64) {
  EXPECT_EQ(run_via_cli({"user"}).status, 64);
  EXPECT_EQ(run_via_cli({"user", "add"}).status, 64) << "the address is required";
  EXPECT_EQ(run_via_cli({"user", "frob", "x@example.org"}).status, 64);
  EXPECT_EQ(run_via_cli({"user", "add", "a@example.org", "b@example.org"}).status, 64)
      << "no second positional argument (a password must never be given here)";
  EXPECT_EQ(run_via_cli({"user", "add", "a@example.org", "--password", "x"}).status, 64);
}

TEST_F(UserCommandTest, UsersFileDefaultsToDataDirFromTheConfiguration) {
  const std::string config = write_config("");
  passwords_->answers = {"pw"};
  CommandRun r = run({"--config", config, "user", "add", "alice@example.org"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(load((dir_ / "data" / "users").string()).verify("alice@example.org", "pw"));
}

TEST_F(UserCommandTest, UsersFileFromTheConfigurationAndConfiguredUsers) {
  const std::string hash = *auth::hash_password("conf", auth::minimal_hash_params());
  const std::string config = write_config("users_file = \"" + (dir_ / "elsewhere").string() +
                                          "\"\n[[accepted_domain]]\nname = \"example.org\"\n"
                                          "[[user]]\naddress = \"carol@example.org\"\npassword_hash = \"" +
                                          hash + "\"\n");
  passwords_->answers = {"pw", "x"};
  CommandRun r = run({"--config", config, "user", "add", "alice@example.org"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "elsewhere"));
  CommandRun list = run({"--config", config, "user", "list"});
  EXPECT_EQ(list.out, "alice@example.org\ncarol@example.org\n");
  CommandRun passwd = run({"--config", config, "user", "passwd", "carol@example.org"});
  EXPECT_EQ(passwd.status, 78);
  EXPECT_NE(passwd.err.find("configuration"), std::string::npos) << passwd.err;
  EXPECT_EQ(run({"--config", config, "user", "add", "carol@example.org"}).status, 73);
}

TEST_F(UserCommandTest, BadConfigurationOrUsersFileExits78) {
  const std::string config = write_config("hostnme = \"typo\"\n");
  CommandRun r = run({"--config", config, "user", "list"});
  EXPECT_EQ(r.status, 78);
  EXPECT_NE(r.err.find(config + ":"), std::string::npos) << r.err;

  std::ofstream(users_) << "alice@example.org:plaintext-password:\n";
  CommandRun corrupt = run({"user", "list", "--users-file", users_});
  EXPECT_EQ(corrupt.status, 78);
  EXPECT_NE(corrupt.err.find(users_ + ":1:"), std::string::npos) << corrupt.err;
}

TEST_F(UserCommandTest, UnwritableUsersFileExits73) {
  std::ofstream(dir_ / "blocker") << "x";
  passwords_->answers = {"pw"};
  CommandRun r = run({"user", "add", "alice@example.org", "--users-file", (dir_ / "blocker" / "users").string()});
  EXPECT_EQ(r.status, 73);
  EXPECT_NE(r.err.find("blocker"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice::cli
