// delivery/file_ops.hpp: the few POSIX file calls that local delivery makes, behind an
// interface, so tests can make the disk fail on the Nth write, fsync or rename (STYLE.md
// "a filesystem failing on fsync/rename") without root tricks or a full disk.
// Owns: the seam and the real implementation. Not: Maildir rules (maildir_delivery.cpp).
// Every call returns what POSIX returns (-1 and errno on failure), so callers read errno
// the same way for the real and the fake.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace sluice::delivery {

class FileOps {
 public:
  virtual ~FileOps() = default;
  virtual int mkdir(const char* path, mode_t mode);
  virtual int open(const char* path, int flags, mode_t mode);
  virtual ssize_t write(int fd, const void* data, size_t size);
  virtual int fsync(int fd);
  virtual int close(int fd);
  virtual int rename(const char* from, const char* to);
  virtual int unlink(const char* path);
};

}  // namespace sluice::delivery
