#include "db/pqxx/connect.h"

#include "db/postgres/connection_string.h"
#include "db/pqxx/pqxx_status.h"

namespace tutoring::db {

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectPqxx(
    absl::string_view database_url, absl::Duration connect_timeout) {
  absl::StatusOr<std::string> conninfo = WithConnectionDefaults(
      database_url,
      {{"connect_timeout", ConnectTimeoutSeconds(connect_timeout)}});
  if (!conninfo.ok()) return conninfo.status();
  try {
    auto connection = std::make_unique<pqxx::connection>(*conninfo);
    pqxx::nontransaction tx(*connection);
    // Tools report through their Status, not through server notices.
    tx.exec0("SET client_min_messages = warning");
    return connection;
  } catch (...) {
    return RedactConnectionString(
        RedactConnectionString(
            StatusFromCurrentException("connecting to the database"),
            *conninfo),
        database_url);
  }
}

}  // namespace tutoring::db
