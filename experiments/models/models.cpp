#include "experiments/models/models.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <torch/nn.h>

#include "common/error.h"
#include "common/nearest.h"
#include "experiments/models/sync_batchnorm.h"
#include "experiments/models/torchscript.h"

namespace flatmin::models {

namespace nn = torch::nn;
namespace F = torch::nn::functional;
using nlohmann::json;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride = 1, int64_t pad = -1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, k).stride(stride).padding(pad < 0 ? k / 2 : pad).bias(false));
}

// ---- kuangliu/pytorch-cifar ResNet (the MIAdam / DualAdam repositories' r18, r50) -----------------

struct BasicBlockImpl : nn::Module {
  static constexpr int64_t kExpansion = 1;
  nn::Conv2d c1{nullptr}, c2{nullptr};
  SyncableBatchNorm2d b1{nullptr}, b2{nullptr};
  nn::Sequential shortcut;
  BasicBlockImpl(int64_t in, int64_t planes, int64_t stride) {
    c1 = register_module("conv1", conv(in, planes, 3, stride));
    b1 = register_module("bn1", SyncableBatchNorm2d(planes));
    c2 = register_module("conv2", conv(planes, planes, 3, 1));
    b2 = register_module("bn2", SyncableBatchNorm2d(planes));
    if (stride != 1 || in != planes) {
      shortcut->push_back(conv(in, planes, 1, stride, 0));
      shortcut->push_back(SyncableBatchNorm2d(planes));
    }
    register_module("shortcut", shortcut);
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = torch::relu(b1(c1(x)));
    out = b2(c2(out));
    out = out + (shortcut->is_empty() ? x : shortcut->forward(x));
    return torch::relu(out);
  }
};
TORCH_MODULE(BasicBlock);

struct BottleneckImpl : nn::Module {
  static constexpr int64_t kExpansion = 4;
  nn::Conv2d c1{nullptr}, c2{nullptr}, c3{nullptr};
  SyncableBatchNorm2d b1{nullptr}, b2{nullptr}, b3{nullptr};
  nn::Sequential shortcut;
  BottleneckImpl(int64_t in, int64_t planes, int64_t stride) {
    c1 = register_module("conv1", conv(in, planes, 1, 1, 0));
    b1 = register_module("bn1", SyncableBatchNorm2d(planes));
    c2 = register_module("conv2", conv(planes, planes, 3, stride));
    b2 = register_module("bn2", SyncableBatchNorm2d(planes));
    c3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0));
    b3 = register_module("bn3", SyncableBatchNorm2d(planes * kExpansion));
    if (stride != 1 || in != planes * kExpansion) {
      shortcut->push_back(conv(in, planes * kExpansion, 1, stride, 0));
      shortcut->push_back(SyncableBatchNorm2d(planes * kExpansion));
    }
    register_module("shortcut", shortcut);
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = torch::relu(b1(c1(x)));
    out = torch::relu(b2(c2(out)));
    out = b3(c3(out));
    out = out + (shortcut->is_empty() ? x : shortcut->forward(x));
    return torch::relu(out);
  }
};
TORCH_MODULE(Bottleneck);

