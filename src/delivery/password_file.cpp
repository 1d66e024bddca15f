// delivery/password_file.cpp: see password_file.hpp.
#include "delivery/password_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace sluice::delivery {

Result<std::string> read_password_file(const std::filesystem::path& path) {
  const std::string where = "password_file " + path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorClass::config, where + ": cannot open: " + std::strerror(errno));
  std::string text;
  // Read one byte more than allowed so that an oversized file is told apart from a full one.
  text.resize(kMaxPasswordFile + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return fail(ErrorClass::config, where + ": read error");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxPasswordFile)
    return fail(ErrorClass::config, where + ": larger than " + std::to_string(kMaxPasswordFile) +
                                        " bytes; it should hold the password alone");

  if (text.find('\0') != std::string::npos)
    return fail(ErrorClass::config, where + ": holds a NUL byte, which AUTH cannot send");
  size_t end = text.find_first_of("\r\n");
  std::string password = text.substr(0, end);
  if (end != std::string::npos) {
    // Only line endings may follow the password: a second line is more likely a mistake
    // (two secrets in one file, a key file given by error) than part of it.
    if (text.find_first_not_of("\r\n", end) != std::string::npos)
      return fail(ErrorClass::config, where + ": has more than one line; it should hold the password alone");
  }
  if (password.empty()) return fail(ErrorClass::config, where + ": is empty");
  return password;
}

}  // namespace sluice::delivery
