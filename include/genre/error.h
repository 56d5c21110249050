// The one error hierarchy of genre. Every failure the library reports is a
// genre::Error; the tools map each kind to a documented exit code.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace genre {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // Rethrows an error of the same kind whose message is "context: what()" (or what()
  // alone when it already starts with "context: ": a file is named once).
  // Used to name the file once a lower layer (which knows no path) failed.
  [[noreturn]] virtual void RethrowWithContext(const std::string& context) const;

 protected:
  // "context: what()", or what() when it already starts with "context: ".
  std::string WithContext(const std::string& context) const;
};

namespace detail {
template <class Derived, class Base = Error>
class ErrorKind : public Base {
 public:
  using Base::Base;
  [[noreturn]] void RethrowWithContext(const std::string& context) const override {
    throw Derived(this->WithContext(context));
  }
};
}  // namespace detail

// An option is out of its allowed range; the message names field, value and range.
class OptionError : public detail::ErrorKind<OptionError> {
  using ErrorKind::ErrorKind;
};
// A path cannot be opened or read: missing, a directory, no permission.
class IoError : public detail::ErrorKind<IoError> {
  using ErrorKind::ErrorKind;
};
// The bytes are not a decodable audio (or data) file: unknown format, corrupt, truncated.
class FormatError : public detail::ErrorKind<FormatError> {
  using ErrorKind::ErrorKind;
};
// The file decodes but cannot be used: no samples, too short for one frame, offset past the end.
class InputError : public detail::ErrorKind<InputError> {
  using ErrorKind::ErrorKind;
};
// A model file cannot be used: missing, unreadable, not a model, truncated, corrupt, another
// format version, weights that do not fit its architecture.
class ModelError : public detail::ErrorKind<ModelError> {
  using ErrorKind::ErrorKind;
};
// A training checkpoint cannot be resumed from: missing, damaged, another run's classes or network.
class CheckpointError : public detail::ErrorKind<CheckpointError, ModelError> {
  using ErrorKind::ErrorKind;
};
// An output cannot be written: a folder, a file, a rename into place.
class OutputError : public detail::ErrorKind<OutputError> {
  using ErrorKind::ErrorKind;
};

// A distributed training group failed: a peer could not join, died or did not answer
// within the group's timeout.
class GroupError : public detail::ErrorKind<GroupError> {
  using ErrorKind::ErrorKind;
};

// Throws OptionError "FIELD must be RANGE, got VALUE" unless ok: the message of Validate().
template <class T>
void RequireOption(bool ok, const std::string& field, const T& value, const std::string& range) {
  if (ok) return;
  std::ostringstream m;
  m << field << " must be " << range << ", got " << value;
  throw OptionError(m.str());
}

// An error's kind as a word ("option", "io", "format", "input", "model", "checkpoint",
// "output", "group"; "error" for a plain Error) and back: errors that cross a process boundary
// (util/isolate.h) keep their type, and so their exit code.
std::string KindOf(const Error& e);
[[noreturn]] void ThrowOfKind(const std::string& kind, const std::string& message);

// The exit codes of every genre tool, documented in each --help and the README.
enum ExitCode : int {
  kExitOk = 0,
  kExitPartial = 1,  // done, but some inputs failed or were skipped (each reported)
  kExitUsage = 2,    // usage error or invalid option (OptionError)
  kExitModel = 3,    // a model or checkpoint problem (ModelError, CheckpointError)
  kExitOutput = 4,   // an output could not be written (OutputError)
  kExitNoData = 5,   // no usable data (IoError, FormatError, InputError of the inputs)
  kExitGroup = 6,    // a distributed training group failed (GroupError): a peer died or timed out
};
// The one mapping from an error's type to the exit code a tool ends with.
ExitCode ExitCodeFor(const Error& e);

}  // namespace genre
