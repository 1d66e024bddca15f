// auth/dkim_signer.hpp: signs outbound mail with DKIM (RFC 6376 §5) for one configured domain.
// Owns: which header fields are signed (the usual set that exists in the message, From
// oversigned so no second From can be added, §8.15), relaxed/relaxed canonicalization (it
// survives the rewrapping relays do), the signature field's layout (folded at 78 columns), and
// choosing the signer for a From domain. Algorithm by key: rsa-sha256 or ed25519-sha256
// (RFC 8463). Not: which messages get signed (client and relay connectors: the session/queue
// integration), key generation (dkim_crypto, cli/dkim_command).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_crypto.hpp"
#include "base/clock.hpp"
#include "base/result.hpp"

namespace sluice::auth {

// The fields signed when present; From is always signed (and once more than present).
extern const std::vector<std::string> kDkimSignedHeaders;

class DkimSigner {
 public:
  DkimSigner(std::string domain, std::string selector, DkimKey key)
      : domain_(std::move(domain)), selector_(std::move(selector)), key_(std::move(key)) {}

  // Reads `key_file` (PEM, or dkimpy's Ed25519 seed). `algorithm` "rsa-sha256" or
  // "ed25519-sha256" must match the key; "" takes the key's own.
  static Result<DkimSigner> load(std::string domain, std::string selector, const std::string& key_file,
                                 std::string_view algorithm = "");

  // The "DKIM-Signature: ...\r\n" field to put on top of `message` (CRLF or LF lines).
  Result<std::string> signature_field(std::string_view message, SystemTime now) const;
  // `message` with the field on top.
  Result<std::string> sign(std::string_view message, SystemTime now) const;

  const std::string& domain() const { return domain_; }
  const std::string& selector() const { return selector_; }
  const DkimKey& key() const { return key_; }

 private:
  std::string domain_;
  std::string selector_;
  DkimKey key_;
};

// The signer for mail whose From domain is `from_domain`: the configured domain itself or
// its closest parent (a signer for example.org signs news.example.org). nullptr if none.
const DkimSigner* find_dkim_signer(const std::vector<DkimSigner>& signers, std::string_view from_domain);

// The domain of the message's (first) From address, lower case; nullopt if there is none.
std::optional<std::string> dkim_from_domain(std::string_view message);

}  // namespace sluice::auth
