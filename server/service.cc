#include "server/service.h"

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "server/grpc_status.h"
#include "server/proto_convert.h"
#include "server/requests.h"
#include "server/streak.h"

namespace tutoring::server {
namespace {

constexpr absl::string_view kListActiveUsers =
    "/tutoring.v1.TutoringService/ListActiveUsers";
constexpr absl::string_view kListUsersByRole =
    "/tutoring.v1.TutoringService/ListUsersByRole";
constexpr absl::string_view kGetUserRole =
    "/tutoring.v1.TutoringService/GetUserRole";
constexpr absl::string_view kListExercises =
    "/tutoring.v1.TutoringService/ListExercises";
constexpr absl::string_view kGetStreak =
    "/tutoring.v1.TutoringService/GetStreak";
constexpr absl::string_view kBatchGetStreaks =
    "/tutoring.v1.TutoringService/BatchGetStreaks";

// A validated list request: the page to fetch and what its token binds.
struct ListPlan {
  db::KeysetPage page;  // limit = page size + 1, to learn if more follow
  int page_size = 0;
  PageTokenScope scope;
};

absl::StatusOr<ListPlan> PlanList(const PageTokenCodec& tokens,
                                  absl::string_view method,
                                  std::string filters, int32_t page_size,
                                  absl::string_view page_token) {
  ListPlan plan;
  ASSIGN_OR_RETURN(plan.page_size, ResolvePageSize(page_size));
  plan.scope = PageTokenScope{method, std::move(filters)};
  ASSIGN_OR_RETURN(plan.page.after_id, tokens.Decode(page_token, plan.scope));
  plan.page.limit = plan.page_size + 1;
  return plan;
}

// Moves at most plan.page_size rows into `out` (via `add`) and returns the
// next page token: "" when no row follows.
template <typename Row, typename Add>
std::string FillPage(const PageTokenCodec& tokens, const ListPlan& plan,
                     std::vector<Row> rows, Add add) {
  const bool more = static_cast<int>(rows.size()) > plan.page_size;
  if (more) rows.resize(plan.page_size);
  for (const Row& row : rows) add(row);
  return more ? tokens.Encode(plan.scope, rows.back().id) : std::string();
}

absl::Time DeadlineOf(const grpc::CallbackServerContext& context,
                      absl::Time now, absl::Duration fallback) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return now + fallback;
  }
  return absl::FromChrono(deadline);
}

}  // namespace

// The reactor of one call. gRPC owns it from the handler's return until
// OnDone, which deletes it (the callback API's ownership model).
class TutoringService::UnaryCall final : public grpc::ServerUnaryReactor {
 public:
  UnaryCall(absl::string_view method, absl::Time deadline)
      : method_(method),
        context_(std::make_shared<db::CallContext>(deadline)) {}

  const std::shared_ptr<db::CallContext>& context() const { return context_; }

  // Finishes the call; call exactly once. Logs the failures an operator
  // must see (the service's own or the database's), once each.
  void Complete(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kInternal ||
        status.code() == absl::StatusCode::kUnavailable) {
      spdlog::error("{}", absl::StrCat(method_, " failed: ",
                                       absl::StatusCodeToString(status.code()),
                                       ": ", status.message()));
    }
    Finish(ToGrpcStatus(status));
  }

  void OnCancel() override { context_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  const absl::string_view method_;
  const std::shared_ptr<db::CallContext> context_;
};

TutoringService::TutoringService(db::Repository& repository,
                                 const PageTokenCodec& tokens,
                                 const TimeZoneNames& zones,
                                 const Clock& clock, ServiceOptions options)
    : repository_(repository),
      tokens_(tokens),
      zones_(zones),
      clock_(clock),
      options_(options) {}

TutoringService::UnaryCall* TutoringService::StartCall(
    grpc::CallbackServerContext* context, absl::string_view method) const {
  return new UnaryCall(
      method, DeadlineOf(*context, clock_.Now(), options_.default_deadline));
}

grpc::ServerUnaryReactor* TutoringService::ListActiveUsers(
    grpc::CallbackServerContext* context,
    const v1::ListActiveUsersRequest* request,
    v1::ListActiveUsersResponse* response) {
  UnaryCall* call = StartCall(context, kListActiveUsers);
  db::ActiveUsersFilter filter;
  absl::StatusOr<std::optional<db::UserRole>> role =
      OptionalRole("role", request->role());
  if (!role.ok()) {
    call->Complete(role.status());
    return call;
  }
  filter.role = *role;
  filter.pending_onboarding_only = request->pending_onboarding_only();
  absl::StatusOr<ListPlan> plan = PlanList(
      tokens_, kListActiveUsers,
      absl::StrCat("role=", static_cast<int>(request->role()),
                   ";pending_onboarding_only=",
                   filter.pending_onboarding_only ? 1 : 0),
      request->page_size(), request->page_token());
  if (!plan.ok()) {
    call->Complete(plan.status());
    return call;
  }
  repository_.ListActiveUsers(
      filter, plan->page, call->context(),
      [this, call, response, plan = *std::move(plan)](
          absl::StatusOr<std::vector<db::UserRow>> rows) {
        if (!rows.ok()) return call->Complete(rows.status());
        response->set_next_page_token(FillPage(
            tokens_, plan, *std::move(rows), [response](const db::UserRow& row) {
              ToProto(row, response->add_users());
            }));
        call->Complete(absl::OkStatus());
      });
  return call;
}