/// ResNet with a 3×3 stride-1 stem, no max-pool, stages of `blocks` at `widths` (strides 1,2,2,…),
/// global average pooling (= kuangliu's avg_pool2d(4) at 32×32 input) and a linear head.
template <class Block>
class ResNet : public Net {
 public:
  ResNet(int64_t in_ch, int64_t classes, std::vector<int64_t> widths, std::vector<int64_t> blocks) {
    FLATMIN_CHECK(widths.size() == blocks.size() && !widths.empty(), "resnet: 'widths' and 'blocks' must have equal, non-zero length");
    int64_t in = widths[0];
    stem_ = register_module("conv1", conv(in_ch, in, 3, 1));
    bn_ = register_module("bn1", SyncableBatchNorm2d(in));
    for (size_t s = 0; s < widths.size(); ++s) {
      nn::Sequential layer;
      for (int64_t b = 0; b < blocks[s]; ++b) {
        const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
        layer->push_back(Block(in, widths[s], stride));
        in = widths[s] * Block::Impl::kExpansion;
      }
      layers_.push_back(register_module("layer" + std::to_string(s + 1), layer));
    }
    fc_ = register_module("linear", nn::Linear(in, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto out = torch::relu(bn_(stem_(x)));
    for (auto& l : layers_) out = l->forward(out);
    out = F::adaptive_avg_pool2d(out, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return fc_(out);
  }

 private:
  nn::Conv2d stem_{nullptr};
  SyncableBatchNorm2d bn_{nullptr};
  std::vector<nn::Sequential> layers_;
  nn::Linear fc_{nullptr};
};

// ---- kuangliu DenseNet (MIAdam's dense121: Bottleneck, [6,12,24,16], growth 32, reduction 0.5) ----

struct DenseLayerImpl : nn::Module {
  SyncableBatchNorm2d b1{nullptr}, b2{nullptr};
  nn::Conv2d c1{nullptr}, c2{nullptr};
  DenseLayerImpl(int64_t in, int64_t growth) {
    b1 = register_module("bn1", SyncableBatchNorm2d(in));
    c1 = register_module("conv1", conv(in, 4 * growth, 1, 1, 0));
    b2 = register_module("bn2", SyncableBatchNorm2d(4 * growth));
    c2 = register_module("conv2", conv(4 * growth, growth, 3, 1));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = c1(torch::relu(b1(x)));
    out = c2(torch::relu(b2(out)));
    return torch::cat({out, x}, 1);
  }
};
TORCH_MODULE(DenseLayer);

struct TransitionImpl : nn::Module {
  SyncableBatchNorm2d bn{nullptr};
  nn::Conv2d c{nullptr};
  TransitionImpl(int64_t in, int64_t out) {
    bn = register_module("bn", SyncableBatchNorm2d(in));
    c = register_module("conv", conv(in, out, 1, 1, 0));
  }
  torch::Tensor forward(torch::Tensor x) { return F::avg_pool2d(c(torch::relu(bn(x))), F::AvgPool2dFuncOptions(2)); }
};
TORCH_MODULE(Transition);

class DenseNet : public Net {
 public:
  DenseNet(int64_t in_ch, int64_t classes, std::vector<int64_t> blocks, int64_t growth, double reduction) {
    int64_t planes = 2 * growth;
    conv1_ = register_module("conv1", conv(in_ch, planes, 3, 1));
    for (size_t s = 0; s < blocks.size(); ++s) {
      nn::Sequential dense;
      for (int64_t i = 0; i < blocks[s]; ++i) {
        dense->push_back(DenseLayer(planes, growth));
        planes += growth;
      }
      dense_.push_back(register_module("dense" + std::to_string(s + 1), dense));
      if (s + 1 < blocks.size()) {
        const auto out = static_cast<int64_t>(std::floor(static_cast<double>(planes) * reduction));
        trans_.push_back(register_module("trans" + std::to_string(s + 1), Transition(planes, out)));
        planes = out;
      }
    }
    bn_ = register_module("bn", SyncableBatchNorm2d(planes));
    fc_ = register_module("linear", nn::Linear(planes, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto out = conv1_(x);
    for (size_t s = 0; s < dense_.size(); ++s) {
      out = dense_[s]->forward(out);
      if (s < trans_.size()) out = trans_[s]->forward(out);
    }
    out = F::adaptive_avg_pool2d(torch::relu(bn_(out)), F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return fc_(out);
  }

 private:
  nn::Conv2d conv1_{nullptr};
  std::vector<nn::Sequential> dense_;
  std::vector<Transition> trans_;
  SyncableBatchNorm2d bn_{nullptr};
  nn::Linear fc_{nullptr};
};

// ---- PyramidNet (dyhan0920/PyramidNet-PyTorch; MIAdam's PRN: depth 110, alpha 64, basic blocks) -----

struct PyramidBlockImpl : nn::Module {
  SyncableBatchNorm2d b1{nullptr}, b2{nullptr}, b3{nullptr};
  nn::Conv2d c1{nullptr}, c2{nullptr};
  bool downsample;
  PyramidBlockImpl(int64_t in, int64_t planes, int64_t stride) : downsample(stride != 1) {
    b1 = register_module("bn1", SyncableBatchNorm2d(in));
    c1 = register_module("conv1", conv(in, planes, 3, stride));
    b2 = register_module("bn2", SyncableBatchNorm2d(planes));
    c2 = register_module("conv2", conv(planes, planes, 3, 1));
    b3 = register_module("bn3", SyncableBatchNorm2d(planes));
  }
  torch::Tensor forward(torch::Tensor x) {
    auto out = b3(c2(torch::relu(b2(c1(b1(x))))));
    auto shortcut = downsample ? F::avg_pool2d(x, F::AvgPool2dFuncOptions(2).stride(2).ceil_mode(true)) : x;
    const int64_t extra = out.size(1) - shortcut.size(1);
    if (extra > 0) {  // zero-padded channels, as the reference implementation (a pad: batch size free when traced)
      shortcut = F::pad(shortcut, F::PadFuncOptions({0, 0, 0, 0, 0, extra}));
    }
    return out + shortcut;
  }
};
TORCH_MODULE(PyramidBlock);

class PyramidNet : public Net {
 public:
  PyramidNet(int64_t in_ch, int64_t classes, int64_t depth, double alpha) {
    FLATMIN_CHECK(depth >= 8 && (depth - 2) % 6 == 0, "pyramidnet: depth = " << depth << " must be 6n+2 (basic blocks)");
    const int64_t n = (depth - 2) / 6;
    const double addrate = alpha / (3.0 * static_cast<double>(n));
    int64_t in = 16;
    double dim = 16.0;
    conv1_ = register_module("conv1", conv(in_ch, 16, 3, 1));
    bn1_ = register_module("bn1", SyncableBatchNorm2d(16));
    for (int s = 0; s < 3; ++s) {
      nn::Sequential layer;
      for (int64_t b = 0; b < n; ++b) {
        dim += addrate;
        const auto planes = static_cast<int64_t>(std::nearbyint(dim));  // Python round(): half to even
        layer->push_back(PyramidBlock(in, planes, (b == 0 && s > 0) ? 2 : 1));
        in = planes;
      }
      layers_.push_back(register_module("layer" + std::to_string(s + 1), layer));
    }
    bn_final_ = register_module("bn_final", SyncableBatchNorm2d(in));
    fc_ = register_module("fc", nn::Linear(in, classes));
    for (auto& m : modules(false)) {  // the reference init: conv N(0, 2/(k·k·out)), BN (1, 0)
      if (auto* c = m->as<nn::Conv2d>()) {
        const auto& k = c->options.kernel_size();
        const double fan = static_cast<double>((*k)[0] * (*k)[1] * c->options.out_channels());
        torch::NoGradGuard g;
        c->weight.normal_(0.0, std::sqrt(2.0 / fan));
      } else if (auto* bn = m->as<SyncableBatchNorm2d>()) {
        torch::NoGradGuard g;
        bn->weight.fill_(1.0);
        bn->bias.zero_();
      }
    }
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto out = bn1_(conv1_(x));
    for (auto& l : layers_) out = l->forward(out);
    out = torch::relu(bn_final_(out));
    out = F::adaptive_avg_pool2d(out, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return fc_(out);
  }

 private:
  nn::Conv2d conv1_{nullptr};
  SyncableBatchNorm2d bn1_{nullptr}, bn_final_{nullptr};
  std::vector<nn::Sequential> layers_;
  nn::Linear fc_{nullptr};
};

// ---- kuangliu VGG16 with BatchNorm ---------------------------------------------------------------

class VGG : public Net {
 public:
  VGG(int64_t in_ch, int64_t image_size, int64_t classes) {
    FLATMIN_CHECK(image_size % 32 == 0, "vgg16_bn: image_size = " << image_size << " must be a multiple of 32 (five 2×2 max-pools)");
    const std::vector<int64_t> cfg = {64, 64, -1, 128, 128, -1, 256, 256, 256, -1, 512, 512, 512, -1, 512, 512, 512, -1};
    int64_t in = in_ch;
    for (auto c : cfg) {
      if (c < 0) {
        features_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
      } else {
        features_->push_back(nn::Conv2d(nn::Conv2dOptions(in, c, 3).padding(1)));
        features_->push_back(SyncableBatchNorm2d(c));
        features_->push_back(nn::ReLU(nn::ReLUOptions(true)));
        in = c;
      }
    }
    register_module("features", features_);
    const int64_t side = image_size / 32;  // Linear(512) at 32×32 (CIFAR), Linear(2048) at 64×64 (DualAdam's Tiny-ImageNet)
    fc_ = register_module("classifier", nn::Linear(512 * side * side, classes));
  }
  torch::Tensor forward(torch::Tensor x) override { return fc_(features_->forward(x).flatten(1)); }

 private:
  nn::Sequential features_;
  nn::Linear fc_{nullptr};
};

// ---- ViT (timm-style, as DualAdam's vits4: patch 4, dim 384, depth 8, heads 8, mlp 4, qkv bias) ----

struct ViTBlockImpl : nn::Module {
  nn::LayerNorm n1{nullptr}, n2{nullptr};
  nn::Linear qkv{nullptr}, proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  int64_t heads;
  ViTBlockImpl(int64_t dim, int64_t heads_, double mlp_ratio) : heads(heads_) {
    n1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)));
    qkv = register_module("qkv", nn::Linear(nn::LinearOptions(dim, 3 * dim).bias(true)));
    proj = register_module("proj", nn::Linear(dim, dim));
    n2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)));
    const auto hidden = static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio);
    fc1 = register_module("fc1", nn::Linear(dim, hidden));
    fc2 = register_module("fc2", nn::Linear(hidden, dim));
  }
  torch::Tensor forward(torch::Tensor x) {
    // -1, not x.size(0): a traced forward (experiments/models/torchscript.h) keeps the batch size free
    const int64_t N = x.size(1), C = x.size(2), hd = C / heads;
    auto t = qkv(n1(x)).reshape({-1, N, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    auto q = t[0], k = t[1], v = t[2];
    auto attn = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(double(hd))), -1);
    auto a = torch::matmul(attn, v).transpose(1, 2).reshape({-1, N, C});
    x = x + proj(a);
    return x + fc2(F::gelu(fc1(n2(x))));
  }
};
TORCH_MODULE(ViTBlock);

