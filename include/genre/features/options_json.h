// Front-end options as JSON: every field, under stable names. One serialisation
// serves the model card (which front end a model needs) and the feature cache
// key (which front end made the cached features), so a new option reaches both.
#pragma once

#include <nlohmann/json.hpp>

#include "genre/features/options.h"

namespace genre {

nlohmann::json ToJson(const FrontEndOptions& options);
// Throws nlohmann::json::exception for a missing or mistyped field, OptionError for a bad pad mode.
FrontEndOptions FrontEndFromJson(const nlohmann::json& j);

// A JSON integer that fits an int (nlohmann's get<int>() converts 2e70 with undefined
// behaviour); throws OptionError naming `what` otherwise. JsonInts: an array of them.
int JsonInt(const nlohmann::json& j, const std::string& what);
std::vector<int> JsonInts(const nlohmann::json& j, const std::string& what);

}  // namespace genre