grpc::ServerUnaryReactor* TutoringService::ListUsersByRole(
    grpc::CallbackServerContext* context,
    const v1::ListUsersByRoleRequest* request,
    v1::ListUsersByRoleResponse* response) {
  UnaryCall* call = StartCall(context, kListUsersByRole);
  absl::StatusOr<db::UserRole> role = RequiredRole("role", request->role());
  if (!role.ok()) {
    call->Complete(role.status());
    return call;
  }
  absl::StatusOr<ListPlan> plan =
      PlanList(tokens_, kListUsersByRole,
               absl::StrCat("role=", static_cast<int>(request->role())),
               request->page_size(), request->page_token());
  if (!plan.ok()) {
    call->Complete(plan.status());
    return call;
  }
  repository_.ListUsersByRole(
      *role, plan->page, call->context(),
      [this, call, response, plan = *std::move(plan)](
          absl::StatusOr<std::vector<db::UserRow>> rows) {
        if (!rows.ok()) return call->Complete(rows.status());
        response->set_next_page_token(FillPage(
            tokens_, plan, *std::move(rows), [response](const db::UserRow& row) {
              ToProto(row, response->add_users());
            }));
        call->Complete(absl::OkStatus());
      });
  return call;
}

grpc::ServerUnaryReactor* TutoringService::GetUserRole(
    grpc::CallbackServerContext* context,
    const v1::GetUserRoleRequest* request,
    v1::GetUserRoleResponse* response) {
  UnaryCall* call = StartCall(context, kGetUserRole);
  const int64_t user_id = request->user_id();
  if (absl::Status valid = ValidateId("user_id", user_id); !valid.ok()) {
    call->Complete(valid);
    return call;
  }
  repository_.GetUserRole(
      user_id, call->context(),
      [call, response, user_id](absl::StatusOr<db::UserRoleRow> row) {
        if (!row.ok()) return call->Complete(row.status());
        response->set_user_id(user_id);
        response->set_role(ToProto(row->role));
        response->set_is_active(row->is_active);
        call->Complete(absl::OkStatus());
      });
  return call;
}

grpc::ServerUnaryReactor* TutoringService::ListExercises(
    grpc::CallbackServerContext* context,
    const v1::ListExercisesRequest* request,
    v1::ListExercisesResponse* response) {
  UnaryCall* call = StartCall(context, kListExercises);
  db::ExercisesFilter filter;
  absl::StatusOr<db::Difficulty> difficulty =
      RequiredDifficulty("difficulty", request->difficulty());
  if (!difficulty.ok()) {
    call->Complete(difficulty.status());
    return call;
  }
  filter.difficulty = *difficulty;
  if (absl::Status valid = ValidateProgrammingLanguage(
          "programming_language", request->programming_language());
      !valid.ok()) {
    call->Complete(valid);
    return call;
  }
  filter.programming_language = request->programming_language();
  absl::StatusOr<ListPlan> plan = PlanList(
      tokens_, kListExercises,
      // Length-prefixed, so no language can imitate another filter set.
      absl::StrCat("difficulty=", static_cast<int>(request->difficulty()),
                   ";programming_language=",
                   filter.programming_language.size(), ":",
                   filter.programming_language),
      request->page_size(), request->page_token());
  if (!plan.ok()) {
    call->Complete(plan.status());
    return call;
  }
  repository_.ListExercises(
      filter, plan->page, call->context(),
      [this, call, response, plan = *std::move(plan)](
          absl::StatusOr<std::vector<db::ExerciseRow>> rows) {
        if (!rows.ok()) return call->Complete(rows.status());
        response->set_next_page_token(
            FillPage(tokens_, plan, *std::move(rows),
                     [response](const db::ExerciseRow& row) {
                       ToProto(row, response->add_exercises());
                     }));
        call->Complete(absl::OkStatus());
      });
  return call;
}

