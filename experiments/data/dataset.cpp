#include "experiments/data/dataset.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <numeric>

#include "common/atomic_file.h"
#include "common/error.h"

namespace flatmin::data {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kDebianFashionDir = "/usr/share/datasets/fashion-mnist";

/// A small portable generator: std::mt19937_64 is specified by the standard, the distributions are
/// not, so bounded integers and normals are drawn here.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {  // splitmix64
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, bound) without modulo bias.
  uint64_t below(uint64_t bound) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do {
      x = next();
    } while (x >= limit);
    return x % bound;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double normal() {  // Box–Muller
    double u1;
    do {
      u1 = uniform();
    } while (u1 <= 0.0);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {  // Fisher–Yates
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

bool exists_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

/// First existing of `name` and `name`.gz in `dir`, or empty.
fs::path find_idx(const fs::path& dir, const std::string& name) {
  if (exists_file(dir / (name + ".gz"))) return dir / (name + ".gz");
  if (exists_file(dir / name)) return dir / name;
  return {};
}

std::string env_data_dir() {
  const char* e = std::getenv("FLATMIN_DATA_DIR");
  return e ? std::string(e) : std::string();
}

}  // namespace

uint64_t mix_seed(uint64_t a, uint64_t b) {
  Rng r(a * 0xD1B54A32D192ED03ULL + b);
  r.next();
  return r.next();
}

std::vector<uint8_t> read_file_maybe_gz(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  FLATMIN_CHECK(in.good(), file.string() << ": cannot open");
  std::vector<uint8_t> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return gunzip_maybe(std::move(raw), file.string());
}

std::vector<uint8_t> gunzip_maybe(std::vector<uint8_t> raw, const std::string& where) {
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
  std::vector<uint8_t> out;
  z_stream zs{};
  FLATMIN_CHECK(inflateInit2(&zs, 15 + 32) == Z_OK, where << ": zlib inflateInit failed");
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  std::vector<uint8_t> chunk(1 << 20);
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    zs.next_out = chunk.data();
    zs.avail_out = static_cast<uInt>(chunk.size());
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) {
      inflateEnd(&zs);
      throw common::InputError(where + ": corrupt gzip stream (zlib error " + std::to_string(ret) + ")");
    }
    out.insert(out.end(), chunk.data(), chunk.data() + (chunk.size() - zs.avail_out));
    if (ret != Z_STREAM_END && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      throw common::InputError(where + ": truncated gzip stream");
    }
  }
  inflateEnd(&zs);
  return out;
}

IdxArray read_idx(const fs::path& file) { return parse_idx(read_file_maybe_gz(file), file.string()); }

IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& where) {
  FLATMIN_CHECK(bytes.size() >= 4, where << ": too short for an IDX header");
  FLATMIN_CHECK(bytes[0] == 0 && bytes[1] == 0, where << ": not an IDX file (bad magic)");
  FLATMIN_CHECK(bytes[2] == 0x08, where << ": IDX data type 0x" << std::hex << int(bytes[2])
                                        << " is not unsigned byte (0x08)");
  const int ndim = bytes[3];
  FLATMIN_CHECK(ndim >= 1 && bytes.size() >= 4 + 4 * size_t(ndim), where << ": truncated IDX header");
  IdxArray a;
  const size_t off = 4 + 4 * size_t(ndim);
  const uint64_t payload = bytes.size() - off;
  uint64_t count = 1;
  for (int d = 0; d < ndim; ++d) {
    a.dims.push_back(be32(&bytes[4 + 4 * d]));
    const auto dim = uint64_t(a.dims.back());
    // The product is compared with the payload size, so it must not wrap (found by fuzzing: dims 65536^4
    // wrapped to 0 and an empty payload was accepted with dims claiming 2^64 bytes).
    FLATMIN_CHECK(dim == 0 || count <= payload / dim,
                  where << ": IDX dimensions multiply to more than the payload's " << payload << " bytes");
    count *= dim;
  }
  FLATMIN_CHECK(payload == count, where << ": IDX payload has " << payload << " bytes, the header says " << count);
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(off), bytes.end());
  return a;
}

