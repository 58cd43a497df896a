// Scratch migration folders for the migrator tests.
#ifndef TUTORING_TESTS_DB_MIGRATION_FILES_H_
#define TUTORING_TESTS_DB_MIGRATION_FILES_H_

#include <string>

#include "absl/strings/string_view.h"

namespace tutoring::testing {

// A new empty folder under the test temp dir, removed with its contents when
// this object dies. Fails the current test (and leaves path() empty) if it
// cannot be created.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(absl::string_view name) const;

 private:
  std::string path_;
};

// Copies the source tree's first two migrations (0001 schema, 0002 DB-OPT
// indexes) into `dir`: a fixed base for tests that count migrations or add
// their own as 0003, unaffected by later real migrations.
void CopyBaseMigrations(const std::string& dir);

// Copies every migration of the source tree into `dir` and returns the
// number of versions copied (the last version), or -1 after failing the test.
int CopyRealMigrations(const std::string& dir);

// Adds the fixture migration `name` (tests/db/migrate/fixtures/<name>.up.sql
// and .down.sql) to `dir` as version `version`.
void AddFixtureMigration(const std::string& dir, int version,
                         absl::string_view name);

// Creates or replaces `path` with `contents`; appends with `append`.
void WriteFile(const std::string& path, absl::string_view contents,
               bool append = false);

}  // namespace tutoring::testing

#endif  // TUTORING_TESTS_DB_MIGRATION_FILES_H_
