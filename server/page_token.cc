#include "server/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tutoring::server {
namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kFingerprintSize = 8;
constexpr size_t kMacSize = 16;
constexpr size_t kSignedSize = 1 + 8 + kFingerprintSize;
constexpr size_t kTokenSize = kSignedSize + kMacSize;

using Bytes = std::array<uint8_t, kTokenSize>;

void Fingerprint(const PageTokenScope& scope, uint8_t* out) {
  // NUL separates method and filters; neither contains one (filters encode
  // strings with their length).
  const std::string input =
      absl::StrCat(scope.method, std::string(1, '\0'), scope.filters);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(input.data()), input.size(), digest);
  std::memcpy(out, digest, kFingerprintSize);
}

void Mac(const std::string& key, const uint8_t* data, uint8_t* out) {
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data,
       kSignedSize, mac, &mac_size);
  std::memcpy(out, mac, kMacSize);
}

absl::Status Malformed() {
  return absl::InvalidArgumentError(
      "page_token is malformed: pass the next_page_token of the previous "
      "page unchanged, or \"\" for the first page");
}

}  // namespace

PageTokenCodec::PageTokenCodec(std::string key) : key_(std::move(key)) {}

absl::StatusOr<std::string> PageTokenCodec::RandomKey() {
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<uint8_t*>(key.data()),
                 static_cast<int>(key.size())) != 1) {
    return absl::InternalError(
        "no random bytes for a page token key (RAND_bytes failed)");
  }
  return key;
}

std::string PageTokenCodec::Encode(const PageTokenScope& scope,
                                   int64_t last_id) const {
  Bytes bytes{};
  bytes[0] = kVersion;
  const uint64_t id = static_cast<uint64_t>(last_id);
  for (int i = 0; i < 8; ++i)
    bytes[1 + i] = static_cast<uint8_t>(id >> (56 - 8 * i));
  Fingerprint(scope, &bytes[9]);
  Mac(key_, bytes.data(), &bytes[kSignedSize]);
  return absl::WebSafeBase64Escape(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

absl::StatusOr<int64_t> PageTokenCodec::Decode(
    absl::string_view token, const PageTokenScope& scope) const {
  if (token.empty()) return 0;
  std::string raw;
  // Require the canonical encoding: base64 decoders accept padding,
  // whitespace and non-zero trailing bits, any of which would let two
  // different strings mean the same token.
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() != kTokenSize ||
      absl::WebSafeBase64Escape(raw) != token) {
    return Malformed();
  }
  Bytes bytes;
  std::memcpy(bytes.data(), raw.data(), kTokenSize);
  if (bytes[0] != kVersion) return Malformed();
  uint8_t mac[kMacSize];
  Mac(key_, bytes.data(), mac);
  if (CRYPTO_memcmp(mac, &bytes[kSignedSize], kMacSize) != 0) {
    return absl::InvalidArgumentError(
        "page_token failed verification: it was altered, or issued by a "
        "server with another page token key");
  }
  uint8_t fingerprint[kFingerprintSize];
  Fingerprint(scope, fingerprint);
  if (std::memcmp(fingerprint, &bytes[9], kFingerprintSize) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_token was issued for another method or other filters; use it "
        "only with the same ",
        scope.method, " request that returned it"));
  }
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | bytes[1 + i];
  const int64_t last_id = static_cast<int64_t>(id);
  if (last_id <= 0) return Malformed();
  return last_id;
}

}  // namespace tutoring::server
