#include "db/pg_error.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tutoring::db {
namespace {

// Marks UNAVAILABLE statuses caused by a broken connection, so the pool can
// tell them from a server that answered "not now" (e.g. 57P03).
constexpr absl::string_view kConnectionLossPayload =
    "type.tutoring/db.connection_loss";

absl::Status ConnectionLoss(absl::string_view context, absl::string_view what) {
  absl::Status status = absl::UnavailableError(
      absl::StrCat(context, ": database connection lost: ", what));
  status.SetPayload(kConnectionLossPayload, absl::Cord("1"));
  return status;
}

absl::Status FromSqlState(absl::string_view context, absl::string_view state,
                          absl::string_view what) {
  const std::string message = absl::StrCat(context, ": ", what, " (SQLSTATE ",
                                           state, ")");
  if (state == kSqlStateQueryCanceled) return absl::DeadlineExceededError(message);
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

}  // namespace

absl::Status StatusFromException(const std::exception_ptr& error,
                                 absl::string_view context) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection& e) {
    // Includes too_many_connections (53300), which libpqxx raises while
    // connecting.
    return ConnectionLoss(context, absl::StripTrailingAsciiWhitespace(e.what()));
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(context, e.sqlstate(),
                        absl::StripTrailingAsciiWhitespace(e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(absl::StrCat(context, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(
        context, ": ", absl::StripTrailingAsciiWhitespace(e.what())));
  } catch (...) {
    return absl::InternalError(absl::StrCat(context, ": unknown exception"));
  }
}

absl::Status StatusFromCurrentException(absl::string_view context) {
  return StatusFromException(std::current_exception(), context);
}

bool IsConnectionLoss(const absl::Status& status) {
  return status.GetPayload(kConnectionLossPayload).has_value();
}

}  // namespace tutoring::db
