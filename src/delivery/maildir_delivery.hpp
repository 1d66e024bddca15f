// delivery/maildir_delivery.hpp: local delivery into Maildir folders,
// <root>/<domain>/<localpart>/{tmp,new,cur}.
// Owns: the Maildir write protocol (unique name in tmp/, fsync, rename into new/, fsync of the
// directories), the Return-Path and Delivered-To headers, Delivered-To loop detection, the
// CRLF -> LF conversion, refusing local parts that could leave the root, and the SMTP reply
// for each failure. Not: which mailbox an address means (routing/local_directory), retry
// and bounces (queue/), scheduling: the calls block on the disk, so the lead runs them on a
// worker pool, never on an event loop.
// Follows D. J. Bernstein's maildir(5) spec as Dovecot and Courier read it (name
// "<sec>.M<usec>P<pid>Q<n>R<rand>.<host>,S=<size>", '/' and ':' in the host as \057 and
// \072); RFC 5321 §4.4 (Return-Path), RFC 9228 (Delivered-To), RFC 3463 (4.2.2, 4.3.0,
// 5.1.3, 5.4.6).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "delivery/file_ops.hpp"

namespace sluice::delivery {

class MaildirDelivery {
 public:
  MaildirDelivery(std::filesystem::path root, std::string hostname);
  // For tests: a clock for the file name's time and a filesystem that can fail.
  // Both must outlive this object.
  MaildirDelivery(std::filesystem::path root, std::string hostname, const Clock& clock, FileOps& fs);

  // Delivers `content` (the message as spooled: CRLF line endings, dot-unstuffed) for the
  // local mailbox `address` ("alice@example.test", as routing::LocalDirectory::expand gives
  // it) into <root>/<domain>/<localpart>/new, both parts folded to lower case. Prepends
  // "Return-Path: <return_path>" and "Delivered-To: <address>". Returns the path of the file
  // in new/; once it returns, the message survives a crash.
  //
  // Line endings: CRLF becomes LF, as Postfix's local(8) does for Maildir — Maildir readers
  // (Dovecot, Courier, mutt) expect Unix text; any other byte is written as received.
  //
  // Errors, each with its reply:
  //   permanent 550 5.1.3 — the address has a local part or domain that could escape the
  //     root ("..", '/', NUL, a leading '.', control characters) or is empty;
  //   permanent 550 5.4.6 — the content already carries "Delivered-To: <address>": a
  //     forwarding loop (Postfix's rule);
  //   transient 452 4.2.2 — ENOSPC or EDQUOT (mailbox or disk full);
  //   transient 451 4.3.0 — any other I/O failure, with the path and strerror in the text.
  // A failed delivery leaves no file behind in tmp/ or new/. Directories it created stay.
  //
  // Thread-safe: several workers may deliver at once, also to the same mailbox.
  Result<std::filesystem::path> deliver(std::string_view address, std::string_view return_path,
                                        std::string_view content);

  // The name a new message gets (without directory); exposed for tests.
  std::string unique_name(size_t size);

  // "mail.example.test" with '/', ':' and ',' written as \057, \072 and \054 (',' because
  // readers look for ",S=" after the host name).
  static std::string escape_hostname(std::string_view hostname);

 private:
  std::filesystem::path root_;
  std::string hostname_;  // escaped
  std::unique_ptr<SystemClock> own_clock_;
  std::unique_ptr<FileOps> own_fs_;
  const Clock* clock_;
  FileOps* fs_;
  std::unique_ptr<std::atomic<uint64_t>> counter_;  // behind a pointer so the object can move
};

}  // namespace sluice::delivery
