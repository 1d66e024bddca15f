// spool/store.cpp: see store.hpp for the key layout and the contract.
//
// RocksDB tuning, for a queue where almost every record is written once, read once or twice
// and deleted within seconds, and the WAL fsync is the durability point:
// - One synced WriteBatch per group commit (WriteOptions::sync): the only fsync on the path
//   to a 250. Nothing waits for a flush or compaction.
// - A large memtable (64 MiB, up to 4): a message delivered while its content is still in
//   the memtable is dropped at flush and never costs an SST write. This is why blob files are
//   NOT enabled: they would write every content to a blob file at flush and need blob GC to
//   reclaim it, when most contents die young. Long-deferred mail does reach SSTs; fine.
// - No compression: the hot data is in the WAL and memtable; the SST share is small, and CPU
//   is better spent on sessions.
// - WAL recovery kPointInTimeRecovery: after a crash, replay stops at the first torn record.
//   Only a write whose sync never returned can be torn, and that write was never answered
//   250, so nothing acknowledged is lost and nothing half-written is loaded.
// - A failed write (ENOSPC, EIO) puts RocksDB into a background-error state where every
//   later write fails. We do not use DB::Resume() to leave it: in 7.8 a Resume that fails
//   while the disk is still full escalates the error to unrecoverable, and a Resume that
//   succeeds may keep appending to the WAL whose tail holds the torn record of the failed
//   write — a later crash would then stop replay at that record and lose acknowledged
//   mail. Instead the next write probes the disk (a small synced file) and, if that
//   works, closes and reopens the DB: reopening replays the WAL, treats the torn tail as
//   its end (it was never acknowledged), flushes what it recovered and starts a fresh WAL.
//   While the probe fails the spool stays open for reads and answers 452 to writes.
//   RocksDB's own background recovery is turned off (ManualRecovery) so it cannot race us.
#include "spool/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <rocksdb/env.h>

#include <system_error>

namespace sluice::spool {

namespace {

constexpr std::string_view kMetaPrefix = "m/";
constexpr std::string_view kContentPrefix = "c/";
constexpr std::string_view kQuarantinePrefix = "q/";

std::string key(std::string_view prefix, std::string_view id) {
  std::string k;
  k.reserve(prefix.size() + id.size());
  k.append(prefix);
  k.append(id);
  return k;
}

// The smallest key after every key that starts with `prefix` (prefixes end in '/').
std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  end.back() = static_cast<char>(end.back() + 1);
  return end;
}

rocksdb::WriteOptions synced() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

// See the file comment: the Store recovers by itself on the next write.
class ManualRecovery final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "sluice.spool.ManualRecovery"; }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

rocksdb::Options make_options(const StoreOptions& o) {
  rocksdb::Options opt;
  opt.create_if_missing = true;
  opt.write_buffer_size = 64 << 20;
  opt.max_write_buffer_number = 4;
  opt.compression = rocksdb::kNoCompression;
  opt.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  opt.max_background_jobs = 2;
  opt.keep_log_file_num = 5;
  opt.listeners.push_back(std::make_shared<ManualRecovery>());
  if (o.env != nullptr) opt.env = o.env;
  return opt;
}

}  // namespace

Store::Store(std::filesystem::path dir, StoreOptions options, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), options_(options), db_(std::move(db)) {}

Store::~Store() {
  if (db_) {
    // Close can fail only after a background error; the WAL already holds every
    // acknowledged write, so there is nothing more to save here.
    (void)db_->Close();
  }
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& dir, StoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorClass::io, "cannot create spool directory " + dir.string() + ": " + ec.message());
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(make_options(options), dir.string(), &raw);
  if (!s.ok()) return fail(ErrorClass::io, "cannot open spool " + dir.string() + ": " + s.ToString());
  return std::unique_ptr<Store>(new Store(dir, options, std::unique_ptr<rocksdb::DB>(raw)));
}

Failure Store::write_failed(const rocksdb::Status& s, std::string_view what) const {
  needs_recovery_.store(true);
  // Until we have recovered from a full disk, whatever a later attempt says, the cause is
  // still the full disk: keep answering 452 so clients retry rather than think we are broken.
  if (s.IsNoSpace()) disk_full_.store(true);
  std::string context = "spool: " + std::string(what) + ": " + s.ToString();
  if (disk_full_.load())
    return fail(ErrorClass::transient, std::move(context), Reply{452, "4.3.1", "Insufficient system storage"});
  return fail(ErrorClass::io, std::move(context), Reply{451, "4.3.0", "Local error in processing"});
}

Failure Store::closed_error() const {
  if (disk_full_.load())
    return fail(ErrorClass::transient, "spool: closed after a full disk, not reopened yet",
                Reply{452, "4.3.1", "Insufficient system storage"});
  return fail(ErrorClass::io, "spool: closed after an I/O error, not reopened yet",
              Reply{451, "4.3.0", "Local error in processing"});
}

