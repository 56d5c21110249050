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
  CHECK_THROWS_AS(CheckpointError("x").RethrowWithContext("c"), CheckpointError);
  CHECK_THROWS_AS(CheckpointError("x").RethrowWithContext("c"), ModelError);
  // A file is named once (issue 14, defect 7: "a.wav: a.wav: empty file").
  CHECK_THROWS_WITH(InputError("a.wav: empty file").RethrowWithContext("a.wav"), "a.wav: empty file");
  CHECK_THROWS_WITH(InputError("a.wav.bak: empty").RethrowWithContext("a.wav"), "a.wav: a.wav.bak: empty");
}

TEST_CASE("one mapping from error type to exit code serves every tool", "[errors]") {
  CHECK(ExitCodeFor(OptionError("x")) == 2);
  CHECK(ExitCodeFor(ModelError("x")) == 3);
  CHECK(ExitCodeFor(CheckpointError("x")) == 3);
  CHECK(ExitCodeFor(OutputError("x")) == 4);
  CHECK(ExitCodeFor(IoError("x")) == 5);
  CHECK(ExitCodeFor(FormatError("x")) == 5);
  CHECK(ExitCodeFor(InputError("x")) == 5);
  CHECK(ExitCodeFor(GroupError("x")) == 6);
  CHECK_THROWS_AS(ThrowOfKind(KindOf(GroupError("x")), "y"), GroupError);
  // The kind survives context: a checkpoint named by its run folder is still exit 3.
  try {
    CheckpointError("damaged").RethrowWithContext("run/checkpoints/last.pt");
  } catch (const Error& e) {
    CHECK(ExitCodeFor(e) == 3);
    CHECK(std::string(e.what()) == "run/checkpoints/last.pt: damaged");
  }
}

}  // namespace genre
