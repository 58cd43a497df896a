// libFuzzer target: the migration runner's SQL splitter
// (db/migrate/sql_splitter.h). The input is a script. Held for every input:
// - every statement is non-empty and has no surrounding whitespace, and the
//   statements appear in the script in order, without overlapping;
// - splitting is stable: the statements joined again with "\n;\n" split
//   into the same statements (a statement never swallows its terminator or
//   its neighbour);
// - a script without quotes, dollar signs, dashes or slashes (so without
//   any construct that hides a semicolon) splits exactly where a plain split
//   at every ';' does.
// The seed corpus holds the repository's migrations and scripts with every
// construct the splitter knows (quotes, E'' strings, dollar quotes, nested
// comments, unterminated ones).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "db/migrate/sql_splitter.h"

namespace tutoring::db {
namespace {

[[noreturn]] void Fail(absl::string_view what, absl::string_view script) {
  std::cerr << "sql_splitter_fuzzer: " << what << " (script of "
            << script.size() << " bytes)\n";
  std::abort();
}

void Check(bool condition, absl::string_view what, absl::string_view script) {
  if (!condition) Fail(what, script);
}

// The split a script without quotes or comments must get.
std::vector<std::string> PlainSplit(absl::string_view script) {
  std::vector<std::string> statements;
  for (absl::string_view piece : absl::StrSplit(script, ';')) {
    piece = absl::StripAsciiWhitespace(piece);
    if (!piece.empty()) statements.emplace_back(piece);
  }
  return statements;
}

}  // namespace
}  // namespace tutoring::db

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tutoring::db::Check;
  const absl::string_view script(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> statements =
      tutoring::db::SplitSqlStatements(script);

  size_t from = 0;
  for (const std::string& statement : statements) {
    Check(!statement.empty(), "an empty statement", script);
    Check(!absl::ascii_isspace(static_cast<unsigned char>(statement.front())) &&
              !absl::ascii_isspace(static_cast<unsigned char>(statement.back())),
          "a statement with surrounding whitespace", script);
    const size_t at = script.find(statement, from);
    Check(at != absl::string_view::npos,
          "a statement that is not a piece of the script, in order", script);
    from = at + statement.size();
  }

  if (!statements.empty()) {
    const std::string rejoined = absl::StrJoin(statements, "\n;\n");
    Check(tutoring::db::SplitSqlStatements(rejoined) == statements,
          "the statements joined again split differently", script);
  }

  if (script.find_first_of("'\"$-/") == absl::string_view::npos) {
    Check(statements == tutoring::db::PlainSplit(script),
          "a script without quotes or comments split other than at every ';'",
          script);
  }
  return 0;
}
