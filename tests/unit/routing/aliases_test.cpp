// Tests for routing/aliases.cpp: the aliases(5) syntax, include files, and errors with lines.
#include "routing/aliases.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <stdlib.h>

namespace sluice::routing {
namespace {

using Targets = std::vector<std::string>;

std::filesystem::path make_temp_dir() {
  std::string tmpl = testing::TempDir() + "/aliases_XXXXXX";
  const char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return dir;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

Aliases parse_ok(std::string_view text) {
  auto r = Aliases::parse(text, "/etc/aliases");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().context);
  return r ? std::move(*r) : Aliases{};
}

TEST(AliasesTest, SimpleEntries) {
  const Aliases a = parse_ok("postmaster: root\nteam: alice, bob@example.test,carol\n");
  ASSERT_NE(a.find("postmaster"), nullptr);
  EXPECT_EQ(*a.find("postmaster"), Targets{"root"});
  ASSERT_NE(a.find("team"), nullptr);
  EXPECT_EQ(*a.find("team"), (Targets{"alice", "bob@example.test", "carol"}));
  EXPECT_EQ(a.find("nobody"), nullptr);
  EXPECT_EQ(a.entries().size(), 2u);
}

TEST(AliasesTest, NamesFoldToLowerCaseAndLookupIgnoresCase) {
  const Aliases a = parse_ok("PostMaster: root\n");
  EXPECT_EQ(a.entries().begin()->first, "postmaster");
  ASSERT_NE(a.find("POSTMASTER"), nullptr);
  EXPECT_EQ(*a.find("Postmaster"), Targets{"root"});
}

TEST(AliasesTest, ContinuationLinesCommentsAndBlankLines) {
  const Aliases a = parse_ok(
      "# staff list\n"
      "\n"
      "staff: alice,\n"
      "   bob,\n"
      "# a comment inside does not end the entry\n"
      "\tcarol\n"
      "   \n"
      "abuse: postmaster\r\n");
  ASSERT_NE(a.find("staff"), nullptr);
  EXPECT_EQ(*a.find("staff"), (Targets{"alice", "bob", "carol"}));
  ASSERT_NE(a.find("abuse"), nullptr);
  EXPECT_EQ(*a.find("abuse"), Targets{"postmaster"});
  EXPECT_EQ(a.entries().at("staff").origin, "/etc/aliases:3");
  EXPECT_EQ(a.entries().at("abuse").origin, "/etc/aliases:8");
}

TEST(AliasesTest, QuotedNamesAndValues) {
  const Aliases a = parse_ok("\"Sales Team\": \"john, doe\"@example.test, jane\n\"a:b\": x\n");
  ASSERT_NE(a.find("sales team"), nullptr);
  EXPECT_EQ(*a.find("sales team"), (Targets{"\"john, doe\"@example.test", "jane"}));
  ASSERT_NE(a.find("a:b"), nullptr);
  EXPECT_EQ(*a.find("a:b"), Targets{"x"});
}

TEST(AliasesTest, BackslashTargetIsKept) {
  const Aliases a = parse_ok("root: \\root, admin\n");
  EXPECT_EQ(*a.find("root"), (Targets{"\\root", "admin"}));
}

TEST(AliasesTest, TrailingCommaIsIgnored) {
  const Aliases a = parse_ok("team: alice,\n");
  EXPECT_EQ(*a.find("team"), Targets{"alice"});
}

TEST(AliasesTest, PipeAndFileTargetsAreErrorsWithLineNumbers) {
  auto r = Aliases::parse(
      "ok: alice\n"
      "list: |/usr/bin/mailman post list\n"
      "# comment\n"
      "log: alice, /var/log/mail.txt\n"
      "quoted: \"|/usr/bin/vacation alice\"\n",
      "/etc/aliases");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().klass, ErrorClass::config);
  const std::string& msg = r.error().context;
  EXPECT_NE(msg.find("/etc/aliases:2: alias 'list': delivery to a command"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/etc/aliases:4: alias 'log': delivery to a file (/var/log/mail.txt)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/etc/aliases:5: alias 'quoted': delivery to a command"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(":1:"), std::string::npos) << msg;
}

TEST(AliasesTest, SyntaxErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"  alice\n", "x:1: continuation line"},
      {"alice bob\n", "x:1: missing ':'"},
      {": bob\n", "x:1: empty alias name"},
      {"a@example.test: bob\n", "x:1: alias name 'a@example.test' must be a local part"},
      {"ok: b\nempty:\n", "x:2: alias 'empty' has no targets"},
      {"a: b\n\nA: c\n", "x:3: duplicate alias 'a' (first defined at x:1)"},
      {"\"open: b\n", "x:1: unterminated quote"},
      {"a: b c\n", "x:1: alias 'a': 'b c' is not an address"},
      {"a: \\b@example.test\n", "x:1: alias 'a': '\\b@example.test': a backslash target"},
      {"a: bob@\n", "x:1: alias 'a': 'bob@' is not an address"},
  };
  for (const auto& c : cases) {
    auto r = Aliases::parse(c.text, "x");
    ASSERT_FALSE(r.has_value()) << c.text;
    EXPECT_NE(r.error().context.find(c.expected), std::string::npos) << c.text << " -> " << r.error().context;
  }
}

TEST(AliasesTest, IncludeFileIsInlined) {
  const auto dir = make_temp_dir();
  write_file(dir / "staff.list", "# members\nalice\nbob@example.test, carol\n\n");
  write_file(dir / "aliases", "staff: :include:" + (dir / "staff.list").string() + ", dave\n");
  auto r = Aliases::load(dir / "aliases");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r->find("staff"), (Targets{"alice", "bob@example.test", "carol", "dave"}));
}