void write_idx(const fs::path& file, const IdxArray& a, bool gzip) {
  std::vector<uint8_t> bytes = {0, 0, 0x08, static_cast<uint8_t>(a.dims.size())};
  for (auto d : a.dims) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<uint8_t>((uint64_t(d) >> s) & 0xff));
  }
  bytes.insert(bytes.end(), a.data.begin(), a.data.end());
  common::AtomicFile f(file);
  if (gzip) {
    uLongf len = compressBound(bytes.size()) + 32;
    std::vector<uint8_t> z(len);
    z_stream zs{};
    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = bytes.data();
    zs.avail_in = static_cast<uInt>(bytes.size());
    zs.next_out = z.data();
    zs.avail_out = static_cast<uInt>(z.size());
    deflate(&zs, Z_FINISH);
    z.resize(zs.total_out);
    deflateEnd(&zs);
    f.stream().write(reinterpret_cast<const char*>(z.data()), static_cast<std::streamsize>(z.size()));
  } else {
    f.stream().write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  f.commit();
}

fs::path fashion_mnist_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  const std::string env = env_data_dir();
  if (!env.empty()) {
    if (!find_idx(fs::path(env) / "fashion-mnist", "train-labels-idx1-ubyte").empty()) return fs::path(env) / "fashion-mnist";
    return env;
  }
  return kDebianFashionDir;
}

ImageSet load_fashion_mnist(const std::string& dir_in, bool train) {
  const fs::path dir = fashion_mnist_dir(dir_in);
  const std::string prefix = train ? "train" : "t10k";
  const fs::path img = find_idx(dir, prefix + "-images-idx3-ubyte");
  const fs::path lab = find_idx(dir, prefix + "-labels-idx1-ubyte");
  FLATMIN_CHECK(!img.empty() && !lab.empty(),
                "Fashion-MNIST not found: " << dir.string() << " has no " << prefix << "-images-idx3-ubyte[.gz] / "
                                            << prefix << "-labels-idx1-ubyte[.gz] (install the Debian package "
                                            << "dataset-fashion-mnist, or pass --data-dir / set FLATMIN_DATA_DIR)");
  const auto images = read_idx(img);
  const auto labels = read_idx(lab);
  FLATMIN_CHECK(images.dims.size() == 3 && labels.dims.size() == 1 && images.dims[0] == labels.dims[0],
                img.string() << ": image/label IDX shapes do not match (" << images.dims.size() << "-d images, "
                             << labels.dims.size() << "-d labels)");
  ImageSet s;
  s.name = "fashion_mnist";
  s.n = images.dims[0];
  s.channels = 1;
  s.height = images.dims[1];
  s.width = images.dims[2];
  s.num_classes = 10;
  s.pixels = images.data;
  s.labels.assign(labels.data.begin(), labels.data.end());
  for (auto l : s.labels) FLATMIN_CHECK(l < 10, lab.string() << ": label " << l << " out of range [0, 10)");
  return s;
}

ImageSet load_cifar(const std::string& dir_in, int classes, bool train) {
  FLATMIN_CHECK(classes == 10 || classes == 100, "CIFAR: classes must be 10 or 100, got " << classes);
  const std::string sub = classes == 10 ? "cifar-10-batches-bin" : "cifar-100-binary";
  fs::path dir = dir_in.empty() ? fs::path(env_data_dir()) : fs::path(dir_in);
  FLATMIN_CHECK(!dir.empty(), "CIFAR-" << classes << ": no data folder (pass --data-dir or set FLATMIN_DATA_DIR to the folder "
                                       << "holding " << sub << "/ from the CIFAR binary version, cifar-" << classes
                                       << "-binary.tar.gz of https://www.cs.toronto.edu/~kriz/cifar.html)");
  if (fs::is_directory(dir / sub)) dir = dir / sub;
  std::vector<fs::path> files;
  if (classes == 10) {
    if (train) {
      for (int i = 1; i <= 5; ++i) files.push_back(dir / ("data_batch_" + std::to_string(i) + ".bin"));
    } else {
      files.push_back(dir / "test_batch.bin");
    }
  } else {
    files.push_back(dir / (train ? "train.bin" : "test.bin"));
  }
  ImageSet s;
  s.name = classes == 10 ? "cifar10" : "cifar100";
  s.channels = 3;
  s.height = s.width = 32;
  s.num_classes = classes;
  for (const auto& f : files) {
    FLATMIN_CHECK(exists_file(f), "CIFAR-" << classes << " not found: missing " << f.string() << " (extract cifar-"
                                           << classes << "-binary.tar.gz into the folder given by --data-dir / "
                                           << "FLATMIN_DATA_DIR)");
    append_cifar_records(s, read_file_maybe_gz(f), classes, f.string());
  }
  return s;
}

