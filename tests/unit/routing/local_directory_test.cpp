// Tests for routing/local_directory.cpp: lookup, alias expansion (chains, loops, duplicates,
// unknown users, case), postmaster, and config warnings.
#include "routing/local_directory.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace sluice::routing {
namespace {

using Targets = std::vector<std::string>;

Aliases aliases(std::string_view text) {
  auto r = Aliases::parse(text, "aliases");
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().context);
  return r ? std::move(*r) : Aliases{};
}

LocalDirectory directory(std::string_view alias_text) {
  return LocalDirectory({"example.test", "Other.Test"},
                        {"alice@example.test", "Bob@Example.Test", "carol@other.test", "postmaster@example.test"},
                        aliases(alias_text));
}

bool contains(const std::vector<std::string>& v, std::string_view needle) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

TEST(LocalDirectoryTest, AcceptedDomainsAreCaseInsensitiveWithoutTrailingDot) {
  const LocalDirectory d = directory("");
  EXPECT_TRUE(d.is_accepted_domain("example.test"));
  EXPECT_TRUE(d.is_accepted_domain("EXAMPLE.test"));
  EXPECT_TRUE(d.is_accepted_domain("other.test"));
  EXPECT_FALSE(d.is_accepted_domain("example.test."));
  EXPECT_FALSE(d.is_accepted_domain("sub.example.test"));
  EXPECT_FALSE(d.is_accepted_domain(""));
  EXPECT_EQ(d.primary_domain(), "example.test");
}

TEST(LocalDirectoryTest, LookupClassifiesAddresses) {
  const LocalDirectory d = directory("team: alice, bob\n");
  EXPECT_EQ(d.lookup("alice@example.test"), LookupResult::local_mailbox);
  EXPECT_EQ(d.lookup("ALICE@EXAMPLE.TEST"), LookupResult::local_mailbox);
  EXPECT_EQ(d.lookup("bob@example.test"), LookupResult::local_mailbox);
  EXPECT_EQ(d.lookup("\"alice\"@example.test"), LookupResult::local_mailbox);
  EXPECT_EQ(d.lookup("team@example.test"), LookupResult::alias);
  EXPECT_EQ(d.lookup("Team@other.test"), LookupResult::alias);  // aliases apply in every domain
  EXPECT_EQ(d.lookup("zed@example.test"), LookupResult::unknown_user);
  EXPECT_EQ(d.lookup("alice@other.test"), LookupResult::unknown_user);  // users are per domain
  EXPECT_EQ(d.lookup("alice@elsewhere.test"), LookupResult::not_local);
  EXPECT_EQ(d.lookup("alice"), LookupResult::not_local);
  EXPECT_EQ(d.lookup("@example.test"), LookupResult::not_local);
}

TEST(LocalDirectoryTest, AliasWinsOverUserOfTheSameName) {
  const LocalDirectory d = directory("alice: carol@other.test\n");
  EXPECT_EQ(d.lookup("alice@example.test"), LookupResult::alias);
  auto r = d.expand("alice@example.test");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, Targets{"carol@other.test"});
}

TEST(LocalDirectoryTest, ExpandUserGivesLowerCaseMailbox) {
  const LocalDirectory d = directory("");
  auto r = d.expand("BOB@example.TEST");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, Targets{"bob@example.test"});
}

TEST(LocalDirectoryTest, ExpandNonLocalAddressReturnsItUnchanged) {
  const LocalDirectory d = directory("");
  auto r = d.expand("Someone@Remote.test");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, Targets{"Someone@Remote.test"});
}

TEST(LocalDirectoryTest, ExpandFollowsChainsAcrossDomainsAndKeepsRemoteTargets) {
  const LocalDirectory d = directory(
      "all: staff, ops, Friend@Remote.test\n"
      "staff: alice, bob\n"
      "ops: carol@other.test\n");
  auto r = d.expand("all@example.test");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, (Targets{"alice@example.test", "bob@example.test", "carol@other.test", "Friend@Remote.test"}));
}

