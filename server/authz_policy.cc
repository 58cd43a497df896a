#include "server/authz_policy.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <initializer_list>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tutoring::server {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// Parses the JSON through protobuf's Struct (already linked; the JSON
// mapping keeps the structure and types gRPC's own parser sees).
class AuthzPolicyParser {
 public:
  static absl::StatusOr<AuthzPolicy> Parse(absl::string_view json) {
    Struct root;
    google::protobuf::util::JsonParseOptions options;
    if (!google::protobuf::util::JsonStringToMessage(
             std::string(json), &root, options)
             .ok()) {
      return absl::InvalidArgumentError("policy is not a JSON object");
    }
    AuthzPolicy policy;
    if (absl::Status s = OnlyFields(root, {"name", "deny_rules", "allow_rules"},
                                    "policy");
        !s.ok()) {
      return s;
    }
    absl::StatusOr<std::string> name = RequiredString(root, "name", "policy");
    if (!name.ok()) return name.status();
    policy.name_ = *name;
    if (auto it = root.fields().find("deny_rules"); it != root.fields().end()) {
      absl::StatusOr<std::vector<AuthzPolicy::Rule>> rules =
          Rules(it->second, "deny_rules");
      if (!rules.ok()) return rules.status();
      policy.deny_rules_ = *std::move(rules);
    }
    auto it = root.fields().find("allow_rules");
    if (it == root.fields().end()) {
      return absl::InvalidArgumentError("policy: \"allow_rules\" is missing");
    }
    absl::StatusOr<std::vector<AuthzPolicy::Rule>> rules =
        Rules(it->second, "allow_rules");
    if (!rules.ok()) return rules.status();
    policy.allow_rules_ = *std::move(rules);
    return policy;
  }

 private:
  static absl::Status Error(absl::string_view where, absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
  }

  static absl::Status OnlyFields(const Struct& object,
                                 std::initializer_list<absl::string_view> known,
                                 absl::string_view where) {
    for (const auto& [key, value] : object.fields()) {
      bool found = false;
      for (absl::string_view k : known) found = found || key == k;
      if (!found) {
        return Error(where, absl::StrCat("unknown field \"", key,
                                         "\" (known: ", absl::StrJoin(known, ", "),
                                         ")"));
      }
    }
    return absl::OkStatus();
  }

  static absl::StatusOr<std::string> RequiredString(const Struct& object,
                                                    absl::string_view field,
                                                    absl::string_view where) {
    auto it = object.fields().find(std::string(field));
    if (it == object.fields().end()) {
      return Error(where, absl::StrCat("\"", field, "\" is missing"));
    }
    if (it->second.kind_case() != Value::kStringValue) {
      return Error(where, absl::StrCat("\"", field, "\" is not a string"));
    }
    return it->second.string_value();
  }

  static absl::StatusOr<const ListValue*> List(const Value& value,
                                               absl::string_view where) {
    if (value.kind_case() != Value::kListValue) {
      return Error(where, "is not an array");
    }
    return &value.list_value();
  }

  static absl::StatusOr<const Struct*> Object(const Value& value,
                                              absl::string_view where) {
    if (value.kind_case() != Value::kStructValue) {
      return Error(where, "is not an object");
    }
    return &value.struct_value();
  }

  static absl::StatusOr<std::vector<AuthzPolicy::Pattern>> Patterns(
      const Value& value, absl::string_view where) {
    absl::StatusOr<const ListValue*> list = List(value, where);
    if (!list.ok()) return list.status();
    std::vector<AuthzPolicy::Pattern> patterns;
    for (int i = 0; i < (*list)->values_size(); ++i) {
      const Value& item = (*list)->values(i);
      if (item.kind_case() != Value::kStringValue) {
        return Error(absl::StrCat(where, " ", i), "is not a string");
      }
      const std::string& text = item.string_value();
      AuthzPolicy::Pattern pattern;
      if (text == "*") {
        pattern.kind = AuthzPolicy::Pattern::Kind::kPrefix;
      } else if (absl::StartsWith(text, "*")) {
        pattern.kind = AuthzPolicy::Pattern::Kind::kSuffix;
        pattern.text = text.substr(1);
      } else if (absl::EndsWith(text, "*")) {
        pattern.kind = AuthzPolicy::Pattern::Kind::kPrefix;
        pattern.text = text.substr(0, text.size() - 1);
      } else {
        pattern.text = text;
      }
      patterns.push_back(std::move(pattern));
    }
    return patterns;
  }

