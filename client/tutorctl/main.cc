// tutorctl: command-line client of tutoring.v1.TutoringService (see
// client/tutorctl/tutorctl.h). The only place that reads the environment.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "client/tutorctl/tutorctl.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* target = std::getenv("TUTORING_TARGET");
  return tutoring::tutorctl::Run(args,
                                 target != nullptr && *target != '\0'
                                     ? target
                                     : tutoring::tutorctl::kDefaultTarget,
                                 std::cout, std::cerr);
}
