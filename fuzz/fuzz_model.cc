// Model files: the container (magic, version, sizes, content hash), the card's JSON and
// the members of an ensemble. Inputs starting with '{' are read as a card; others as a
// model file, and their bytes also as an ensemble's payload (a sequence of member files).
// Inputs starting with "GTENSORS" are read as a tensor table (the weights of format_version
// 2), which, once read, must write back to the same bytes; so are a model file's weights.
#include <nlohmann/json.hpp>

#include <string>

#include "fuzz_support.h"
#include "genre/error.h"
#include "genre/model/card.h"
#include "genre/model/tensors.h"

namespace {
// A card that passes Validate: the ensemble whose payload the fuzzer writes.
genre::ModelFileContents Ensemble(std::string payload) {
  genre::ModelCard card;
  card.classes = {"a", "b"};
  card.arch.kind = card.input.kind = genre::kEnsemble;
  return {card, std::move(payload)};
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (!bytes.empty() && bytes[0] == '{') {
    nlohmann::json j = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return 0;
    try {
      const genre::ModelCard card = genre::CardFromJson(j, "fuzz");
      // A card that was read writes and reads back the same.
      const genre::ModelCard again = genre::CardFromJson(genre::ToJson(card), "again");
      if (genre::ToJson(again) != genre::ToJson(card)) std::abort();
      genre_fuzz::RequireFinite(card.mean, "card mean");
      genre_fuzz::RequireFinite(card.stdev, "card stdev");
    } catch (const genre::Error&) {
    }
    return 0;
  }
  if (bytes.rfind("GTENSORS", 0) == 0) {
    try {
      const auto tensors = genre::ReadTensorTable(bytes, "fuzz");
      if (genre::WriteTensorTable(tensors) != bytes) std::abort();
    } catch (const genre::Error&) {
    }
    return 0;
  }
  try {
    const genre::ModelFileContents contents = genre::ParseModelFile(bytes, "fuzz");
    if (genre::IsTensorTable(contents.weights)) genre::ReadTensorTable(contents.weights, "fuzz weights");
  } catch (const genre::Error&) {
  }
  try {
    genre::EnsembleMembers(Ensemble(bytes), "fuzz");
  } catch (const genre::Error&) {
  }
  return 0;
}
