#include "experiments/commands/hessian_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <torch/serialize.h>

#include "common/error.h"
#include "common/library_error.h"
#include "common/json_io.h"
#include "common/zip_archive.h"
#include "experiments/data/dataset.h"
#include "experiments/models/models.h"

namespace flatmin::experiments {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;
namespace fh = flatmin::hessian;

std::string read_string(torch::serialize::InputArchive& a, const std::string& key) {
  c10::IValue v;
  a.read(key, v);
  return v.toStringRef();
}

fh::Model wrap(const std::shared_ptr<models::Net>& m) {
  fh::Model out;
  out.forward = [m](const torch::Tensor& x) { return m->forward(x); };
  out.named_parameters = [m] {
    fh::NamedTensors v;
    for (const auto& p : m->named_parameters()) v.emplace_back(p.key(), p.value());
    return v;
  };
  out.set_train = [m](bool t) { m->train(t); };
  out.to_dtype = [m](torch::Dtype d) { m->to(d); };
  out.to_device = [m](torch::Device d) { m->to(d); };
  return out;
}

/// name -> (shape, dtype) of every parameter and buffer.
std::map<std::string, std::pair<std::vector<int64_t>, c10::ScalarType>> layout(const models::Net& net) {
  std::map<std::string, std::pair<std::vector<int64_t>, c10::ScalarType>> out;
  for (const auto& p : net.named_parameters()) out[p.key()] = {p.value().sizes().vec(), p.value().scalar_type()};
  for (const auto& b : net.named_buffers()) out[b.key()] = {b.value().sizes().vec(), b.value().scalar_type()};
  return out;
}

/// Loads `archive` into `net`. Module::load replaces a tensor of another shape silently, so the rebuilt
/// model's layout is compared tensor by tensor afterwards: any difference is an InputError naming it.
void load_matching(models::Net& net, torch::serialize::InputArchive& archive, const std::string& file) {
  const auto want = layout(net);
  net.load(archive);
  const auto got = layout(net);
  for (const auto& [name, w] : want) {
    const auto& g = got.at(name);
    FLATMIN_CHECK(g == w, file << ": tensor '" << name << "' has shape " << c10::IntArrayRef(g.first) << " "
                               << c10::toString(g.second) << " but the model spec gives " << c10::IntArrayRef(w.first)
                               << " " << c10::toString(w.second) << " (weights and model spec do not match)");
  }
}

}  // namespace

CheckpointModel load_training_checkpoint(const std::string& path) {
  FLATMIN_CHECK(!path.empty(), "--checkpoint: empty path");
  fs::path file(path);
  FLATMIN_CHECK(fs::exists(file), "--checkpoint '" << path << "': no such file or directory");
  if (fs::is_directory(file)) {
    file /= "checkpoint.pt";
    FLATMIN_CHECK(fs::exists(file), "--checkpoint '" << path << "': the folder holds no checkpoint.pt (not a flatmin train run?)");
  }
  CheckpointModel out;
  // LibTorch does not verify the archive's CRCs (a damaged weight would load silently): check the container first
  if (auto why = common::zip_file_problem(file.string())) throw common::InputError(file.string() + ": unreadable checkpoint: " + *why);
  torch::serialize::InputArchive a;
  try {
    a.load_from(file.string());
  } catch (const std::exception& e) {
    throw common::InputError(file.string() + ": unreadable checkpoint: " + common::short_library_error(e.what()));
  }
  std::string format;
  try {
    format = read_string(a, "format");
  } catch (const std::exception&) {
    format.clear();  // a Module::save archive (model_final.pt / model_best.pt) has no format tag
  }
  std::shared_ptr<models::Net> net;
  try {
    if (!format.empty()) {
      // format tag, model spec and recipe: the LibTorch-free reader (experiments/models/model_spec.h)
      auto meta = models::read_checkpoint_meta(format, read_string(a, "model_spec"), read_string(a, "config"), file.string());
      out.spec = std::move(meta.model);
      const json& recipe = meta.recipe;
      out.data = train::parse_data_config(recipe.contains("data") ? recipe.at("data") : json::object(),
                                          file.string() + ": recipe data", /*require_dataset=*/false);
      c10::IValue ep;
      a.read("epoch", ep);
      out.info["epoch"] = ep.toInt();
      out.info["kind"] = "training checkpoint";
      net = models::make_model(models::ModelSpec::from_json(out.spec, file.string() + ": model_spec"));
      torch::serialize::InputArchive ma;
      a.read("model", ma);
      load_matching(*net, ma, file.string());
    } else {
      const fs::path mj = file.parent_path() / "model.json";
      FLATMIN_CHECK(fs::exists(mj), file.string() << ": not a flatmin training checkpoint (no format tag) and no model.json next to it");
      // The run folder's config.json (the resolved recipe) when present: it has e.g. synthetic's options.
      const fs::path cj = file.parent_path() / "config.json";
      const bool has_recipe = fs::exists(cj);
      // model.json's keys: the LibTorch-free reader (experiments/models/model_spec.h)
      const models::ModelJson m = models::read_model_json(common::read_json_file(mj), mj.string(), /*read_input=*/!has_recipe);
      out.spec = m.model;
      if (has_recipe) {
        const json recipe = common::read_json_file(cj);
        FLATMIN_CHECK(recipe.is_object() && recipe.contains("data"), cj.string() << ": not a flatmin training recipe (no 'data')");
        out.data = train::parse_data_config(recipe.at("data"), cj.string() + ": data", /*require_dataset=*/false);
      } else {
        json d = {{"normalize", true}};
        if (!m.dataset.empty()) d["dataset"] = m.dataset;
        if (m.mean.empty()) {
          d["normalize"] = false;
        } else {
          d["mean"] = m.mean;
          d["std"] = m.std;
        }
        out.data = train::parse_data_config(d, mj.string(), /*require_dataset=*/false);
      }
      out.info["epoch"] = nullptr;
      out.info["kind"] = "module archive + model.json";
      net = models::make_model(models::ModelSpec::from_json(out.spec, mj.string() + ": model"));
      load_matching(*net, a, file.string());
    }
  } catch (const common::InputError&) {
    throw;
  } catch (const std::exception& e) {
    throw common::InputError(file.string() + ": cannot rebuild the model from the checkpoint: " +
                             common::short_library_error(e.what()));
  }
  net->eval();
  out.model = wrap(net);
  out.info["file"] = file.string();
  out.info["n_params"] = models::parameter_count(*net);
  return out;
}

