// Example consumer of the installed tutoring client: counts the active users
// (walking every page), then prints each given user's role and streak.
//
//   tutoring_client_example TARGET AS_OF USER_ID...
//
// AS_OF is an RFC 3339 instant; streaks are computed in UTC as of it. One
// line per user:
//   user <id> role=<ROLE_...> active=<true|false> current_days=<n>
//     longest_days=<n> last_active_date=<YYYY-MM-DD|-> active_on_as_of=<bool>
// or "user <id> NOT_FOUND". Exit status 0, or 1 on any other error.
#include <google/protobuf/util/time_util.h>
#include <tutoring/client.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: " << argv[0] << " TARGET AS_OF USER_ID...\n";
    return 1;
  }
  google::protobuf::Timestamp as_of;
  if (!google::protobuf::util::TimeUtil::FromString(argv[2], &as_of)) {
    std::cerr << "AS_OF must be an RFC 3339 time, got " << argv[2] << "\n";
    return 1;
  }

  tutoring::ClientOptions options;
  options.target = argv[1];
  options.default_deadline = absl::Seconds(5);
  options.retry.max_attempts = 3;
  absl::StatusOr<std::unique_ptr<tutoring::Client>> client =
      tutoring::Client::Create(options);
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return 1;
  }

  tutoring::v1::ListActiveUsersRequest list;
  list.set_page_size(2);  // small pages, to show the walk
  absl::StatusOr<std::vector<tutoring::v1::User>> active =
      (*client)->ListAllActiveUsers(list);
  if (!active.ok()) {
    std::cerr << "ListActiveUsers: " << active.status() << "\n";
    return 1;
  }
  std::cout << "active_users=" << active->size() << "\n";

  for (int i = 3; i < argc; ++i) {
    const int64_t user_id = std::strtoll(argv[i], nullptr, 10);
    tutoring::v1::GetUserRoleRequest role_request;
    role_request.set_user_id(user_id);
    absl::StatusOr<tutoring::v1::GetUserRoleResponse> role =
        (*client)->GetUserRole(role_request);
    if (absl::IsNotFound(role.status())) {
      std::cout << "user " << user_id << " NOT_FOUND\n";
      continue;
    }
    if (!role.ok()) {
      std::cerr << "GetUserRole: " << role.status() << "\n";
      return 1;
    }

    tutoring::v1::GetStreakRequest streak_request;
    streak_request.set_user_id(user_id);
    streak_request.set_time_zone("UTC");
    *streak_request.mutable_as_of() = as_of;
    absl::StatusOr<tutoring::v1::Streak> streak =
        (*client)->GetStreak(streak_request, absl::Seconds(2));
    if (!streak.ok()) {
      std::cerr << "GetStreak: " << streak.status() << "\n";
      return 1;
    }

    std::cout << "user " << user_id
              << " role=" << tutoring::v1::Role_Name(role->role())
              << " active=" << (role->is_active() ? "true" : "false")
              << " current_days=" << streak->current_days()
              << " longest_days=" << streak->longest_days()
              << " last_active_date="
              << (streak->last_active_date().empty()
                      ? "-"
                      : streak->last_active_date())
              << " active_on_as_of="
              << (streak->active_on_as_of_date() ? "true" : "false") << "\n";
  }
  return 0;
}
