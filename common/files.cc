#include "common/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tutoring {

absl::StatusOr<std::string> ReadFileToString(absl::string_view what,
                                             const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": cannot read \"", path, "\": ", std::strerror(errno)));
  }
  std::string contents;
  char buffer[8192];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": cannot read \"", path, "\": ", std::strerror(error)));
  }
  return contents;
}

absl::StatusOr<std::string> ReadTokenFile(absl::string_view what,
                                          const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFileToString(what, path);
  if (!contents.ok()) return contents.status();
  const absl::string_view first_line =
      absl::string_view(*contents).substr(0, contents->find('\n'));
  const absl::string_view token = absl::StripAsciiWhitespace(first_line);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": the first line of \"", path, "\" holds no token"));
  }
  return std::string(token);
}

}  // namespace tutoring
