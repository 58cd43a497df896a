// An in-memory db::Repository for unit tests of the service: answers come
// from rows the test adds, filtered and paged the way the SQL does it (keyset
// on id, limit), or from an error the test injects; every question asked is
// recorded. Answers are given inline, on the calling thread.
#ifndef TUTORING_TESTS_SERVER_FAKE_REPOSITORY_H_
#define TUTORING_TESTS_SERVER_FAKE_REPOSITORY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "db/repository.h"

namespace tutoring::testing {

// What the last GetActivity call asked.
struct ActivityQuestion {
  std::vector<int64_t> user_ids;
  std::string time_zone;
  absl::Time as_of;
};

// Not thread-safe: for single-threaded tests.
class FakeRepository final : public db::Repository {
 public:
  void AddUser(const db::UserRow& user) { users_[user.id] = user; }
  void AddExercise(const db::ExerciseRow& exercise) {
    exercises_[exercise.id] = exercise;
  }
  // A completed exercise of `user_id` at `when` (counts for its streak).
  void AddCompletion(int64_t user_id, absl::Time when) {
    completions_[user_id].push_back(when);
  }

  // The next question (of any kind) is answered with `status` instead.
  void FailNextWith(absl::Status status) { failure_ = std::move(status); }

  // How many questions were asked, and the last ones of each kind.
  int questions() const { return questions_; }
  const std::optional<db::KeysetPage>& last_page() const { return last_page_; }
  const std::optional<db::ActiveUsersFilter>& last_active_users_filter() const {
    return last_active_users_filter_;
  }
  const std::optional<db::ExercisesFilter>& last_exercises_filter() const {
    return last_exercises_filter_;
  }
  const std::optional<ActivityQuestion>& last_activity() const {
    return last_activity_;
  }
  const std::shared_ptr<db::CallContext>& last_call() const {
    return last_call_;
  }

  void ListActiveUsers(const db::ActiveUsersFilter& filter,
                       const db::KeysetPage& page,
                       std::shared_ptr<db::CallContext> call,
                       Callback<std::vector<db::UserRow>> done) override;
  void ListUsersByRole(db::UserRole role, const db::KeysetPage& page,
                       std::shared_ptr<db::CallContext> call,
                       Callback<std::vector<db::UserRow>> done) override;
  void GetUserRole(int64_t user_id, std::shared_ptr<db::CallContext> call,
                   Callback<db::UserRoleRow> done) override;
  void ListExercises(const db::ExercisesFilter& filter,
                     const db::KeysetPage& page,
                     std::shared_ptr<db::CallContext> call,
                     Callback<std::vector<db::ExerciseRow>> done) override;
  void GetActivity(std::vector<int64_t> user_ids, std::string time_zone,
                   absl::Time as_of, std::shared_ptr<db::CallContext> call,
                   Callback<std::vector<db::UserActivity>> done) override;
  void Ping(std::shared_ptr<db::CallContext> call,
            absl::AnyInvocable<void(absl::Status)> done) override;

 private:
  // Counts the question; returns the injected failure, if any (once).
  std::optional<absl::Status> Ask(std::shared_ptr<db::CallContext> call);

  std::map<int64_t, db::UserRow> users_;
  std::map<int64_t, db::ExerciseRow> exercises_;
  std::map<int64_t, std::vector<absl::Time>> completions_;
  std::optional<absl::Status> failure_;

  int questions_ = 0;
  std::optional<db::KeysetPage> last_page_;
  std::optional<db::ActiveUsersFilter> last_active_users_filter_;
  std::optional<db::ExercisesFilter> last_exercises_filter_;
  std::optional<ActivityQuestion> last_activity_;
  std::shared_ptr<db::CallContext> last_call_;
};

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_SERVER_FAKE_REPOSITORY_H_