  static absl::StatusOr<AuthzPolicy::Rule> OneRule(const Value& value,
                                                   absl::string_view where) {
    absl::StatusOr<const Struct*> object = Object(value, where);
    if (!object.ok()) return object.status();
    const Struct& rule_json = **object;
    if (absl::Status s = OnlyFields(rule_json, {"name", "source", "request"},
                                    where);
        !s.ok()) {
      return s;
    }
    AuthzPolicy::Rule rule;
    absl::StatusOr<std::string> name = RequiredString(rule_json, "name", where);
    if (!name.ok()) return name.status();
    rule.name = *name;
    if (auto it = rule_json.fields().find("source");
        it != rule_json.fields().end()) {
      const std::string at = absl::StrCat(where, ": source");
      absl::StatusOr<const Struct*> source = Object(it->second, at);
      if (!source.ok()) return source.status();
      if (absl::Status s = OnlyFields(**source, {"principals"}, at); !s.ok()) {
        return s;
      }
      if (auto p = (*source)->fields().find("principals");
          p != (*source)->fields().end()) {
        absl::StatusOr<std::vector<AuthzPolicy::Pattern>> principals =
            Patterns(p->second, absl::StrCat(at, ": principals"));
        if (!principals.ok()) return principals.status();
        rule.principals = *std::move(principals);
        rule.any_principal = rule.principals.empty();
      }
    }
    if (auto it = rule_json.fields().find("request");
        it != rule_json.fields().end()) {
      const std::string at = absl::StrCat(where, ": request");
      absl::StatusOr<const Struct*> request = Object(it->second, at);
      if (!request.ok()) return request.status();
      if (absl::Status s = OnlyFields(**request, {"paths", "headers"}, at);
          !s.ok()) {
        return s;
      }
      if (auto p = (*request)->fields().find("paths");
          p != (*request)->fields().end()) {
        absl::StatusOr<std::vector<AuthzPolicy::Pattern>> paths =
            Patterns(p->second, absl::StrCat(at, ": paths"));
        if (!paths.ok()) return paths.status();
        rule.paths = *std::move(paths);
      }
      if (auto h = (*request)->fields().find("headers");
          h != (*request)->fields().end()) {
        absl::StatusOr<const ListValue*> list =
            List(h->second, absl::StrCat(at, ": headers"));
        if (!list.ok()) return list.status();
        for (int i = 0; i < (*list)->values_size(); ++i) {
          const std::string item_at = absl::StrCat(at, ": headers ", i);
          absl::StatusOr<const Struct*> header =
              Object((*list)->values(i), item_at);
          if (!header.ok()) return header.status();
          if (absl::Status s = OnlyFields(**header, {"key", "values"}, item_at);
              !s.ok()) {
            return s;
          }
          absl::StatusOr<std::string> key =
              RequiredString(**header, "key", item_at);
          if (!key.ok()) return key.status();
          if (absl::StartsWith(*key, ":") || absl::StartsWith(*key, "grpc-") ||
              *key == "host" || *key == "Host") {
            return Error(item_at, absl::StrCat("unsupported \"key\" ", *key));
          }
          auto values = (*header)->fields().find("values");
          if (values == (*header)->fields().end()) {
            return Error(item_at, "\"values\" is missing");
          }
          absl::StatusOr<std::vector<AuthzPolicy::Pattern>> patterns =
              Patterns(values->second, absl::StrCat(item_at, ": values"));
          if (!patterns.ok()) return patterns.status();
          if (patterns->empty()) return Error(item_at, "\"values\" is empty");
          rule.headers.push_back(
              AuthzPolicy::HeaderRule{*key, *std::move(patterns)});
        }
      }
    }
    return rule;
  }

  static absl::StatusOr<std::vector<AuthzPolicy::Rule>> Rules(
      const Value& value, absl::string_view where) {
    absl::StatusOr<const ListValue*> list = List(value, where);
    if (!list.ok()) return list.status();
    std::vector<AuthzPolicy::Rule> rules;
    for (int i = 0; i < (*list)->values_size(); ++i) {
      absl::StatusOr<AuthzPolicy::Rule> rule =
          OneRule((*list)->values(i), absl::StrCat(where, " ", i));
      if (!rule.ok()) return rule.status();
      rules.push_back(*std::move(rule));
    }
    return rules;
  }
};

absl::StatusOr<AuthzPolicy> AuthzPolicy::Parse(absl::string_view json) {
  return AuthzPolicyParser::Parse(json);
}

bool AuthzPolicy::Pattern::Matches(absl::string_view value) const {
  switch (kind) {
    case Kind::kExact:
      return value == text;
    case Kind::kPrefix:
      return absl::StartsWith(value, text);
    case Kind::kSuffix:
      return absl::EndsWith(value, text);
  }
  return false;
}

bool AuthzPolicy::Rule::Matches(const AuthzRequest& request) const {
  if (!any_principal) {
    bool matched = false;
    for (const Pattern& principal : principals) {
      for (absl::string_view san : request.uri_sans) {
        matched = matched || principal.Matches(san);
      }
      for (absl::string_view san : request.dns_sans) {
        matched = matched || principal.Matches(san);
      }
      matched = matched || principal.Matches(request.subject);
    }
    if (!matched) return false;
  }
  if (!paths.empty()) {
    bool matched = false;
    for (const Pattern& path : paths) {
      matched = matched || path.Matches(request.path);
    }
    if (!matched) return false;
  }
  for (const HeaderRule& header : headers) {
    // Like gRPC: the values of a repeated header joined by ",", and an
    // absent header matches nothing (not even "*").
    std::string joined;
    bool present = false;
    for (const auto& [key, value] : request.headers) {
      if (key != header.key) continue;
      if (present) joined.push_back(',');
      joined.append(value.data(), value.size());
      present = true;
    }
    if (!present) return false;
    bool matched = false;
    for (const Pattern& value : header.values) {
      matched = matched || value.Matches(joined);
    }
    if (!matched) return false;
  }
  return true;
}

AuthzPolicy::Decision AuthzPolicy::Evaluate(
    const AuthzRequest& request) const {
  for (const Rule& rule : deny_rules_) {
    if (rule.Matches(request)) {
      return Decision{false, absl::StrCat("deny_rules/", rule.name)};
    }
  }
  for (const Rule& rule : allow_rules_) {
    if (rule.Matches(request)) {
      return Decision{true, absl::StrCat("allow_rules/", rule.name)};
    }
  }
  return Decision{false, ""};
}

}  // namespace tutoring::server
