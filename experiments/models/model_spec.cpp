#include "experiments/models/model_spec.h"

#include <algorithm>
#include <map>

#include "common/config.h"
#include "common/error.h"
#include "common/json_io.h"
#include "common/limits.h"
#include "common/nearest.h"

namespace flatmin::models {

using nlohmann::json;

namespace {

/// Each model's option keys (make_model reads them; a key not listed is an error naming the nearest one).
const std::map<std::string, std::vector<std::string>>& known_options() {
  static const std::map<std::string, std::vector<std::string>> m = {
      {"small_resnet", {"head_classes", "widths", "blocks"}}, {"resnet18", {"head_classes", "blocks"}},
      {"resnet50", {"head_classes", "blocks"}},               {"densenet121", {"head_classes", "blocks", "growth", "reduction"}},
      {"pyramidnet110", {"head_classes", "depth", "alpha"}},  {"vgg16_bn", {"head_classes"}},
      {"vit", {"head_classes", "patch", "dim", "depth", "heads", "mlp_ratio"}},
      {"small_cnn", {"head_classes", "width1", "width2", "hidden"}}, {"torchscript", {"path"}}};
  return m;
}

/// A required integer in [lo, hi].
int64_t required_integer(common::ConfigReader& r, const std::string& key, int64_t lo, int64_t hi) {
  FLATMIN_CHECK(r.has(key), r.where() << ": missing required key '" << key << "' (an integer)");
  return r.integer(key, 0, lo, hi);
}

}  // namespace

json ModelSpec::to_json() const {
  return {{"name", name}, {"in_channels", in_channels}, {"image_size", image_size}, {"num_classes", num_classes},
          {"options", options}};
}

ModelSpec ModelSpec::from_json(const json& j, const std::string& where) {
  common::ConfigReader r(j, where);
  ModelSpec s;
  s.name = r.string("name");
  s.in_channels = required_integer(r, "in_channels", 1, common::limits::kChannels);
  s.image_size = required_integer(r, "image_size", 1, common::limits::kImageSize);
  s.num_classes = required_integer(r, "num_classes", kMinClasses, common::limits::kClasses);
  s.options = r.object("options");  // {} when absent
  r.finish();
  check_model_options(s.name, s.options, where + ": ");
  return s;
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& [name, keys] : known_options()) out.push_back(name);
  return out;  // sorted (a std::map)
}

void check_model_options(const std::string& name, const json& options, const std::string& prefix) {
  FLATMIN_CHECK(options.is_object(), prefix << "model '" << name << "': options must be an object");
  const auto it = known_options().find(name);
  if (it == known_options().end()) {
    throw common::InputError(prefix + common::unknown_name_message("model", name, model_names()));
  }
  const auto& ks = it->second;
  for (const auto& [k, v] : options.items()) {
    if (std::find(ks.begin(), ks.end(), k) == ks.end()) {
      throw common::InputError(prefix + "model '" + name + "': " + common::unknown_name_message("option", k, ks));
    }
  }
}

ModelJson read_model_json(const json& j, const std::string& where, bool read_input) {
  FLATMIN_CHECK(j.contains("model"), where << ": no 'model' entry");
  ModelJson out;
  out.model = j.at("model");
  if (!read_input) return out;
  common::ConfigReader r(j, where);
  r.allow({"model", "format", "torchscript", "weights", "about", "notes"});  // the keys flatmin train writes
  out.dataset = r.string("dataset", "");
  const json& input = r.object("input");
  r.finish();
  common::ConfigReader in(input, where + ": input");
  out.mean = in.numbers("mean", {});
  out.std = in.numbers("std", {});
  in.finish();
  return out;
}

CheckpointMeta read_checkpoint_meta(const std::string& format, const std::string& model_spec_text,
                                    const std::string& config_text, const std::string& where) {
  FLATMIN_CHECK(format == kTrainCheckpointFormat, where << ": unknown checkpoint format '" << format << "' (expected "
                                                        << kTrainCheckpointFormat << ")");
  CheckpointMeta out;
  out.model = common::parse_json_text(model_spec_text, where + ": model_spec");
  out.recipe = common::parse_json_text(config_text, where + ": config");
  FLATMIN_CHECK(out.recipe.is_object(), where << ": the checkpoint's recipe is not a JSON object");
  return out;
}

}  // namespace flatmin::models
