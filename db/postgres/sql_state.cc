#include "db/postgres/sql_state.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tutoring::db {
namespace {

constexpr absl::string_view kConnectionLossPayload =
    "type.tutoring/db.connection_loss";

}  // namespace

absl::Status StatusFromSqlState(absl::string_view state,
                                absl::string_view context,
                                absl::string_view what) {
  const std::string message =
      absl::StrCat(context, ": ", what, " (SQLSTATE ", state, ")");
  if (state == kSqlStateQueryCanceled) {
    return absl::DeadlineExceededError(message);
  }
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "53") ||
      absl::StartsWith(state, "57P")) {
    return absl::UnavailableError(message);
  }
  if (state == "40001" || state == "40P01") return absl::AbortedError(message);
  if (state == "23505") return absl::AlreadyExistsError(message);
  if (absl::StartsWith(state, "23") || state == "42P01" || state == "25006") {
    return absl::FailedPreconditionError(message);
  }
  if (absl::StartsWith(state, "22")) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

absl::Status ConnectionLossError(absl::string_view context,
                                 absl::string_view what) {
  absl::Status status = absl::UnavailableError(
      absl::StrCat(context, ": database connection lost: ", what));
  status.SetPayload(kConnectionLossPayload, absl::Cord("1"));
  return status;
}

bool IsConnectionLoss(const absl::Status& status) {
  return status.GetPayload(kConnectionLossPayload).has_value();
}

}  // namespace tutoring::db
