#include "genre/model/keras.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "genre/error.h"
#include "genre/io/h5.h"
#include "genre/util/isolate.h"

namespace genre {

const NamedTensor& KerasConvnet::Tensor(const std::string& name) const {
  for (const NamedTensor& t : tensors)
    if (t.name == name) return t;
  throw FormatError(path + ": no tensor '" + name + "'");
}

namespace {

struct Reader {
  const h5::File& file;
  const std::string& path;

  [[noreturn]] void Refuse(const std::string& layer, const std::string& what) const {
    throw FormatError(path + ": layer '" + layer + "': " + what + " is not supported");
  }

  // model_weights/<layer>/<layer>/<name>:0 with the expected shape.
  h5::Array Weights(const std::string& layer, const std::string& name, const std::vector<std::size_t>& shape) const {
    const std::string at = "/model_weights/" + layer + "/" + layer + "/" + name + ":0";
    if (!file.Exists(at)) throw FormatError(path + ": layer '" + layer + "': no weights '" + name + "'");
    h5::Array a = file.Read(at);
    if (a.shape != shape) {
      auto dims = [](const std::vector<std::size_t>& v) {  // "3x3x1x32"
        std::string out;
        for (std::size_t d : v) {
          if (!out.empty()) out += 'x';
          out += std::to_string(d);
        }
        return out;
      };
      throw FormatError(path + ": layer '" + layer + "': weights '" + name + "' are " + dims(a.shape) + ", expected " +
                        dims(shape));
    }
    return a;
  }
};

NamedTensor Make(std::string name, std::vector<long> shape) {
  NamedTensor t{std::move(name), std::move(shape), {}};
  long n = 1;
  for (long d : t.shape) n *= d;
  t.values.assign(static_cast<std::size_t>(n), 0.0f);
  return t;
}

NamedTensor Vector(std::string name, const h5::Array& a) {
  NamedTensor t = Make(std::move(name), {static_cast<long>(a.size())});
  std::transform(a.values.begin(), a.values.end(), t.values.begin(), [](double v) { return static_cast<float>(v); });
  return t;
}

template <class T>
T Get(const nlohmann::json& config, const std::string& key, const Reader& r, const std::string& layer) {
  if (!config.contains(key)) r.Refuse(layer, "a config without '" + key + "'");
  try {
    return config.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    r.Refuse(layer, "'" + key + "' = " + config.at(key).dump());
  }
}

void Expect(const nlohmann::json& config, const std::string& key, const nlohmann::json& want, const Reader& r,
            const std::string& layer) {
  if (!config.contains(key) || config.at(key) != want)
    r.Refuse(layer, key + " = " + (config.contains(key) ? config.at(key).dump() : "(missing)") + " (only " +
                        want.dump() + ")");
}

}  // namespace

namespace {
KerasConvnet ReadKeras(const std::string& path) {
  const h5::File file = h5::File::Open(path);
  if (!file.HasAttribute("/", "model_config"))
    throw FormatError(path + ": not a Keras model file (no model_config attribute)");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(file.ReadStringAttribute("/", "model_config"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": model_config is not JSON: " + e.what());
  }
  const Reader r{file, path};
  if (config.value("class_name", "") != "Sequential")
    throw FormatError(path + ": only Sequential Keras models are supported, this is '" +
                      config.value("class_name", "?") + "'");
  const nlohmann::json& layers = config.contains("config") && config["config"].is_object()
                                     ? config["config"].value("layers", nlohmann::json::array())
                                     : config.value("config", nlohmann::json::array());
  if (!layers.is_array() || layers.empty()) throw FormatError(path + ": model_config lists no layers");

  KerasConvnet k;
  k.path = path;
  std::size_t i = 0;
  auto layer_at = [&](std::size_t at, const std::string& want) -> const nlohmann::json& {
    if (at >= layers.size()) throw FormatError(path + ": the model ends before its " + want + " layer");
    const nlohmann::json& l = layers[at];
    const std::string cls = l.value("class_name", "?");
    const std::string name = l.contains("config") ? l["config"].value("name", "?") : "?";
    if (cls != want) r.Refuse(name, "a " + cls + " layer here (expected " + want + ")");
    k.layers.push_back(cls + " " + name);
    return l.at("config");
  };
  auto name_of = [](const nlohmann::json& c) { return c.value("name", std::string("?")); };

  // 1. kapre Melspectrogram: STFT kernels, mel filter bank, power 2, decibels.
  {
    const nlohmann::json& c = layer_at(i++, "Melspectrogram");
    const std::string n = name_of(c);
    k.sample_rate = Get<int>(c, "sr", r, n);
    k.n_dft = Get<int>(c, "n_dft", r, n);
    k.n_hop = Get<int>(c, "n_hop", r, n);
    k.n_mels = Get<int>(c, "n_mels", r, n);
    k.fmin_hz = Get<double>(c, "fmin", r, n);
    k.fmax_hz = Get<double>(c, "fmax", r, n);
    Expect(c, "power_melgram", 2.0, r, n);
    Expect(c, "return_decibel_melgram", true, r, n);
    Expect(c, "image_data_format", "channels_last", r, n);
    Expect(c, "padding", "same", r, n);
    if (k.sample_rate < 1000 || k.n_dft < 16 || k.n_dft % 2 || k.n_hop < 1 || k.n_hop > k.n_dft || k.n_mels < 1)
      r.Refuse(n, "sr / n_dft / n_hop / n_mels = " + std::to_string(k.sample_rate) + " / " + std::to_string(k.n_dft) +
                      " / " + std::to_string(k.n_hop) + " / " + std::to_string(k.n_mels));
    const std::size_t bins = static_cast<std::size_t>(k.n_dft / 2 + 1), nd = static_cast<std::size_t>(k.n_dft);
    const h5::Array re = r.Weights(n, "real_kernels", {nd, 1, 1, bins});
    const h5::Array im = r.Weights(n, "imag_kernels", {nd, 1, 1, bins});
    const h5::Array mel = r.Weights(n, "Variable", {bins, static_cast<std::size_t>(k.n_mels)});
    for (const auto& [name, a] : {std::pair{"stft_real", &re}, std::pair{"stft_imag", &im}}) {
      NamedTensor t = Make(name, {static_cast<long>(bins), 1, k.n_dft});
      for (std::size_t b = 0; b < bins; ++b)
        for (std::size_t s = 0; s < nd; ++s)
          t.values[b * nd + s] = static_cast<float>(a->values[(nd - 1 - s) * bins + b]);
      k.tensors.push_back(std::move(t));
    }
    NamedTensor m = Make("mel", {static_cast<long>(bins), k.n_mels});
    std::transform(mel.values.begin(), mel.values.end(), m.values.begin(),
                   [](double v) { return static_cast<float>(v); });
    k.tensors.push_back(std::move(m));
  }
  // 2. Normalization2D over the whole sample.
  {
    const nlohmann::json& c = layer_at(i++, "Normalization2D");
    Expect(c, "str_axis", "data_sample", r, name_of(c));
  }
  // 3. Blocks.
  int in = 1;
  while (i < layers.size() && layers[i].value("class_name", "") == "Conv2D") {
    const int b = static_cast<int>(k.channels.size()) + 1;
    const std::string pre = "blocks." + std::to_string(b - 1) + ".";
    const nlohmann::json& conv = layer_at(i++, "Conv2D");
    const std::string cn = name_of(conv);
    Expect(conv, "padding", "same", r, cn);
    Expect(conv, "strides", nlohmann::json::array({1, 1}), r, cn);
    Expect(conv, "dilation_rate", nlohmann::json::array({1, 1}), r, cn);
    Expect(conv, "kernel_size", nlohmann::json::array({3, 3}), r, cn);
    Expect(conv, "activation", "linear", r, cn);
    Expect(conv, "use_bias", true, r, cn);
    Expect(conv, "data_format", "channels_last", r, cn);
    const int out = Get<int>(conv, "filters", r, cn);
    if (out < 1) r.Refuse(cn, "filters = " + std::to_string(out));
    const auto uin = static_cast<std::size_t>(in), uout = static_cast<std::size_t>(out);
    const h5::Array w = r.Weights(cn, "kernel", {3, 3, uin, uout});
    NamedTensor t = Make(pre + "conv.weight", {out, in, 3, 3});
    for (std::size_t y = 0; y < 3; ++y)
      for (std::size_t x = 0; x < 3; ++x)
        for (std::size_t ci = 0; ci < uin; ++ci)
          for (std::size_t co = 0; co < uout; ++co)
            t.values[((co * uin + ci) * 3 + y) * 3 + x] =
                static_cast<float>(w.values[((y * 3 + x) * uin + ci) * uout + co]);
    k.tensors.push_back(std::move(t));
    k.tensors.push_back(Vector(pre + "conv.bias", r.Weights(cn, "bias", {uout})));

    const nlohmann::json& bn = layer_at(i++, "BatchNormalization");
    const std::string bnn = name_of(bn);
    Expect(bn, "axis", 3, r, bnn);
    Expect(bn, "scale", true, r, bnn);
    Expect(bn, "center", true, r, bnn);
    const double eps = Get<double>(bn, "epsilon", r, bnn);
    if (!k.channels.empty() && eps != k.bn_eps) r.Refuse(bnn, "an epsilon other than the first block's");
    k.bn_eps = eps;
    k.tensors.push_back(Vector(pre + "bn.weight", r.Weights(bnn, "gamma", {uout})));
    k.tensors.push_back(Vector(pre + "bn.bias", r.Weights(bnn, "beta", {uout})));
    k.tensors.push_back(Vector(pre + "bn.running_mean", r.Weights(bnn, "moving_mean", {uout})));
    k.tensors.push_back(Vector(pre + "bn.running_var", r.Weights(bnn, "moving_variance", {uout})));

    const nlohmann::json& elu = layer_at(i++, "ELU");
    const double alpha = Get<double>(elu, "alpha", r, name_of(elu));
    if (!k.channels.empty() && alpha != k.elu_alpha) r.Refuse(name_of(elu), "an alpha other than the first block's");
    k.elu_alpha = alpha;

    const nlohmann::json& mp = layer_at(i++, "MaxPooling2D");
    const std::string mpn = name_of(mp);
    Expect(mp, "padding", "valid", r, mpn);
    Expect(mp, "data_format", "channels_last", r, mpn);
    const auto pool = Get<std::vector<int>>(mp, "pool_size", r, mpn);
    if (pool.size() != 2 || pool[0] < 1 || pool[1] < 1) r.Refuse(mpn, "pool_size " + mp.at("pool_size").dump());
    if (mp.contains("strides") && !mp.at("strides").is_null() && mp.at("strides") != mp.at("pool_size"))
      r.Refuse(mpn, "strides other than pool_size");
    k.pool.insert(k.pool.end(), pool.begin(), pool.end());
    k.channels.push_back(out);
    in = out;
  }
  if (k.channels.empty()) throw FormatError(path + ": no Conv2D block after the normalisation");
  // 4. Tags: global max pool, sigmoid dense.
  layer_at(i++, "GlobalMaxPooling2D");
  {
    const nlohmann::json& c = layer_at(i++, "Dense");
    const std::string n = name_of(c);
    Expect(c, "activation", "sigmoid", r, n);
    Expect(c, "use_bias", true, r, n);
    k.tags = Get<int>(c, "units", r, n);
    if (k.tags < 1) r.Refuse(n, "units = " + std::to_string(k.tags));
    const auto ut = static_cast<std::size_t>(k.tags), uin = static_cast<std::size_t>(in);
    const h5::Array w = r.Weights(n, "kernel", {uin, ut});
    NamedTensor t = Make("tags.weight", {k.tags, in});
    for (std::size_t a = 0; a < uin; ++a)
      for (std::size_t b = 0; b < ut; ++b) t.values[b * uin + a] = static_cast<float>(w.values[a * ut + b]);
    k.tensors.push_back(std::move(t));
    k.tensors.push_back(Vector("tags.bias", r.Weights(n, "bias", {ut})));
  }
  if (i != layers.size()) {
    const nlohmann::json& l = layers[i];
    r.Refuse(l.contains("config") ? l["config"].value("name", "?") : "?",
             "a " + l.value("class_name", std::string("?")) + " layer after the tag layer");
  }
  return k;
}

// The reader process's answer: every field of the KerasConvnet.
std::string Packed(const KerasConvnet& k) {
  Pack p;
  p.String(k.path);
  for (int v : {k.sample_rate, k.n_dft, k.n_hop, k.n_mels, k.tags}) p.Pod(v);
  for (double v : {k.fmin_hz, k.fmax_hz, k.amin, k.top_db, k.norm_eps, k.bn_eps, k.elu_alpha}) p.Pod(v);
  p.Vector(k.channels);
  p.Vector(k.pool);
  p.Pod<std::uint64_t>(k.layers.size());
  for (const std::string& l : k.layers) p.String(l);
  p.Pod<std::uint64_t>(k.tensors.size());
  for (const NamedTensor& t : k.tensors) {
    p.String(t.name);
    p.Vector(t.shape);
    p.Vector(t.values);
  }
  return p.Take();
}

KerasConvnet Unpacked(const std::string& bytes) {
  Unpack u(bytes);
  KerasConvnet k;
  k.path = u.String();
  for (int* v : {&k.sample_rate, &k.n_dft, &k.n_hop, &k.n_mels, &k.tags}) *v = u.Pod<int>();
  for (double* v : {&k.fmin_hz, &k.fmax_hz, &k.amin, &k.top_db, &k.norm_eps, &k.bn_eps, &k.elu_alpha})
    *v = u.Pod<double>();
  k.channels = u.Vector<int>();
  k.pool = u.Vector<int>();
  for (auto n = u.Pod<std::uint64_t>(); n > 0; --n) k.layers.push_back(u.String());
  for (auto n = u.Pod<std::uint64_t>(); n > 0; --n) {
    NamedTensor& t = k.tensors.emplace_back();
    t.name = u.String();
    t.shape = u.Vector<long>();
    t.values = u.Vector<float>();
  }
  return k;
}

}  // namespace

KerasConvnet ReadKerasConvnet(const std::string& path) {
  // libhdf5 crashes or hangs on some damaged files (fuzz/third-party/README.md): the file is
  // read in a reader process, where that costs one ModelError naming it. Errors come back
  // with their type; another exception (its JSON config, as the reader met it) comes back
  // as an Error "PATH: what".
  KerasConvnet out;
  RunIsolated(
      1, [&](std::size_t) { return Packed(ReadKeras(path)); },
      [&](std::size_t, const std::string& bytes, const std::exception_ptr& error) {
        if (!error) return void(out = Unpacked(bytes));
        try {
          std::rethrow_exception(error);
        } catch (const ModelError&) {
          throw;
        } catch (const Error& e) {  // the Keras file is a model: missing, not HDF5, another layout, crashed
          throw ModelError(e.what());
        }
      },
      [&](std::size_t) { return path; }, "libhdf5", {}, &h5::LibraryMutex());
  return out;
}

bool KernelsAreHannDft(const std::vector<float>& real, const std::vector<float>& imag, int n_dft) {
  const std::size_t n_fft = static_cast<std::size_t>(n_dft), bins = n_fft / 2 + 1;
  if (real.size() != bins * n_fft || imag.size() != real.size()) return false;
  float re_err = 0, im_plus = 0, im_minus = 0;
  for (std::size_t k = 0; k < bins; ++k)
    for (std::size_t n = 0; n < n_fft; ++n) {
      const double m = static_cast<double>((n + 1) % n_fft);
      const double win = 0.5 - 0.5 * std::cos(2 * M_PI * m / static_cast<double>(n_fft));
      const double arg = 2 * M_PI * static_cast<double>(k) * m / static_cast<double>(n_fft);
      const auto re = static_cast<float>(win * std::cos(arg)), im = static_cast<float>(win * std::sin(arg));
      const std::size_t at = k * n_fft + n;
      re_err = std::max(re_err, std::abs(real[at] - re));
      im_plus = std::max(im_plus, std::abs(imag[at] - im));
      im_minus = std::max(im_minus, std::abs(imag[at] + im));
    }
  return re_err < 1e-5f && std::min(im_plus, im_minus) < 1e-5f;
}

}  // namespace genre
