// The page's files (web/), compiled into genre-serve (cmake/EmbedWebAssets.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace genre {

struct WebAsset {
  const char* path;          // "/index.html": the file's name under web/
  const char* content_type;  // from its extension
  std::string_view body;
};

const std::vector<WebAsset>& WebAssets();

}  // namespace genre
