// Tests for auth/user_store: the users file round trip, its mode and atomic replacement,
// every kind of bad line reported as file:line, merging with configured users, lookup by
// login and verification.
#include "auth/user_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

namespace sluice::auth {
namespace {

namespace fs = std::filesystem;

class UserStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "user_store_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    file_ = dir_ / "users";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(file_) << text; }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static std::string hash(std::string_view pw) { return *hash_password(pw, minimal_hash_params()); }

  fs::path dir_, file_;
};

TEST_F(UserStoreTest, MissingFileIsAnEmptyStore) {
  auto store = UserStore::load(file_, {});
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_TRUE(store->list().empty());
  EXPECT_EQ(store->find("alice@example.org"), nullptr);
}

TEST_F(UserStoreTest, SaveAndLoadRoundTripWithMode0600) {
  UserStore store;
  ASSERT_TRUE(store.add("bob@example.org", "builder", minimal_hash_params()));
  ASSERT_TRUE(store.add("alice@Example.Org", "wonderland", minimal_hash_params()));
  ASSERT_TRUE(store.save(file_));

  struct stat st {};
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto loaded = UserStore::load(file_, {});
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->list(), (std::vector<std::string>{"alice@example.org", "bob@example.org"}));
  const User* alice = loaded->find("alice@EXAMPLE.org");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->address, "alice@example.org");
  EXPECT_EQ(alice->origin, UserOrigin::users_file);
  EXPECT_EQ(alice->sender_addresses, std::vector<std::string>{"alice@example.org"});
  ASSERT_TRUE(alice->scram);
  EXPECT_EQ(*alice->scram, *store.find("alice@example.org")->scram);
  EXPECT_EQ(alice->password_hash, store.find("alice@example.org")->password_hash);
  EXPECT_TRUE(loaded->verify("alice@example.org", "wonderland"));
  EXPECT_FALSE(loaded->verify("alice@example.org", "builder"));
  EXPECT_FALSE(loaded->verify("Alice@example.org", "wonderland")) << "local parts compare exactly";
  EXPECT_FALSE(loaded->verify("carol@example.org", "wonderland"));

  // The text is what the header comment documents.
  const std::string text = read(file_);
  EXPECT_EQ(text.rfind("# ", 0), 0u);
  EXPECT_NE(text.find("\nalice@example.org:$argon2id$v=19$"), std::string::npos) << text;
  EXPECT_NE(text.find(":SCRAM-SHA-256$4096$"), std::string::npos) << text;
}

TEST_F(UserStoreTest, SaveReplacesTheFileAtomicallyAndLeavesNoTemporaryFiles) {
  UserStore store;
  ASSERT_TRUE(store.add("alice@example.org", "one", minimal_hash_params()));
  ASSERT_TRUE(store.save(file_));
  // A reader that opened the old file keeps reading the old file: it was replaced by rename,
  // not rewritten in place.
  std::ifstream old_reader(file_);
  struct stat before {};
  ASSERT_EQ(::stat(file_.c_str(), &before), 0);

  ASSERT_TRUE(store.remove("alice@example.org"));
  ASSERT_TRUE(store.add("bob@example.org", "two", minimal_hash_params()));
  ASSERT_TRUE(store.save(file_));
  struct stat after {};
  ASSERT_EQ(::stat(file_.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  std::stringstream old_text;
  old_text << old_reader.rdbuf();
  EXPECT_NE(old_text.str().find("alice@example.org"), std::string::npos);
  EXPECT_EQ(read(file_).find("alice@example.org"), std::string::npos);

  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary file left behind";
}

TEST_F(UserStoreTest, SaveCreatesTheDirectoryAndReportsWhatItCannotWrite) {
  UserStore store;
  ASSERT_TRUE(store.add("alice@example.org", "one", minimal_hash_params()));
  EXPECT_TRUE(store.save(dir_ / "new" / "deeper" / "users"));
  EXPECT_TRUE(fs::exists(dir_ / "new" / "deeper" / "users"));

  // A regular file where the directory should be: cannot be created, even as root.
  std::ofstream(dir_ / "blocker") << "x";
  auto r = store.save(dir_ / "blocker" / "users");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().klass, ErrorClass::io);
  EXPECT_NE(r.error().context.find("blocker"), std::string::npos) << r.error().context;

  // A directory in the way of the rename: the old content (none) stays, no temp file is left.
  fs::create_directory(dir_ / "isdir");
  fs::create_directory(dir_ / "isdir" / "sub");
  auto r2 = store.save(dir_ / "isdir");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().klass, ErrorClass::io);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 3u) << "new, blocker, isdir: no temporary file";
}

TEST_F(UserStoreTest, CommentsBlankLinesAndCrLfAreAccepted) {
  const std::string h = hash("pw");
  write("# a comment\n\n   # indented comment\r\nalice@example.org:" + h + ":\r\nbob@example.org:" + h + "\n");
  auto store = UserStore::load(file_, {});
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ(store->list().size(), 2u);
  EXPECT_FALSE(store->find("alice@example.org")->scram) << "an empty SCRAM field";
  EXPECT_TRUE(store->verify("bob@example.org", "pw"));
}

