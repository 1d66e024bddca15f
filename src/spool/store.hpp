// spool/store.hpp: the durable store of accepted messages — envelope, content and the
// delivery state of every recipient — in RocksDB. "250 after DATA" means a message is in
// here, written with a synced WAL write (DESIGN.md, "Durability contract").
// Owns: the key layout, RocksDB tuning, recovery (load_all), moving damaged records aside,
// and turning disk-full into 452 4.3.1 (RFC 3463 §3.4 "mail system full", RFC 5321 §4.2.5).
// Lock order: meta_mu_, then db_mu_.
// Not: batching commits (committer.hpp), scheduling or retry policy (queue/).
//
// Keys (one kind letter, '/', the queue id; queue ids sort by arrival, so iteration order is
// arrival order):
//   m/<id>   metadata: envelope + recipient states + content size (record_codec.hpp)
//   c/<id>   content: one version byte, then the message bytes unchanged
//   q/<key>  quarantine: a record that could not be read, moved aside under its old key,
//            value untouched, for an administrator to look at; never loaded as mail
// Content has its own key so that a recipient state update rewrites a few hundred bytes,
// not the whole message.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "smtp/envelope.hpp"
#include "spool/record_codec.hpp"

namespace rocksdb {
class DB;
class Env;
class Status;
}  // namespace rocksdb

namespace sluice::spool {

struct StoreOptions {
  // The environment RocksDB does its I/O through; null means the real one. Tests pass a
  // wrapper that fails like a full disk. Borrowed: must outlive the Store.
  rocksdb::Env* env = nullptr;
};

// A record load_all or read_content could not read and moved to the quarantine prefix.
struct QuarantinedRecord {
  std::string key;     // the key it had, "m/0CHG5V1M2KT01"
  std::string reason;  // why it was moved aside
};

class Store {
 public:
  // Opens the spool in `dir`, creating it (and missing parent directories) if needed.
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir,
                                             StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores every message (envelope, content, every recipient pending) in ONE synced write.
  // All or nothing. A full disk fails with Reply 452 4.3.1, other I/O errors with 451 4.3.0.
  Result<void> write_messages(std::span<smtp::Message* const> messages);

  // The message bytes as they were written. A content record with an unknown format is
  // moved aside (together with its metadata) and reported as an error.
  Result<std::string> read_content(std::string_view queue_id) const;

  // Replaces the recipient states of a stored message (synced). `states` must have one entry
  // per envelope recipient. Fails if the message is not in the spool (it is never recreated).
  Result<void> update_recipients(std::string_view queue_id,
                                 const std::vector<RecipientState>& states);

  // How a removal reaches the disk. `lazy` is for a message whose recipients are all final:
  // the delete goes to the WAL without its own fsync and is made durable by the next synced
  // write (the next group commit). A crash before that brings the message back and it is
  // delivered again: a duplicate, never a loss — the contract allows it, and it saves one
  // fsync per delivered message (Postfix, too, unlinks queue files without fsync).
  enum class Sync { now, lazy };

  // Deletes every record of the message. Removing a message that is not there is not an
  // error: a retry after a crash must be able to finish the job.
  Result<void> remove(std::string_view queue_id, Sync sync = Sync::now);

  // Recovery at start: every message, sorted by queue id. Records that cannot be decoded are
  // moved aside, appended to `quarantined` if given, and never make the call fail.
  Result<std::vector<SpooledMessage>> load_all(std::vector<QuarantinedRecord>* quarantined = nullptr);

  // Keys under the quarantine prefix, for the admin views and tests.
  Result<std::vector<std::string>> quarantined_keys() const;

 private:
  Store(std::filesystem::path dir, StoreOptions options, std::unique_ptr<rocksdb::DB> db);

  // Before a write: if an earlier write failed, probe the disk and reopen the DB (see
  // store.cpp for why not DB::Resume). Fails with 452/451 while the disk is still unusable.
  Result<void> recover_if_needed() const;
  rocksdb::Status probe_disk() const;
  Failure closed_error() const;
  // Maps a failed write to an Error and remembers that the DB needs recovering.
  Failure write_failed(const rocksdb::Status& s, std::string_view what) const;
  Result<void> quarantine(std::string_view queue_id, std::string_view bad_key,
                          const std::string& reason) const;

  const std::filesystem::path dir_;
  const StoreOptions options_;
  // Shared by every operation, exclusive only while recovery reopens the DB. db_ is null
  // only after a reopen failed; the next write tries again.
  mutable std::shared_mutex db_mu_;
  mutable std::unique_ptr<rocksdb::DB> db_;
  // Serializes read-modify-write of m/ records (update_recipients, remove) so two updates of
  // one message never lose each other; writes of new messages do not take it.
  mutable std::mutex meta_mu_;
  mutable std::atomic<bool> needs_recovery_{false};
  mutable std::atomic<bool> disk_full_{false};  // the failure that set needs_recovery_ was NoSpace
};

}  // namespace sluice::spool
