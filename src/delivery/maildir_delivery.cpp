// delivery/maildir_delivery.cpp: the Maildir write protocol.
// Why each step: the file is written under tmp/ so no reader ever sees half a message; the
// name is unique across hosts, processes and threads (time, pid, a per-object counter and
// kernel randomness), so two writers never share a file; fsync of the file, rename into new/
// and fsync of new/ (and of every directory we had to create) make a success survive a crash
// — only then may the queue mark the recipient delivered (DESIGN.md, durability contract).
#include "delivery/maildir_delivery.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "routing/ascii.hpp"

namespace sluice::delivery {
namespace {

using routing::ascii_iequals;
using routing::ascii_lower;

Failure io_failure(const std::string& what, const std::filesystem::path& path, int err) {
  const std::string detail = what + " " + path.string() + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT)
    return fail(ErrorClass::transient, detail, Reply{452, "4.2.2", "Mailbox full: insufficient storage"});
  return fail(ErrorClass::transient, detail, Reply{451, "4.3.0", "local delivery failed: " + detail});
}

// A path component taken from an address: it must name one directory under its parent.
bool safe_component(std::string_view s) {
  if (s.empty() || s.size() > 200 || s.front() == '.') return false;  // ".", "..", hidden files
  for (unsigned char c : s)
    if (c == '/' || c < 0x20 || c == 0x7f) return false;  // '/', NUL, CR/LF (header injection)
  return true;
}

// RFC 5322 §2.2: a header ends at the first empty line. Looks for a Delivered-To field
// (unfolded) equal to `address`.
bool has_delivered_to(std::string_view content, std::string_view address) {
  constexpr std::string_view kField = "delivered-to:";
  size_t pos = 0;
  while (pos < content.size()) {
    size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) return false;  // end of the header section
    pos = end + 1;
    if (line.size() < kField.size() || !ascii_iequals(line.substr(0, kField.size()), kField)) continue;
    std::string value(line.substr(kField.size()));
    // Folded continuation lines (RFC 5322 §2.2.3).
    while (pos < content.size() && (content[pos] == ' ' || content[pos] == '\t')) {
      size_t e = content.find('\n', pos);
      if (e == std::string_view::npos) e = content.size();
      value.append(content.substr(pos, e - pos));
      pos = e + 1;
    }
    std::string_view v = routing::trim(value);
    if (v.size() >= 2 && v.front() == '<' && v.back() == '>') v = routing::trim(v.substr(1, v.size() - 2));
    if (ascii_iequals(v, address)) return true;
  }
  return false;
}

// Removes CR and LF from a value placed in a header line we write.
std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

uint64_t random64() {
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, 0) == static_cast<ssize_t>(sizeof v)) return v;
  std::random_device rd;  // practically never: getrandom fails only before the pool is ready
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

// Opens, fsyncs and closes a directory so its entries (a rename, a mkdir) are durable.
Result<void> sync_dir(FileOps& fs, const std::filesystem::path& dir) {
  const int fd = fs.open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return io_failure("open directory", dir, errno);
  if (fs.fsync(fd) != 0) {
    const int err = errno;
    fs.close(fd);
    return io_failure("fsync directory", dir, err);
  }
  fs.close(fd);
  return ok();
}

// mkdir -m 0700 unless it exists; a directory we create is added to `created`.
Result<void> ensure_dir(FileOps& fs, const std::filesystem::path& dir, std::vector<std::filesystem::path>& created) {
  if (fs.mkdir(dir.c_str(), 0700) == 0) {
    created.push_back(dir);
    return ok();
  }
  const int err = errno;
  if (err != EEXIST) return io_failure("create directory", dir, err);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_failure("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return io_failure("create directory", dir, ENOTDIR);
  return ok();
}

// The stored form: our two header lines, then the content with CRLF turned into LF.
std::string stored_form(std::string_view address, std::string_view return_path, std::string_view content) {
  std::string out;
  out.reserve(content.size() + address.size() + return_path.size() + 40);
  out += "Return-Path: <";
  out += header_safe(return_path);
  out += ">\nDelivered-To: ";
  out += address;
  out += '\n';
  for (size_t i = 0; i < content.size(); ++i) {
    if (content[i] == '\r' && i + 1 < content.size() && content[i + 1] == '\n') continue;
    out += content[i];
  }
  return out;
}

}  // namespace

MaildirDelivery::MaildirDelivery(std::filesystem::path root, std::string hostname)
    : root_(std::move(root)),
      hostname_(escape_hostname(hostname)),
      own_clock_(std::make_unique<SystemClock>()),
      own_fs_(std::make_unique<FileOps>()),
      clock_(own_clock_.get()),
      fs_(own_fs_.get()),
      counter_(std::make_unique<std::atomic<uint64_t>>(0)) {}

