// The trainer's collectives on libtorch modules (genre/train/distributed.h's group).
#pragma once

#include <torch/torch.h>

#include <cstddef>

#include "genre/train/distributed.h"

namespace genre {

// Every parameter and buffer of `module` as rank 0 holds them, on every rank.
void BroadcastModule(ProcessGroup& group, torch::nn::Module& module);

// Gradients averaged over the ranks by all-reduce, packed into flat buffers of at most
// `bucket_bytes` each (a few large messages instead of one per tensor); batch norm's
// running statistics are averaged in the same buffers, so every rank
// keeps the same statistics. Parameters without a gradient are skipped on every rank.
void AverageGradients(ProcessGroup& group, torch::nn::Module& module, std::size_t bucket_bytes = 25u << 20);

}  // namespace genre
