#include "server/security.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"

namespace tutoring::server {
namespace {

constexpr absl::string_view kBearerPrefix = "Bearer ";
constexpr size_t kMaxIdentityLength = 64;
constexpr size_t kMinSecretLength = 16;

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::StatusOr<std::unique_ptr<X509, X509Deleter>> ParseCertificate(
    absl::string_view flag, const std::string& path, const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  std::unique_ptr<X509, X509Deleter> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": \"", path, "\" holds no PEM certificate"));
  }
  return cert;
}

// Whether every character of `s` is in `allowed`.
bool AllOf(absl::string_view s, absl::string_view allowed_extra) {
  for (const char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) &&
        allowed_extra.find(c) == absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::array<unsigned char, 32> Digest(absl::string_view token) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest.data());
  return digest;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
         a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
         a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

absl::StatusOr<AuthzPolicy> LoadPolicy(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString("--authz-policy", path);
  if (!contents.ok()) return contents.status();
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(*contents);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--authz-policy: \"", path,
                     "\" is not a gRPC authorization policy: ",
                     policy.status().message()));
  }
  return policy;
}

// The file's new state when it differs from `watched.state`; nullopt when
// unchanged, unwatched ("" path) or gone (a gone file keeps the old
// contents in force; it is logged).
std::optional<struct stat> ChangedState(const std::string& path,
                                        const struct stat& known) {
  if (path.empty()) return std::nullopt;
  struct stat state {};
  if (stat(path.c_str(), &state) != 0) {
    spdlog::error("cannot check {}: {}; its previous contents stay in force",
                  path, std::strerror(errno));
    return std::nullopt;
  }
  if (SameFile(state, known)) return std::nullopt;
  return state;
}

}  // namespace

absl::StatusOr<TokenSet> TokenSet::Parse(absl::string_view contents,
                                         absl::string_view path) {
  TokenSet set;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(contents, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const size_t dot = line.find('.');
    const auto bad = [&](absl::string_view rule) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token-file: \"", path, "\" line ", line_number, ": ",
                       rule, " (format: <identity>.<secret> per line)"));
    };
    if (dot == absl::string_view::npos) return bad("no '.' after the identity");
    const absl::string_view identity = line.substr(0, dot);
    const absl::string_view secret = line.substr(dot + 1);
    if (identity.empty() || identity.size() > kMaxIdentityLength ||
        !AllOf(identity, "_-")) {
      return bad("the identity must be 1 to 64 of A-Z a-z 0-9 _ -");
    }
    absl::string_view unpadded = secret;
    while (absl::ConsumeSuffix(&unpadded, "=")) {
    }
    if (secret.size() < kMinSecretLength || unpadded.empty() ||
        !AllOf(unpadded, "-._~+/")) {
      return bad(absl::StrCat("the secret must be at least ", kMinSecretLength,
                              " characters of A-Z a-z 0-9 - . _ ~ + / "
                              "(then '=' padding)"));
    }
    set.entries_.push_back(Entry{Digest(line), std::string(identity)});
  }
  return set;
}

absl::StatusOr<TokenSet> TokenSet::Load(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString("--token-file", path);
  if (!contents.ok()) return contents.status();
  return Parse(*contents, path);
}

std::string TokenSet::Verify(absl::string_view token) const {
  const std::array<unsigned char, 32> digest = Digest(token);
  const Entry* found = nullptr;
  for (const Entry& entry : entries_) {
    // Every entry is compared; the branch below only picks which one to
    // report and does not depend on the secret's bytes, only on equality.
    const bool equal =
        CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal) found = &entry;
  }
  return found != nullptr ? found->identity : std::string();
}

absl::StatusOr<std::shared_ptr<CallAuthorizer>> CallAuthorizer::Create(
    const std::string& token_path, const std::string& policy_path,
    absl::Duration reload_interval) {
  Watched tokens_file{token_path};
  Watched policy_file{policy_path};
  auto tokens = std::make_shared<const TokenSet>();
  std::shared_ptr<const AuthzPolicy> policy;
  if (!token_path.empty()) {
    if (stat(token_path.c_str(), &tokens_file.state) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--token-file: cannot read \"", token_path, "\": ",
          std::strerror(errno)));
    }
    absl::StatusOr<TokenSet> loaded = TokenSet::Load(token_path);
    if (!loaded.ok()) return loaded.status();
    if (loaded->size() == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--token-file: \"", token_path, "\" holds no token"));
    }
    tokens = std::make_shared<const TokenSet>(*std::move(loaded));
  }
  if (!policy_path.empty()) {
    if (stat(policy_path.c_str(), &policy_file.state) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--authz-policy: cannot read \"", policy_path, "\": ",
          std::strerror(errno)));
    }
    absl::StatusOr<AuthzPolicy> loaded = LoadPolicy(policy_path);
    if (!loaded.ok()) return loaded.status();
    policy = std::make_shared<const AuthzPolicy>(*std::move(loaded));
  }
  return std::shared_ptr<CallAuthorizer>(
      new CallAuthorizer(std::move(tokens_file), std::move(policy_file),
                         reload_interval, std::move(tokens), std::move(policy)));
}

