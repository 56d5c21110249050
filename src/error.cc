#include "genre/error.h"

namespace genre {

void Error::RethrowWithContext(const std::string& context) const {
  throw Error(context + ": " + what());
}

}  // namespace genre
