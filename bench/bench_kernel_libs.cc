// Which kernel library the inference runtime (genre/infer/) is built on: oneDNN or
// OpenBLAS, on the work the bundled model does for one 29-s window (issue 15). One
// thread, the median of 21 runs after 3 warm-ups, both libraries in one process:
//   mel      power [1360 frames x 257 bins] x mel bank [257 x 96]
//   conv1    block 1: 1 -> 32 channels, 3x3, padding 1, on 96 x 1360, + bias, ELU
//   conv2    block 2: 32 -> 32 channels, 3x3, padding 1, on 48 x 340, + bias, ELU
//   conv3    block 3: 32 -> 32 channels, 3x3, padding 1, on 16 x 85, + bias, ELU
// OpenBLAS: im2col, then cblas_sgemm, then bias + ELU; oneDNN: its convolution primitive
// with the ELU as a post-op, and its matmul primitive. Prints milliseconds and the
// largest difference between the two results.
//
// Built only when both libraries are found (bench/CMakeLists.txt); Debian 12 has them as
// libdnnl-dev and libopenblas-dev. Run: build/bench/bench_kernel_libs
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <dnnl.hpp>
#include <functional>
#include <random>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace {

using dnnl::memory;

double MedianMs(const std::function<void()>& f) {
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < 21; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + 10, t.end());
  return t[10];
}

std::vector<float> Random(std::size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

float MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

float Elu(float x) { return x > 0 ? x : std::expm1(x); }

// One conv layer (3x3, padding 1, stride 1, bias, ELU) both ways.
void Conv(const char* name, int cin, int cout, int h, int w, std::mt19937& rng, dnnl::engine& eng, dnnl::stream& strm) {
  const auto x = Random(static_cast<std::size_t>(cin) * h * w, rng);
  const auto wt = Random(static_cast<std::size_t>(cout) * cin * 9, rng);
  const auto bias = Random(static_cast<std::size_t>(cout), rng);
  const std::size_t hw = static_cast<std::size_t>(h) * w;

  // OpenBLAS: im2col [cin*9, h*w], then weights [cout, cin*9] x cols.
  std::vector<float> cols(static_cast<std::size_t>(cin) * 9 * hw), y_blas(static_cast<std::size_t>(cout) * hw);
  auto im2col = [&] {
    for (int c = 0; c < cin; ++c)
      for (int dy = 0; dy < 3; ++dy)
        for (int dx = 0; dx < 3; ++dx) {
          float* row = &cols[((static_cast<std::size_t>(c) * 3 + dy) * 3 + dx) * hw];
          for (int i = 0; i < h; ++i) {
            const int si = i + dy - 1;
            for (int j = 0; j < w; ++j) {
              const int sj = j + dx - 1;
              row[static_cast<std::size_t>(i) * w + j] =
                  (si < 0 || si >= h || sj < 0 || sj >= w) ? 0.0f : x[(static_cast<std::size_t>(c) * h + si) * w + sj];
            }
          }
        }
  };
  auto gemm = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, static_cast<int>(hw), cin * 9, 1.0f, wt.data(),
                cin * 9, cols.data(), static_cast<int>(hw), 0.0f, y_blas.data(), static_cast<int>(hw));
  };
  auto blas = [&] {
    im2col();
    gemm();
    for (int o = 0; o < cout; ++o)
      for (std::size_t k = 0; k < hw; ++k) y_blas[o * hw + k] = Elu(y_blas[o * hw + k] + bias[o]);
  };

  // oneDNN: the convolution primitive in the layout it prefers, ELU fused.
  const memory::dims src_dims{1, cin, h, w}, wei_dims{cout, cin, 3, 3}, dst_dims{1, cout, h, w};
  const auto f32 = memory::data_type::f32;
  const memory::desc src_any(src_dims, f32, memory::format_tag::any), wei_any(wei_dims, f32, memory::format_tag::any),
      dst_any(dst_dims, f32, memory::format_tag::any), bias_md({cout}, f32, memory::format_tag::a);
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src_any, wei_any, bias_md, dst_any, {1, 1}, {1, 1}, {1, 1});
  dnnl::post_ops ops;
  ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_elu, 1.0f, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  const dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
  memory src_user({src_dims, f32, memory::format_tag::nchw}, eng, const_cast<float*>(x.data()));
  memory wei_user({wei_dims, f32, memory::format_tag::oihw}, eng, const_cast<float*>(wt.data()));
  memory bias_mem(bias_md, eng, const_cast<float*>(bias.data()));
  std::vector<float> y_dnnl(static_cast<std::size_t>(cout) * hw);
  memory dst_user({dst_dims, f32, memory::format_tag::nchw}, eng, y_dnnl.data());
  memory src(pd.src_desc(), eng), wei(pd.weights_desc(), eng), dst(pd.dst_desc(), eng);
  dnnl::reorder(wei_user, wei).execute(strm, wei_user, wei);  // once, at load
  dnnl::convolution_forward conv(pd);
  auto dnn = [&] {  // the input and output reorders counted: the runtime pays them per layer at worst
    dnnl::reorder(src_user, src).execute(strm, src_user, src);
    conv.execute(strm, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_BIAS, bias_mem}, {DNNL_ARG_DST, dst}});
    dnnl::reorder(dst, dst_user).execute(strm, dst, dst_user);
    strm.wait();
  };
  const double tb = MedianMs(blas), td = MedianMs(dnn), ti = MedianMs(im2col), tg = MedianMs(gemm);
  blas();
  std::printf(
      "%-6s %2d->%2d %3dx%-5d  openblas %8.3f ms (im2col %.3f, sgemm %.3f, bias+ELU the rest)   onednn %8.3f ms"
      "   openblas/onednn %5.2f, (im2col+sgemm)/onednn %5.2f   max diff %.2g\n",
      name, cin, cout, h, w, tb, ti, tg, td, tb / td, (ti + tg) / td, MaxDiff(y_blas, y_dnnl));
}

