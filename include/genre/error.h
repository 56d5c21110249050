// The one error hierarchy of genre. Every failure the library reports is a
// genre::Error; the tools map each kind to a documented exit code.
#pragma once

#include <stdexcept>
#include <string>

namespace genre {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  // Rethrows an error of the same kind whose message is "context: what()".
  // Used to name the file once a lower layer (which knows no path) failed.
  [[noreturn]] virtual void RethrowWithContext(const std::string& context) const;
};

namespace detail {
template <class Derived>
class ErrorKind : public Error {
 public:
  using Error::Error;
  [[noreturn]] void RethrowWithContext(const std::string& context) const override {
    throw Derived(context + ": " + what());
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

}  // namespace genre
