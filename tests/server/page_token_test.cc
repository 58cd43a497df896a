#include "server/page_token.h"

#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace tutoring::server {
namespace {

constexpr absl::string_view kMethod = "/tutoring.v1.TutoringService/ListUsersByRole";
constexpr absl::string_view kOtherMethod = "/tutoring.v1.TutoringService/ListActiveUsers";

PageTokenScope Scope(absl::string_view method, std::string filters) {
  return PageTokenScope{method, std::move(filters)};
}

TEST(PageToken, EmptyTokenMeansFirstPage) {
  const PageTokenCodec codec("key-one");
  absl::StatusOr<int64_t> id = codec.Decode("", Scope(kMethod, "role=1"));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0);
}

TEST(PageToken, RoundTripsTheLastId) {
  const PageTokenCodec codec("key-one");
  for (int64_t last_id : {int64_t{1}, int64_t{50}, int64_t{1} << 40,
                          std::numeric_limits<int64_t>::max()}) {
    const std::string token = codec.Encode(Scope(kMethod, "role=1"), last_id);
    absl::StatusOr<int64_t> id = codec.Decode(token, Scope(kMethod, "role=1"));
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(*id, last_id);
  }
}

TEST(PageToken, RejectsTokenReusedWithOtherFilters) {
  const PageTokenCodec codec("key-one");
  const std::string token = codec.Encode(Scope(kMethod, "role=1"), 42);
  EXPECT_EQ(codec.Decode(token, Scope(kMethod, "role=2")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PageToken, RejectsTokenReusedOnAnotherMethod) {
  const PageTokenCodec codec("key-one");
  const std::string token = codec.Encode(Scope(kMethod, "role=1"), 42);
  EXPECT_EQ(codec.Decode(token, Scope(kOtherMethod, "role=1")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PageToken, RejectsTokenSignedWithAnotherKey) {
  const PageTokenCodec codec("key-one");
  const PageTokenCodec other("key-two");
  const std::string token = other.Encode(Scope(kMethod, "role=1"), 42);
  EXPECT_EQ(codec.Decode(token, Scope(kMethod, "role=1")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PageToken, RejectsEveryAlteredCharacter) {
  const PageTokenCodec codec("key-one");
  const std::string token = codec.Encode(Scope(kMethod, "role=1"), 42);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    for (char replacement : {alphabet[(alphabet.find(token[i]) + 1) % 64],
                             alphabet[(alphabet.find(token[i]) + 37) % 64]}) {
      std::string altered = token;
      altered[i] = replacement;
      EXPECT_EQ(codec.Decode(altered, Scope(kMethod, "role=1")).status().code(),
                absl::StatusCode::kInvalidArgument)
          << "position " << i;
    }
  }
}

TEST(PageToken, RejectsEveryAlteredByte) {
  const PageTokenCodec codec("key-one");
  const std::string token = codec.Encode(Scope(kMethod, "role=1"), 42);
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
  for (size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = raw;
      altered[i] = static_cast<char>(altered[i] ^ (1 << bit));
      EXPECT_EQ(codec
                    .Decode(absl::WebSafeBase64Escape(altered),
                            Scope(kMethod, "role=1"))
                    .status()
                    .code(),
                absl::StatusCode::kInvalidArgument)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(PageToken, RejectsTruncatedAndExtendedTokens) {
  const PageTokenCodec codec("key-one");
  const std::string token = codec.Encode(Scope(kMethod, "role=1"), 42);
  for (size_t n = 1; n < token.size(); ++n) {
    EXPECT_EQ(codec.Decode(token.substr(0, n), Scope(kMethod, "role=1"))
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << "length " << n;
  }
  for (const char* suffix : {"A", "=", "==", " ", "AAAA", "\n"}) {
    EXPECT_EQ(codec.Decode(token + suffix, Scope(kMethod, "role=1"))
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << "suffix '" << suffix << "'";
  }
}

TEST(PageToken, RejectsGarbage) {
  const PageTokenCodec codec("key-one");
  for (const std::string& garbage :
       {std::string("x"), std::string("not a token"), std::string("%%%%"),
        std::string(44, 'A'), std::string("\0\0\0", 3), std::string(5000, 'z')}) {
    EXPECT_EQ(codec.Decode(garbage, Scope(kMethod, "role=1")).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(PageToken, TokensAreOpaqueBase64Url) {
  const PageTokenCodec codec("key-one");
  const std::string token = codec.Encode(Scope(kMethod, "role=1"), 42);
  EXPECT_EQ(token.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(token.find("42"), std::string::npos);
}

TEST(PageToken, RandomKeysDiffer) {
  absl::StatusOr<std::string> a = PageTokenCodec::RandomKey();
  absl::StatusOr<std::string> b = PageTokenCodec::RandomKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace tutoring::server
