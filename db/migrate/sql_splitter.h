// Splits a PostgreSQL script into single statements, for the migrations that
// must run outside a transaction (a multi-statement query string is one
// implicit transaction, which CREATE INDEX CONCURRENTLY refuses).
#ifndef TUTORING_DB_MIGRATE_SQL_SPLITTER_H_
#define TUTORING_DB_MIGRATE_SQL_SPLITTER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace tutoring::db {

// Returns the statements of `script` in order, split at semicolons that are
// outside single-quoted strings (including E'...' with backslash escapes),
// double-quoted identifiers, dollar-quoted strings ($$...$$, $tag$...$tag$),
// `--` line comments and `/* */` block comments (which nest, as in
// PostgreSQL). Each statement is returned without its terminating semicolon
// and without surrounding whitespace; comments inside it are kept. Pieces that
// hold nothing but whitespace and comments are dropped. An unterminated quote
// or comment runs to the end of the script (the server reports the error).
// Not understood: SQL-standard function bodies (BEGIN ATOMIC ... END), whose
// inner semicolons would split the statement; use a dollar-quoted body.
// Pure function; thread-safe.
std::vector<std::string> SplitSqlStatements(absl::string_view script);

}  // namespace tutoring::db

#endif  // TUTORING_DB_MIGRATE_SQL_SPLITTER_H_
