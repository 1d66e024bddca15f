#include "spool/store.hpp"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "spool_test_util.hpp"

namespace sluice::spool {
namespace {

using testutil::make_message;
using testutil::TempDir;

std::unique_ptr<Store> open_store(const std::filesystem::path& dir) {
  Result<std::unique_ptr<Store>> s = Store::open(dir);
  EXPECT_TRUE(s) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

Result<void> write_one(Store& store, smtp::Message& m) {
  smtp::Message* p = &m;
  return store.write_messages(std::span<smtp::Message* const>(&p, 1));
}

std::vector<RecipientState> pending_states(const smtp::Message& m) {
  return std::vector<RecipientState>(m.envelope.recipients.size());
}

TEST(Store, OpenCreatesMissingDirectories) {
  TempDir tmp;
  auto store = open_store(tmp.path() / "a" / "spool");
  ASSERT_TRUE(store);
  EXPECT_TRUE(std::filesystem::is_directory(tmp.path() / "a" / "spool"));
}

TEST(Store, WriteThenLoadAndReadRoundTripsEverything) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < 6; ++i) msgs.push_back(make_message(i, 200 + 1000 * i));
  std::vector<smtp::Message*> ptrs;
  for (auto& m : msgs) ptrs.push_back(&m);
  ASSERT_TRUE(store->write_messages(ptrs));

  auto loaded = store->load_all();
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    const SpooledMessage& s = (*loaded)[i];
    EXPECT_EQ(s.envelope, msgs[i].envelope);
    EXPECT_EQ(s.recipients, pending_states(msgs[i]));
    EXPECT_EQ(s.content_size, msgs[i].content.size());
    auto content = store->read_content(msgs[i].envelope.queue_id);
    ASSERT_TRUE(content) << content.error().message();
    EXPECT_EQ(*content, msgs[i].content);
  }
}

TEST(Store, LoadAllIsSortedByQueueIdWhateverTheWriteOrder) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  for (int i : {4, 1, 3, 0, 2}) {
    smtp::Message m = make_message(i);
    ASSERT_TRUE(write_one(*store, m));
  }
  auto loaded = store->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*loaded)[i].envelope.queue_id, testutil::queue_id_for(i));
}

TEST(Store, UpdateRecipientsKeepsEnvelopeAndContent) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  smtp::Message m = make_message(2);  // three recipients
  ASSERT_EQ(m.envelope.recipients.size(), 3u);
  ASSERT_TRUE(write_one(*store, m));
  std::vector<RecipientState> states(3);
  states[0] = {RecipientStatus::delivered, "250 2.0.0 Ok: queued as X", 1, 0, 1'700'000'001'000'000};
  states[1] = {RecipientStatus::deferred, "451 4.4.1 Connection timed out", 2, 1'700'000'900'000'000,
               1'700'000'002'000'000};
  states[2] = {RecipientStatus::failed, "550 5.1.1 User unknown", 1, 0, 1'700'000'003'000'000};
  ASSERT_TRUE(store->update_recipients(m.envelope.queue_id, states));

  auto loaded = store->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].envelope, m.envelope);
  EXPECT_EQ((*loaded)[0].recipients, states);
  EXPECT_EQ(*store->read_content(m.envelope.queue_id), m.content);
}

TEST(Store, UpdateRecipientsRefusesWrongCountAndMissingMessage) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  smtp::Message m = make_message(1);  // two recipients
  ASSERT_TRUE(write_one(*store, m));
  EXPECT_FALSE(store->update_recipients(m.envelope.queue_id, std::vector<RecipientState>(5)));
  auto missing = store->update_recipients(testutil::queue_id_for(99), std::vector<RecipientState>(1));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().klass, ErrorClass::permanent);
  // The failed update must not have created a record.
  auto loaded = store->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].recipients, pending_states(m));
}

TEST(Store, RemoveDeletesEveryRecordAndIsIdempotent) {
  TempDir tmp;
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  smtp::Message a = make_message(0), b = make_message(1);
  ASSERT_TRUE(write_one(*store, a));
  ASSERT_TRUE(write_one(*store, b));
  ASSERT_TRUE(store->remove(a.envelope.queue_id));
  EXPECT_TRUE(store->remove(a.envelope.queue_id));
  EXPECT_FALSE(store->read_content(a.envelope.queue_id));
  EXPECT_FALSE(store->update_recipients(a.envelope.queue_id, pending_states(a)));
  auto loaded = store->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].envelope, b.envelope);
}

