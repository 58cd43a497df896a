#include "db/migrate/sql_splitter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"

namespace tutoring::db {
namespace {

bool IsIdentifierChar(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// If a dollar-quote opener ($$ or $tag$) starts at `pos`, returns its length,
// else 0. A '$' inside an identifier (foo$1) or followed by a digit ($1, a
// parameter) does not open a quote.
size_t DollarTagLength(absl::string_view sql, size_t pos) {
  if (pos > 0 && IsIdentifierChar(sql[pos - 1])) return 0;
  size_t end = pos + 1;
  if (end < sql.size() && absl::ascii_isdigit(sql[end])) return 0;
  while (end < sql.size() && sql[end] != '$') {
    const char c = sql[end];
    if (!(absl::ascii_isalnum(c) || c == '_' ||
          static_cast<unsigned char>(c) >= 0x80)) {
      return 0;
    }
    ++end;
  }
  return end < sql.size() ? end - pos + 1 : 0;
}

// True for the prefix of an escape string constant: E'...' where the E is a
// word of its own (not the end of an identifier such as "name'").
bool IsEscapeStringPrefix(absl::string_view sql, size_t quote) {
  if (quote == 0 || (sql[quote - 1] != 'E' && sql[quote - 1] != 'e')) {
    return false;
  }
  return quote < 2 || !IsIdentifierChar(sql[quote - 2]);
}

}  // namespace

std::vector<std::string> SplitSqlStatements(absl::string_view script) {
  std::vector<std::string> statements;
  size_t start = 0;       // first character of the current statement
  bool has_code = false;  // the current statement has more than comments
  size_t i = 0;

  auto finish_statement = [&](size_t end) {
    if (has_code) {
      statements.emplace_back(
          absl::StripAsciiWhitespace(script.substr(start, end - start)));
    }
    start = end + 1;
    has_code = false;
  };

  while (i < script.size()) {
    const char c = script[i];
    const char next = i + 1 < script.size() ? script[i + 1] : '\0';
    if (c == '-' && next == '-') {
      const size_t newline = script.find('\n', i);
      i = newline == script.npos ? script.size() : newline + 1;
    } else if (c == '/' && next == '*') {
      int depth = 1;
      i += 2;
      while (i < script.size() && depth > 0) {
        if (script.compare(i, 2, "/*") == 0) {
          ++depth;
          i += 2;
        } else if (script.compare(i, 2, "*/") == 0) {
          --depth;
          i += 2;
        } else {
          ++i;
        }
      }
    } else if (c == '\'' || c == '"') {
      // A doubled quote ('' or "") closes and immediately reopens, which
      // this loop handles without special casing.
      const bool backslash_escapes =
          c == '\'' && IsEscapeStringPrefix(script, i);
      has_code = true;
      ++i;
      while (i < script.size() && script[i] != c) {
        i += backslash_escapes && script[i] == '\\' ? 2 : 1;
      }
      ++i;
    } else if (c == '$' && DollarTagLength(script, i) > 0) {
      const size_t tag_length = DollarTagLength(script, i);
      const absl::string_view tag = script.substr(i, tag_length);
      const size_t close = script.find(tag, i + tag_length);
      has_code = true;
      i = close == script.npos ? script.size() : close + tag_length;
    } else if (c == ';') {
      finish_statement(i);
      ++i;
    } else {
      if (!absl::ascii_isspace(c)) has_code = true;
      ++i;
    }
  }
  if (start < script.size()) finish_statement(script.size());
  return statements;
}

}  // namespace tutoring::db