class ViT : public Net {
 public:
  ViT(int64_t in_ch, int64_t image_size, int64_t classes, int64_t patch, int64_t dim, int64_t depth, int64_t heads,
      double mlp_ratio) {
    FLATMIN_CHECK(patch >= 1 && image_size % patch == 0, "vit: image_size = " << image_size << " is not a multiple of patch = " << patch);
    FLATMIN_CHECK(heads >= 1 && dim % heads == 0, "vit: dim = " << dim << " is not a multiple of heads = " << heads);
    const int64_t np = (image_size / patch) * (image_size / patch);
    patch_ = register_module("patch_embed", nn::Conv2d(nn::Conv2dOptions(in_ch, dim, patch).stride(patch)));
    cls_ = register_parameter("cls_token", torch::zeros({1, 1, dim}).normal_(0.0, 0.02));
    pos_ = register_parameter("pos_embed", torch::zeros({1, np + 1, dim}).normal_(0.0, 0.02));
    for (int64_t i = 0; i < depth; ++i) blocks_->push_back(ViTBlock(dim, heads, mlp_ratio));
    register_module("blocks", blocks_);
    norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({dim}).eps(1e-6)));
    head_ = register_module("head", nn::Linear(dim, classes));
    for (auto& m : modules(false)) {  // timm: Linear trunc_normal(std .02) (±2 absolute ⇒ a plain normal), bias 0
      if (auto* l = m->as<nn::Linear>()) {
        torch::NoGradGuard g;
        l->weight.normal_(0.0, 0.02);
        l->bias.zero_();
      }
    }
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto t = patch_(x).flatten(2).transpose(1, 2);
    t = torch::cat({cls_.expand_as(t.narrow(1, 0, 1)), t}, 1) + pos_;  // expand_as: batch size free when traced
    t = norm_(blocks_->forward(t));
    return head_(t.select(1, 0));
  }

 private:
  nn::Conv2d patch_{nullptr};
  torch::Tensor cls_, pos_;
  nn::Sequential blocks_;
  nn::LayerNorm norm_{nullptr};
  nn::Linear head_{nullptr};
};

