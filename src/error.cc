#include "genre/error.h"

namespace genre {

ExitCode ExitCodeFor(const Error& e) {
  if (dynamic_cast<const OptionError*>(&e)) return kExitUsage;
  if (dynamic_cast<const ModelError*>(&e)) return kExitModel;  // and CheckpointError
  if (dynamic_cast<const OutputError*>(&e)) return kExitOutput;
  return kExitNoData;
}

std::string Error::WithContext(const std::string& context) const {
  const std::string message = what();
  if (message.rfind(context + ": ", 0) == 0) return message;
  return context + ": " + message;
}

void Error::RethrowWithContext(const std::string& context) const { throw Error(WithContext(context)); }

}  // namespace genre