TEST_F(UserStoreTest, CorruptLinesAreReportedWithFileAndLine) {
  const std::string h = hash("pw");
  const std::string scram = format_scram_credentials(make_scram_credentials("pw", "somesalt", 4096));
  const std::pair<std::string, std::string> cases[] = {
      {"alice@example.org\n", "fields"},
      {"alice@example.org:" + h + ":" + scram + ":extra\n", "fields"},
      {"not an address:" + h + ":\n", "not a valid address"},
      {"alice@example.org:$2y$10$bcrypthash:\n", "Argon2id"},
      {"alice@example.org:" + h + ":SCRAM-SHA-1$4096$a$b$c\n", "SCRAM"},
      {"alice@example.org:" + h + ":SCRAM-SHA-256$0$c2FsdA==$" + std::string(44, 'A') + "$" + std::string(44, 'A') + "\n", "iteration"},
      {"alice@example.org:" + h + ":SCRAM-SHA-256$4096$c2FsdA==$AAAA$AAAA\n", "32 bytes"},
      {"alice@example.org:" + h + ":\nalice@EXAMPLE.org:" + h + ":\n", "appears twice"},
  };
  for (const auto& [text, why] : cases) {
    write("# header\n" + text);
    auto store = UserStore::load(file_, {});
    ASSERT_FALSE(store) << text;
    EXPECT_EQ(store.error().klass, ErrorClass::config);
    const std::string line = why == "appears twice" ? ":3: " : ":2: ";
    EXPECT_NE(store.error().context.find(file_.string() + line), std::string::npos) << store.error().context;
    EXPECT_NE(store.error().context.find(why), std::string::npos) << store.error().context;
  }
}

TEST_F(UserStoreTest, ConfiguredUsersMergeAndStayReadOnly) {
  const std::string h = hash("configured");
  write("bob@example.org:" + hash("file") + ":\n");
  auto store = UserStore::load(file_, {{"alice@example.org", h}, {"carol@example.org", ""}});
  ASSERT_TRUE(store) << store.error().message();
  EXPECT_EQ(store->list(), (std::vector<std::string>{"alice@example.org", "bob@example.org"}))
      << "carol has no hash: a mailbox that does not log in";
  EXPECT_EQ(store->find("alice@example.org")->origin, UserOrigin::configuration);
  EXPECT_FALSE(store->find("alice@example.org")->scram);
  EXPECT_TRUE(store->verify("alice@example.org", "configured"));

  EXPECT_FALSE(store->add("alice@example.org", "x", minimal_hash_params()));
  auto passwd = store->set_password("alice@example.org", "x", minimal_hash_params());
  ASSERT_FALSE(passwd);
  EXPECT_NE(passwd.error().context.find("configuration"), std::string::npos);
  EXPECT_FALSE(store->remove("alice@example.org"));
  // The users file may give a configured mailbox without a hash its password.
  EXPECT_TRUE(store->add("carol@example.org", "c", minimal_hash_params()));

  ASSERT_TRUE(store->save(file_));
  EXPECT_EQ(read(file_).find("alice@"), std::string::npos) << "configuration users are not copied to the file";
}

TEST_F(UserStoreTest, OneAddressInBothPlacesIsAnError) {
  const std::string h = hash("pw");
  write("alice@example.org:" + h + ":\n");
  auto store = UserStore::load(file_, {{"alice@EXAMPLE.org", h}});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().context.find(":1: alice@example.org also has a password_hash"), std::string::npos)
      << store.error().context;
  auto bad_hash = UserStore::load(dir_ / "none", {{"alice@example.org", "plaintext"}});
  ASSERT_FALSE(bad_hash);
  EXPECT_NE(bad_hash.error().context.find("not an Argon2id hash"), std::string::npos);
}

TEST_F(UserStoreTest, EditsRefuseWhatCannotBe) {
  UserStore store;
  EXPECT_FALSE(store.add("no-at-sign", "pw", minimal_hash_params()));
  EXPECT_FALSE(store.add("a:b@example.org", "pw", minimal_hash_params()));
  EXPECT_FALSE(store.set_password("ghost@example.org", "pw", minimal_hash_params()));
  EXPECT_FALSE(store.remove("ghost@example.org"));
  ASSERT_TRUE(store.add("alice@example.org", "one", minimal_hash_params()));
  EXPECT_FALSE(store.add("alice@EXAMPLE.ORG", "two", minimal_hash_params()));
  const auto old_scram = *store.find("alice@example.org")->scram;
  ASSERT_TRUE(store.set_password("alice@Example.org", "two", minimal_hash_params()));
  EXPECT_TRUE(store.verify("alice@example.org", "two"));
  EXPECT_FALSE(store.verify("alice@example.org", "one"));
  EXPECT_NE(store.find("alice@example.org")->scram->salt, old_scram.salt);
  ASSERT_TRUE(store.remove("alice@example.org"));
  EXPECT_EQ(store.find("alice@example.org"), nullptr);
}

TEST_F(UserStoreTest, DecoySaltIsStablePerLoginAndDiffersBetweenLogins) {
  UserStore store;
  EXPECT_EQ(store.decoy_salt("x@example.org"), store.decoy_salt("x@EXAMPLE.org"));
  EXPECT_NE(store.decoy_salt("x@example.org"), store.decoy_salt("y@example.org"));
  EXPECT_EQ(store.decoy_salt("x@example.org").size(), kScramSaltBytes);
}

TEST(ScramCredentials, FormatParseRoundTrip) {
  const auto c = make_scram_credentials("pencil", 5000);
  EXPECT_EQ(c.salt.size(), kScramSaltBytes);
  EXPECT_EQ(c.iterations, 5000u);
  auto parsed = parse_scram_credentials(format_scram_credentials(c));
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(*parsed, c);
  EXPECT_NE(make_scram_credentials("pencil").salt, make_scram_credentials("pencil").salt);
}

}  // namespace
}  // namespace sluice::auth
