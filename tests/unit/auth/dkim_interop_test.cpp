// Interop tests for DKIM against other implementations, run when they are installed (Debian
// python3-dkim = dkimpy, opendkim-tools; scripts/install-deps) and skipped otherwise:
// - sluice's signatures (RSA-2048, Ed25519) verify in dkimpy, and fail there once a signed
//   header or the body is changed;
// - dkimpy's signatures (rsa-sha256 and ed25519-sha256, simple and relaxed) verify in sluice,
//   with dkimpy's own test keys (dkim/tests/data) and with keys sluice made;
// - opendkim-testmsg's signatures verify in sluice.
// The key lookups go to a table resolver (sluice) or a dnsfunc (dkimpy): no network.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "auth/dkim_signer.hpp"
#include "auth/dkim_verifier.hpp"
#include "dkim_test_support.hpp"

namespace sluice::auth {
namespace {

namespace fs = std::filesystem;
using testing_support::read_file;
using testing_support::TableResolver;

const char* kPython = "/usr/bin/python3";
const std::string kDkimpyData = "/usr/lib/python3/dist-packages/dkim/tests/data";
const SystemTime kNow = SystemTime(std::chrono::seconds(1700000000));
// Signatures made by the other implementations carry t= of the moment they ran; verifying
// "in 2100" keeps them in the past without reading the wall clock (none has x=).
const SystemTime kVerifyAt = SystemTime(std::chrono::seconds(4102444800));

constexpr const char* kMessage =
    "Received: from client.example.org (client.example.org [192.0.2.1])\r\n"
    "\tby mx.example.org with ESMTPS; Mon, 20 Nov 2023 10:00:00 +0000\r\n"
    "From: \"Alice Example\" <alice@example.org>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: Quarterly   report,\r\n  folded over two lines\r\n"
    "Date: Mon, 20 Nov 2023 10:00:00 +0000\r\n"
    "Message-ID: <20231120100000.1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello Bob,  \r\n"
    "\r\n"
    "\tthe numbers are in.\r\n"
    "\r\n"
    "\r\n";

bool have_dkimpy() {
  return fs::exists(kPython) && std::system("/usr/bin/python3 -c 'import dkim' >/dev/null 2>&1") == 0;
}

class DkimInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "dkim_interop_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "verify.py") <<
        "import sys, dkim\n"
        "msg = open(sys.argv[1], 'rb').read()\n"
        "name, record = sys.argv[2], sys.argv[3].encode()\n"
        "def dnsfunc(domain, timeout=5):\n"
        "    d = domain.decode() if isinstance(domain, bytes) else domain\n"
        "    return record if d.rstrip('.') == name else None\n"
        "sys.exit(0 if dkim.verify(msg, dnsfunc=dnsfunc) else 1)\n";
    std::ofstream(dir_ / "sign.py") <<
        "import sys, dkim\n"
        "msg = open(sys.argv[1], 'rb').read()\n"
        "key = open(sys.argv[2], 'rb').read()\n"
        "alg, canon = sys.argv[3].encode(), sys.argv[4].encode()\n"
        "sig = dkim.sign(msg, b'sel', b'example.org', key, canonicalize=(canon, canon),\n"
        "                signature_algorithm=alg, linesep=b'\\r\\n')\n"
        "sys.stdout.buffer.write(sig + msg)\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Exit status of a shell command.
  int run(const std::string& command) {
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  static std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }
  int dkimpy_verify(const std::string& message, const std::string& record) {
    const std::string file = write("to_verify.eml", message);
    return run(std::string(kPython) + " " + (dir_ / "verify.py").string() + " " + file +
               " sel._domainkey.example.org " + quote(record));
  }
  std::string dkimpy_sign(const std::string& key_file, const char* algorithm, const char* canon) {
    const std::string in = write("to_sign.eml", kMessage);
    const std::string out = (dir_ / "signed.eml").string();
    EXPECT_EQ(run(std::string(kPython) + " " + (dir_ / "sign.py").string() + " " + in + " " + key_file + " " +
                  algorithm + " " + canon + " > " + out),
              0);
    return read_file(out);
  }
  std::vector<DkimResult> sluice_verify(const std::string& message, const std::string& record) {
    TableResolver dns;
    dns.set_txt("sel._domainkey.example.org", {record});
    ManualClock clock(kVerifyAt);
    DkimVerifier verifier(dns, clock);
    std::vector<DkimResult> out;
    verifier.verify(message, [&](std::vector<DkimResult> r) { out = std::move(r); });
    dns.pump();
    return out;
  }