void append_cifar_records(ImageSet& s, const std::vector<uint8_t>& bytes, int classes, const std::string& where) {
  FLATMIN_CHECK(classes == 10 || classes == 100, "CIFAR: classes must be 10 or 100, got " << classes);
  const size_t label_bytes = classes == 10 ? 1 : 2, rec = label_bytes + 3072;
  FLATMIN_CHECK(!bytes.empty() && bytes.size() % rec == 0,
                where << ": size " << bytes.size() << " is not a multiple of the " << rec << "-byte CIFAR record");
  for (size_t off = 0; off < bytes.size(); off += rec) {
    const int64_t label = bytes[off + label_bytes - 1];  // CIFAR-100: fine label is the second byte
    FLATMIN_CHECK(label < classes, where << ": label " << label << " out of range");
    s.labels.push_back(label);
    s.pixels.insert(s.pixels.end(), bytes.begin() + static_cast<std::ptrdiff_t>(off + label_bytes),
                    bytes.begin() + static_cast<std::ptrdiff_t>(off + rec));
  }
  s.n = static_cast<int64_t>(s.labels.size());
}

ImageSet make_synthetic(const json& o, bool train) {
  const int64_t n = o.value("n", int64_t(256)) / (train ? 1 : 4);
  const int classes = o.value("classes", 4), channels = o.value("channels", 1);
  const int64_t size = o.value("size", int64_t(8));
  const double noise = o.value("noise", 40.0);
  const uint64_t seed = o.value("seed", uint64_t(1));
  FLATMIN_CHECK(n >= 1 && classes >= 2 && channels >= 1 && size >= 1 && std::isfinite(noise) && noise >= 0,
                "synthetic data: need n >= 4, classes >= 2, channels >= 1, size >= 1, noise >= 0");
  ImageSet s;
  s.name = "synthetic";
  s.n = n;
  s.channels = channels;
  s.height = s.width = size;
  s.num_classes = classes;
  const int64_t d = s.image_size();
  std::vector<double> proto(static_cast<size_t>(classes * d));
  Rng pr(mix_seed(seed, 0));
  for (auto& p : proto) p = 40.0 + 175.0 * pr.uniform();
  Rng r(mix_seed(seed, train ? 1 : 2));
  s.pixels.resize(static_cast<size_t>(n * d));
  s.labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const auto c = static_cast<int64_t>(r.below(classes));
    s.labels[i] = c;
    for (int64_t j = 0; j < d; ++j) {
      const double v = proto[c * d + j] + noise * r.normal();
      s.pixels[i * d + j] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
    }
  }
  return s;
}

ImageSet subset(const ImageSet& set, int64_t count, uint64_t seed) {
  if (count <= 0 || count >= set.n) return set;
  std::vector<int64_t> idx(static_cast<size_t>(set.n));
  std::iota(idx.begin(), idx.end(), 0);
  Rng r(mix_seed(seed, 0x5ab5e7));
  shuffle(idx, r);
  idx.resize(static_cast<size_t>(count));
  ImageSet s = set;
  const int64_t d = set.image_size();
  s.n = count;
  s.pixels.resize(static_cast<size_t>(count * d));
  s.labels.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    std::copy_n(set.pixels.begin() + idx[i] * d, d, s.pixels.begin() + i * d);
    s.labels[i] = set.labels[idx[i]];
  }
  return s;
}

json NoiseReport::to_json() const {
  return {{"mode", mode}, {"rate", rate}, {"selected", selected}, {"changed", changed}, {"realised_rate", realised_rate}};
}