rocksdb::Status Store::probe_disk() const {
  rocksdb::Env* env = options_.env != nullptr ? options_.env : rocksdb::Env::Default();
  const std::string name = (dir_ / "space-probe").string();
  std::unique_ptr<rocksdb::WritableFile> file;
  rocksdb::Status s = env->NewWritableFile(name, &file, rocksdb::EnvOptions());
  if (s.ok()) {
    // 64 KiB: about what reopening needs (a new WAL, a MANIFEST record, a small SST).
    const std::string block(64 << 10, '\0');
    s = file->Append(block);
    if (s.ok()) s = file->Sync();
    rocksdb::Status c = file->Close();
    if (s.ok()) s = c;
  }
  (void)env->DeleteFile(name);
  return s;
}

Result<void> Store::recover_if_needed() const {
  if (!needs_recovery_.load()) return ok();
  std::unique_lock lock(db_mu_);
  if (!needs_recovery_.load()) return ok();  // another writer recovered meanwhile
  if (rocksdb::Status s = probe_disk(); !s.ok()) return write_failed(s, "disk still unusable");
  if (db_) {
    (void)db_->Close();  // fails with the background error; the WAL has every acknowledged write
    db_.reset();
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(make_options(options_), dir_.string(), &raw);
  if (!s.ok()) return write_failed(s, "cannot reopen the spool");
  db_.reset(raw);
  needs_recovery_.store(false);
  disk_full_.store(false);
  return ok();
}

Result<void> Store::write_messages(std::span<smtp::Message* const> messages) {
  if (messages.empty()) return ok();
  if (auto r = recover_if_needed(); !r) return r;
  std::shared_lock db_lock(db_mu_);
  if (!db_) return closed_error();
  rocksdb::WriteBatch batch;
  const char version = static_cast<char>(kContentFormatVersion);
  for (const smtp::Message* msg : messages) {
    SLUICE_ASSERT(msg != nullptr && !msg->envelope.queue_id.empty());
    const std::string& id = msg->envelope.queue_id;
    SpooledMessage meta{msg->envelope, std::vector<RecipientState>(msg->envelope.recipients.size()),
                        msg->content.size()};
    rocksdb::Status s = batch.Put(key(kMetaPrefix, id), encode_meta(meta));
    // Content goes in as two slices so a multi-megabyte message is not copied once more.
    std::string ckey = key(kContentPrefix, id);
    rocksdb::Slice key_part(ckey);
    rocksdb::Slice value_parts[2] = {rocksdb::Slice(&version, 1), rocksdb::Slice(msg->content)};
    if (s.ok()) s = batch.Put(rocksdb::SliceParts(&key_part, 1), rocksdb::SliceParts(value_parts, 2));
    if (!s.ok()) return fail(ErrorClass::io, "spool: cannot batch " + id + ": " + s.ToString());
  }
  rocksdb::Status s = db_->Write(synced(), &batch);
  if (!s.ok()) return write_failed(s, "cannot store " + std::to_string(messages.size()) + " message(s)");
  return ok();
}

Result<std::string> Store::read_content(std::string_view queue_id) const {
  std::shared_lock db_lock(db_mu_);
  if (!db_) return closed_error();
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key(kContentPrefix, queue_id), &value);
  if (s.IsNotFound()) return fail(ErrorClass::permanent, "spool: no content for " + std::string(queue_id));
  if (!s.ok()) return fail(ErrorClass::io, "spool: cannot read content of " + std::string(queue_id) + ": " + s.ToString());
  if (value.empty() || static_cast<uint8_t>(value[0]) != kContentFormatVersion) {
    std::string reason = value.empty() ? "empty content record"
                                       : "unknown content format version " +
                                             std::to_string(static_cast<uint8_t>(value[0]));
    if (auto q = quarantine(queue_id, key(kContentPrefix, queue_id), reason); !q) return fail(q.error());
    return fail(ErrorClass::io, "spool: content of " + std::string(queue_id) + " moved aside: " + reason);
  }
  value.erase(0, 1);
  return value;
}