TEST(AliasesTest, RelativeIncludeIsRelativeToTheAliasesFile) {
  const auto dir = make_temp_dir();
  write_file(dir / "ops.list", "erin\n");
  write_file(dir / "aliases", "ops: :include:ops.list\n");
  auto r = Aliases::load(dir / "aliases");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r->find("ops"), Targets{"erin"});
}

TEST(AliasesTest, ErrorsInsideIncludeFileNameThatFile) {
  const auto dir = make_temp_dir();
  write_file(dir / "bad.list", "alice\n|/bin/cat\n");
  auto r = Aliases::parse("x: :include:" + (dir / "bad.list").string() + "\n", "main");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().context.find((dir / "bad.list").string() + ":2: alias 'x': delivery to a command"),
            std::string::npos)
      << r.error().context;
}

TEST(AliasesTest, MissingIncludeFileIsAnError) {
  const auto dir = make_temp_dir();
  auto r = Aliases::parse("x: :include:" + (dir / "nope").string() + "\n", "main");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().context.find("main:1: alias 'x': cannot read"), std::string::npos) << r.error().context;
}

TEST(AliasesTest, IncludeLoopIsBounded) {
  const auto dir = make_temp_dir();
  write_file(dir / "a.list", ":include:b.list\n");
  write_file(dir / "b.list", ":include:a.list\n");
  auto r = Aliases::parse("x: :include:" + (dir / "a.list").string() + "\n", (dir / "aliases").string());
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().context.find("nested deeper than"), std::string::npos) << r.error().context;
}

TEST(AliasesTest, LoadMissingFileIsConfigError) {
  auto r = Aliases::load(make_temp_dir() / "missing");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().klass, ErrorClass::config);
  EXPECT_NE(r.error().context.find("cannot read"), std::string::npos);
}

TEST(AliasesTest, EmptyTextGivesEmptyTable) {
  const Aliases a = parse_ok("# nothing\n\n");
  EXPECT_TRUE(a.empty());
}

// STYLE.md: parsers get every input split at every byte. Here the unit is a line, so split
// the text at every line boundary and check that a file cut short parses consistently.
TEST(AliasesTest, EveryPrefixOfAValidFileParsesOrFailsCleanly) {
  const std::string text = "a: b,\n  c\n\"q r\": s\nd: \\d, e@example.test\n";
  for (size_t i = 0; i <= text.size(); ++i) {
    auto r = Aliases::parse(text.substr(0, i), "p");
    if (r) {
      for (const auto& [name, entry] : r->entries()) EXPECT_FALSE(entry.targets.empty()) << i;
    } else {
      EXPECT_NE(r.error().context.find("p:"), std::string::npos) << i;
    }
  }
}

}  // namespace
}  // namespace sluice::routing