NoiseReport apply_label_noise(std::vector<int64_t>& labels, int num_classes, double rate, const std::string& mode,
                              uint64_t seed) {
  FLATMIN_CHECK(std::isfinite(rate) && rate >= 0 && rate <= 1, "label_noise.rate = " << rate << " must be in [0, 1]");
  FLATMIN_CHECK(mode == "official" || mode == "exact",
                "label_noise.mode = '" << mode << "' is not 'official' (new label may equal the old) or 'exact'");
  FLATMIN_CHECK(num_classes >= 2, "label noise needs at least 2 classes");
  NoiseReport rep;
  rep.mode = mode;
  rep.rate = rate;
  const auto n = static_cast<int64_t>(labels.size());
  rep.selected = static_cast<int64_t>(rate * static_cast<double>(n));  // int(p·50000) as the script
  if (rep.selected > 0) {
    std::vector<int64_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    Rng r(mix_seed(seed, 0x1abe1));
    shuffle(idx, r);
    for (int64_t k = 0; k < rep.selected; ++k) {
      auto& l = labels[idx[k]];
      const int64_t old = l;
      if (mode == "official") {
        l = static_cast<int64_t>(r.below(num_classes));  // np.random.randint(0, C): may equal the old label
      } else {
        const auto other = static_cast<int64_t>(r.below(num_classes - 1));
        l = other >= old ? other + 1 : other;
      }
      rep.changed += (l != old);
    }
  }
  rep.realised_rate = n > 0 ? static_cast<double>(rep.changed) / static_cast<double>(n) : 0.0;
  return rep;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  Rng r(mix_seed(mix_seed(seed, 0x07de5), static_cast<uint64_t>(epoch)));
  shuffle(idx, r);
  return idx;
}

void default_normalization(const std::string& dataset, int channels, std::vector<float>& mean, std::vector<float>& std) {
  if (dataset == "cifar10" || dataset == "cifar100") {  // the official scripts (optimizers.md §15.1)
    mean = {0.4914f, 0.4822f, 0.4465f};
    std = {0.2023f, 0.1994f, 0.2010f};
  } else if (dataset == "fashion_mnist") {
    mean = {0.2860f};
    std = {0.3530f};
  } else {
    mean.assign(static_cast<size_t>(channels), 0.5f);
    std.assign(static_cast<size_t>(channels), 0.25f);
  }
}

void make_batch(const ImageSet& set, const int64_t* idx, int64_t count, const Augment& aug, bool train, uint64_t seed,
                int64_t epoch, float* out) {
  const int64_t C = set.channels, H = set.height, W = set.width, d = set.image_size();
  const bool norm = !aug.mean.empty();
  FLATMIN_CHECK(!norm || (int64_t(aug.mean.size()) == C && int64_t(aug.std.size()) == C),
                "normalisation has " << aug.mean.size() << " channels, the data " << C);
  std::vector<float> scale(static_cast<size_t>(C), 1.0f / 255.0f), shift(static_cast<size_t>(C), 0.0f);
  for (int64_t c = 0; c < C && norm; ++c) {
    scale[c] = 1.0f / (255.0f * aug.std[c]);
    shift[c] = -aug.mean[c] / aug.std[c];
  }
  const uint64_t epoch_seed = mix_seed(mix_seed(seed, 0xa06), static_cast<uint64_t>(epoch));
  for (int64_t b = 0; b < count; ++b) {
    const int64_t i = idx[b];
    const uint8_t* src = set.pixels.data() + i * d;
    float* dst = out + b * d;
    int64_t dy = 0, dx = 0;
    bool flip = false;
    if (train && (aug.crop_padding > 0 || aug.hflip)) {
      Rng r(mix_seed(epoch_seed, static_cast<uint64_t>(i)));
      if (aug.crop_padding > 0) {
        const auto span = static_cast<uint64_t>(2 * aug.crop_padding + 1);
        dy = static_cast<int64_t>(r.below(span)) - aug.crop_padding;
        dx = static_cast<int64_t>(r.below(span)) - aug.crop_padding;
      }
      if (aug.hflip) flip = r.uniform() < 0.5;
    }
    for (int64_t c = 0; c < C; ++c) {
      for (int64_t y = 0; y < H; ++y) {
        const int64_t sy = y + dy;
        for (int64_t x = 0; x < W; ++x) {
          const int64_t xx = flip ? W - 1 - x : x;
          const int64_t sx = xx + dx;
          const float v = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? float(src[(c * H + sy) * W + sx]) : 0.0f;
          dst[(c * H + y) * W + x] = v * scale[c] + shift[c];
        }
      }
    }
  }
}

}  // namespace flatmin::data
