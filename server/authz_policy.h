// A gRPC authorization policy (the "gRPC authz" JSON format of gRFC A43,
// which grpc::experimental::FileWatcherAuthorizationPolicyProvider reads)
// and its evaluation for one call, with the semantics of gRPC's
// GrpcAuthorizationEngine: a call matching any deny rule is denied; else a
// call matching any allow rule is allowed; else it is denied.
//
// Why not gRPC's own provider: Debian 12's libgrpc/libgrpc++ 1.51 ship the
// headers of FileWatcherAuthorizationPolicyProvider but not the library
// that implements it (upstream's separate grpc_authorization_provider
// target, with the policy translator): a program using it does not link.
// This evaluator takes the same files, so a policy written for it works
// unchanged with gRPC's provider where that library exists.
//
// Format:
//   {"name": "...",
//    "deny_rules":  [rule, ...],          (optional)
//    "allow_rules": [rule, ...]}          (required, may be empty)
//   rule: {"name": "...",
//          "source":  {"principals": ["...", ...]},             (optional)
//          "request": {"paths": ["...", ...],                   (optional)
//                      "headers": [{"key": "...", "values": ["...", ...]}]}}
// A string pattern is exact, "prefix*", "*suffix", or "*" (anything,
// including empty). A rule matches when every part it has matches: one of
// its principals, one of its paths, and for every header entry one of its
// values. Principals match the peer certificate's URI SANs, DNS SANs, or
// subject (any of them); a rule without "source" matches every peer. Header
// keys are lower case; pseudo-headers (":path"), "grpc-*" and "host" are
// refused, as gRPC refuses them. Unknown fields are refused (gRPC 1.51
// ignores them; a misspelt "principal" would then allow everyone).
//
// Thread safety: immutable after Parse; Evaluate may run concurrently.
#ifndef TUTORING_SERVER_AUTHZ_POLICY_H_
#define TUTORING_SERVER_AUTHZ_POLICY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tutoring::server {

// What a call offers the policy.
struct AuthzRequest {
  // "/package.Service/Method".
  absl::string_view path;
  // Request headers (lower-case keys); a key may repeat.
  std::vector<std::pair<absl::string_view, absl::string_view>> headers;
  // The peer certificate's identities; all empty without one.
  std::vector<absl::string_view> uri_sans;
  std::vector<absl::string_view> dns_sans;
  absl::string_view subject;
};

class AuthzPolicy {
 public:
  // INVALID_ARGUMENT naming the offending field ("allow_rules 1: source:
  // principals 0: is not a string") for JSON that is not such a policy.
  static absl::StatusOr<AuthzPolicy> Parse(absl::string_view json);

  struct Decision {
    bool allowed = false;
    // "deny_rules/<name>", "allow_rules/<name>", or "" when nothing
    // matched (denied by default).
    std::string rule;
  };
  Decision Evaluate(const AuthzRequest& request) const;

  const std::string& name() const { return name_; }

 private:
  struct Pattern {
    enum class Kind { kExact, kPrefix, kSuffix };
    Kind kind = Kind::kExact;
    std::string text;
    bool Matches(absl::string_view value) const;
  };
  struct HeaderRule {
    std::string key;
    std::vector<Pattern> values;
  };
  struct Rule {
    std::string name;
    bool any_principal = true;
    std::vector<Pattern> principals;
    std::vector<Pattern> paths;  // empty: any path
    std::vector<HeaderRule> headers;
    bool Matches(const AuthzRequest& request) const;
  };

  friend class AuthzPolicyParser;

  std::string name_;
  std::vector<Rule> deny_rules_;
  std::vector<Rule> allow_rules_;
};

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_AUTHZ_POLICY_H_