CallAuthorizer::CallAuthorizer(Watched tokens_file, Watched policy_file,
                               absl::Duration reload_interval,
                               std::shared_ptr<const TokenSet> tokens,
                               std::shared_ptr<const AuthzPolicy> policy)
    : reload_interval_(reload_interval),
      tokens_file_(std::move(tokens_file)),
      policy_file_(std::move(policy_file)),
      tokens_(std::move(tokens)),
      policy_(std::move(policy)) {
  if (!tokens_file_.path.empty() || !policy_file_.path.empty()) {
    watcher_ = std::thread([this] { WatchLoop(); });
  }
}

CallAuthorizer::~CallAuthorizer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

void CallAuthorizer::WatchLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), reload_interval_)) {
        return;
      }
    }
    ReloadIfChanged();
  }
}

void CallAuthorizer::ReloadIfChanged() {
  // Only this thread writes the Watched entries; copies are read under the
  // lock and the files are read without it.
  Watched tokens_file;
  Watched policy_file;
  {
    absl::MutexLock lock(&mu_);
    tokens_file = tokens_file_;
    policy_file = policy_file_;
  }
  if (std::optional<struct stat> changed = ChangedState(tokens_file.path, tokens_file.state);
      changed.has_value()) {
    absl::StatusOr<TokenSet> loaded = TokenSet::Load(tokens_file.path);
    absl::MutexLock lock(&mu_);
    // Remembered either way: a broken file is reported once, and read again
    // when it changes.
    tokens_file_.state = *changed;
    if (!loaded.ok()) {
      spdlog::error("token file not reloaded, the previous tokens stay: {}",
                    std::string(loaded.status().message()));
    } else {
      spdlog::info("token file {} reloaded: {} token(s)", tokens_file.path,
                   loaded->size());
      tokens_ = std::make_shared<const TokenSet>(*std::move(loaded));
    }
  }
  if (std::optional<struct stat> changed = ChangedState(policy_file.path, policy_file.state);
      changed.has_value()) {
    absl::StatusOr<AuthzPolicy> loaded = LoadPolicy(policy_file.path);
    absl::MutexLock lock(&mu_);
    policy_file_.state = *changed;
    if (!loaded.ok()) {
      spdlog::error("authz policy not reloaded, the previous policy stays: {}",
                    std::string(loaded.status().message()));
    } else {
      spdlog::info("authz policy {} reloaded (\"{}\")", policy_file.path,
                   loaded->name());
      policy_ = std::make_shared<const AuthzPolicy>(*std::move(loaded));
    }
  }
}

grpc::Status CallAuthorizer::Process(const InputMetadata& auth_metadata,
                                     grpc::AuthContext* context,
                                     OutputMetadata* /*consumed_auth_metadata*/,
                                     OutputMetadata* /*response_metadata*/) {
  std::shared_ptr<const TokenSet> tokens;
  std::shared_ptr<const AuthzPolicy> policy;
  {
    absl::MutexLock lock(&mu_);
    tokens = tokens_;
    policy = policy_;
  }
  // Health checks are judged as anonymous when their token fails: a client
  // with a bad token then sees UNAUTHENTICATED on its calls, not UNAVAILABLE
  // because its channel's client-side health checks were refused (the
  // policy still decides whether anonymous callers may check health).
  bool health_check = false;
  {
    const auto path = auth_metadata.find(":path");
    health_check = path != auth_metadata.end() &&
                   absl::StartsWith(
                       absl::string_view(path->second.data(),
                                         path->second.size()),
                       "/grpc.health.v1.Health/");
  }
  bool ignore_authorization = false;
  auto refuse = [&](const char* why) {
    if (health_check) {
      ignore_authorization = true;
      return grpc::Status::OK;
    }
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, why);
  };
  // 1. The bearer token, if any.
  const auto [begin, end] = auth_metadata.equal_range("authorization");
  if (begin != end) {
    grpc::Status refused = grpc::Status::OK;
    const absl::string_view value(begin->second.data(), begin->second.size());
    if (std::next(begin) != end) {
      refused = refuse("more than one authorization header");
    } else if (!absl::StartsWith(value, kBearerPrefix)) {
      refused =
          refuse("the authorization header must be \"Bearer <token>\"");
    } else if (tokens->Verify(value.substr(kBearerPrefix.size())).empty()) {
      // Verify found the whole token, whose text begins with its identity,
      // so a policy's "Bearer <identity>.*" can only match that identity.
      refused = refuse("invalid bearer token");
    }
    if (!refused.ok()) return refused;
  }
  if (policy == nullptr) return grpc::Status::OK;

  // 2. The policy.
  AuthzRequest request;
  std::vector<std::string> owned;  // values copied out of string_refs
  for (const auto& [key, value] : auth_metadata) {
    const absl::string_view k(key.data(), key.size());
    const absl::string_view v(value.data(), value.size());
    if (k == ":path") {
      request.path = v;
    } else if (ignore_authorization && k == "authorization") {
      continue;
    } else {
      request.headers.emplace_back(k, v);
    }
  }
  // AuthContext hands out string_refs into its own storage, which lives as
  // long as the connection.
  for (const grpc::string_ref& san :
       context->FindPropertyValues(GRPC_PEER_URI_PROPERTY_NAME)) {
    request.uri_sans.emplace_back(san.data(), san.size());
  }
  for (const grpc::string_ref& san :
       context->FindPropertyValues(GRPC_PEER_DNS_PROPERTY_NAME)) {
    request.dns_sans.emplace_back(san.data(), san.size());
  }
  for (const grpc::string_ref& subject :
       context->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME)) {
    request.subject = absl::string_view(subject.data(), subject.size());
  }
  if (request.path.empty()) {
    // Not expected from gRPC; refuse rather than judge a call we cannot name.
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "Unauthorized RPC request rejected.");
  }
  const AuthzPolicy::Decision decision = policy->Evaluate(request);
  if (!decision.allowed) {
    // gRPC's own engine answers with this message, naming no rule.
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "Unauthorized RPC request rejected.");
  }
  return grpc::Status::OK;
}