// ---- small CNN ---------------------------------------------------------------------------------------

class SmallCNN : public Net {
 public:
  SmallCNN(int64_t in_ch, int64_t image_size, int64_t classes, int64_t w1, int64_t w2, int64_t hidden) {
    FLATMIN_CHECK(image_size >= 4, "small_cnn: image_size must be >= 4");
    c1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in_ch, w1, 3).padding(1)));
    c2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(w1, w2, 3).padding(1)));
    const int64_t side = image_size / 4;
    fc1_ = register_module("fc1", nn::Linear(w2 * side * side, hidden));
    fc2_ = register_module("fc2", nn::Linear(hidden, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    auto out = F::max_pool2d(torch::relu(c1_(x)), F::MaxPool2dFuncOptions(2));
    out = F::max_pool2d(torch::relu(c2_(out)), F::MaxPool2dFuncOptions(2));
    return fc2_(torch::relu(fc1_(out.flatten(1))));
  }

 private:
  nn::Conv2d c1_{nullptr}, c2_{nullptr};
  nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

/// A model option that is a size or a count: an integer in [1, 1e6], else InputError naming model and key.
int64_t pos_int_value(const json& v, const std::string& model, const std::string& key) {
  constexpr int64_t kMax = 1000000;
  FLATMIN_CHECK(v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()),
                "model '" << model << "': options." << key << " = " << v.dump() << " must be an integer");
  const double d = v.get<double>();
  FLATMIN_CHECK(d >= 1 && d <= kMax, "model '" << model << "': options." << key << " = " << v.dump() << " must be in [1, " << kMax
                                                << "]");
  return static_cast<int64_t>(d);
}

