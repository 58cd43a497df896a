// libFuzzer target: page tokens (server/page_token.h).
//
// The input, as a string, is decoded as a page token under the scope of each
// list method (the filters the service binds, see server/service.cc). Held for
// every input:
// - Decode answers OK or INVALID_ARGUMENT, nothing else, and never crashes;
//   "" is the first page (0).
// - A token that decodes is canonical: encoding its id again for that scope
//   gives back the very same string (no second spelling of a token), its id
//   is > 0, and no other scope and no other key accepts it.
// Then, as a round trip: an id and filters taken from the input are encoded
// and must decode to the same id under the same scope only; changing any one
// character of the token makes it invalid.
//
// The seed corpus (corpus/page_token_fuzzer/) holds tokens minted with kKey
// below for the scopes of kScopes, plus near misses (padding, truncation).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/page_token.h"

namespace tutoring::server {
namespace {

constexpr absl::string_view kKey = "fuzz-page-token-key";
constexpr absl::string_view kOtherKey = "fuzz-other-key";

// One scope per list method, with filters in the service's encoding.
const std::vector<PageTokenScope>& Scopes() {
  static const std::vector<PageTokenScope> scopes = {
      {"/tutoring.v1.TutoringService/ListActiveUsers",
       "role=0;pending_onboarding_only=0"},
      {"/tutoring.v1.TutoringService/ListUsersByRole", "role=1"},
      {"/tutoring.v1.TutoringService/ListExercises",
       "difficulty=1;programming_language=6:python"},
  };
  return scopes;
}

[[noreturn]] void Fail(absl::string_view what, absl::string_view token) {
  std::cerr << "page_token_fuzzer: " << what << " (token of " << token.size()
            << " bytes)\n";
  std::abort();
}

void Check(bool condition, absl::string_view what, absl::string_view token) {
  if (!condition) Fail(what, token);
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

void DecodeUnderEveryScope(const PageTokenCodec& codec,
                           const PageTokenCodec& other_codec,
                           absl::string_view token) {
  const std::vector<PageTokenScope>& scopes = Scopes();
  for (size_t i = 0; i < scopes.size(); ++i) {
    const absl::StatusOr<int64_t> id = codec.Decode(token, scopes[i]);
    if (token.empty()) {
      Check(id.ok() && *id == 0, "\"\" is not the first page", token);
      continue;
    }
    if (!id.ok()) {
      Check(id.status().code() == absl::StatusCode::kInvalidArgument,
            "a bad token gave another code than INVALID_ARGUMENT", token);
      Check(!id.status().message().empty(), "an error without message",
            token);
      continue;
    }
    Check(*id > 0, "a token decoded to an id <= 0", token);
    Check(codec.Encode(scopes[i], *id) == token,
          "a token that decodes is not the canonical encoding of its id",
          token);
    for (size_t j = 0; j < scopes.size(); ++j) {
      if (j == i) continue;
      Check(!codec.Decode(token, scopes[j]).ok(),
            "a token was accepted under two scopes", token);
    }
    Check(!other_codec.Decode(token, scopes[i]).ok(),
          "a token was accepted under another key", token);
  }
}

void RoundTrip(const PageTokenCodec& codec, absl::string_view input) {
  // Id from the first 8 bytes (big-endian, sign bit cleared, 0 -> 1), filters
  // from the rest, method by the id.
  uint64_t raw = 0;
  for (size_t i = 0; i < 8 && i < input.size(); ++i) {
    raw = (raw << 8) | static_cast<uint8_t>(input[i]);
  }
  int64_t id = static_cast<int64_t>(raw & std::numeric_limits<int64_t>::max());
  if (id == 0) id = 1;
  const absl::string_view filters =
      input.size() > 8 ? input.substr(8) : absl::string_view();
  const PageTokenScope scope{Scopes()[raw % Scopes().size()].method,
                             std::string(filters)};
  const std::string token = codec.Encode(scope, id);

  // 33 bytes in base64url without padding.
  Check(token.size() == 44, "an encoded token is not 44 characters", token);
  for (const char c : token) {
    Check(IsBase64UrlChar(c), "an encoded token is not base64url", token);
  }
  const absl::StatusOr<int64_t> decoded = codec.Decode(token, scope);
  Check(decoded.ok() && *decoded == id, "encode -> decode lost the id", token);
  const PageTokenScope other_filters{scope.method,
                                     std::string(filters) + "x"};
  Check(!codec.Decode(token, other_filters).ok(),
        "a token was accepted with other filters", token);

  // One character replaced by another base64url character.
  std::string altered = token;
  const size_t at = raw % altered.size();
  altered[at] = altered[at] == 'A' ? 'B' : 'A';
  Check(!codec.Decode(altered, scope).ok(),
        "a token with one character changed was accepted", token);
}

}  // namespace
}  // namespace tutoring::server

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tutoring::server::PageTokenCodec;
  static const PageTokenCodec codec{std::string(tutoring::server::kKey)};
  static const PageTokenCodec other_codec{
      std::string(tutoring::server::kOtherKey)};
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  tutoring::server::DecodeUnderEveryScope(codec, other_codec, input);
  tutoring::server::RoundTrip(codec, input);
  return 0;
}
