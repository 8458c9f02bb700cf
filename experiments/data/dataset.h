#pragma once
/// \file
/// Image-classification data without LibTorch: IDX (.gz) and CIFAR binary readers, synthetic tasks,
/// symmetric label noise, the seeded data order and the augmentation (random crop with padding,
/// horizontal flip, normalisation) into a float buffer. Everything here is deterministic given its
/// seeds, so a resumed run sees exactly the batches an uninterrupted run would (docs/training.md).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::data {

/// N images of C×H×W uint8 pixels (row-major N,C,H,W) with integer labels in [0, num_classes).
struct ImageSet {
  std::string name;
  int64_t n = 0, channels = 0, height = 0, width = 0;
  int num_classes = 0;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  int64_t image_size() const { return channels * height * width; }
};

/// One IDX array (the MNIST file format): dimensions and uint8 payload.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

/// Reads a whole file; transparently gunzips when it starts with the gzip magic (zlib).
/// InputError names the file when it is missing, unreadable or a corrupt gzip stream.
std::vector<uint8_t> read_file_maybe_gz(const std::filesystem::path& file);
/// In-memory half of read_file_maybe_gz: `raw` gunzipped when it starts with the gzip magic, else
/// unchanged; InputError naming `where` for a corrupt or truncated stream.
std::vector<uint8_t> gunzip_maybe(std::vector<uint8_t> raw, const std::string& where);
/// In-memory half of read_idx (bytes already gunzipped); InputError naming `where`.
IdxArray parse_idx(const std::vector<uint8_t>& bytes, const std::string& where);
/// Appends the CIFAR-10/100 binary records in `bytes` (already gunzipped) to `s`; InputError naming
/// `where` for a size that is not a whole number of records or a label out of range.
void append_cifar_records(ImageSet& s, const std::vector<uint8_t>& bytes, int classes, const std::string& where);

/// Parses an IDX file of unsigned bytes (type 0x08); InputError on a bad magic, type or size.
IdxArray read_idx(const std::filesystem::path& file);

/// Writes an IDX ubyte file (gzip-compressed when `gzip`); used by the tests and tools.
void write_idx(const std::filesystem::path& file, const IdxArray& array, bool gzip);

/// Folder of the Fashion-MNIST IDX files: `dir` if non-empty, else $FLATMIN_DATA_DIR/fashion-mnist or
/// $FLATMIN_DATA_DIR when it holds the files, else Debian's dataset-fashion-mnist folder.
std::filesystem::path fashion_mnist_dir(const std::string& dir);

/// Fashion-MNIST train (60,000) or test (10,000) images, 1×28×28, 10 classes. InputError naming the
/// folder and the Debian package `dataset-fashion-mnist` when the files are missing.
ImageSet load_fashion_mnist(const std::string& dir, bool train);

/// CIFAR-10 (classes 10) or CIFAR-100 (classes 100, fine labels) from the binary distribution
/// (cifar-10-batches-bin/data_batch_{1..5}.bin, test_batch.bin; cifar-100-binary/train.bin, test.bin);
/// `dir` (or $FLATMIN_DATA_DIR) may be the extracted folder or its parent.
ImageSet load_cifar(const std::string& dir, int classes, bool train);

/// A learnable synthetic task: one random prototype image per class plus per-image Gaussian noise
/// (options: n, classes, channels, size, noise, seed). Train and test share the prototypes.
ImageSet make_synthetic(const nlohmann::json& options, bool train);

/// Keeps the first `count` images of a seeded permutation (count <= 0 or >= n keeps all).
ImageSet subset(const ImageSet& set, int64_t count, uint64_t seed);

/// Symmetric label noise.
/// - "official" (default; MIAdam's train_cifar10_label_noise.py): int(rate·n) distinct images chosen by a
///   random shuffle get a label drawn uniformly from all classes, so it may equal the old one and the
///   expected corruption is rate·(1 − 1/C) (0.9·rate on CIFAR-10).
/// - "exact": the same int(rate·n) images get a label drawn uniformly from the other C − 1 classes, so
///   exactly int(rate·n) labels change.
struct NoiseReport {
  std::string mode;
  double rate = 0;           ///< requested p
  int64_t selected = 0;      ///< images that received a redrawn label
  int64_t changed = 0;       ///< labels that differ from the clean ones
  double realised_rate = 0;  ///< changed / n
  nlohmann::json to_json() const;
};
NoiseReport apply_label_noise(std::vector<int64_t>& labels, int num_classes, double rate, const std::string& mode,
                              uint64_t seed);

/// The training order of epoch `epoch` (1-based): a permutation of [0, n) that depends only on
/// (seed, epoch), so a run resumed at an epoch boundary replays it exactly.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch);

/// Augmentation and normalisation (torchvision order: pad+crop and flip on pixels, then
/// ToTensor (/255) and Normalize).
struct Augment {
  int crop_padding = 0;  ///< RandomCrop(size, padding) with zero fill; 0 = off
  bool hflip = false;    ///< RandomHorizontalFlip(0.5)
  std::vector<float> mean, std;  ///< per channel; empty = no normalisation
};

/// Default normalisation constants of a dataset ("fashion_mnist", "cifar10", "cifar100", …).
void default_normalization(const std::string& dataset, int channels, std::vector<float>& mean, std::vector<float>& std);

/// Writes `count` images (indices `idx`) as float N×C×H×W into `out`. `train` enables augmentation;
/// the random crop/flip of image i in epoch e depends only on (seed, e, i).
void make_batch(const ImageSet& set, const int64_t* idx, int64_t count, const Augment& aug, bool train,
                uint64_t seed, int64_t epoch, float* out);

/// splitmix64 mixing (the seeding primitive used above, exposed for the trainer).
uint64_t mix_seed(uint64_t a, uint64_t b);

}  // namespace flatmin::data