absl::StatusOr<ServerSecurity> MakeServerSecurity(
    const SecurityOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key must be given together");
  }
  if (!options.tls()) {
    if (!options.tls_client_ca_file.empty() ||
        !options.authz_policy_file.empty() || !options.token_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca, --authz-policy and --token-file need TLS "
          "(--tls-cert and --tls-key): without it no identity can be "
          "verified");
    }
    return ServerSecurity{grpc::InsecureServerCredentials()};
  }
  if (options.reload_interval < absl::Seconds(1) ||
      options.reload_interval == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--security-reload-interval must be at least 1s and "
                     "finite, got ",
                     absl::FormatDuration(options.reload_interval)));
  }
  const unsigned int interval_seconds = static_cast<unsigned int>(
      absl::ToInt64Seconds(options.reload_interval));

  // Checked here, with the operator's words, because the file watcher only
  // logs a failed read and the handshakes fail later.
  absl::StatusOr<std::string> cert_pem =
      ReadFileToString("--tls-cert", options.tls_cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem =
      ReadFileToString("--tls-key", options.tls_key_file);
  if (!key_pem.ok()) return key_pem.status();
  auto cert = ParseCertificate("--tls-cert", options.tls_cert_file, *cert_pem);
  if (!cert.ok()) return cert.status();
  BioPtr key_bio = MemoryBio(*key_pem);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls-key: \"", options.tls_key_file,
                     "\" holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-key: \"", options.tls_key_file,
        "\" is not the key of the certificate in \"", options.tls_cert_file,
        "\""));
  }
  const bool mtls = !options.tls_client_ca_file.empty();
  if (mtls) {
    absl::StatusOr<std::string> ca_pem =
        ReadFileToString("--tls-client-ca", options.tls_client_ca_file);
    if (!ca_pem.ok()) return ca_pem.status();
    auto ca = ParseCertificate("--tls-client-ca", options.tls_client_ca_file,
                               *ca_pem);
    if (!ca.ok()) return ca.status();
  }

  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          options.tls_key_file, options.tls_cert_file,
          mtls ? options.tls_client_ca_file : std::string(), interval_seconds);
  grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
  tls_options.watch_identity_key_cert_pairs();
  if (mtls) {
    tls_options.watch_root_certs();
    tls_options.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls_options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  ServerSecurity security;
  security.credentials = grpc::experimental::TlsServerCredentials(tls_options);

  // Without a policy every call is allowed, and a token would decide
  // nothing: no per-call check then, so plain TLS costs only TLS.
  if (!options.authz_policy_file.empty() || !options.token_file.empty()) {
    absl::StatusOr<std::shared_ptr<CallAuthorizer>> authorizer =
        CallAuthorizer::Create(options.token_file, options.authz_policy_file,
                               options.reload_interval);
    if (!authorizer.ok()) return authorizer.status();
    security.credentials->SetAuthMetadataProcessor(*std::move(authorizer));
  }
  return security;
}

std::string DescribeSecurity(const SecurityOptions& options) {
  if (!options.tls()) return "plaintext";
  std::string description =
      options.tls_client_ca_file.empty() ? "TLS" : "mTLS";
  if (!options.authz_policy_file.empty()) {
    absl::StrAppend(&description, ", authz policy ", options.authz_policy_file);
  }
  if (!options.token_file.empty()) {
    absl::StrAppend(&description, ", bearer tokens from ", options.token_file);
  }
  absl::StrAppend(&description, ", files checked every ",
                  absl::FormatDuration(options.reload_interval));
  return description;
}

}  // namespace tutoring::server