Result<void> Store::update_recipients(std::string_view queue_id, const std::vector<RecipientState>& states) {
  if (auto r = recover_if_needed(); !r) return r;
  std::lock_guard lock(meta_mu_);
  std::shared_lock db_lock(db_mu_);
  if (!db_) return closed_error();
  const std::string mkey = key(kMetaPrefix, queue_id);
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), mkey, &value);
  if (s.IsNotFound()) return fail(ErrorClass::permanent, "spool: no message " + std::string(queue_id));
  if (!s.ok()) return fail(ErrorClass::io, "spool: cannot read " + mkey + ": " + s.ToString());
  Result<SpooledMessage> meta = decode_meta(value);
  if (!meta) {
    if (auto q = quarantine(queue_id, mkey, meta.error().context); !q) return q;
    return fail(ErrorClass::io, "spool: " + mkey + " moved aside: " + meta.error().context);
  }
  if (states.size() != meta->recipients.size())
    return fail(ErrorClass::permanent, "spool: " + std::to_string(states.size()) + " recipient states for " +
                                           std::to_string(meta->recipients.size()) + " recipients of " +
                                           std::string(queue_id));
  meta->recipients = states;
  s = db_->Put(synced(), mkey, encode_meta(*meta));
  if (!s.ok()) return write_failed(s, "cannot update " + mkey);
  return ok();
}

Result<void> Store::remove(std::string_view queue_id, Sync sync) {
  if (auto r = recover_if_needed(); !r) return r;
  std::lock_guard lock(meta_mu_);
  std::shared_lock db_lock(db_mu_);
  if (!db_) return closed_error();
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Delete(key(kMetaPrefix, queue_id));
  if (s.ok()) s = batch.Delete(key(kContentPrefix, queue_id));
  if (s.ok()) s = db_->Write(sync == Sync::now ? synced() : rocksdb::WriteOptions(), &batch);
  if (!s.ok()) return write_failed(s, "cannot remove " + std::string(queue_id));
  return ok();
}

Result<void> Store::quarantine(std::string_view queue_id, std::string_view bad_key,
                               const std::string& reason) const {
  // Move both records of the message: metadata without content (or the reverse) is not mail
  // we can deliver, and keeping them together helps whoever inspects them. The values are
  // copied unchanged. `reason` is returned to the caller, which reports it; it is not stored.
  (void)reason;
  rocksdb::WriteBatch batch;
  for (std::string_view prefix : {kMetaPrefix, kContentPrefix}) {
    std::string k = key(prefix, queue_id);
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), k, &value);
    if (s.IsNotFound()) continue;
    if (!s.ok() && k != bad_key) continue;  // unreadable partner: leave it, the bad one must go
    if (s.ok()) s = batch.Put(key(kQuarantinePrefix, k), value);
    if (s.ok()) s = batch.Delete(k);
    if (!s.ok()) return fail(ErrorClass::io, "spool: cannot move " + k + " aside: " + s.ToString());
  }
  rocksdb::Status s = db_->Write(synced(), &batch);
  if (!s.ok()) return write_failed(s, "cannot move " + std::string(bad_key) + " aside");
  return ok();
}

Result<std::vector<SpooledMessage>> Store::load_all(std::vector<QuarantinedRecord>* quarantined) {
  if (auto r = recover_if_needed(); !r) return fail(r.error());
  std::shared_lock db_lock(db_mu_);
  if (!db_) return closed_error();
  std::vector<SpooledMessage> out;
  std::vector<QuarantinedRecord> bad;
  {
    const std::string end = prefix_end(kMetaPrefix);
    rocksdb::Slice upper(end);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    ro.fill_cache = false;  // read once at start; keep the cache for live traffic
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    for (it->Seek(std::string(kMetaPrefix)); it->Valid(); it->Next()) {
      std::string_view k(it->key().data(), it->key().size());
      std::string_view id = k.substr(kMetaPrefix.size());
      Result<SpooledMessage> meta = decode_meta(std::string_view(it->value().data(), it->value().size()));
      if (!meta) {
        bad.push_back({std::string(k), meta.error().context});
      } else if (meta->envelope.queue_id != id) {
        bad.push_back({std::string(k), "record names queue id '" + meta->envelope.queue_id + "'"});
      } else {
        out.push_back(std::move(*meta));
      }
    }
    if (!it->status().ok())
      return fail(ErrorClass::io, "spool: cannot read the spool: " + it->status().ToString());
  }
  for (const QuarantinedRecord& q : bad) {
    std::string_view id = std::string_view(q.key).substr(kMetaPrefix.size());
    if (auto r = quarantine(id, q.key, q.reason); !r) return fail(r.error());
  }
  if (quarantined) quarantined->insert(quarantined->end(), bad.begin(), bad.end());
  return out;
}

Result<std::vector<std::string>> Store::quarantined_keys() const {
  std::shared_lock db_lock(db_mu_);
  if (!db_) return closed_error();
  std::vector<std::string> keys;
  const std::string end = prefix_end(kQuarantinePrefix);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  for (it->Seek(std::string(kQuarantinePrefix)); it->Valid(); it->Next())
    keys.push_back(it->key().ToString().substr(kQuarantinePrefix.size()));
  if (!it->status().ok()) return fail(ErrorClass::io, "spool: cannot list quarantine: " + it->status().ToString());
  return keys;
}

}  // namespace sluice::spool
