// Ground truth for the migrator tests, read straight from pg_catalog with
// plain libpqxx (independent of the code under test).
#ifndef TUTORING_TESTS_DB_CATALOG_H_
#define TUTORING_TESTS_DB_CATALOG_H_

#include <string>
#include <vector>

namespace tutoring::testing {

// Runs `sql` on `url`; one string per row, fields joined by " | " (NULL as
// "NULL"). Fails the current test and returns {} on error.
std::vector<std::string> QueryRows(const std::string& url,
                                   const std::string& sql);

// The schema of `public` as text: relations, columns (type, nullability,
// default, identity), enum labels in order, index definitions and constraint
// definitions. schema_migrations and its index are left out.
std::string DumpSchema(const std::string& url);

// Every relation, type and function in `public` except schema_migrations and
// the objects that belong to it.
std::vector<std::string> PublicObjectsBesidesBookkeeping(
    const std::string& url);

// Rows "index | table | col1,col2" for every index in `public`.
std::vector<std::string> IndexColumns(const std::string& url);

// Versions recorded in schema_migrations, ascending; {} if the table is
// missing.
std::vector<std::string> AppliedVersions(const std::string& url);

// True if `public.<name>` exists (any relation kind).
bool RelationExists(const std::string& url, const std::string& name);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_DB_CATALOG_H_