  fs::path dir_;
};

std::string record_of(const DkimKey& key) {
  return std::string("v=DKIM1; k=") + (key.type() == DkimKeyType::rsa ? "rsa" : "ed25519") + "; p=" +
         *key.public_record_value();
}

TEST_F(DkimInterop, SluiceSignaturesVerifyInDkimpy) {
  if (!have_dkimpy()) GTEST_SKIP() << "python3-dkim is not installed";
  for (DkimKeyType type : {DkimKeyType::rsa, DkimKeyType::ed25519}) {
    auto key = DkimKey::generate(type, 2048);
    ASSERT_TRUE(key);
    DkimSigner signer("example.org", "sel", *key);
    auto signed_message = signer.sign(kMessage, kNow);
    ASSERT_TRUE(signed_message);
    const std::string record = record_of(*key);
    EXPECT_EQ(dkimpy_verify(*signed_message, record), 0) << *signed_message;

    std::string body_changed = *signed_message;
    body_changed.replace(body_changed.find("numbers are in"), 14, "numbers are up");
    EXPECT_EQ(dkimpy_verify(body_changed, record), 1);
    std::string header_changed = *signed_message;
    header_changed.replace(header_changed.find("<bob@example.net>"), 17, "<eve@example.net>");
    EXPECT_EQ(dkimpy_verify(header_changed, record), 1);
    std::string from_added = "From: mallory@example.org\r\n" + *signed_message;
    EXPECT_EQ(dkimpy_verify(from_added, record), 1);
  }
}

TEST_F(DkimInterop, DkimpySignaturesVerifyInSluice) {
  if (!have_dkimpy()) GTEST_SKIP() << "python3-dkim is not installed";
  auto rsa = DkimKey::generate(DkimKeyType::rsa, 2048);
  ASSERT_TRUE(rsa);
  const std::string rsa_file = write("rsa.pem", *rsa->private_pem());
  struct Case {
    std::string key_file;
    std::string record;
    const char* algorithm;
  };
  std::vector<Case> cases = {{rsa_file, record_of(*rsa), "rsa-sha256"}};
  if (fs::exists(kDkimpyData)) {
    // dkimpy's own test keys: RSA-1024 (test.private / test.txt) and Ed25519 (a base64 seed).
    cases.push_back({kDkimpyData + "/test.private", read_file(kDkimpyData + "/test.txt"), "rsa-sha256"});
    cases.push_back({kDkimpyData + "/ed25519test.key", "v=DKIM1; k=ed25519; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=",
                     "ed25519-sha256"});
  }
  for (const Case& c : cases) {
    std::string record = c.record;
    while (!record.empty() && (record.back() == '\n' || record.back() == '\r')) record.pop_back();
    for (const char* canon : {"simple", "relaxed"}) {
      const std::string message = dkimpy_sign(c.key_file, c.algorithm, canon);
      ASSERT_NE(message.find("DKIM-Signature:"), std::string::npos) << c.key_file;
      auto r = sluice_verify(message, record);
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].status, DkimStatus::pass) << c.key_file << " " << canon << ": " << r[0].reason << "\n" << message;
      EXPECT_EQ(r[0].algorithm, c.algorithm);

      std::string changed = message;
      changed.replace(changed.find("Quarterly"), 9, "Quarterlx");
      EXPECT_EQ(sluice_verify(changed, record)[0].status, DkimStatus::fail) << canon;
      changed = message;
      changed.replace(changed.find("the numbers"), 11, "the Numbers");
      EXPECT_EQ(sluice_verify(changed, record)[0].status, DkimStatus::fail) << canon;
    }
  }
}

TEST_F(DkimInterop, DkimpyKeyFileSignsInSluice) {
  // The Ed25519 seed format dkimpy uses is accepted as a key file by the signer.
  if (!fs::exists(kDkimpyData + "/ed25519test.key")) GTEST_SKIP() << "python3-dkim test data is not installed";
  auto signer = DkimSigner::load("example.org", "sel", kDkimpyData + "/ed25519test.key");
  ASSERT_TRUE(signer) << signer.error().context;
  auto message = signer->sign(kMessage, kNow);
  ASSERT_TRUE(message);
  auto r = sluice_verify(*message, "v=DKIM1; k=ed25519; p=yi50DjK5O9pqbFpNHklsv9lqaS0ArSYu02qp1S0DW1Y=");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DkimStatus::pass) << r[0].reason;
}

TEST_F(DkimInterop, OpendkimTestmsgSignaturesAreRsaSha1AndRefused) {
  // opendkim-testmsg signs with rsa-sha1 (relaxed/simple) and has no option to change it:
  // RFC 8301 says such a signature is never valid, and sluice reports it as "policy".
  if (run("command -v opendkim-testmsg >/dev/null 2>&1") != 0) GTEST_SKIP() << "opendkim-tools is not installed";
  auto key = DkimKey::generate(DkimKeyType::rsa, 2048);
  ASSERT_TRUE(key);
  const std::string key_file = write("opendkim.pem", *key->private_pem());
  const std::string in = write("plain.eml", kMessage);
  const std::string out = (dir_ / "opendkim-signed.eml").string();
  ASSERT_EQ(run("opendkim-testmsg -C -d example.org -s sel -k " + key_file + " < " + in + " > " + out), 0);
  const std::string message = read_file(out);
  ASSERT_NE(message.find("DKIM-Signature: v=1; a=rsa-sha1;"), std::string::npos) << message;
  auto r = sluice_verify(message, record_of(*key));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, DkimStatus::policy);
  EXPECT_EQ(r[0].reason, "rsa-sha1 signatures are not accepted (RFC 8301)");
}

}  // namespace
}  // namespace sluice::auth
