// Opaque page tokens for keyset pagination (AIP-158).
//
// A token carries the id of the last row of a page, bound to the method and
// filters of the request that produced it, and is signed with HMAC-SHA256
// under a server key. Layout, before base64url (no padding): version (1
// byte) | last id (8, big-endian) | scope fingerprint (8, SHA-256 of method
// and filters) | MAC (16, truncated HMAC-SHA256 of the preceding 17 bytes).
// page_size is not bound: it may change between pages.
//
// With a key generated per process (no key configured), tokens do not
// survive a restart and are not accepted by other replicas; configure a
// shared key for those.
#ifndef TUTORING_SERVER_PAGE_TOKEN_H_
#define TUTORING_SERVER_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tutoring::server {

// What a token is bound to: the full method name and a canonical encoding
// of the request's filters (see service.cc).
struct PageTokenScope {
  absl::string_view method;
  std::string filters;
};

// Thread-safe (immutable after construction).
class PageTokenCodec {
 public:
  // `key` must not be empty.
  explicit PageTokenCodec(std::string key);

  // 32 bytes from the operating system's random source; INTERNAL if it
  // cannot provide them.
  static absl::StatusOr<std::string> RandomKey();

  // The token for the page after the row with id `last_id` (> 0).
  std::string Encode(const PageTokenScope& scope, int64_t last_id) const;

  // The last id carried by `token`, or 0 for "" (the first page).
  // INVALID_ARGUMENT when the token is not one this codec produced, was
  // altered in any byte, or belongs to another method or other filters.
  absl::StatusOr<int64_t> Decode(absl::string_view token,
                                 const PageTokenScope& scope) const;

 private:
  const std::string key_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_PAGE_TOKEN_H_
