#include "tests/db/migration_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/support/test_database.h"

namespace tutoring::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = absl::StrCat(::testing::TempDir(), "migrations_XXXXXX");
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << pattern << ") failed";
    return;
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code error;
  fs::remove_all(path_, error);
}

std::string TempDir::File(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

void CopyBaseMigrations(const std::string& dir) {
  for (const char* name :
       {"0001_create_schema.up.sql", "0001_create_schema.down.sql",
        "0002_db_opt_indexes.up.sql", "0002_db_opt_indexes.down.sql"}) {
    std::error_code error;
    fs::copy_file(fs::path(MigrationsDir()) / name, fs::path(dir) / name, error);
    ASSERT_FALSE(error) << "copying " << name << " to " << dir << ": "
                        << error.message();
  }
}

int CopyRealMigrations(const std::string& dir) {
  int last = 0;
  std::error_code error;
  for (fs::directory_iterator it(MigrationsDir(), error), end;
       !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (it->path().extension() != ".sql") continue;
    fs::copy_file(it->path(), fs::path(dir) / name, error);
    if (error) break;
    int version = 0;
    if (absl::SimpleAtoi(name.substr(0, 4), &version)) {
      last = std::max(last, version);
    }
  }
  if (error) {
    ADD_FAILURE() << "copying " << MigrationsDir() << " to " << dir << ": "
                  << error.message();
    return -1;
  }
  return last;
}

void AddFixtureMigration(const std::string& dir, int version,
                         absl::string_view name) {
  const fs::path fixtures =
      fs::path(BinaryPath("TUTORING_SOURCE_DIR")) / "tests/db/migrate/fixtures";
  for (const char* suffix : {".up.sql", ".down.sql"}) {
    const std::string from = absl::StrCat(name, suffix);
    const std::string to = absl::StrCat(absl::StrFormat("%04d_", version),
                                        name, suffix);
    std::error_code error;
    fs::copy_file(fixtures / from, fs::path(dir) / to, error);
    ASSERT_FALSE(error) << "copying fixture " << (fixtures / from) << " to "
                        << dir << ": " << error.message();
  }
}

void WriteFile(const std::string& path, absl::string_view contents,
               bool append) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  ASSERT_TRUE(out.good()) << "writing " << path;
}

}  // namespace tutoring::testing
