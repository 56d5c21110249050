// The 120 MFCC statistics of Choi et al.'s transfer-learning features (the first
// columns of their gtzan_features.csv): librosa MFCC of a mono signal at 12 kHz (20
// coefficients, n_fft 2048, hop 512, 128 Slaney mels, centred with reflect padding,
// power_to_db ref 1 / top_db 80, ortho DCT-II); d = first difference along time, dd
// = difference of d; mean and population std over time of mfcc, d and dd, in the
// column order mfcc_mean_0..19, mfcc_std_0..19, dmfcc_mean_*, dmfcc_std_*,
// ddmfcc_mean_*, ddmfcc_std_* (MsdConvnetColumns()).
#pragma once

#include <span>
#include <vector>

#include "genre/features/options.h"

namespace genre {

inline constexpr int kMsdSampleRate = 12000;

// The front end of those MFCC (12 kHz).
FrontEndOptions MsdMfccFrontEnd();

// Throws InputError when the signal is shorter than n_fft or too short for dd (3 frames).
std::vector<double> MsdMfccStatistics(std::span<const float> signal_12k);

}  // namespace genre
