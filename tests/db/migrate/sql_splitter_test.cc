#include "db/migrate/sql_splitter.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tutoring::db {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SplitSqlStatements, SplitsAtTopLevelSemicolons) {
  EXPECT_THAT(SplitSqlStatements("SELECT 1;\nSELECT 2 ;  SELECT 3"),
              ElementsAre("SELECT 1", "SELECT 2", "SELECT 3"));
}

TEST(SplitSqlStatements, KeepsSemicolonsInsideSingleQuotes) {
  EXPECT_THAT(SplitSqlStatements("SELECT 'a;b', 'it''s;'; SELECT 2;"),
              ElementsAre("SELECT 'a;b', 'it''s;'", "SELECT 2"));
}

TEST(SplitSqlStatements, HonoursBackslashEscapesInEscapeStrings) {
  EXPECT_THAT(SplitSqlStatements(R"(SELECT E'a\';b'; SELECT 2)"),
              ElementsAre(R"(SELECT E'a\';b')", "SELECT 2"));
}

TEST(SplitSqlStatements, TreatsBackslashLiterallyInStandardStrings) {
  EXPECT_THAT(SplitSqlStatements(R"(SELECT 'a\'; SELECT 2)"),
              ElementsAre(R"(SELECT 'a\')", "SELECT 2"));
}

TEST(SplitSqlStatements, KeepsSemicolonsInsideDoubleQuotedIdentifiers) {
  EXPECT_THAT(SplitSqlStatements(R"(CREATE TABLE "a;""b" (x int); SELECT 2)"),
              ElementsAre(R"(CREATE TABLE "a;""b" (x int))", "SELECT 2"));
}

TEST(SplitSqlStatements, KeepsDollarQuotedBodiesWhole) {
  const std::string function =
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n"
      "BEGIN\n  PERFORM 1;\n  RETURN 2;\nEND\n$$";
  EXPECT_THAT(SplitSqlStatements(function + ";\nSELECT f();"),
              ElementsAre(function, "SELECT f()"));
}

TEST(SplitSqlStatements, MatchesDollarQuoteTagsExactly) {
  const std::string body = "DO $outer$ BEGIN PERFORM $$;$$; END $outer$";
  EXPECT_THAT(SplitSqlStatements(body + "; SELECT 2"),
              ElementsAre(body, "SELECT 2"));
}

TEST(SplitSqlStatements, DoesNotTakeParametersOrIdentifierDollarsAsQuotes) {
  EXPECT_THAT(SplitSqlStatements("SELECT $1, a$b; SELECT 2"),
              ElementsAre("SELECT $1, a$b", "SELECT 2"));
}

TEST(SplitSqlStatements, IgnoresSemicolonsInLineComments) {
  EXPECT_THAT(SplitSqlStatements("SELECT 1 -- one; two\n; SELECT 2"),
              ElementsAre("SELECT 1 -- one; two", "SELECT 2"));
}

TEST(SplitSqlStatements, IgnoresSemicolonsInNestedBlockComments) {
  EXPECT_THAT(SplitSqlStatements("SELECT /* a; /* b; */ c; */ 1; SELECT 2"),
              ElementsAre("SELECT /* a; /* b; */ c; */ 1", "SELECT 2"));
}

TEST(SplitSqlStatements, DropsPiecesWithOnlyCommentsAndWhitespace) {
  EXPECT_THAT(SplitSqlStatements("-- tutoring:no-transaction\n"
                                 "CREATE INDEX CONCURRENTLY i ON t (c);\n"
                                 "/* trailing; */\n  ;\n-- end\n"),
              ElementsAre("-- tutoring:no-transaction\n"
                          "CREATE INDEX CONCURRENTLY i ON t (c)"));
  EXPECT_THAT(SplitSqlStatements(" ;; -- nothing\n"), IsEmpty());
}

TEST(SplitSqlStatements, RunsUnterminatedQuoteToTheEnd) {
  EXPECT_THAT(SplitSqlStatements("SELECT 'open; SELECT 2"),
              ElementsAre("SELECT 'open; SELECT 2"));
}

}  // namespace
}  // namespace tutoring::db
