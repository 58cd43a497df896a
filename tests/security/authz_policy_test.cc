#include "server/authz_policy.h"

#include <string>

#include "gtest/gtest.h"
#include "server/security.h"

namespace tutoring::server {
namespace {

constexpr char kPolicy[] = R"({
  "name": "p",
  "deny_rules": [
    {"name": "no-intruder", "source": {"principals": ["*intruder"]}}
  ],
  "allow_rules": [
    {"name": "health", "request": {"paths": ["/grpc.health.v1.Health/*"]}},
    {"name": "dash", "source": {"principals": ["spiffe://t/dashboard"]},
     "request": {"paths": ["/s/GetUserRole"]}},
    {"name": "token",
     "request": {"paths": ["/s/GetUserRole"],
                 "headers": [{"key": "authorization",
                              "values": ["Bearer dashboard.*"]}]}}
  ]
})";

AuthzRequest Call(absl::string_view path) {
  AuthzRequest request;
  request.path = path;
  return request;
}

TEST(AuthzPolicy, AllowsByPathPrincipalAndHeader) {
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(kPolicy);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Evaluate(Call("/grpc.health.v1.Health/Check")).allowed);
  EXPECT_FALSE(policy->Evaluate(Call("/s/GetUserRole")).allowed);

  AuthzRequest by_uri = Call("/s/GetUserRole");
  by_uri.uri_sans = {"spiffe://t/other", "spiffe://t/dashboard"};
  EXPECT_EQ(policy->Evaluate(by_uri).rule, "allow_rules/dash");
  AuthzRequest by_dns = Call("/s/GetUserRole");
  by_dns.dns_sans = {"spiffe://t/dashboard"};
  EXPECT_TRUE(policy->Evaluate(by_dns).allowed);
  AuthzRequest by_subject = Call("/s/GetUserRole");
  by_subject.subject = "spiffe://t/dashboard";
  EXPECT_TRUE(policy->Evaluate(by_subject).allowed);
  AuthzRequest other_method = by_uri;
  other_method.path = "/s/ListExercises";
  EXPECT_FALSE(other_method.path.empty());
  EXPECT_FALSE(policy->Evaluate(other_method).allowed);

  AuthzRequest by_header = Call("/s/GetUserRole");
  by_header.headers = {{"authorization", "Bearer dashboard.secret"}};
  EXPECT_EQ(policy->Evaluate(by_header).rule, "allow_rules/token");
  by_header.headers = {{"authorization", "Bearer reporting.secret"}};
  EXPECT_FALSE(policy->Evaluate(by_header).allowed);
  // A repeated header is judged joined, as gRPC does.
  by_header.headers = {{"authorization", "Bearer dashboard.a"},
                       {"authorization", "x"}};
  EXPECT_TRUE(policy->Evaluate(by_header).allowed);
}

TEST(AuthzPolicy, DenyRulesWin) {
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(kPolicy);
  ASSERT_TRUE(policy.ok());
  AuthzRequest request = Call("/grpc.health.v1.Health/Check");
  request.uri_sans = {"spiffe://t/intruder"};
  const AuthzPolicy::Decision decision = policy->Evaluate(request);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.rule, "deny_rules/no-intruder");
}

TEST(AuthzPolicy, RejectsMalformedPolicies) {
  for (const char* bad : {
           "", "[]", R"({"allow_rules": []})", R"({"name": "x"})",
           R"({"name": "x", "allow_rules": {}})",
           R"({"name": "x", "allow_rules": [{"source": {}}]})",
           R"({"name": "x", "allow_rules": [{"name": "r", "principal": []}]})",
           R"({"name": "x", "allow_rules": [{"name": "r",
                "source": {"principals": [1]}}]})",
           R"({"name": "x", "allow_rules": [{"name": "r",
                "request": {"headers": [{"key": ":path", "values": ["*"]}]}}]})",
           R"({"name": "x", "allow_rules": [{"name": "r",
                "request": {"headers": [{"key": "grpc-x", "values": ["*"]}]}}]})",
           R"({"name": "x", "allow_rules": [{"name": "r",
                "request": {"headers": [{"key": "a", "values": []}]}}]})",
           R"({"name": "x", "extra": 1, "allow_rules": []})",
       }) {
    EXPECT_EQ(AuthzPolicy::Parse(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(AuthzPolicy, EmptyAllowRulesDenyEverything) {
  absl::StatusOr<AuthzPolicy> policy =
      AuthzPolicy::Parse(R"({"name": "x", "allow_rules": []})");
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE(policy->Evaluate(Call("/grpc.health.v1.Health/Check")).allowed);
}

TEST(TokenSet, VerifiesWholeTokensAndNamesTheirIdentity) {
  absl::StatusOr<TokenSet> tokens = TokenSet::Parse(
      "# comment\n\ndashboard.0123456789abcdef\n"
      "  dashboard.fedcba9876543210==  \nreporting.a-b_c~d+e/f.ghijklmnop\n",
      "tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->size(), 3u);
  EXPECT_EQ(tokens->Verify("dashboard.0123456789abcdef"), "dashboard");
  EXPECT_EQ(tokens->Verify("dashboard.fedcba9876543210=="), "dashboard");
  EXPECT_EQ(tokens->Verify("reporting.a-b_c~d+e/f.ghijklmnop"), "reporting");
  EXPECT_EQ(tokens->Verify("dashboard.0123456789abcdeF"), "");
  EXPECT_EQ(tokens->Verify("dashboard.0123456789abcde"), "");
  EXPECT_EQ(tokens->Verify("reporting.0123456789abcdef"), "");
  EXPECT_EQ(tokens->Verify(""), "");
}

TEST(TokenSet, RejectsMalformedLinesWithoutEchoingThem) {
  for (const char* bad :
       {"nodot0123456789abcdef", ".0123456789abcdef",
        "dash board.0123456789abcdef", "dashboard.short",
        "dashboard.0123456789abcdef!", "dashboard.================"}) {
    absl::StatusOr<TokenSet> tokens = TokenSet::Parse(bad, "tokens");
    EXPECT_EQ(tokens.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(tokens.status().message().find(bad), absl::string_view::npos)
        << tokens.status();
  }
}

}  // namespace
}  // namespace tutoring::server
