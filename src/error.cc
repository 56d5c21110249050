#include "genre/error.h"

namespace genre {

ExitCode ExitCodeFor(const Error& e) {
  if (dynamic_cast<const OptionError*>(&e)) return kExitUsage;
  if (dynamic_cast<const ModelError*>(&e)) return kExitModel;  // and CheckpointError
  if (dynamic_cast<const OutputError*>(&e)) return kExitOutput;
  if (dynamic_cast<const GroupError*>(&e)) return kExitGroup;
  return kExitNoData;
}

std::string KindOf(const Error& e) {
  // Most derived first: CheckpointError is a ModelError.
  if (dynamic_cast<const CheckpointError*>(&e)) return "checkpoint";
  if (dynamic_cast<const ModelError*>(&e)) return "model";
  if (dynamic_cast<const OptionError*>(&e)) return "option";
  if (dynamic_cast<const IoError*>(&e)) return "io";
  if (dynamic_cast<const FormatError*>(&e)) return "format";
  if (dynamic_cast<const InputError*>(&e)) return "input";
  if (dynamic_cast<const OutputError*>(&e)) return "output";
  if (dynamic_cast<const GroupError*>(&e)) return "group";
  return "error";
}

void ThrowOfKind(const std::string& kind, const std::string& message) {
  if (kind == "checkpoint") throw CheckpointError(message);
  if (kind == "model") throw ModelError(message);
  if (kind == "option") throw OptionError(message);
  if (kind == "io") throw IoError(message);
  if (kind == "format") throw FormatError(message);
  if (kind == "input") throw InputError(message);
  if (kind == "output") throw OutputError(message);
  if (kind == "group") throw GroupError(message);
  throw Error(message);
}

std::string Error::WithContext(const std::string& context) const {
  const std::string message = what();
  if (message.rfind(context + ": ", 0) == 0) return message;
  return context + ": " + message;
}

void Error::RethrowWithContext(const std::string& context) const { throw Error(WithContext(context)); }

}  // namespace genre
