// net/tls_context.cpp: see tls_context.hpp. OpenSSL 3 API only (no Asio).
#include "net/tls_context.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>

namespace sluice::net {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX, SSL_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;

// The OpenSSL error queue as one line (and emptied, so it never leaks into the next call).
std::string openssl_errors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

int proto_version(config::TlsVersion v) {
  switch (v) {
    case config::TlsVersion::v1_0: return TLS1_VERSION;
    case config::TlsVersion::v1_1: return TLS1_1_VERSION;
    case config::TlsVersion::v1_2: return TLS1_2_VERSION;
    case config::TlsVersion::v1_3: return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

std::string common_name(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  char buf[256] = {0};
  if (subject && X509_NAME_get_text_by_NID(subject, NID_commonName, buf, sizeof buf) > 0) return buf;
  return {};
}

// RFC 6125 §6.4.4: subjectAltName DNS names when there are any, the CN only without them.
std::vector<std::string> certificate_names(X509* cert) {
  std::vector<std::string> names;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = n->d.dNSName;
      names.push_back(to_lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                static_cast<size_t>(ASN1_STRING_length(s)))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    std::string cn = common_name(cert);
    if (!cn.empty()) names.push_back(to_lower(cn));
  }
  return names;
}

std::string asn1_date(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

// Seconds from `now` until the certificate's notAfter (negative once expired).
bool seconds_left(X509* cert, SystemTime now, long long& out) {
  const time_t t = std::chrono::system_clock::to_time_t(now);
  std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>> now_asn1(ASN1_TIME_set(nullptr, t));
  int days = 0, secs = 0;
  if (!now_asn1 || ASN1_TIME_diff(&days, &secs, now_asn1.get(), X509_get0_notAfter(cert)) != 1) return false;
  out = static_cast<long long>(days) * 86400 + secs;
  return true;
}

std::string expiry_warning_for(X509* cert, const std::string& file, SystemTime now) {
  long long left = 0;
  if (!seconds_left(cert, now, left)) return "certificate " + file + ": cannot read its expiry date";
  const auto limit = std::chrono::duration_cast<std::chrono::seconds>(kExpiryWarning).count();
  if (left > limit) return {};
  const std::string who = "certificate " + file + " (CN=" + common_name(cert) + ")";
  const std::string date = asn1_date(X509_get0_notAfter(cert));
  if (left < 0) return who + " expired " + std::to_string(-left / 86400) + " days ago (" + date + ")";
  return who + " expires in " + std::to_string(left / 86400) + " days (" + date + ")";
}

X509Ptr read_certificate(const std::string& file) {
  BioPtr bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) return nullptr;
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

struct ServerTlsContext::Snapshot {
  struct Entry {
    CtxPtr ctx;
    std::vector<std::string> names;
  };
  std::vector<Entry> entries;  // [0] is the default

  // RFC 6066 §3: the client names the host it wants; switch to the certificate for it.
  static int on_server_name(SSL* ssl, int*, void* arg) {
    const auto* self = static_cast<const Snapshot*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name || self->entries.size() < 2) return SSL_TLSEXT_ERR_OK;
    for (const Entry& e : self->entries) {
      for (const std::string& pattern : e.names) {
        if (certificate_name_matches(pattern, name)) {
          if (e.ctx.get() != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, e.ctx.get());
          return SSL_TLSEXT_ERR_OK;
        }
      }
    }
    return SSL_TLSEXT_ERR_OK;  // no match: the default certificate, as every MTA does
  }
};

bool certificate_name_matches(std::string_view pattern, std::string_view name) {
  std::string p = to_lower(pattern), n = to_lower(name);
  if (!n.empty() && n.back() == '.') n.pop_back();
  if (p.rfind("*.", 0) == 0) {
    const size_t dot = n.find('.');
    return dot != std::string::npos && dot > 0 && n.substr(dot) == p.substr(1);
  }
  return p == n;
}

ServerTlsContext::ServerTlsContext(std::string connector, std::vector<config::TlsCertificate> files,
                                   config::TlsVersion min)
    : connector_(std::move(connector)), files_(std::move(files)), min_version_(min) {}

ServerTlsContext::~ServerTlsContext() = default;

Result<std::shared_ptr<const ServerTlsContext::Snapshot>> ServerTlsContext::build(
    const std::string& connector, const std::vector<config::TlsCertificate>& files, config::TlsVersion min,
    SystemTime now, std::vector<std::string>& warnings) {
  if (files.empty()) return fail(ErrorClass::config, connector + ": no TLS certificate configured");
  auto snapshot = std::make_shared<Snapshot>();
  for (const config::TlsCertificate& f : files) {
    ERR_clear_error();
    CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) return fail(ErrorClass::config, connector + ": " + openssl_errors());
    auto bad = [&](const std::string& what) {
      return fail(ErrorClass::config, connector + ": certificate " + f.certificate + ": " + what + ": " + openssl_errors());
    };
    if (SSL_CTX_set_min_proto_version(ctx.get(), proto_version(min)) != 1) return bad("cannot set the TLS version");
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), f.certificate.c_str()) != 1) return bad("cannot load the chain");
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), f.key.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(ErrorClass::config, connector + ": key " + f.key + ": cannot load: " + openssl_errors());
    if (SSL_CTX_check_private_key(ctx.get()) != 1) return bad("does not match key " + f.key);
    // No renegotiation (a DoS lever, gone in TLS 1.3); our cipher order; no compression (CRIME).
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    static const unsigned char kSessionContext[] = "sluice-smtp";
    SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
    X509* leaf = SSL_CTX_get0_certificate(ctx.get());
    if (!leaf) return bad("no certificate in the file");
    std::string w = expiry_warning_for(leaf, f.certificate, now);
    if (!w.empty()) warnings.push_back(connector + ": " + w);
    snapshot->entries.push_back({std::move(ctx), certificate_names(leaf)});
  }
  // The callback lives on every context: after a switch OpenSSL consults the new one's.
  for (auto& e : snapshot->entries) {
    SSL_CTX_set_tlsext_servername_callback(e.ctx.get(), &Snapshot::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(e.ctx.get(), snapshot.get());
  }
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

Result<std::unique_ptr<ServerTlsContext>> ServerTlsContext::load(const config::ReceiveConnector& connector,
                                                                 SystemTime now, std::vector<std::string>& warnings) {
  std::unique_ptr<ServerTlsContext> self(
      new ServerTlsContext(connector.name, connector.tls_certificates, connector.tls_min_version));
  auto snapshot = build(self->connector_, self->files_, self->min_version_, now, warnings);
  if (!snapshot) return fail(snapshot.error());
  self->current_ = std::move(*snapshot);
  return self;
}

Result<void> ServerTlsContext::reload(SystemTime now, std::vector<std::string>& warnings) {
  auto snapshot = build(connector_, files_, min_version_, now, warnings);
  if (!snapshot) return fail(snapshot.error());
  std::lock_guard lock(mutex_);
  current_ = std::move(*snapshot);  // sessions still holding the old one keep it alive
  return ok();
}

TlsConnection ServerTlsContext::new_connection() const {
  std::shared_ptr<const Snapshot> s;
  {
    std::lock_guard lock(mutex_);
    s = current_;
  }
  TlsConnection c;
  c.ssl = SSL_new(s->entries.front().ctx.get());
  c.keep = std::move(s);
  return c;
}

std::vector<std::string> ServerTlsContext::default_names() const {
  std::lock_guard lock(mutex_);
  return current_->entries.front().names;
}

std::string certificate_expiry_warning(const std::string& certificate_file, SystemTime now) {
  X509Ptr cert = read_certificate(certificate_file);
  if (!cert) {
    ERR_clear_error();
    return "certificate " + certificate_file + ": cannot be read";
  }
  return expiry_warning_for(cert.get(), certificate_file, now);
}

namespace {

Result<void> write_pem(const std::filesystem::path& path, mode_t mode, const std::function<int(BIO*)>& emit) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail(ErrorClass::io, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // the umask must not widen or narrow it
  BioPtr bio(BIO_new_fd(fd, BIO_CLOSE));
  if (!bio || emit(bio.get()) != 1 || BIO_flush(bio.get()) != 1) {
    if (!bio) ::close(fd);
    return fail(ErrorClass::io, "cannot write " + tmp.string() + ": " + openssl_errors());
  }
  if (::fsync(fd) != 0) return fail(ErrorClass::io, "cannot sync " + tmp.string() + ": " + std::strerror(errno));
  bio.reset();
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail(ErrorClass::io, "cannot rename " + tmp.string() + ": " + ec.message());
  return ok();
}

}  // namespace

Result<config::TlsCertificate> ensure_self_signed_certificate(const std::filesystem::path& dir,
                                                              const std::string& hostname, SystemTime now) {
  config::TlsCertificate files{(dir / "selfsigned.crt").string(), (dir / "selfsigned.key").string()};
  {
    X509Ptr existing = read_certificate(files.certificate);
    ERR_clear_error();
    std::error_code ec;
    if (existing && std::filesystem::exists(files.key, ec) &&
        expiry_warning_for(existing.get(), files.certificate, now).empty() && common_name(existing.get()) == hostname)
      return files;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorClass::io, "cannot create " + dir.string() + ": " + ec.message());

  ERR_clear_error();
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return fail(ErrorClass::io, "cannot generate a P-256 key: " + openssl_errors());
  X509Ptr cert(X509_new());
  if (!cert) return fail(ErrorClass::io, "cannot make a certificate: " + openssl_errors());
  X509_set_version(cert.get(), 2);  // v3, for the extensions
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // a positive INTEGER (RFC 5280 §4.1.2.2)
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  time_t t = std::chrono::system_clock::to_time_t(now);
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &t);  // an hour of clock skew
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), 365, 0, &t);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string san = "DNS:" + hostname;
  for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, san},
                                   {NID_basic_constraints, "critical,CA:FALSE"},
                                   {NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) return fail(ErrorClass::io, "cannot add a certificate extension: " + openssl_errors());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    return fail(ErrorClass::io, "cannot sign the certificate: " + openssl_errors());

  // The key first: a certificate without its key is useless, a key alone is just replaced.
  auto wrote_key = write_pem(files.key, 0600, [&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (!wrote_key) return fail(wrote_key.error());
  auto wrote_cert = write_pem(files.certificate, 0644, [&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  if (!wrote_cert) return fail(wrote_cert.error());
  return files;
}

Result<size_t> use_self_signed_where_missing(config::Config& config, SystemTime now) {
  size_t given = 0;
  std::optional<config::TlsCertificate> files;
  for (config::ReceiveConnector& c : config.receive_connectors) {
    if (c.offers_tls()) continue;
    if (!files) {
      auto made = ensure_self_signed_certificate(std::filesystem::path(config.server.data_dir) / "tls",
                                                 config.server.hostname, now);
      if (!made) return fail(made.error());
      files = *made;
    }
    c.tls_certificates.push_back(*files);
    ++given;
  }
  return given;
}

}  // namespace sluice::net
