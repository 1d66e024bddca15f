// log/log_file.hpp: RotatingLogFile, the file machinery under the protocol log and the
// message tracking log — daily and size-based rotation, retention, and a write buffer that
// lets many event-loop threads log without waiting for the disk.
// Owns: file names (`<PREFIX><yyyymmdd>-<n>.LOG`, UTC day, n from 1 each day), when a file
// is closed and the next one opened, which old files are deleted, buffering and flushing,
// I/O error reporting. Not: what a record looks like (protocol_log.cpp, tracking_log.cpp).
//
// Threading: one mutex guards the buffer and the file. append() copies the record into the
// buffer; only when the buffer passes kFlushBytes does that caller also hand the buffer to
// write(2) — a copy into the page cache, never fsync: logs are not the durability point (the
// spool is), so a crash may lose the last second of log lines, never mail. Whoever owns the
// log calls tick() often (the daemon: every second from one event loop's timer); it writes
// out records that have waited kFlushInterval or longer, by the Clock. flush() writes now.
// The destructor flushes.
//
// Rotation: a record goes into the file of its UTC day; when a record's day is later than the
// open file's, the next day's file is opened (a record stamped a moment before midnight that
// arrives just after the switch stays in the new file rather than reopening yesterday's).
// A file is also closed when the next record would take it past max_file_size (a file always
// takes at least one record, so one huge record cannot loop). Each start of the process opens
// a fresh file (n = highest n of that day on disk + 1), so a file has one writer and one
// header. A file's header is written when it is opened.
//
// Retention, checked whenever a file is opened, over this log's own files only (files with
// its prefix; another log sharing the folder is never touched): a file whose UTC day ended
// max_age or more before now is deleted; then, oldest (by day, then n) first, files are
// deleted while the total size of this log's files exceeds max_directory_size. The open file
// is never deleted.
//
// Errors: I/O failures never reach callers. Each is counted (error_count()); the first of a
// run of failures is printed to stderr, and a later success re-arms the report. Records that
// cannot be written are dropped, so the buffer stays bounded; after a failed open, opening is
// retried at most once per kFlushInterval.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "base/clock.hpp"

namespace sluice::log {

struct LogRetention {
  uint64_t max_file_size = 10 << 20;
  std::chrono::hours max_age{24 * 30};
  uint64_t max_directory_size = 250ull << 20;
};

class RotatingLogFile {
 public:
  static constexpr size_t kFlushBytes = 64 << 10;
  static constexpr std::chrono::seconds kFlushInterval{1};

  // Gives the header block of a new file (may be empty), opened at `opened`.
  using HeaderFn = std::function<std::string(SystemTime opened)>;

  // Creates `dir` (and parents). `prefix` is e.g. "RECV"; the owner must give each log in one
  // folder its own prefix.
  RotatingLogFile(std::filesystem::path dir, std::string prefix, const Clock& clock,
                  LogRetention retention, HeaderFn header);
  ~RotatingLogFile();
  RotatingLogFile(const RotatingLogFile&) = delete;
  RotatingLogFile& operator=(const RotatingLogFile&) = delete;

  // Appends one complete record (ending in '\n') stamped `at`. Thread-safe.
  void append(SystemTime at, std::string_view record);
  // Writes the buffer to the file now (no fsync). Thread-safe.
  void flush();
  // Writes the buffer if its oldest record has waited kFlushInterval. Cheap when idle.
  void tick();

  uint64_t error_count() const;
  // The file records go to now; empty before the first record.
  std::filesystem::path current_path() const;
  const std::filesystem::path& directory() const { return dir_; }

  // "RECV20190125-3.LOG"; and the inverse for files of this prefix (day as yyyymmdd, n).
  static std::string file_name(std::string_view prefix, std::string_view day, uint32_t n);

 private:
  struct FileName {
    std::string day;
    uint32_t n = 0;
  };
  static bool parse_file_name(std::string_view prefix, std::string_view name, FileName& out);

  void open_locked(const std::string& day, SystemTime at);
  void close_locked();
  void flush_locked();
  void prune_locked(SystemTime now);
  uint32_t next_number_locked(const std::string& day);
  bool write_all_locked(std::string_view bytes);
  void report_locked(std::string_view what, const std::error_code& ec);

  const std::filesystem::path dir_;
  const std::string prefix_;
  const Clock& clock_;
  const LogRetention retention_;
  const HeaderFn header_;

  mutable std::mutex mu_;
  int fd_ = -1;
  std::string day_;             // UTC day of the open file (yyyymmdd), empty if none yet
  uint32_t number_ = 0;         // n of the open file
  std::filesystem::path path_;  // the open file
  uint64_t file_bytes_ = 0;     // bytes already written to the open file
  uint64_t records_in_file_ = 0;
  std::string buffer_;
  SystemTime oldest_buffered_{};
  SystemTime retry_open_after_{};
  uint64_t errors_ = 0;
  bool reported_ = false;
};

}  // namespace sluice::log
