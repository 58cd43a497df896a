#include <string>
#include <vector>

#include "absl/status/status.h"
#include "db/migrate/migrator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/db/migration_files.h"
#include "tests/support/test_database.h"

namespace tutoring::db {
namespace {

using ::testing::HasSubstr;
using ::tutoring::testing::TempDir;
using ::tutoring::testing::WriteFile;

// Writes an up/down pair with trivial SQL.
void WritePair(const TempDir& dir, absl::string_view stem) {
  WriteFile(dir.File(absl::StrCat(stem, ".up.sql")), "SELECT 1;\n");
  WriteFile(dir.File(absl::StrCat(stem, ".down.sql")), "SELECT 1;\n");
}

TEST(LoadMigrations, LoadsTheRealFolderInVersionOrder) {
  const absl::StatusOr<std::vector<Migration>> migrations =
      LoadMigrations(testing::MigrationsDir());
  ASSERT_TRUE(migrations.ok()) << migrations.status();
  ASSERT_GE(migrations->size(), 3u);
  EXPECT_EQ((*migrations)[0].version, 1);
  EXPECT_EQ((*migrations)[0].name, "create_schema");
  EXPECT_EQ((*migrations)[1].version, 2);
  EXPECT_EQ((*migrations)[1].name, "db_opt_indexes");
  EXPECT_EQ((*migrations)[1].Label(), "0002_db_opt_indexes");
  EXPECT_THAT((*migrations)[1].up_sql, HasSubstr("CREATE INDEX ix_users_role"));
  EXPECT_THAT((*migrations)[1].down_sql, HasSubstr("DROP INDEX ix_users_role"));
  EXPECT_TRUE((*migrations)[0].transactional);
  EXPECT_TRUE((*migrations)[1].transactional);
  // 0003 builds its indexes CONCURRENTLY, outside a transaction.
  EXPECT_EQ((*migrations)[2].version, 3);
  EXPECT_FALSE((*migrations)[2].transactional);
  EXPECT_FALSE((*migrations)[2].down_transactional);
}

TEST(LoadMigrations, ChecksumIsSha256HexOfTheUpFile) {
  TempDir dir;
  WriteFile(dir.File("0001_a.up.sql"), "SELECT 1;\n");
  WriteFile(dir.File("0001_a.down.sql"), "SELECT 2;\n");
  const absl::StatusOr<std::vector<Migration>> migrations =
      LoadMigrations(dir.path());
  ASSERT_TRUE(migrations.ok()) << migrations.status();
  // printf 'SELECT 1;\n' | sha256sum
  EXPECT_EQ((*migrations)[0].checksum,
            "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd");
  EXPECT_EQ((*migrations)[0].up_path, dir.File("0001_a.up.sql"));
  EXPECT_EQ((*migrations)[0].down_path, dir.File("0001_a.down.sql"));
}

TEST(LoadMigrations, MarkerOnTheFirstLineMakesAFileNonTransactional) {
  TempDir dir;
  WriteFile(dir.File("0001_a.up.sql"),
            "-- tutoring:no-transaction\r\nSELECT 1;\n");
  WriteFile(dir.File("0001_a.down.sql"), "SELECT 1;\n");
  WriteFile(dir.File("0002_b.up.sql"),
            "SELECT 1;\n-- tutoring:no-transaction\n");
  WriteFile(dir.File("0002_b.down.sql"), "-- tutoring:no-transaction\n");
  WriteFile(dir.File("0003_c.up.sql"),
            "-- tutoring:no-transaction please\nSELECT 1;\n");
  WriteFile(dir.File("0003_c.down.sql"), "SELECT 1;\n");
  const absl::StatusOr<std::vector<Migration>> migrations =
      LoadMigrations(dir.path());
  ASSERT_TRUE(migrations.ok()) << migrations.status();
  EXPECT_FALSE((*migrations)[0].transactional);
  EXPECT_TRUE((*migrations)[0].down_transactional);
  EXPECT_TRUE((*migrations)[1].transactional);
  EXPECT_FALSE((*migrations)[1].down_transactional);
  EXPECT_TRUE((*migrations)[2].transactional);
}

TEST(LoadMigrations, MarkersAreTheLeadingTutoringLinesInAnyOrder) {
  TempDir dir;
  WriteFile(dir.File("0001_a.up.sql"),
            "-- tutoring:backward-compatible\n-- tutoring:no-transaction\n"
            "SELECT 1;\n");
  WriteFile(dir.File("0001_a.down.sql"), "SELECT 1;\n");
  WriteFile(dir.File("0002_b.up.sql"),
            "-- tutoring:no-transaction\r\n-- tutoring:backward-compatible\r\n"
            "SELECT 1;\n");
  WriteFile(dir.File("0002_b.down.sql"), "SELECT 1;\n");
  // After an ordinary comment line the header has ended.
  WriteFile(dir.File("0003_c.up.sql"),
            "-- Adds c.\n-- tutoring:backward-compatible\nSELECT 1;\n");
  WriteFile(dir.File("0003_c.down.sql"), "SELECT 1;\n");
  WriteFile(dir.File("0004_d.up.sql"),
            "-- tutoring:backward-compatible, probably\nSELECT 1;\n");
  WriteFile(dir.File("0004_d.down.sql"), "SELECT 1;\n");
  const absl::StatusOr<std::vector<Migration>> migrations =
      LoadMigrations(dir.path());
  ASSERT_TRUE(migrations.ok()) << migrations.status();
  EXPECT_TRUE((*migrations)[0].backward_compatible);
  EXPECT_FALSE((*migrations)[0].transactional);
  EXPECT_TRUE((*migrations)[1].backward_compatible);
  EXPECT_FALSE((*migrations)[1].transactional);
  EXPECT_FALSE((*migrations)[2].backward_compatible);
  EXPECT_FALSE((*migrations)[3].backward_compatible);
}

TEST(LoadMigrations, IgnoresFilesThatAreNotSql) {
  TempDir dir;
  WritePair(dir, "0001_a");
  WriteFile(dir.File("README.md"), "notes\n");
  const absl::StatusOr<std::vector<Migration>> migrations =
      LoadMigrations(dir.path());
  ASSERT_TRUE(migrations.ok()) << migrations.status();
  EXPECT_EQ(migrations->size(), 1u);
}

TEST(LoadMigrations, MissingFolderIsNotFound) {
  TempDir dir;
  EXPECT_EQ(LoadMigrations(dir.File("nope")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(LoadMigrations, FolderWithoutMigrationsIsNotFound) {
  TempDir dir;
  EXPECT_EQ(LoadMigrations(dir.path()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(LoadMigrations, RejectsAGapInVersionsNamingTheNextFile) {
  TempDir dir;
  WritePair(dir, "0001_a");
  WritePair(dir, "0003_c");
  const absl::Status status = LoadMigrations(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("0003_c"));
}

TEST(LoadMigrations, RejectsVersionsNotStartingAtOne) {
  TempDir dir;
  WritePair(dir, "0002_b");
  const absl::Status status = LoadMigrations(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("0002_b"));
}

TEST(LoadMigrations, RejectsAMissingDownFileNamingIt) {
  TempDir dir;
  WritePair(dir, "0001_a");
  WriteFile(dir.File("0002_b.up.sql"), "SELECT 1;\n");
  const absl::Status status = LoadMigrations(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("0002_b.down.sql"));
}

TEST(LoadMigrations, RejectsAMissingUpFileNamingIt) {
  TempDir dir;
  WriteFile(dir.File("0001_a.down.sql"), "SELECT 1;\n");
  const absl::Status status = LoadMigrations(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("0001_a.up.sql"));
}

TEST(LoadMigrations, RejectsAMalformedFileNameNamingIt) {
  for (const char* bad : {"1_short.up.sql", "0001-dash.up.sql", "0001_.up.sql",
                          "0001_a.sideways.sql", "0000_zero.up.sql"}) {
    TempDir dir;
    WritePair(dir, "0001_a");
    WriteFile(dir.File(bad), "SELECT 1;\n");
    const absl::Status status = LoadMigrations(dir.path()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << bad;
    EXPECT_THAT(status.message(), HasSubstr(bad));
  }
}

TEST(LoadMigrations, RejectsTwoNamesForOneVersion) {
  TempDir dir;
  WritePair(dir, "0001_a");
  WritePair(dir, "0001_b");
  const absl::Status status = LoadMigrations(dir.path()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("0001_b"));
}

}  // namespace
}  // namespace tutoring::db
