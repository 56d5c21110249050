// The text files a user hands genre-train: CSV manifests, feature tables (every layout),
// split lists, MSD label files, CV prediction files, fold files; and CSV lines themselves.
// The first byte chooses the reader, the rest is the file.
#include <string>

#include "fuzz_support.h"
#include "genre/data/dataset.h"
#include "genre/data/feature_table.h"
#include "genre/data/labels.h"
#include "genre/data/split.h"
#include "genre/error.h"
#include "genre/train/predictions.h"
#include "genre/util/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t which = data[0] % 6;
  ++data, --size;
  try {
    switch (which) {
      case 0: {  // a feature table: its layout from the header, then every row
        const std::string path = genre_fuzz::AsFile(data, size, "table.csv");
        if (genre::IsFeatureTable(path)) {
          const genre::FeatureTable t = genre::ReadFeatureTable(path);
          genre::TableDataset(t);
        }
        break;
      }
      case 1: {  // a CSV manifest (path,label[,group][,split]) through the dataset loader
        genre::DatasetOptions o;
        o.sources = {genre_fuzz::AsFile(data, size, "manifest.csv")};
        genre::LoadDataset(o);
        break;
      }
      case 2:
        genre::ReadSplitList(genre_fuzz::AsFile(data, size, "split.txt"));
        break;
      case 3:
        genre::ReadLabelFile(genre_fuzz::AsFile(data, size, "labels.cls"));
        break;
      case 4: {
        const genre::PredictionFile p = genre::ReadPredictions(genre_fuzz::AsFile(data, size, "predictions.csv"));
        genre::JoinPredictions({p, p});
        break;
      }
      default:
        genre::ParseCsvLine(std::string(reinterpret_cast<const char*>(data), size));
        break;
    }
  } catch (const genre::Error&) {
  }
  return 0;
}
