// Fine-tuning the last blocks of an msd-convnet genre model on cached prefixes; see
// genre/train/finetune.h.
#include "genre/train/finetune.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "../model/networks.h"
#include "genre/data/dataset.h"
#include "genre/error.h"
#include "genre/train/calibration.h"
#include "genre/train/windows.h"
#include "genre/util/hash.h"

namespace genre {

namespace {

constexpr std::size_t kHeaderRows = 2;  // variant, window

MsdConvnetImpl& GenreConvnet(const Model& model, int trained) {
  auto* net = dynamic_cast<MsdConvnetImpl*>(model.impl().net.get());
  if (!net || net->tags_head || net->fused)
    throw OptionError(
        "fine-tuning needs an msd-convnet with a genre head on its features alone (genre-train "
        "attach), '" +
        model.card().name + "' is " + model.card().arch.kind +
        (!net             ? ""
         : net->tags_head ? " with its tag output"
                          : " with a head on the GTZAN vector too"));
  const auto blocks = static_cast<int>(net->blocks->size());
  if (trained < 1 || trained >= blocks)
    throw OptionError("blocks to fine-tune must be in [1, " + std::to_string(blocks - 1) + "], got " +
                      std::to_string(trained));
  return *net;
}

// The frozen blocks' feature count and the map's rows (channels x mel bands after their pools).
struct PrefixShape {
  std::size_t frozen = 0, features = 0, channels = 0, bands = 0;
  std::size_t rows() const { return kHeaderRows + features + channels * bands; }
};

PrefixShape ShapeOf(const MsdConvnetImpl& net, const ModelCard& card, int trained) {
  PrefixShape s;
  s.frozen = net.blocks->size() - static_cast<std::size_t>(trained);
  s.bands = static_cast<std::size_t>(card.input.front_end.mel.n_mels);
  for (std::size_t b = 0; b < s.frozen; ++b) {
    s.features += static_cast<std::size_t>(card.arch.channels[b]);
    s.bands /= static_cast<std::size_t>(net.pool[2 * b]);
  }
  s.channels = static_cast<std::size_t>(card.arch.channels[s.frozen - 1]);
  return s;
}

// One window of one variant, read back from a prefix matrix.
struct Segment {
  int variant = 0;
  torch::Tensor fixed;  // [1, features]
  torch::Tensor map;    // [1, channels, bands, steps]
};

std::vector<Segment> Segments(const Example& e, const PrefixShape& s) {
  const Matrix& x = e.x;
  if (x.rows != s.rows() || x.cols == 0)
    throw InputError(e.path + ": a fine-tuning prefix of " + std::to_string(x.rows) + " rows, expected " +
                     std::to_string(s.rows()) + " (made for other blocks or another model)");
  const torch::Tensor all = torch::from_blob(const_cast<float*>(x.data.data()),
                                             {static_cast<long>(x.rows), static_cast<long>(x.cols)}, torch::kFloat32);
  std::vector<Segment> out;
  for (std::size_t c0 = 0; c0 < x.cols;) {
    std::size_t c1 = c0 + 1;
    while (c1 < x.cols && x(0, c1) == x(0, c0) && x(1, c1) == x(1, c0)) ++c1;
    const torch::Tensor cols = all.narrow(1, static_cast<long>(c0), static_cast<long>(c1 - c0));
    Segment seg;
    seg.variant = static_cast<int>(x(0, c0));
    seg.fixed = cols.narrow(0, kHeaderRows, static_cast<long>(s.features)).select(1, 0).unsqueeze(0).clone();
    seg.map = cols.narrow(0, static_cast<long>(kHeaderRows + s.features), static_cast<long>(s.channels * s.bands))
                  .reshape({1, static_cast<long>(s.channels), static_cast<long>(s.bands), static_cast<long>(c1 - c0)})
                  .clone();
    out.push_back(std::move(seg));
    c0 = c1;
  }
  return out;
}

torch::Tensor Logits(MsdConvnetImpl& net, const PrefixShape& s, const Segment& seg) {
  std::vector<torch::Tensor> f{seg.fixed};
  net.Blocks(seg.map, &f, s.frozen, net.blocks->size());
  return net.head->forward(torch::cat(f, 1));
}

// A song's probabilities as the classifier makes them (uncalibrated): the mean of its
// first variant's window probabilities.
torch::Tensor SongProbs(MsdConvnetImpl& net, const PrefixShape& s, const std::vector<Segment>& song) {
  torch::Tensor sum;
  int n = 0;
  for (const Segment& seg : song) {
    if (seg.variant != 0) continue;
    const torch::Tensor p = torch::softmax(Logits(net, s, seg), 1);
    sum = n++ == 0 ? p : sum + p;
  }
  if (n == 0) throw InputError("a fine-tuning prefix without the song itself (variant 0)");
  return sum / n;
}

std::vector<std::vector<Segment>> AllSegments(const std::vector<Example>& songs, const PrefixShape& s) {
  std::vector<std::vector<Segment>> out;
  for (const Example& e : songs) out.push_back(Segments(e, s));
  return out;
}

}  // namespace

void FineTuneOptions::Validate() const {
  if (blocks < 1) throw OptionError("blocks must be >= 1, got " + std::to_string(blocks));
  if (epochs < 1) throw OptionError("epochs must be >= 1, got " + std::to_string(epochs));
  if (batch < 1) throw OptionError("batch must be >= 1, got " + std::to_string(batch));
  if (!(lr > 0) || !std::isfinite(lr)) throw OptionError("learning rate must be > 0, got " + std::to_string(lr));
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw OptionError("weight decay must be >= 0, got " + std::to_string(weight_decay));
  if (early_stopping.patience < 1)
    throw OptionError("patience must be >= 1, got " + std::to_string(early_stopping.patience));
}

Matrix FineTunePrefix(const Model& model, int trained, const Waveform& song, int variants,
                      const AudioAugmentOptions& augment) {
  MsdConvnetImpl& net = GenreConvnet(model, trained);
  const ModelCard& card = model.card();
  const InputSpec& in = card.input;
  if (song.sample_rate != in.front_end.sample_rate)
    throw InputError("audio at " + std::to_string(song.sample_rate) + " Hz, the model reads " +
                     std::to_string(in.front_end.sample_rate) + " Hz");
  if (variants < 0) throw OptionError("variants must be >= 0, got " + std::to_string(variants));
  const PrefixShape s = ShapeOf(net, card, trained);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> columns;  // [rows, steps] each
  for (int v = 0; v <= variants; ++v) {
    const std::vector<float> samples =
        v == 0 ? song.samples
               : AugmentAudio(song.samples, song.sample_rate,
                              HashBytes(FileStem(song.info.path), static_cast<std::uint64_t>(v)), augment);
    int window = 0;
    ForEachClip(
        samples, static_cast<std::size_t>(in.window), static_cast<std::size_t>(in.hop),
        static_cast<std::size_t>(in.min_window), [&](std::size_t, const std::vector<float>& clip) {
          const Matrix x = PaddedWaveform(clip, static_cast<std::size_t>(in.min_window));
          std::vector<torch::Tensor> f;
          const torch::Tensor map = net.Blocks(net.Normalised(Batch({&x})), &f, 0, s.frozen);
          const long steps = map.size(3);
          columns.push_back(torch::cat(
              {torch::full({1, steps}, static_cast<float>(v)), torch::full({1, steps}, static_cast<float>(window)),
               torch::cat(f, 1).view({-1, 1}).expand({-1, steps}), map.reshape({-1, steps})},
              0));
          ++window;
        });
  }
  if (columns.empty()) throw InputError("no audio samples to analyse");
  const torch::Tensor all = torch::cat(columns, 1).contiguous();
  Matrix out(static_cast<std::size_t>(all.size(0)), static_cast<std::size_t>(all.size(1)));
  std::copy(all.data_ptr<float>(), all.data_ptr<float>() + all.numel(), out.data.begin());
  return out;
}

std::string FineTunePrefixId(const Model& model, int trained, int variants, const AudioAugmentOptions& augment) {
  MsdConvnetImpl& net = GenreConvnet(model, trained);
  const std::size_t frozen = net.blocks->size() - static_cast<std::size_t>(trained);
  // The front end and the frozen blocks only: models that differ in their head or
  // last blocks share prefixes.
  Hasher h;
  auto add = [&](const std::string& name, const torch::Tensor& t) {
    if (name.rfind("head.", 0) == 0 || !t.is_floating_point()) return;
    if (name.rfind("blocks.", 0) == 0 && std::stoul(name.substr(7)) >= frozen) return;
    const torch::Tensor c = t.contiguous().to(torch::kFloat32);
    h.Update(name.data(), name.size());
    h.Update(c.data_ptr<float>(), static_cast<std::size_t>(c.numel()) * sizeof(float));
  };
  for (const auto& p : net.named_parameters()) add(p.key(), p.value());
  for (const auto& b : net.named_buffers()) add(b.key(), b.value());
  std::string id = "fine-tune prefix frozen=" + ToHex(h.Digest()) + " blocks=" + std::to_string(frozen) +
                   " variants=" + std::to_string(variants);
  if (variants > 0) id += " augment=" + augment.Text();
  return id;
}

std::vector<std::vector<float>> PredictFromPrefixes(const Model& model, int trained,
                                                    const std::vector<Example>& songs) {
  MsdConvnetImpl& net = GenreConvnet(model, trained);
  const PrefixShape s = ShapeOf(net, model.card(), trained);
  torch::NoGradGuard no_grad;
  net.eval();
  std::vector<std::vector<float>> out;
  for (const Example& e : songs) {
    const torch::Tensor p = SongProbs(net, s, Segments(e, s)).contiguous();
    std::vector<float> probs(p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    const double t = model.card().temperature;
    out.push_back(t == 1.0 ? probs : ApplyTemperature(probs, t));
  }
  return out;
}

FineTuneResult FineTune(Model& model, const std::vector<Example>& train, const std::vector<Example>& valid,
                        const FineTuneOptions& o, const std::function<void(const FineTuneEpoch&)>& on_epoch) {
  o.Validate();
  SetTorchThreads(o.threads);
  MsdConvnetImpl& net = GenreConvnet(model, o.blocks);
  const PrefixShape s = ShapeOf(net, model.card(), o.blocks);
  const auto k = static_cast<int>(model.card().classes.size());
  if (train.empty()) throw InputError("no training songs to fine-tune on");
  std::vector<int> labels;
  for (const std::vector<Example>* set : {&train, &valid})
    for (const Example& e : *set)
      if (e.label < 0 || e.label >= k)
        throw InputError(e.path + ": label outside the model's " + std::to_string(k) + " genres");
  for (const Example& e : train) labels.push_back(e.label);
  const std::vector<std::vector<Segment>> train_segments = AllSegments(train, s),
                                          valid_segments = AllSegments(valid, s);

  // Only the last blocks and the head learn; batch norm keeps its running statistics
  // (eval mode throughout: no dropout either).
  std::vector<torch::Tensor> params;
  for (std::size_t b = s.frozen; b < net.blocks->size(); ++b)
    for (const torch::Tensor& p : net.blocks[b]->parameters()) params.push_back(p);
  for (const torch::Tensor& p : net.head->parameters()) params.push_back(p);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  const std::vector<double> w = o.class_weights ? BalancedClassWeights(labels, k) : std::vector<double>(k, 1.0);
  net.eval();

  auto snapshot = [&] {
    std::vector<torch::Tensor> copy;
    for (const torch::Tensor& p : params) copy.push_back(p.detach().clone());
    return copy;
  };
  std::vector<torch::Tensor> best = snapshot();
  EarlyStopping stopping(o.early_stopping);
  std::mt19937_64 rng(o.seed);
  FineTuneResult result;
  result.stop_reason = "epochs";
  std::vector<std::size_t> order(train.size());
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0, weight_sum = 0;
    adam.zero_grad();
    for (std::size_t n = 0; n < order.size(); ++n) {
      const std::vector<Segment>& song = train_segments[order[n]];
      const Segment& seg = song[std::uniform_int_distribution<std::size_t>(0, song.size() - 1)(rng)];
      const int y = train[order[n]].label;
      const torch::Tensor loss =
          torch::nn::functional::cross_entropy(Logits(net, s, seg), torch::tensor({static_cast<long>(y)}));
      const double wy = w[static_cast<std::size_t>(y)];
      (loss * (wy / o.batch)).backward();
      loss_sum += wy * loss.item<double>();
      weight_sum += wy;
      if ((n + 1) % static_cast<std::size_t>(o.batch) == 0 || n + 1 == order.size()) {
        adam.step();
        adam.zero_grad();
      }
    }
    FineTuneEpoch e;
    e.epoch = epoch;
    e.train_loss = loss_sum / weight_sum;
    if (!valid.empty()) {
      torch::NoGradGuard no_grad;
      double nll = 0;
      int right = 0;
      for (std::size_t i = 0; i < valid.size(); ++i) {
        const torch::Tensor p = SongProbs(net, s, valid_segments[i]);
        nll -= std::log(std::max(1e-12f, p[0][valid[i].label].item<float>()));
        right += p.argmax(1).item<long>() == valid[i].label;
      }
      e.valid_loss = nll / static_cast<double>(valid.size());
      e.valid_accuracy = static_cast<double>(right) / static_cast<double>(valid.size());
    }
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.history.push_back(e);
    if (on_epoch) on_epoch(e);
    if (stopping.Update(valid.empty() ? e.train_loss : e.valid_loss, epoch)) {
      best = snapshot();
      result.best_epoch = epoch;
    }
    if (stopping.ShouldStop()) {
      result.stop_reason = "early stopping";
      break;
    }
  }
  if (o.early_stopping.restore_best) {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(best[i]);
  } else {
    result.best_epoch = static_cast<int>(result.history.size());
  }
  return result;
}

}  // namespace genre