fh::Dataset load_checkpoint_dataset(const train::DataConfig& d, const json& spec, const CheckpointData& sel, json* info) {
  FLATMIN_CHECK(sel.split == "train" || sel.split == "test", "--split must be train or test, not '" << sel.split << "'");
  FLATMIN_CHECK(sel.subset >= 0, "--subset must be >= 0 (0 = the whole split), got " << sel.subset);
  std::string name = sel.dataset;
  if (name == "checkpoint") {
    FLATMIN_CHECK(!d.dataset.empty(),
                  "--dataset checkpoint: the checkpoint records no dataset; pass --dataset fashion-mnist|synthetic|cifar10|cifar100");
    name = d.dataset;
  }
  if (name == "fashion-mnist") name = "fashion_mnist";
  FLATMIN_CHECK(name == "fashion_mnist" || name == "synthetic" || name == "cifar10" || name == "cifar100",
                "--dataset: unknown dataset '" << sel.dataset << "' (checkpoint | fashion-mnist | synthetic | cifar10 | cifar100)");
  const bool train = sel.split == "train";
  const std::string dir = !sel.data_dir.empty() ? sel.data_dir : d.dir;
  data::ImageSet set;
  if (name == "fashion_mnist") {
    set = data::load_fashion_mnist(dir, train);
  } else if (name == "synthetic") {
    FLATMIN_CHECK(d.synthetic.is_object(), "--dataset synthetic: the checkpoint's recipe has no data.synthetic options");
    set = data::make_synthetic(d.synthetic, train);
  } else {
    set = data::load_cifar(dir, name == "cifar10" ? 10 : 100, train);
  }
  FLATMIN_CHECK(sel.subset <= set.n, "--subset " << sel.subset << " is larger than the " << sel.split << " split of " << name
                                                 << " (" << set.n << " images)");
  const int64_t n = sel.subset == 0 ? set.n : sel.subset;
  if (sel.subset_seed >= 0) set = data::subset(set, n, static_cast<uint64_t>(sel.subset_seed));
  FLATMIN_CHECK(set.channels == spec.value("in_channels", int64_t(-1)) && set.height == spec.value("image_size", int64_t(-1)),
                "--dataset " << name << " has " << set.channels << "x" << set.height << "x" << set.width
                             << " images but the model was built for " << spec.value("in_channels", int64_t(-1)) << " channel(s) at "
                             << spec.value("image_size", int64_t(-1)) << " px");
  FLATMIN_CHECK(set.num_classes <= spec.value("num_classes", int64_t(0)),
                "--dataset " << name << " has " << set.num_classes << " classes but the model outputs " << spec.value("num_classes", 0));
  data::Augment aug;  // no crop, no flip: only the training normalisation
  if (d.normalize) {
    data::default_normalization(name, static_cast<int>(set.channels), aug.mean, aug.std);
    if (d.mean && !d.mean->empty()) aug.mean.assign(d.mean->begin(), d.mean->end());
    if (d.std && !d.std->empty()) aug.std.assign(d.std->begin(), d.std->end());
  }
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  fh::Dataset out;
  out.x = torch::empty({n, set.channels, set.height, set.width}, torch::kFloat32);
  data::make_batch(set, idx.data(), n, aug, /*train=*/false, 0, 0, out.x.data_ptr<float>());
  out.y = torch::from_blob(set.labels.data(), {n}, torch::kInt64).clone();
  if (info) {
    *info = {{"dataset", name}, {"split", sel.split}, {"subset", sel.subset}, {"subset_seed", sel.subset_seed},
             {"n_samples", n}, {"augmentation", "none"}, {"labels", "clean"},
             {"normalize", {{"mean", aug.mean}, {"std", aug.std}}}};
  }
  return out;
}

}  // namespace flatmin::experiments
