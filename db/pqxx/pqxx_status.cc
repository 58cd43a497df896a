#include "db/pqxx/pqxx_status.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "db/postgres/sql_state.h"

namespace tutoring::db {

absl::Status StatusFromException(const std::exception_ptr& error,
                                 absl::string_view context) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection& e) {
    // Includes too_many_connections (53300), which libpqxx raises while
    // connecting.
    return ConnectionLossError(context,
                               absl::StripTrailingAsciiWhitespace(e.what()));
  } catch (const pqxx::sql_error& e) {
    return StatusFromSqlState(e.sqlstate(), context,
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

}  // namespace tutoring::db
