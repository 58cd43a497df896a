// Transport security and authorization of the server. TLS and mTLS are
// gRPC's own: TlsServerCredentials with a FileWatcherCertificateProvider,
// so certificates rotated on disk are served to new connections without a
// restart. Authorization is a gRPC authz JSON policy (server/authz_policy.h)
// and bearer tokens, both checked for every call by one
// grpc::AuthMetadataProcessor installed on those credentials, before the
// call reaches the service; both files are reloaded when they change.
//
// Order for each call (docs/DESIGN.md, "Authorization"):
//  1. An `authorization` header must be exactly one "Bearer <token>" with a
//     token from the token file, else UNAUTHENTICATED. No header: go on.
//  2. The policy decides on the method (":path"), the headers and the peer
//     certificate's SANs and subject: PERMISSION_DENIED unless allowed.
// Tokens name their identity themselves, "<identity>.<secret>", and a policy
// grants an identity with the header rule
//   {"key": "authorization", "values": ["Bearer <identity>.*"]}.
// A client cannot forge that header: step 1 refuses every `authorization`
// value that is not a whole valid token, and a valid token begins with its
// own identity. (gRPC's authz engine, where it exists, reads `principals`
// from the connection's auth context once per connection, so a per-call
// token identity could not be offered to it as a principal; the header rule
// works with both engines.)
#ifndef TUTORING_SERVER_SECURITY_H_
#define TUTORING_SERVER_SECURITY_H_

#include <grpcpp/security/auth_metadata_processor.h>
#include <grpcpp/security/server_credentials.h>
#include <sys/stat.h>

#include <array>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/authz_policy.h"

namespace tutoring::server {

struct SecurityOptions {
  // PEM certificate chain and private key the server presents. Both empty:
  // plaintext (the default); both set: TLS.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM CA bundle; when set, clients must present a certificate it signed
  // (mTLS). Requires TLS.
  std::string tls_client_ca_file;
  // gRPC authz policy (JSON, server/authz_policy.h); "" allows every call.
  // Requires TLS (in plaintext no identity, certificate or token, could be
  // verified, and no processor can run).
  std::string authz_policy_file;
  // Bearer tokens, one "<identity>.<secret>" per line (see TokenSet).
  // Requires TLS. With a policy but no token file, any call with an
  // `authorization` header is UNAUTHENTICATED.
  std::string token_file;
  // How often the certificate, policy and token files are checked for
  // changes; whole seconds, at least 1 s.
  absl::Duration reload_interval = absl::Seconds(10);

  bool tls() const { return !tls_cert_file.empty(); }
};

// The set of accepted bearer tokens. File format: one token per line,
// "<identity>.<secret>"; blank lines and lines starting with '#' are
// skipped. <identity> is 1..64 of [A-Za-z0-9_-]; <secret> is at least 16
// characters of RFC 6750's token68 alphabet ([A-Za-z0-9-._~+/] and trailing
// '='). Several tokens may name the same identity (rotation: add the new
// one, move the clients, remove the old one).
//
// Only SHA-256 digests of the tokens are kept. Thread-safe (immutable).
class TokenSet {
 public:
  // INVALID_ARGUMENT naming the file and line for a malformed line (the
  // token itself is never echoed), or naming the path and the reason when
  // the file cannot be read.
  static absl::StatusOr<TokenSet> Parse(absl::string_view contents,
                                        absl::string_view path);
  static absl::StatusOr<TokenSet> Load(const std::string& path);

  // The identity of `token` when it is in the set, else "". Takes the same
  // time whichever token matches, or none: the presented token's digest is
  // compared with every digest (CRYPTO_memcmp) without an early exit.
  std::string Verify(absl::string_view token) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::array<unsigned char, 32> digest;
    std::string identity;
  };
  std::vector<Entry> entries_;
};

// The AuthMetadataProcessor described at the top of this file.
// Non-blocking (runs on the thread that received the call's headers).
// Reloads the token and policy files when their modification time, size or
// inode change (checked every `reload_interval` by a thread of its own); a
// file that fails to load keeps the old contents in force and is logged.
class CallAuthorizer : public grpc::AuthMetadataProcessor {
 public:
  // `token_path` "": no token is accepted. `policy_path` "": every call that
  // passes the token check is allowed. INVALID_ARGUMENT (as
  // MakeServerSecurity) when a file cannot be read or parsed.
  static absl::StatusOr<std::shared_ptr<CallAuthorizer>> Create(
      const std::string& token_path, const std::string& policy_path,
      absl::Duration reload_interval);
  ~CallAuthorizer() override;

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  // A watched file and when it was read.
  struct Watched {
    std::string path;
    struct stat state {};
  };

  CallAuthorizer(Watched tokens_file, Watched policy_file,
                 absl::Duration reload_interval,
                 std::shared_ptr<const TokenSet> tokens,
                 std::shared_ptr<const AuthzPolicy> policy);
  void WatchLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void ReloadIfChanged() ABSL_LOCKS_EXCLUDED(mu_);

  // Constant after construction.
  const absl::Duration reload_interval_;

  absl::Mutex mu_;
  Watched tokens_file_ ABSL_GUARDED_BY(mu_);
  Watched policy_file_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const TokenSet> tokens_ ABSL_GUARDED_BY(mu_);
  // nullptr: no policy, allow.
  std::shared_ptr<const AuthzPolicy> policy_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread watcher_;
};

// What TutoringServer::Start installs on its listening port and builder.
struct ServerSecurity {
  // Insecure credentials in plaintext mode; with TLS, TlsServerCredentials,
  // carrying a CallAuthorizer when a policy or a token file is configured.
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

// Checks `options` and builds the credentials and policy provider.
// INVALID_ARGUMENT (a usage error of the flags it came from), naming the
// flag and file, for: a certificate without a key or the reverse; a client
// CA, policy or token file without TLS; a file that cannot be read; a
// certificate, key or CA file holding no PEM object of its kind; a key that
// does not match the certificate; a policy gRPC rejects (with its reason);
// a malformed token file; a reload interval under 1 s.
absl::StatusOr<ServerSecurity> MakeServerSecurity(
    const SecurityOptions& options);

// "plaintext", "TLS" or "mTLS", plus ", authz policy <file>" and ", N
// bearer tokens" when configured: for the start-up log line.
std::string DescribeSecurity(const SecurityOptions& options);

}  // namespace tutoring::server

#endif  // TUTORING_SERVER_SECURITY_H_
