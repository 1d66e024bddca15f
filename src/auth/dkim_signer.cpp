// auth/dkim_signer.cpp: see dkim_signer.hpp.
#include "auth/dkim_signer.hpp"

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>

#include "auth/base64.hpp"
#include "auth/dkim_canon.hpp"

namespace sluice::auth {
namespace {

constexpr size_t kLineWidth = 78;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Appends `items` (tags, or pieces of one) to `out`, starting a new folded line ("\r\n\t")
// whenever the current one would pass kLineWidth.
class Folder {
 public:
  explicit Folder(std::string start) : out_(std::move(start)), column_(out_.size()) {}
  void add(std::string_view piece, bool space_before) {
    if (column_ + piece.size() + (space_before ? 1 : 0) > kLineWidth && column_ > 1) {
      out_ += "\r\n\t";
      column_ = 1;
    } else if (space_before) {
      out_ += ' ';
      ++column_;
    }
    out_ += piece;
    column_ += piece.size();
  }
  const std::string& text() const { return out_; }

 private:
  std::string out_;
  size_t column_;
};

}  // namespace

const std::vector<std::string> kDkimSignedHeaders = {
    "from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
    "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
    "in-reply-to", "references", "list-id", "list-unsubscribe", "list-unsubscribe-post"};

Result<DkimSigner> DkimSigner::load(std::string domain, std::string selector, const std::string& key_file,
                                    std::string_view algorithm) {
  std::ifstream in(key_file, std::ios::binary);
  if (!in) return fail(ErrorClass::config, "cannot read DKIM key file " + key_file);
  std::stringstream text;
  text << in.rdbuf();
  auto key = DkimKey::from_private_file_text(text.str());
  if (!key) return fail(ErrorClass::config, "DKIM key file " + key_file + ": " + key.error().context);
  const char* have = key->type() == DkimKeyType::rsa ? "rsa-sha256" : "ed25519-sha256";
  if (!algorithm.empty() && algorithm != have)
    return fail(ErrorClass::config, "DKIM key file " + key_file + " holds a key for " + have + ", not " + std::string(algorithm));
  if (key->type() == DkimKeyType::rsa && key->bits() < 1024)
    return fail(ErrorClass::config, "DKIM key file " + key_file + " holds an RSA key of " + std::to_string(key->bits()) +
                                        " bits; receivers ignore keys under 1024 bits (RFC 8301): use 2048");
  return DkimSigner(lower(domain), std::move(selector), std::move(*key));
}

Result<std::string> DkimSigner::signature_field(std::string_view message, SystemTime now) const {
  const DkimMessage msg = split_message(message);
  std::vector<std::string> names;
  for (const std::string& name : kDkimSignedHeaders) {
    size_t count = 0;
    for (const DkimHeaderField& f : msg.headers) count += iequals(f.name, name) ? 1 : 0;
    if (name == "from") ++count;  // oversigned: an added From breaks the signature
    for (size_t i = 0; i < count; ++i) names.push_back(name);
  }
  const std::string body_hash = base64_encode(dkim_sha256(canon_body(DkimCanon::relaxed, msg.body)));
  const int64_t t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();

  Folder f("DKIM-Signature:");
  f.add("v=1;", true);
  f.add(std::string("a=") + (key_.type() == DkimKeyType::rsa ? "rsa-sha256" : "ed25519-sha256") + ";", true);
  f.add("c=relaxed/relaxed;", true);
  f.add("d=" + domain_ + ";", true);
  f.add("s=" + selector_ + ";", true);
  f.add("t=" + std::to_string(t) + ";", true);
  for (size_t i = 0; i < names.size(); ++i) {
    std::string piece = (i == 0 ? "h=" : "") + names[i] + (i + 1 == names.size() ? ";" : ":");
    f.add(piece, i == 0);
  }
  f.add("bh=" + body_hash + ";", true);
  f.add("b=", true);
  const std::string unsigned_field = f.text();

  std::string data;
  for (const DkimHeaderField* h : select_headers(msg, names)) data += canon_header(DkimCanon::relaxed, *h);
  DkimHeaderField self{"DKIM-Signature", unsigned_field + "\r\n"};
  std::string self_canon = canon_header(DkimCanon::relaxed, self);
  self_canon.resize(self_canon.size() - 2);  // hashed without its CRLF (§3.7)
  data += self_canon;
  auto sig = key_.sign(data);
  if (!sig) return fail(sig.error());
  const std::string b = base64_encode(*sig);
  Folder out(unsigned_field);
  for (size_t pos = 0; pos < b.size(); pos += 64) out.add(std::string_view(b).substr(pos, 64), false);
  return out.text() + "\r\n";
}

Result<std::string> DkimSigner::sign(std::string_view message, SystemTime now) const {
  auto field = signature_field(message, now);
  if (!field) return fail(field.error());
  return *field + std::string(message);
}

const DkimSigner* find_dkim_signer(const std::vector<DkimSigner>& signers, std::string_view from_domain) {
  const std::string d = lower(from_domain);
  const DkimSigner* best = nullptr;
  for (const DkimSigner& s : signers) {
    const std::string& sd = s.domain();
    bool match = d == sd || (d.size() > sd.size() && d.compare(d.size() - sd.size(), sd.size(), sd) == 0 &&
                             d[d.size() - sd.size() - 1] == '.');
    if (match && (!best || sd.size() > best->domain().size())) best = &s;
  }
  return best;
}

std::optional<std::string> dkim_from_domain(std::string_view message) {
  const DkimMessage msg = split_message(message);
  for (const DkimHeaderField& f : msg.headers) {
    if (!iequals(f.name, "from")) continue;
    // The address is in <...> when there is a display name, else the value itself; the
    // domain is what follows the last '@' up to '>' or the end (good enough for choosing a key).
    std::string v = f.raw.substr(f.raw.find(':') + 1);
    size_t lt = v.rfind('<');
    if (lt != std::string::npos) v = v.substr(lt + 1, v.find('>', lt) - lt - 1);
    size_t at = v.rfind('@');
    if (at == std::string::npos) return std::nullopt;
    std::string d;
    for (size_t i = at + 1; i < v.size(); ++i) {
      char c = v[i];
      if (c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ')' || c == ',' || c == ';') break;
      d += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (d.empty()) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

}  // namespace sluice::auth
