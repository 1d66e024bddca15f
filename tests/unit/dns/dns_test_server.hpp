// tests/unit/dns/dns_test_server.hpp: runs tests/tools/dns_server.py for a test: writes the
// zone into a temp dir, starts the server on 127.0.0.1 port 0, reads "port N" from its stdout
// (bounded wait), changes the zone mid-test (SIGHUP, then waits for "reloaded N"), stops it.
// Owns: the child process. Not: the server itself (the Python tool).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

extern char** environ;

namespace sluice::dns::testing {

class DnsTestServer {
 public:
  explicit DnsTestServer(const std::string& zone) {
    std::string tmpl = ::testing::TempDir() + "dnszoneXXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    zone_path_ = dir_ + "/zone.txt";
    write_zone(zone);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    std::string tool = std::string(SLUICE_TEST_DATA) + "/../tools/dns_server.py";
    const char* argv[] = {"/usr/bin/python3", tool.c_str(), zone_path_.c_str(), nullptr};
    int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    out_ = fds[0];
    if (rc != 0) throw std::runtime_error("cannot start dns_server.py");
    std::string line = read_line();
    if (line.rfind("port ", 0) != 0) throw std::runtime_error("dns_server.py said: " + line);
    port_ = static_cast<uint16_t>(std::stoi(line.substr(5)));
  }

  ~DnsTestServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (out_ >= 0) close(out_);
    std::remove(zone_path_.c_str());
    rmdir(dir_.c_str());
  }
  DnsTestServer(const DnsTestServer&) = delete;
  DnsTestServer& operator=(const DnsTestServer&) = delete;

  uint16_t port() const { return port_; }
  std::string forwarder() const { return "127.0.0.1@" + std::to_string(port_); }

  // New answers from now on: returns once the server says they are live.
  void reload(const std::string& zone) {
    write_zone(zone);
    kill(pid_, SIGHUP);
    std::string want = "reloaded " + std::to_string(++reloads_);
    std::string line = read_line();
    if (line != want) throw std::runtime_error("dns_server.py said: " + line);
  }

 private:
  void write_zone(const std::string& zone) {
    std::ofstream f(zone_path_, std::ios::trunc);
    f << zone;
  }

  // One line of the server's stdout, waiting at most 20 s for it (a bound, not a timing).
  std::string read_line() {
    std::string line;
    for (;;) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 20000) <= 0) return line + "<no answer>";
      char c;
      ssize_t n = read(out_, &c, 1);
      if (n <= 0) return line + "<eof>";
      if (c == '\n') return line;
      line += c;
    }
  }

  std::string dir_, zone_path_;
  pid_t pid_ = -1;
  int out_ = -1;
  uint16_t port_ = 0;
  int reloads_ = 0;
};

}  // namespace sluice::dns::testing
