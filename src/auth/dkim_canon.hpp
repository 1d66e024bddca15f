// auth/dkim_canon.hpp: the message as DKIM sees it — header fields split from the body — and
// the two canonicalization algorithms for each (RFC 6376 §3.4), shared by signer and verifier.
// Owns: header field splitting (RFC 5322 §2.2 folding), "simple" and "relaxed" header and body
// canonicalization, the l= body length cut (§3.4.5), header selection for h= bottom-up with
// oversigning (§5.4.2). Not: tags (dkim_signature), hashing and keys (dkim_crypto).
// Input lines may end in CRLF or a bare LF (a message read from a file); both are treated as
// CRLF, which is the form the message has on the wire and therefore the form that is signed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::auth {

enum class DkimCanon { simple, relaxed };

struct DkimHeaderField {
  std::string name;  // as written, before the colon
  std::string raw;   // the whole field with its folding, ending in CRLF
};

struct DkimMessage {
  std::vector<DkimHeaderField> headers;  // in message order
  std::string body;                      // after the empty line, lines ending in CRLF
};

// Splits a message into its header fields and body. Never fails: a message without the empty
// line is all header (an empty body), a line without a colon is kept as a field with no name.
DkimMessage split_message(std::string_view message);

// One header field canonicalized (§3.4.1/§3.4.2), ending in CRLF.
std::string canon_header(DkimCanon c, const DkimHeaderField& field);

// The body canonicalized (§3.4.3/§3.4.4), cut to `length` octets when l= is given.
std::string canon_body(DkimCanon c, std::string_view body, std::optional<size_t> length = std::nullopt);

// The fields named by h=, each occurrence taken from the bottom up; a name with no unused
// occurrence left contributes nothing (this is how oversigning forbids added fields).
std::vector<const DkimHeaderField*> select_headers(const DkimMessage& message,
                                                   const std::vector<std::string>& names);

bool iequals(std::string_view a, std::string_view b);

}  // namespace sluice::auth