int64_t pos_int(const json& o, const std::string& model, const char* key, int64_t def) {
  return o.contains(key) ? pos_int_value(o.at(key), model, key) : def;
}

/// A real model option that must be finite and > 0 (<= hi).
double pos_real(const json& o, const std::string& model, const char* key, double def, double hi) {
  if (!o.contains(key)) return def;
  const json& v = o.at(key);
  FLATMIN_CHECK(v.is_number(), "model '" << model << "': options." << key << " = " << v.dump() << " must be a number");
  const double d = v.get<double>();
  FLATMIN_CHECK(std::isfinite(d) && d > 0 && d <= hi, "model '" << model << "': options." << key << " = " << v.dump()
                                                                    << " must be in (0, " << hi << "]");
  return d;
}

std::vector<int64_t> ints(const json& o, const std::string& model, const char* key, std::vector<int64_t> def) {
  if (!o.contains(key)) return def;
  const json& v = o.at(key);
  FLATMIN_CHECK(v.is_array() && !v.empty(), "model '" << model << "': options." << key << " must be a non-empty array of integers");
  std::vector<int64_t> out;
  for (const auto& x : v) out.push_back(pos_int_value(x, model, key));
  return out;
}

}  // namespace

std::shared_ptr<Net> make_model(const ModelSpec& spec) {
  FLATMIN_CHECK(spec.in_channels >= 1 && spec.image_size >= 1 && spec.num_classes >= 2,
                "model '" << spec.name << "': need in_channels >= 1, image_size >= 1, num_classes >= 2");
  const json& o = spec.options;
  check_model_options(spec.name, o);  // strict options: a typo'd key is an InputError naming the nearest valid one
  ModelSpec s = spec;
  if (s.name == "torchscript") {  // a user's module (experiments/models/torchscript.h); the caller checks its output
    FLATMIN_CHECK(o.contains("path") && o.at("path").is_string(), "model 'torchscript': options.path (a string) is required");
    return load_torchscript_net(o.at("path").get<std::string>());
  }
  try {
    // DualAdam's scripts build every head 1000-way, also for CIFAR (optimizers.md §15.4): "head_classes": 1000
    s.num_classes = pos_int(o, s.name, "head_classes", spec.num_classes);
    FLATMIN_CHECK(s.num_classes >= spec.num_classes, "model '" << s.name << "': head_classes = " << s.num_classes
                                                               << " is smaller than the dataset's " << spec.num_classes << " classes");
    if (s.name == "small_resnet") {
      return std::make_shared<ResNet<BasicBlock>>(s.in_channels, s.num_classes, ints(o, s.name, "widths", {16, 32, 64}),
                                                  ints(o, s.name, "blocks", {1, 1, 1}));
    }
    if (s.name == "resnet18") {
      return std::make_shared<ResNet<BasicBlock>>(s.in_channels, s.num_classes, std::vector<int64_t>{64, 128, 256, 512},
                                                  ints(o, s.name, "blocks", {2, 2, 2, 2}));
    }
    if (s.name == "resnet50") {
      return std::make_shared<ResNet<Bottleneck>>(s.in_channels, s.num_classes, std::vector<int64_t>{64, 128, 256, 512},
                                                  ints(o, s.name, "blocks", {3, 4, 6, 3}));
    }
    if (s.name == "densenet121") {
      return std::make_shared<DenseNet>(s.in_channels, s.num_classes, ints(o, s.name, "blocks", {6, 12, 24, 16}),
                                        pos_int(o, s.name, "growth", 32), pos_real(o, s.name, "reduction", 0.5, 1.0));
    }
    if (s.name == "pyramidnet110") {
      return std::make_shared<PyramidNet>(s.in_channels, s.num_classes, pos_int(o, s.name, "depth", 110), pos_real(o, s.name, "alpha", 64.0, 1e6));
    }
    if (s.name == "vgg16_bn") return std::make_shared<VGG>(s.in_channels, s.image_size, s.num_classes);
    if (s.name == "vit") {
      return std::make_shared<ViT>(s.in_channels, s.image_size, s.num_classes, pos_int(o, s.name, "patch", 4),
                                   pos_int(o, s.name, "dim", 384), pos_int(o, s.name, "depth", 8), pos_int(o, s.name, "heads", 8),
                                   pos_real(o, s.name, "mlp_ratio", 4.0, 1e3));
    }
    if (s.name == "small_cnn") {
      return std::make_shared<SmallCNN>(s.in_channels, s.image_size, s.num_classes, pos_int(o, s.name, "width1", 16),
                                        pos_int(o, s.name, "width2", 32), pos_int(o, s.name, "hidden", 64));
    }
  } catch (const json::exception& e) {
    throw common::InputError("model '" + s.name + "': bad options: " + e.what());
  }
  throw common::InputError(common::unknown_name_message("model", s.name, model_names()));
}

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace flatmin::models