TEST(LocalDirectoryTest, BareLocalPartTargetUsesTheDomainBeingExpanded) {
  const LocalDirectory d = directory("sales: carol\n");
  auto in_other = d.expand("sales@other.test");
  ASSERT_TRUE(in_other.has_value()) << in_other.error().context;
  EXPECT_EQ(*in_other, Targets{"carol@other.test"});
  auto in_example = d.expand("sales@example.test");  // no carol@example.test
  ASSERT_FALSE(in_example.has_value());
  EXPECT_EQ(in_example.error().klass, ErrorClass::permanent);
  ASSERT_TRUE(in_example.error().reply.has_value());
  EXPECT_EQ(in_example.error().reply->code(), 550);
  EXPECT_EQ(in_example.error().reply->enhanced(), "5.1.1");
  EXPECT_NE(in_example.error().context.find("alias sales@example.test names carol@example.test"), std::string::npos)
      << in_example.error().context;
}

TEST(LocalDirectoryTest, DuplicatesAreRemovedIncludingDiamonds) {
  const LocalDirectory d = directory(
      "all: a, b, alice, ALICE@example.test\n"
      "a: shared, bob\n"
      "b: shared, bob@example.test\n"
      "shared: alice, Out@Remote.test, out@remote.test\n");
  auto r = d.expand("all@example.test");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, (Targets{"alice@example.test", "Out@Remote.test", "bob@example.test"}));
}

TEST(LocalDirectoryTest, LoopIsPermanent546) {
  const LocalDirectory d = directory("a: b\nb: c\nc: a\n");
  auto r = d.expand("a@example.test");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().klass, ErrorClass::permanent);
  ASSERT_TRUE(r.error().reply.has_value());
  EXPECT_EQ(r.error().reply->code(), 550);
  EXPECT_EQ(r.error().reply->enhanced(), "5.4.6");
  EXPECT_EQ(r.error().reply->lines(), std::vector<std::string>{"alias loop for a@example.test"});
  EXPECT_NE(r.error().context.find("a@example.test -> b@example.test -> c@example.test -> a@example.test"),
            std::string::npos)
      << r.error().context;
}

TEST(LocalDirectoryTest, LoopThroughAnotherDomainIsDetected) {
  const LocalDirectory d = directory("x: y@other.test\ny: x@example.test\n");
  auto r = d.expand("x@example.test");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reply->enhanced(), "5.4.6");
}

TEST(LocalDirectoryTest, SelfReferenceMeansTheUsersOwnMailbox) {
  const LocalDirectory d = directory("alice: alice, bob\nroot: \\alice\n");
  auto r = d.expand("alice@example.test");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, (Targets{"alice@example.test", "bob@example.test"}));
  auto root = d.expand("root@example.test");
  ASSERT_TRUE(root.has_value()) << root.error().context;
  EXPECT_EQ(*root, Targets{"alice@example.test"});
}

TEST(LocalDirectoryTest, BackslashStopsAliasExpansion) {
  // "alice" is an alias too, but "\alice" means her mailbox.
  const LocalDirectory d = directory("alice: carol@other.test\nboss: \\alice\n");
  auto r = d.expand("boss@example.test");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, Targets{"alice@example.test"});
}

TEST(LocalDirectoryTest, DepthIsBounded) {
  std::string text;
  for (int i = 0; i < LocalDirectory::kMaxAliasDepth + 2; ++i)
    text += "l" + std::to_string(i) + ": l" + std::to_string(i + 1) + "\n";
  text += "l" + std::to_string(LocalDirectory::kMaxAliasDepth + 2) + ": alice\n";
  const LocalDirectory d = directory(text);
  auto deep = d.expand("l0@example.test");
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error().reply->enhanced(), "5.4.6");
  EXPECT_NE(deep.error().context.find("deeper than 20"), std::string::npos);
  auto shallow = d.expand("l10@example.test");  // 12 levels: fine
  ASSERT_TRUE(shallow.has_value()) << shallow.error().context;
  EXPECT_EQ(*shallow, Targets{"alice@example.test"});
}

TEST(LocalDirectoryTest, UnknownUserIsPermanent511) {
  const LocalDirectory d = directory("");
  auto r = d.expand("zed@example.test");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().klass, ErrorClass::permanent);
  EXPECT_EQ(r.error().reply->code(), 550);
  EXPECT_EQ(r.error().reply->enhanced(), "5.1.1");
  auto bare = d.expand("zed");
  ASSERT_FALSE(bare.has_value());
  EXPECT_EQ(bare.error().reply->enhanced(), "5.1.3");
}

