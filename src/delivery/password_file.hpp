// delivery/password_file.hpp: reads the secret a send connector authenticates with
// (`auth = { username, password_file }`): the file's contents are the password.
// Owns: how the file is read (one line; a trailing newline is not part of the password, as
// `echo secret > file` writes one) and the words of its errors. Not: where the path comes from
// (config/, relative paths resolved by the caller) or when it is read (smtp_delivery reads it
// at every connection, so a changed secret applies without a restart).
// The password is later sent in AUTH PLAIN / LOGIN (RFC 4954, RFC 4616); it must not hold
// CR, LF or NUL, which those encodings cannot carry faithfully.
#pragma once

#include <filesystem>
#include <string>

#include "base/result.hpp"

namespace sluice::delivery {

// The password in `path`: its first line without the line ending. Fails (ErrorClass::config)
// when the file is missing or unreadable, empty, larger than kMaxPasswordFile, or holds a
// NUL or a second non-empty line.
Result<std::string> read_password_file(const std::filesystem::path& path);

inline constexpr size_t kMaxPasswordFile = 4096;

}  // namespace sluice::delivery
