#include "server/service.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "server/proto_convert.h"
#include "server/requests.h"
#include "server/streak.h"

namespace tutoring::server {
namespace {

// Page tokens are bound to the full method name.
constexpr absl::string_view kListActiveUsers =
    "/tutoring.v1.TutoringService/ListActiveUsers";
constexpr absl::string_view kListUsersByRole =
    "/tutoring.v1.TutoringService/ListUsersByRole";
constexpr absl::string_view kListExercises =
    "/tutoring.v1.TutoringService/ListExercises";

// The most missing ids a NOT_FOUND message of BatchGetStreaks names.
constexpr size_t kMissingIdsShown = 10;

// A validated list request: the page to fetch and what its token binds.
struct ListPlan {
  db::KeysetPage page;  // limit = page size + 1, to learn if more follow
  int page_size = 0;
  PageTokenScope scope;
};

absl::StatusOr<ListPlan> PlanList(const PageTokenCodec& tokens,
                                  absl::string_view method, std::string filters,
                                  int32_t page_size,
                                  absl::string_view page_token) {
  ListPlan plan;
  ASSIGN_OR_RETURN(plan.page_size, ResolvePageSize(page_size));
  plan.scope = PageTokenScope{method, std::move(filters)};
  ASSIGN_OR_RETURN(plan.page.after_id, tokens.Decode(page_token, plan.scope));
  plan.page.limit = plan.page_size + 1;
  return plan;
}

// Moves at most plan.page_size rows into the response (via `add`) and
// returns the next page token: "" when no row follows.
template <typename Row, typename Add>
std::string FillPage(const PageTokenCodec& tokens, const ListPlan& plan,
                     std::vector<Row> rows, Add add) {
  const bool more = static_cast<int>(rows.size()) > plan.page_size;
  if (more) rows.resize(plan.page_size);
  const int64_t last_id = rows.empty() ? 0 : rows.back().id;
  for (Row& row : rows) add(std::move(row));
  return more ? tokens.Encode(plan.scope, last_id) : std::string();
}

absl::StatusOr<absl::Time> AsOf(const google::protobuf::Timestamp* as_of,
                                bool has_as_of, const Clock& clock) {
  return ResolveAsOf("as_of", has_as_of ? as_of : nullptr, clock.Now());
}

}  // namespace

TutoringService::TutoringService(db::Repository& repository,
                                 const PageTokenCodec& tokens,
                                 const TimeZoneNames& zones, const Clock& clock)
    : repository_(repository), tokens_(tokens), zones_(zones), clock_(clock) {}

void TutoringService::ListActiveUsers(const v1::ListActiveUsersRequest& request,
                                      v1::ListActiveUsersResponse* response,
                                      std::shared_ptr<db::CallContext> call,
                                      Done done) const {
  absl::StatusOr<std::optional<db::UserRole>> role =
      OptionalRole("role", request.role());
  if (!role.ok()) return done(role.status());
  db::ActiveUsersFilter filter;
  filter.role = *role;
  filter.pending_onboarding_only = request.pending_onboarding_only();
  absl::StatusOr<ListPlan> plan = PlanList(
      tokens_, kListActiveUsers,
      absl::StrCat(
          "role=", static_cast<int>(request.role()),
          ";pending_onboarding_only=", filter.pending_onboarding_only ? 1 : 0),
      request.page_size(), request.page_token());
  if (!plan.ok()) return done(plan.status());
  const db::KeysetPage page = plan->page;
  repository_.ListActiveUsers(
      filter, page, std::move(call),
      [this, response, plan = *std::move(plan), done = std::move(done)](
          absl::StatusOr<std::vector<db::UserRow>> rows) mutable {
        if (!rows.ok()) return done(rows.status());
        response->set_next_page_token(FillPage(
            tokens_, plan, *std::move(rows), [response](db::UserRow&& row) {
              ToProto(std::move(row), response->add_users());
            }));
        done(absl::OkStatus());
      });
}

void TutoringService::ListUsersByRole(const v1::ListUsersByRoleRequest& request,
                                      v1::ListUsersByRoleResponse* response,
                                      std::shared_ptr<db::CallContext> call,
                                      Done done) const {
  absl::StatusOr<db::UserRole> role = RequiredRole("role", request.role());
  if (!role.ok()) return done(role.status());
  absl::StatusOr<ListPlan> plan =
      PlanList(tokens_, kListUsersByRole,
               absl::StrCat("role=", static_cast<int>(request.role())),
               request.page_size(), request.page_token());
  if (!plan.ok()) return done(plan.status());
  const db::KeysetPage page = plan->page;
  repository_.ListUsersByRole(
      *role, page, std::move(call),
      [this, response, plan = *std::move(plan), done = std::move(done)](
          absl::StatusOr<std::vector<db::UserRow>> rows) mutable {
        if (!rows.ok()) return done(rows.status());
        response->set_next_page_token(FillPage(
            tokens_, plan, *std::move(rows), [response](db::UserRow&& row) {
              ToProto(std::move(row), response->add_users());
            }));
        done(absl::OkStatus());
      });
}

void TutoringService::GetUserRole(const v1::GetUserRoleRequest& request,
                                  v1::GetUserRoleResponse* response,
                                  std::shared_ptr<db::CallContext> call,
                                  Done done) const {
  const int64_t user_id = request.user_id();
  if (absl::Status valid = ValidateId("user_id", user_id); !valid.ok()) {
    return done(std::move(valid));
  }
  repository_.GetUserRole(user_id, std::move(call),
                          [response, user_id, done = std::move(done)](
                              absl::StatusOr<db::UserRoleRow> row) mutable {
                            if (!row.ok()) return done(row.status());
                            response->set_user_id(user_id);
                            response->set_role(ToProto(row->role));
                            response->set_is_active(row->is_active);
                            done(absl::OkStatus());
                          });
}

void TutoringService::ListExercises(const v1::ListExercisesRequest& request,
                                    v1::ListExercisesResponse* response,
                                    std::shared_ptr<db::CallContext> call,
                                    Done done) const {
  absl::StatusOr<db::Difficulty> difficulty =
      RequiredDifficulty("difficulty", request.difficulty());
  if (!difficulty.ok()) return done(difficulty.status());
  if (absl::Status valid = ValidateProgrammingLanguage(
          "programming_language", request.programming_language());
      !valid.ok()) {
    return done(std::move(valid));
  }
  db::ExercisesFilter filter;
  filter.difficulty = *difficulty;
  filter.programming_language = request.programming_language();
  absl::StatusOr<ListPlan> plan = PlanList(
      tokens_, kListExercises,
      // Length-prefixed, so no language can imitate another filter set.
      absl::StrCat("difficulty=", static_cast<int>(request.difficulty()),
                   ";programming_language=", filter.programming_language.size(),
                   ":", filter.programming_language),
      request.page_size(), request.page_token());
  if (!plan.ok()) return done(plan.status());
  const db::KeysetPage page = plan->page;
  repository_.ListExercises(
      filter, page, std::move(call),
      [this, response, plan = *std::move(plan), done = std::move(done)](
          absl::StatusOr<std::vector<db::ExerciseRow>> rows) mutable {
        if (!rows.ok()) return done(rows.status());
        response->set_next_page_token(FillPage(
            tokens_, plan, *std::move(rows), [response](db::ExerciseRow&& row) {
              ToProto(std::move(row), response->add_exercises());
            }));
        done(absl::OkStatus());
      });
}

void TutoringService::GetStreak(const v1::GetStreakRequest& request,
                                v1::Streak* response,
                                std::shared_ptr<db::CallContext> call,
                                Done done) const {
  const int64_t user_id = request.user_id();
  if (absl::Status valid = ValidateId("user_id", user_id); !valid.ok()) {
    return done(std::move(valid));
  }
  absl::StatusOr<std::string> zone =
      zones_.Resolve("time_zone", request.time_zone());
  if (!zone.ok()) return done(zone.status());
  absl::StatusOr<absl::Time> as_of =
      AsOf(&request.as_of(), request.has_as_of(), clock_);
  if (!as_of.ok()) return done(as_of.status());
  repository_.GetActivity(
      {user_id}, *std::move(zone), *as_of, std::move(call),
      [response, user_id, done = std::move(done)](
          absl::StatusOr<std::vector<db::UserActivity>> activity) mutable {
        if (!activity.ok()) return done(activity.status());
        if (activity->size() != 1 || (*activity)[0].user_id != user_id) {
          return done(absl::InternalError(
              absl::StrCat("activity query returned ", activity->size(),
                           " rows for one user")));
        }
        const db::UserActivity& user = (*activity)[0];
        if (!user.user_exists) {
          return done(absl::NotFoundError(
              absl::StrCat("user ", user_id, " does not exist")));
        }
        ToProto(user_id, SummarizeStreak(user.days, user.as_of_day), response);
        done(absl::OkStatus());
      });
}

void TutoringService::BatchGetStreaks(const v1::BatchGetStreaksRequest& request,
                                      v1::BatchGetStreaksResponse* response,
                                      std::shared_ptr<db::CallContext> call,
                                      Done done) const {
  const int count = request.user_ids_size();
  if (count < 1 || count > kMaxBatchSize) {
    return done(absl::InvalidArgumentError(absl::StrCat(
        "user_ids must hold 1 to ", kMaxBatchSize, " ids, got ", count)));
  }
  std::vector<int64_t> distinct_ids;
  {
    absl::flat_hash_set<int64_t> seen;
    for (int i = 0; i < count; ++i) {
      const int64_t id = request.user_ids(i);
      if (absl::Status valid =
              ValidateId(absl::StrCat("user_ids[", i, "]"), id);
          !valid.ok()) {
        return done(std::move(valid));
      }
      if (seen.insert(id).second) distinct_ids.push_back(id);
    }
  }
  absl::StatusOr<std::string> zone =
      zones_.Resolve("time_zone", request.time_zone());
  if (!zone.ok()) return done(zone.status());
  absl::StatusOr<absl::Time> as_of =
      AsOf(&request.as_of(), request.has_as_of(), clock_);
  if (!as_of.ok()) return done(as_of.status());
  const size_t distinct_count = distinct_ids.size();
  repository_.GetActivity(
      std::move(distinct_ids), *std::move(zone), *as_of, std::move(call),
      [&request, response, distinct_count, done = std::move(done)](
          absl::StatusOr<std::vector<db::UserActivity>> activity) mutable {
        if (!activity.ok()) return done(activity.status());
        if (activity->size() != distinct_count) {
          return done(absl::InternalError(
              absl::StrCat("activity query returned ", activity->size(),
                           " rows for ", distinct_count, " users")));
        }
        absl::flat_hash_map<int64_t, const db::UserActivity*> by_id;
        std::vector<int64_t> missing;
        for (const db::UserActivity& user : *activity) {
          by_id[user.user_id] = &user;
          if (!user.user_exists) missing.push_back(user.user_id);
        }
        if (!missing.empty()) {
          std::sort(missing.begin(), missing.end());
          const size_t total = missing.size();
          if (total > kMissingIdsShown) missing.resize(kMissingIdsShown);
          return done(absl::NotFoundError(
              absl::StrCat(total, " of the requested users do not exist: ",
                           absl::StrJoin(missing, ", "),
                           total > kMissingIdsShown ? ", ..." : "")));
        }
        for (const int64_t id : request.user_ids()) {
          const auto it = by_id.find(id);
          if (it == by_id.end()) {
            return done(absl::InternalError(
                absl::StrCat("activity query returned no row for user ", id)));
          }
          ToProto(id, SummarizeStreak(it->second->days, it->second->as_of_day),
                  response->add_streaks());
        }
        done(absl::OkStatus());
      });
}

}  // namespace tutoring::server
