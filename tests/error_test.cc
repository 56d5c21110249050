#include "genre/error.h"

#include <catch2/catch.hpp>

namespace genre {

TEST_CASE("every error is a genre::Error and keeps its kind when given context", "[errors]") {
  try {
    try {
      throw InputError("too short");
    } catch (const Error& e) {
      e.RethrowWithContext("song.wav");
    }
    FAIL("not rethrown");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "song.wav: too short");
  }
  CHECK_THROWS_AS(OptionError("x").RethrowWithContext("c"), OptionError);
  CHECK_THROWS_AS(IoError("x").RethrowWithContext("c"), IoError);
  CHECK_THROWS_AS(FormatError("x").RethrowWithContext("c"), FormatError);
  CHECK_THROWS_AS(Error("x").RethrowWithContext("c"), Error);
}

}  // namespace genre
