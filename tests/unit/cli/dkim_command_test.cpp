// Tests for `sluice dkim keygen|sign`: the key file (mode 0600, PEM, never overwritten without
// --force, default under <data_dir>/dkim), the printed TXT record (255-byte strings) and
// [[dkim]] section, a message signed by `sign` verifying with the printed record, and the
// exit codes. `verify` needs DNS and is covered by tests/integration/test_dkim_cli.py.
#include "cli/dkim_command.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/dkim_verifier.hpp"
#include "cli/cli_app.hpp"

namespace sluice::cli {
namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int status;
  std::string out, err;
};

class DkimCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "dkim_command_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandRun run(std::vector<std::string> args, const std::string& config = "/nonexistent/sluice.toml") {
    std::vector<const char*> argv{"sluice", "--config", config.c_str()};
    for (const auto& a : args) argv.push_back(a.c_str());
    std::ostringstream out, err;
    const int status = run_cli(static_cast<int>(argv.size()), argv.data(), out, err, std::nullopt);
    return {status, out.str(), err.str()};
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // The record value from keygen's output: the quoted strings joined.
  static std::string record_from(const std::string& out) {
    size_t open = out.find("IN TXT (");
    size_t close = out.find(" )", open);
    std::string value;
    bool in = false;
    for (size_t i = open; i < close; ++i) {
      if (out[i] == '"') in = !in;
      else if (in) value += out[i];
    }
    return value;
  }

  fs::path dir_;
};

TEST_F(DkimCommandTest, KeygenWritesPrivateKeyAndPrintsRecord) {
  const fs::path key = dir_ / "example.org.key";
  auto r = run({"dkim", "keygen", "--domain", "Example.ORG", "--selector", "s2026", "--key-file", key.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  struct stat st{};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read(key).rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_NE(r.out.find("s2026._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; p=MIIBIjAN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[[dkim]]\ndomain = \"example.org\"\nselector = \"s2026\"\nkey_file = \"" + key.string() +
                       "\"\nalgorithm = \"rsa-sha256\"\n"),
            std::string::npos) << r.out;
  // A 2048-bit key's record is longer than one character-string can hold.
  const std::string value = record_from(r.out);
  EXPECT_GT(value.size(), 255u);
  auto parsed = auth::parse_dkim_key_record(value);
  ASSERT_TRUE(parsed) << value;
  EXPECT_EQ(parsed->type, auth::DkimKeyType::rsa);

  auto again = run({"dkim", "keygen", "--domain", "example.org", "--selector", "s2026", "--key-file", key.string()});
  EXPECT_EQ(again.status, 73);
  EXPECT_EQ(again.err, "sluice dkim keygen: " + key.string() + " exists already; give --force to replace it, or another --key-file\n");
  const std::string before = read(key);
  auto forced = run({"dkim", "keygen", "--domain", "example.org", "--selector", "s2026", "--key-file", key.string(), "--force",
                     "--algorithm", "ed25519"});
  EXPECT_EQ(forced.status, 0) << forced.err;
  EXPECT_NE(read(key), before);
  EXPECT_NE(forced.out.find("\"v=DKIM1; k=ed25519; p="), std::string::npos) << forced.out;
}

TEST_F(DkimCommandTest, KeygenDefaultsToDataDir) {
  const fs::path config = dir_ / "sluice.toml";
  std::ofstream(config) << "[server]\nhostname = \"mx.example.test\"\ndata_dir = \"" << (dir_ / "data").string() << "\"\n"
                        << "[[receive_connector]]\nname = \"in\"\nlisten = [\"127.0.0.1:2525\"]\n";
  auto r = run({"dkim", "keygen", "--domain", "example.org", "--selector", "sel", "--algorithm", "ed25519"}, config.string());
  ASSERT_EQ(r.status, 0) << r.err;
  const fs::path key = dir_ / "data" / "dkim" / "example.org.sel.key";
  EXPECT_TRUE(fs::exists(key));
  EXPECT_EQ(fs::status(key.parent_path()).permissions() & fs::perms::all, fs::perms::owner_all);
}

TEST_F(DkimCommandTest, KeygenUsageErrors) {
  auto bad_alg = run({"dkim", "keygen", "--domain", "example.org", "--selector", "s", "--algorithm", "dsa", "--key-file",
                      (dir_ / "k").string()});
  EXPECT_EQ(bad_alg.status, 64);
  EXPECT_EQ(bad_alg.err, "sluice dkim keygen: --algorithm must be rsa or ed25519, not dsa\n");
  auto small = run({"dkim", "keygen", "--domain", "example.org", "--selector", "s", "--bits", "512", "--key-file",
                    (dir_ / "k").string()});
  EXPECT_EQ(small.status, 64);
  EXPECT_FALSE(fs::exists(dir_ / "k"));
  auto no_config = run({"dkim", "keygen", "--domain", "example.org", "--selector", "s"});
  EXPECT_EQ(no_config.status, kExitConfig);
  EXPECT_NE(no_config.err.find("fix them or give --key-file FILE"), std::string::npos) << no_config.err;
  auto missing = run({"dkim", "keygen", "--domain", "example.org"});
  EXPECT_EQ(missing.status, 64);
}

TEST_F(DkimCommandTest, SignOutputVerifiesWithThePrintedRecord) {
  const fs::path key = dir_ / "k.pem";
  auto gen = run({"dkim", "keygen", "--domain", "example.org", "--selector", "sel", "--key-file", key.string(),
                  "--algorithm", "ed25519"});
  ASSERT_EQ(gen.status, 0) << gen.err;
  const fs::path message = dir_ / "m.eml";
  std::ofstream(message) << "From: a@example.org\nTo: b@example.net\nSubject: cron\n\nok\n";
  auto s = run({"dkim", "sign", "--domain", "example.org", "--selector", "sel", "--key-file", key.string(), message.string()});
  ASSERT_EQ(s.status, 0) << s.err;
  ASSERT_EQ(s.out.rfind("DKIM-Signature: v=1; a=ed25519-sha256;", 0), 0u) << s.out;
  const SystemTime later = SystemClock().now() + std::chrono::hours(1);
  auto checks = auth::prepare_dkim(s.out, later);
  ASSERT_EQ(checks.size(), 1u);
  dns::Answer<std::string> answer;
  answer.status = dns::Status::ok;
  answer.records = {record_from(gen.out)};
  EXPECT_EQ(auth::finish_dkim(checks[0], answer).status, auth::DkimStatus::pass) << checks[0].result.reason;

  auto no_key = run({"dkim", "sign", "--domain", "example.org", "--selector", "sel", "--key-file", (dir_ / "none").string(),
                     message.string()});
  EXPECT_EQ(no_key.status, 65);
  EXPECT_EQ(no_key.err, "sluice dkim sign: cannot read DKIM key file " + (dir_ / "none").string() + "\n");
  auto no_message = run({"dkim", "sign", "--domain", "example.org", "--selector", "sel", "--key-file", key.string(),
                         (dir_ / "absent.eml").string()});
  EXPECT_EQ(no_message.status, 66);
}

TEST(DkimTxtRecord, SplitsInto255ByteStrings) {
  const std::string value(600, 'x');
  const std::string rec = dkim_txt_record("example.org", "s", value);
  EXPECT_EQ(rec, "s._domainkey.example.org. IN TXT ( \"" + std::string(255, 'x') + "\" \"" + std::string(255, 'x') + "\" \"" +
                     std::string(90, 'x') + "\" )");
}

}  // namespace
}  // namespace sluice::cli
