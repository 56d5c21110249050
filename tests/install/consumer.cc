// Classifies one file with the installed default model: "<genre> <confidence>".
#include <algorithm>
#include <cstdio>
#include <memory>

#include "genre/error.h"
#include "genre/model/classifier.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer AUDIO\n");
    return 2;
  }
  try {
    const auto model = genre::Network::Load(GENRE_DEFAULT_MODEL);
    const genre::Classification c = genre::Classifier(model).ClassifyFile(argv[1]);
    const auto best = static_cast<std::size_t>(std::max_element(c.probs.begin(), c.probs.end()) - c.probs.begin());
    std::printf("%s %.6f\n", model->card().classes[best].c_str(), static_cast<double>(c.probs[best]));
  } catch (const genre::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
  return 0;
}