TEST(LocalDirectoryTest, PostmasterWithAliasFollowsIt) {
  const LocalDirectory d = directory("postmaster: alice\n");
  EXPECT_EQ(d.lookup("Postmaster"), LookupResult::alias);
  EXPECT_EQ(d.lookup("POSTMASTER@other.test"), LookupResult::alias);
  auto bare = d.expand("Postmaster");
  ASSERT_TRUE(bare.has_value()) << bare.error().context;
  EXPECT_EQ(*bare, Targets{"alice@example.test"});
  // Bare "alice" in other.test names nobody: postmaster still gets through, to the
  // configured postmaster mailbox, and the admin is told.
  auto other = d.expand("postmaster@other.test");
  ASSERT_TRUE(other.has_value()) << other.error().context;
  EXPECT_EQ(*other, Targets{"postmaster@example.test"});
  EXPECT_TRUE(contains(d.warnings(), "alias 'postmaster' in domain other.test: alias postmaster@other.test names "
                                     "alice@other.test"));
}

TEST(LocalDirectoryTest, DebianDefaultPostmasterToRootStillDelivers) {
  const LocalDirectory d({"example.test"}, {"alice@example.test"}, aliases("postmaster: root\n"));
  EXPECT_EQ(d.lookup("postmaster@example.test"), LookupResult::alias);
  auto r = d.expand("Postmaster");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, Targets{"postmaster@example.test"});
  EXPECT_TRUE(contains(d.warnings(), "names root@example.test, which has no mailbox"));
}

TEST(LocalDirectoryTest, PostmasterWithoutAliasGoesToConfiguredPostmasterUser) {
  const LocalDirectory d = directory("");
  EXPECT_EQ(d.lookup("Postmaster"), LookupResult::local_mailbox);
  EXPECT_EQ(d.lookup("postmaster@example.test"), LookupResult::local_mailbox);
  EXPECT_EQ(d.lookup("postmaster@other.test"), LookupResult::alias);
  auto r = d.expand("PostMaster@Other.Test");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, Targets{"postmaster@example.test"});
  // A configured postmaster user serves every domain: nothing to warn about.
  for (const auto& w : d.warnings()) EXPECT_EQ(w.find("postmaster"), std::string::npos) << w;
}

TEST(LocalDirectoryTest, PostmasterWithNothingConfiguredUsesImplicitMailboxAndWarns) {
  const LocalDirectory d({"b.test", "a.test"}, {"alice@a.test"}, Aliases{});
  EXPECT_EQ(d.lookup("Postmaster"), LookupResult::local_mailbox);
  EXPECT_EQ(d.lookup("postmaster@a.test"), LookupResult::alias);
  auto r = d.expand("postmaster@a.test");
  ASSERT_TRUE(r.has_value()) << r.error().context;
  EXPECT_EQ(*r, Targets{"postmaster@b.test"});
  EXPECT_TRUE(contains(d.warnings(), "no alias or user for postmaster")) << d.warnings().size();
}

TEST(LocalDirectoryTest, NoAcceptedDomains) {
  const LocalDirectory d({}, {}, Aliases{});
  EXPECT_EQ(d.lookup("Postmaster"), LookupResult::not_local);
  EXPECT_FALSE(d.expand("Postmaster").has_value());
  EXPECT_TRUE(contains(d.warnings(), "no accepted domains"));
}

TEST(LocalDirectoryTest, WarningsListDanglingTargetsLoopsAndBadUsers) {
  const LocalDirectory d({"example.test"}, {"alice@example.test", "eve@elsewhere.test", "nodomain"},
                         aliases("postmaster: alice\nteam: alice, ghost\nloop1: loop2\nloop2: loop1\n"));
  const auto w = d.warnings();
  EXPECT_TRUE(contains(w, "aliases:2: alias 'team' in domain example.test: alias team@example.test names "
                          "ghost@example.test"));
  EXPECT_TRUE(contains(w, "aliases:3: alias 'loop1' in domain example.test: alias loop for loop1@example.test"));
  EXPECT_TRUE(contains(w, "user 'eve@elsewhere.test' is not in an accepted domain"));
  EXPECT_TRUE(contains(w, "user 'nodomain' is not an address"));
  EXPECT_FALSE(contains(w, "postmaster (RFC"));
}

TEST(LocalDirectoryTest, CleanConfigHasNoWarnings) {
  const LocalDirectory d({"example.test"}, {"alice@example.test"}, aliases("postmaster: alice\nabuse: postmaster\n"));
  EXPECT_TRUE(d.warnings().empty()) << d.warnings().front();
}

}  // namespace
}  // namespace sluice::routing