MaildirDelivery::MaildirDelivery(std::filesystem::path root, std::string hostname, const Clock& clock, FileOps& fs)
    : root_(std::move(root)),
      hostname_(escape_hostname(hostname)),
      clock_(&clock),
      fs_(&fs),
      counter_(std::make_unique<std::atomic<uint64_t>>(0)) {}

std::string MaildirDelivery::escape_hostname(std::string_view hostname) {
  std::string out;
  for (char c : hostname) {
    if (c == '/') out += "\\057";
    else if (c == ':') out += "\\072";
    else if (c == ',') out += "\\054";
    else out += c;
  }
  return out.empty() ? std::string("localhost") : out;
}

std::string MaildirDelivery::unique_name(size_t size) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_->now().time_since_epoch()).count();
  const uint64_t n = counter_->fetch_add(1, std::memory_order_relaxed);
  char rand_hex[17];
  std::snprintf(rand_hex, sizeof rand_hex, "%016llx", static_cast<unsigned long long>(random64()));
  return std::to_string(us / 1000000) + ".M" + std::to_string(us % 1000000) + "P" + std::to_string(::getpid()) + "Q" +
         std::to_string(n) + "R" + rand_hex + "." + hostname_ + ",S=" + std::to_string(size);
}

Result<std::filesystem::path> MaildirDelivery::deliver(std::string_view address, std::string_view return_path,
                                                       std::string_view content) {
  const routing::AddressParts parts = routing::split_address(address);
  if (!parts.has_domain || !safe_component(parts.local) || !safe_component(parts.domain)) {
    return fail(ErrorClass::permanent, "refusing Maildir delivery to unsafe mailbox name '" + header_safe(address) + "'",
                Reply{550, "5.1.3", "bad destination mailbox address"});
  }
  const std::string local = ascii_lower(parts.local);
  const std::string domain = ascii_lower(parts.domain);
  const std::string mailbox_address = local + "@" + domain;
  if (has_delivered_to(content, mailbox_address)) {
    return fail(ErrorClass::permanent, "message already carries Delivered-To: " + mailbox_address,
                Reply{550, "5.4.6", "mail forwarding loop for " + mailbox_address});
  }

  // The root is the admin's: if it is missing (an unmounted volume), fail rather than fill
  // the parent file system.
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0) return io_failure("Maildir root", root_, errno);
  if (!S_ISDIR(st.st_mode)) return io_failure("Maildir root", root_, ENOTDIR);

  const auto domain_dir = root_ / domain;
  const auto maildir = domain_dir / local;
  const auto tmp_dir = maildir / "tmp";
  const auto new_dir = maildir / "new";
  std::vector<std::filesystem::path> created;
  for (const auto& dir : {domain_dir, maildir, tmp_dir, new_dir, maildir / "cur"})
    if (auto r = ensure_dir(*fs_, dir, created); !r) return fail(std::move(r.error()));
  // A new directory's entry lives in its parent: sync each parent so the mailbox survives.
  std::vector<std::filesystem::path> parents;
  for (const auto& dir : created)
    if (parents.empty() || parents.back() != dir.parent_path()) parents.push_back(dir.parent_path());
  for (const auto& dir : parents)
    if (auto r = sync_dir(*fs_, dir); !r) return fail(std::move(r.error()));

  const std::string data = stored_form(mailbox_address, return_path, content);
  const std::string name = unique_name(data.size());
  const auto tmp_path = tmp_dir / name;
  const auto new_path = new_dir / name;

  const int fd = fs_->open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return io_failure("create", tmp_path, errno);
  auto discard = [&](const char* what, int err) {
    fs_->unlink(tmp_path.c_str());
    return io_failure(what, tmp_path, err);
  };
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = fs_->write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      fs_->close(fd);
      return discard("write", err);
    }
    written += static_cast<size_t>(n);
  }
  if (fs_->fsync(fd) != 0) {
    const int err = errno;
    fs_->close(fd);
    return discard("fsync", err);
  }
  if (fs_->close(fd) != 0) return discard("close", errno);  // NFS reports write errors here
  if (fs_->rename(tmp_path.c_str(), new_path.c_str()) != 0) return discard("rename into new/", errno);
  if (auto r = sync_dir(*fs_, new_dir); !r) {
    // Not durable, so not delivered: take it back, the queue retries (a crash here may still
    // duplicate it, which the durability contract allows; losing it is not allowed).
    fs_->unlink(new_path.c_str());
    return fail(std::move(r.error()));
  }
  return new_path;
}

}  // namespace sluice::delivery