TEST(Store, LazyRemoveIsSeenAtOnceAndStaysRemovedAfterReopen) {
  TempDir tmp;
  smtp::Message a = make_message(0), b = make_message(1);
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(write_one(*store, a));
    ASSERT_TRUE(store->remove(a.envelope.queue_id, Store::Sync::lazy));
    EXPECT_FALSE(store->read_content(a.envelope.queue_id));
    ASSERT_TRUE(write_one(*store, b));  // a synced write: the delete before it is on disk too
  }
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  auto loaded = store->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].envelope, b.envelope);
}

TEST(Store, EverythingSurvivesReopen) {
  TempDir tmp;
  smtp::Message a = make_message(0), b = make_message(1, 5 << 20), c = make_message(2);
  std::vector<RecipientState> states(2);
  states[1] = {RecipientStatus::deferred, "421 4.7.0 Try again later", 3, 77, 66};
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    std::vector<smtp::Message*> ptrs{&a, &b, &c};
    ASSERT_TRUE(store->write_messages(ptrs));
    ASSERT_TRUE(store->update_recipients(b.envelope.queue_id, states));
    ASSERT_TRUE(store->remove(c.envelope.queue_id));
  }
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  auto loaded = store->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].envelope, a.envelope);
  EXPECT_EQ((*loaded)[1].envelope, b.envelope);
  EXPECT_EQ((*loaded)[1].recipients, states);
  EXPECT_EQ((*loaded)[1].content_size, b.content.size());
  EXPECT_EQ(*store->read_content(b.envelope.queue_id), b.content);
}

// Damages a record behind the Store's back, through RocksDB directly.
void put_raw(const std::filesystem::path& dir, const std::string& key, const std::string& value) {
  rocksdb::Options opt;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(opt, dir.string(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), key, value).ok());
  ASSERT_TRUE(db->Close().ok());
}

TEST(Store, DamagedAndUnknownVersionRecordsAreMovedAsideAndTheRestLoads) {
  TempDir tmp;
  std::vector<smtp::Message> msgs;
  for (int i = 0; i < 4; ++i) msgs.push_back(make_message(i));
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    for (auto& m : msgs) ASSERT_TRUE(write_one(*store, m));
  }
  const std::string& future = msgs[1].envelope.queue_id;
  const std::string& torn = msgs[2].envelope.queue_id;
  put_raw(tmp.path(), "m/" + future, std::string(1, '\x09') + "from a newer sluice");
  put_raw(tmp.path(), "m/" + torn, std::string(1, '\x01') + "\x05" + "ab");

  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  std::vector<QuarantinedRecord> bad;
  auto loaded = store->load_all(&bad);
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[0].envelope, msgs[0].envelope);
  EXPECT_EQ((*loaded)[1].envelope, msgs[3].envelope);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0].key, "m/" + future);
  EXPECT_NE(bad[0].reason.find("version"), std::string::npos) << bad[0].reason;
  EXPECT_EQ(bad[1].key, "m/" + torn);

  // Moved, not deleted: both records of each message are kept under the quarantine prefix.
  auto keys = store->quarantined_keys();
  ASSERT_TRUE(keys);
  std::vector<std::string> want{"c/" + future, "c/" + torn, "m/" + future, "m/" + torn};
  EXPECT_EQ(*keys, want);
  EXPECT_FALSE(store->read_content(future));

  // A second load finds nothing more to move and the same good messages.
  bad.clear();
  auto again = store->load_all(&bad);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->size(), 2u);
  EXPECT_TRUE(bad.empty());
}

TEST(Store, UnknownContentVersionIsMovedAsideOnRead) {
  TempDir tmp;
  smtp::Message a = make_message(0), b = make_message(1);
  {
    auto store = open_store(tmp.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(write_one(*store, a));
    ASSERT_TRUE(write_one(*store, b));
  }
  put_raw(tmp.path(), "c/" + a.envelope.queue_id, "\x07zzz");
  auto store = open_store(tmp.path());
  ASSERT_TRUE(store);
  auto content = store->read_content(a.envelope.queue_id);
  ASSERT_FALSE(content);
  EXPECT_NE(content.error().context.find("version"), std::string::npos) << content.error().context;
  auto keys = store->quarantined_keys();
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->size(), 2u);
  auto loaded = store->load_all();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].envelope, b.envelope);
}

}  // namespace
}  // namespace sluice::spool