void Mel(std::mt19937& rng, dnnl::engine& eng, dnnl::stream& strm) {
  const int frames = 1360, bins = 257, mels = 96;
  const auto power = Random(static_cast<std::size_t>(frames) * bins, rng);
  const auto bank = Random(static_cast<std::size_t>(bins) * mels, rng);
  std::vector<float> y_blas(static_cast<std::size_t>(frames) * mels), y_dnnl(y_blas.size());
  auto blas = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, frames, mels, bins, 1.0f, power.data(), bins, bank.data(),
                mels, 0.0f, y_blas.data(), mels);
  };
  const auto f32 = memory::data_type::f32;
  const memory::desc a({frames, bins}, f32, memory::format_tag::ab), b({bins, mels}, f32, memory::format_tag::ab),
      c({frames, mels}, f32, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), eng);
  dnnl::matmul mm(pd);
  memory am(a, eng, const_cast<float*>(power.data())), bm(b, eng, const_cast<float*>(bank.data())),
      cm(c, eng, y_dnnl.data());
  auto dnn = [&] {
    mm.execute(strm, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    strm.wait();
  };
  const double tb = MedianMs(blas), td = MedianMs(dnn);
  std::printf("%-6s %dx%d x %dx%d      openblas %8.3f ms   onednn %8.3f ms   openblas/onednn %5.2f   max diff %.2g\n",
              "mel", frames, bins, bins, mels, tb, td, tb / td, MaxDiff(y_blas, y_dnnl));
}

}  // namespace

int main() {
  openblas_set_num_threads(1);
  dnnl::set_max_cpu_isa(dnnl::cpu_isa::all);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  std::mt19937 rng(7);
  std::printf("one thread (OMP_NUM_THREADS=%s), median of 21 runs\n",
              std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "unset");
  Mel(rng, eng, strm);
  Conv("conv1", 1, 32, 96, 1360, rng, eng, strm);
  Conv("conv2", 32, 32, 48, 340, rng, eng, strm);
  Conv("conv3", 32, 32, 16, 85, rng, eng, strm);
  return 0;
}
