// Chroma from a power spectrogram, as librosa.filters.chroma / feature.chroma_stft.
// Tuning is a parameter here (librosa estimates it from the signal by default;
// the exact estimate belongs to the GTZAN feature vector).
#pragma once

#include "genre/features/matrix.h"

namespace genre {

struct ChromaOptions {
  int n_chroma = 12;      // bins per octave, >= 1
  double tuning = 0.0;    // deviation from A440 in fractions of a chroma bin, [-0.5, 0.5)
  double ctroct = 5.0;    // centre of the octave weighting, in octaves above C0/ A0/16
  double octwidth = 2.0;  // Gaussian octave weighting width in octaves; <= 0 disables it
  bool base_c = true;     // row 0 is C (else A)
  void Validate() const;  // throws OptionError
};

// librosa.filters.chroma(sr, n_fft, norm=2): [n_chroma, n_fft/2 + 1], float32.
Matrix ChromaFilterBank(int sample_rate, int n_fft, const ChromaOptions& options = {});

// chroma_stft(S=power): filter bank times power [n_fft/2 + 1, T], then each frame
// divided by its maximum (norm=inf; frames whose maximum is ~0 are left as they are).
Matrix ChromaFromPower(const Matrix& power, const Matrix& filter_bank);

}  // namespace genre
