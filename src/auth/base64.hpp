// auth/base64.hpp: Base64 (RFC 4648 §4, the standard alphabet with '=' padding) as SMTP AUTH
// carries SASL data (RFC 4954 §4) and SCRAM carries salts, proofs and signatures (RFC 5802).
// Owns: strict encoding and decoding. Not: what the bytes mean (the mechanisms).
// Decoding is strict (RFC 4648 §3.3): characters outside the alphabet, missing or misplaced
// padding, and non-zero pad bits are errors, so a response has exactly one meaning. The
// session answers a decode error with 501 5.5.2 (RFC 4954 §4); the error carries that reply.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace sluice::auth {

std::string base64_encode(std::string_view bytes);

// ErrorClass::protocol with Reply{501, "5.5.2", ...} on malformed input. "" decodes to "".
Result<std::string> base64_decode(std::string_view text);

}  // namespace sluice::auth
