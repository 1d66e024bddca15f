// log/log_file.cpp: see log_file.hpp.
#include "log/log_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <vector>

#include "log/log_format.hpp"

namespace sluice::log {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view kSuffix = ".LOG";
constexpr size_t kDayDigits = 8;
constexpr size_t kMaxNumberDigits = 9;  // keeps n in uint32_t

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

uint32_t to_number(std::string_view s) {
  uint32_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint32_t>(c - '0');
  return v;
}

// The instant the UTC day "yyyymmdd" ends, or nullopt if it is no calendar day.
std::optional<SystemTime> end_of_day(std::string_view day) {
  using namespace std::chrono;
  const year_month_day ymd{year{static_cast<int>(to_number(day.substr(0, 4)))},
                           month{to_number(day.substr(4, 2))}, std::chrono::day{to_number(day.substr(6, 2))}};
  if (!ymd.ok()) return std::nullopt;
  return SystemTime{sys_days{ymd} + days{1}};
}
}  // namespace

RotatingLogFile::RotatingLogFile(fs::path dir, std::string prefix, const Clock& clock,
                                 LogRetention retention, HeaderFn header)
    : dir_(std::move(dir)),
      prefix_(std::move(prefix)),
      clock_(clock),
      retention_(retention),
      header_(std::move(header)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    std::lock_guard lock(mu_);
    report_locked("cannot create " + dir_.string(), ec);
  }
}

RotatingLogFile::~RotatingLogFile() {
  std::lock_guard lock(mu_);
  flush_locked();
  close_locked();
}

std::string RotatingLogFile::file_name(std::string_view prefix, std::string_view day, uint32_t n) {
  std::string name(prefix);
  name += day;
  name += '-';
  name += std::to_string(n);
  name += kSuffix;
  return name;
}

bool RotatingLogFile::parse_file_name(std::string_view prefix, std::string_view name,
                                      FileName& out) {
  if (!name.starts_with(prefix) || !name.ends_with(kSuffix)) return false;
  name.remove_prefix(prefix.size());
  name.remove_suffix(kSuffix.size());
  if (name.size() < kDayDigits + 2 || name[kDayDigits] != '-') return false;
  const std::string_view day = name.substr(0, kDayDigits);
  const std::string_view n = name.substr(kDayDigits + 1);
  if (!all_digits(day) || !all_digits(n) || n.size() > kMaxNumberDigits) return false;
  if (!end_of_day(day)) return false;
  out.day = std::string(day);
  out.n = to_number(n);
  return true;
}

void RotatingLogFile::append(SystemTime at, std::string_view record) {
  std::string day = format_day(at);
  std::lock_guard lock(mu_);
  bool open_next = false;
  if (day_.empty()) {
    open_next = true;  // the first record of this run
  } else if (day > day_) {
    open_next = true;  // a new UTC day ("yyyymmdd" compares as text)
  } else if (fd_ >= 0 && records_in_file_ > 0 &&
             file_bytes_ + buffer_.size() + record.size() > retention_.max_file_size) {
    open_next = true;
  } else if (fd_ < 0 && at >= retry_open_after_) {
    open_next = true;  // the last open failed; try again
  }
  if (open_next) {
    flush_locked();
    close_locked();
    open_locked(std::max(day, day_), at);
  }
  if (fd_ < 0) return;  // dropped: the failure was counted and reported when opening
  if (buffer_.empty()) oldest_buffered_ = at;
  buffer_ += record;
  ++records_in_file_;
  if (buffer_.size() >= kFlushBytes) flush_locked();
}

void RotatingLogFile::flush() {
  std::lock_guard lock(mu_);
  flush_locked();
}

void RotatingLogFile::tick() {
  std::lock_guard lock(mu_);
  if (!buffer_.empty() && clock_.now() - oldest_buffered_ >= kFlushInterval) flush_locked();
}

uint64_t RotatingLogFile::error_count() const {
  std::lock_guard lock(mu_);
  return errors_;
}

fs::path RotatingLogFile::current_path() const {
  std::lock_guard lock(mu_);
  return path_;
}

uint32_t RotatingLogFile::next_number_locked(const std::string& day) {
  uint32_t highest = day == day_ ? number_ : 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    FileName name;
    if (parse_file_name(prefix_, it->path().filename().string(), name) && name.day == day)
      highest = std::max(highest, name.n);
  }
  if (ec) report_locked("cannot list " + dir_.string(), ec);
  return highest + 1;
}

void RotatingLogFile::open_locked(const std::string& day, SystemTime at) {
  number_ = next_number_locked(day);
  day_ = day;
  path_ = dir_ / file_name(prefix_, day_, number_);
  file_bytes_ = 0;
  records_in_file_ = 0;
  // The folder may have been removed by hand while we ran; recreating it is cheap here.
  std::error_code ec;
  fs::create_directories(dir_, ec);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    report_locked("cannot open " + path_.string(), std::error_code(errno, std::generic_category()));
    retry_open_after_ = at + kFlushInterval;
    return;
  }
  if (header_) write_all_locked(header_(at));
  prune_locked(clock_.now());
}

void RotatingLogFile::close_locked() {
  if (fd_ < 0) return;
  if (::close(fd_) != 0)
    report_locked("cannot close " + path_.string(), std::error_code(errno, std::generic_category()));
  fd_ = -1;
}

void RotatingLogFile::flush_locked() {
  if (buffer_.empty()) return;
  if (fd_ >= 0) write_all_locked(buffer_);
  buffer_.clear();
}

bool RotatingLogFile::write_all_locked(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      report_locked("cannot write " + path_.string(), std::error_code(err, std::generic_category()));
      return false;
    }
    file_bytes_ += static_cast<uint64_t>(n);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  reported_ = false;  // working again: the next failure is news
  return true;
}

void RotatingLogFile::prune_locked(SystemTime now) {
  struct OldFile {
    FileName name;
    fs::path path;
    uint64_t size;
  };
  std::vector<OldFile> files;
  uint64_t total = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    FileName name;
    if (!parse_file_name(prefix_, it->path().filename().string(), name)) continue;
    std::error_code size_ec;
    const uint64_t size = it->file_size(size_ec);
    if (size_ec) continue;  // not a regular file, or gone meanwhile
    total += size;
    if (it->path() != path_) files.push_back(OldFile{std::move(name), it->path(), size});
  }
  if (ec) {
    report_locked("cannot list " + dir_.string(), ec);
    return;
  }
  std::sort(files.begin(), files.end(), [](const OldFile& a, const OldFile& b) {
    return a.name.day != b.name.day ? a.name.day < b.name.day : a.name.n < b.name.n;
  });
  auto remove = [&](const OldFile& f) {
    std::error_code rm_ec;
    fs::remove(f.path, rm_ec);
    if (rm_ec) {
      report_locked("cannot delete " + f.path.string(), rm_ec);
      return false;
    }
    total -= f.size;
    return true;
  };
  size_t first_kept = 0;
  for (; first_kept < files.size(); ++first_kept) {
    const OldFile& f = files[first_kept];
    const auto ends = end_of_day(f.name.day);
    if (!ends || *ends + retention_.max_age > now) break;  // sorted by day: the rest are younger
    remove(f);
  }
  for (size_t i = first_kept; i < files.size() && total > retention_.max_directory_size; ++i)
    remove(files[i]);
}

void RotatingLogFile::report_locked(std::string_view what, const std::error_code& ec) {
  ++errors_;
  if (reported_) return;
  reported_ = true;
  std::fprintf(stderr, "sluice: log: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               ec.message().c_str());
}

}  // namespace sluice::log