grpc::ServerUnaryReactor* TutoringService::GetStreak(
    grpc::CallbackServerContext* context, const v1::GetStreakRequest* request,
    v1::Streak* response) {
  UnaryCall* call = StartCall(context, kGetStreak);
  const int64_t user_id = request->user_id();
  if (absl::Status valid = ValidateId("user_id", user_id); !valid.ok()) {
    call->Complete(valid);
    return call;
  }
  absl::StatusOr<std::string> zone =
      zones_.Resolve("time_zone", request->time_zone());
  if (!zone.ok()) {
    call->Complete(zone.status());
    return call;
  }
  absl::StatusOr<absl::Time> as_of = ResolveAsOf(
      "as_of", request->has_as_of() ? &request->as_of() : nullptr,
      clock_.Now());
  if (!as_of.ok()) {
    call->Complete(as_of.status());
    return call;
  }
  repository_.GetActivity(
      {user_id}, *std::move(zone), *as_of, call->context(),
      [call, response,
       user_id](absl::StatusOr<std::vector<db::UserActivity>> activity) {
        if (!activity.ok()) return call->Complete(activity.status());
        if (activity->size() != 1 || (*activity)[0].user_id != user_id) {
          return call->Complete(absl::InternalError(absl::StrCat(
              "activity query returned ", activity->size(),
              " rows for one user")));
        }
        const db::UserActivity& user = (*activity)[0];
        if (!user.user_exists) {
          return call->Complete(absl::NotFoundError(
              absl::StrCat("user ", user_id, " does not exist")));
        }
        ToProto(user_id, SummarizeStreak(user.days, user.as_of_day), response);
        call->Complete(absl::OkStatus());
      });
  return call;
}

grpc::ServerUnaryReactor* TutoringService::BatchGetStreaks(
    grpc::CallbackServerContext* context,
    const v1::BatchGetStreaksRequest* request,
    v1::BatchGetStreaksResponse* response) {
  UnaryCall* call = StartCall(context, kBatchGetStreaks);
  const int count = request->user_ids_size();
  if (count < 1 || count > kMaxBatchSize) {
    call->Complete(absl::InvalidArgumentError(
        absl::StrCat("user_ids must hold 1 to ", kMaxBatchSize, " ids, got ",
                     count)));
    return call;
  }
  std::vector<int64_t> distinct_ids;
  {
    absl::flat_hash_set<int64_t> seen;
    for (int i = 0; i < count; ++i) {
      const int64_t id = request->user_ids(i);
      if (absl::Status valid =
              ValidateId(absl::StrCat("user_ids[", i, "]"), id);
          !valid.ok()) {
        call->Complete(valid);
        return call;
      }
      if (seen.insert(id).second) distinct_ids.push_back(id);
    }
  }
  absl::StatusOr<std::string> zone =
      zones_.Resolve("time_zone", request->time_zone());
  if (!zone.ok()) {
    call->Complete(zone.status());
    return call;
  }
  absl::StatusOr<absl::Time> as_of = ResolveAsOf(
      "as_of", request->has_as_of() ? &request->as_of() : nullptr,
      clock_.Now());
  if (!as_of.ok()) {
    call->Complete(as_of.status());
    return call;
  }
  const size_t distinct_count = distinct_ids.size();
  repository_.GetActivity(
      std::move(distinct_ids), *std::move(zone), *as_of, call->context(),
      [call, request, response, distinct_count](
          absl::StatusOr<std::vector<db::UserActivity>> activity) {
        if (!activity.ok()) return call->Complete(activity.status());
        if (activity->size() != distinct_count) {
          return call->Complete(absl::InternalError(absl::StrCat(
              "activity query returned ", activity->size(), " rows for ",
              distinct_count, " users")));
        }
        absl::flat_hash_map<int64_t, const db::UserActivity*> by_id;
        std::vector<int64_t> missing;
        for (const db::UserActivity& user : *activity) {
          by_id[user.user_id] = &user;
          if (!user.user_exists) missing.push_back(user.user_id);
        }
        if (!missing.empty()) {
          std::sort(missing.begin(), missing.end());
          constexpr size_t kShown = 10;
          const size_t total = missing.size();
          if (total > kShown) missing.resize(kShown);
          return call->Complete(absl::NotFoundError(absl::StrCat(
              total, " of the requested users do not exist: ",
              absl::StrJoin(missing, ", "), total > kShown ? ", ..." : "")));
        }
        for (const int64_t id : request->user_ids()) {
          const auto it = by_id.find(id);
          if (it == by_id.end()) {
            return call->Complete(absl::InternalError(absl::StrCat(
                "activity query returned no row for user ", id)));
          }
          ToProto(id, SummarizeStreak(it->second->days, it->second->as_of_day),
                  response->add_streaks());
        }
        call->Complete(absl::OkStatus());
      });
  return call;
}

}  // namespace tutoring::server
