// The LibTorch-free readers of model specs, model.json and checkpoint metadata
// (experiments/models/model_spec.h): what they accept and the exact message of each rejection.
// Built into flatmin_spec_tests (tests/CMakeLists.txt), also without LibTorch; that make_model builds
// every name of model_names() is checked in train_test.cpp.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "experiments/models/model_spec.h"

namespace flatmin::test {
namespace {

using nlohmann::json;
namespace fm = flatmin::models;

json small_cnn() {
  return {{"name", "small_cnn"}, {"in_channels", 1}, {"image_size", 28}, {"num_classes", 10},
          {"options", {{"width1", 4}, {"hidden", 8}}}};
}

/// model.json as `flatmin train` writes it.
json model_json() {
  return {{"model", small_cnn()},
          {"weights", {{"final", "model_final.pt"}, {"best", "model_best.pt"}}},
          {"format", "torch::serialize::OutputArchive of the module"},
          {"torchscript", {{"file", "model.pt"}, {"weights", "final"}}},
          {"input", {{"mean", {0.286}}, {"std", {0.353}}}},
          {"dataset", "fashion_mnist"}};
}

/// The InputError message of f(); "" when it does not throw.
std::string message(const std::function<void()>& f) {
  try {
    f();
  } catch (const common::InputError& e) {
    return e.what();
  }
  return "";
}

std::string spec_message(const std::function<void(json&)>& edit) {
  json j = small_cnn();
  edit(j);
  return message([&] { (void)fm::ModelSpec::from_json(j, "model.json: model"); });
}

TEST(ModelSpec, RoundTrips) {
  const auto s = fm::ModelSpec::from_json(small_cnn());
  EXPECT_EQ(s.name, "small_cnn");
  EXPECT_EQ(s.in_channels, 1);
  EXPECT_EQ(s.image_size, 28);
  EXPECT_EQ(s.num_classes, 10);
  EXPECT_EQ(s.options["width1"].get<int>(), 4);
  EXPECT_EQ(s.to_json(), small_cnn());
  json no_options = small_cnn();
  no_options.erase("options");
  EXPECT_EQ(fm::ModelSpec::from_json(no_options).options, json::object());
  json integral_float = small_cnn();
  integral_float["image_size"] = 28.0;  // JSON writers may emit integral floats
  EXPECT_EQ(fm::ModelSpec::from_json(integral_float).image_size, 28);
}

TEST(ModelSpec, NamesTheKeyAndTheExpectedType) {
  const std::string w = "model.json: model";
  EXPECT_EQ(message([] { (void)fm::ModelSpec::from_json(json::array(), "m"); }), "m: must be a JSON object, got []");
  EXPECT_EQ(spec_message([](json& j) { j.erase("name"); }), w + ": missing required key 'name' (a string)");
  EXPECT_EQ(spec_message([](json& j) { j["name"] = 3; }), w + ": 'name' must be a string, got 3");
  EXPECT_EQ(spec_message([](json& j) { j.erase("in_channels"); }), w + ": missing required key 'in_channels' (an integer)");
  EXPECT_EQ(spec_message([](json& j) { j["image_size"] = "28"; }), w + ": 'image_size' must be an integer, got \"28\"");
  EXPECT_EQ(spec_message([](json& j) { j["num_classes"] = 2.5; }), w + ": 'num_classes' must be an integer, got 2.5");
  EXPECT_EQ(spec_message([](json& j) { j["options"] = json::array(); }), w + ": 'options' must be an object, got []");
  EXPECT_EQ(spec_message([](json& j) { j["option"] = json::object(); }),
            w + ": unknown key 'option' (did you mean 'options'? known: image_size, in_channels, name, num_classes, options)");
}

TEST(ModelSpec, ChecksTheSizeBounds) {
  const std::string w = "model.json: model";
  EXPECT_EQ(spec_message([](json& j) { j["in_channels"] = 0; }), w + ": in_channels = 0 must be in [1, 64]");
  EXPECT_EQ(spec_message([](json& j) { j["in_channels"] = 65; }), w + ": in_channels = 65 must be in [1, 64]");
  EXPECT_EQ(spec_message([](json& j) { j["image_size"] = -3; }), w + ": image_size = -3 must be in [1, 4096]");
  EXPECT_EQ(spec_message([](json& j) { j["image_size"] = 1e18; }), w + ": image_size = 1e+18 must be in [1, 4096]");
  EXPECT_EQ(spec_message([](json& j) { j["num_classes"] = 1; }), w + ": num_classes = 1 must be in [2, 100000]");
  EXPECT_EQ(spec_message([](json& j) { j["num_classes"] = 18446744073709551615ull; }),
            w + ": num_classes = 18446744073709551615 must be in [2, 100000]");
  EXPECT_EQ(spec_message([](json& j) { j["in_channels"] = 64; j["image_size"] = 4096; j["num_classes"] = 100000; }), "");
}

TEST(ModelSpec, NamesAKnownModelAndOption) {
  const std::string w = "model.json: model";
  EXPECT_EQ(spec_message([](json& j) { j["name"] = "small_cnm"; }),
            w + ": unknown model 'small_cnm' (did you mean 'small_cnn'? known: densenet121, pyramidnet110, resnet18, "
                "resnet50, small_cnn, small_resnet, torchscript, vgg16_bn, vit)");
  EXPECT_EQ(spec_message([](json& j) { j["options"]["widht1"] = 8; }),
            w + ": model 'small_cnn': unknown option 'widht1' (did you mean 'width1'? known: head_classes, width1, width2, hidden)");
  // the values are make_model's to check
  EXPECT_EQ(spec_message([](json& j) { j["options"]["width1"] = 0; }), "");
  const std::vector<std::string> names = {"densenet121", "pyramidnet110", "resnet18", "resnet50", "small_cnn",
                                          "small_resnet", "torchscript", "vgg16_bn", "vit"};
  EXPECT_EQ(fm::model_names(), names);
  EXPECT_EQ(message([] { fm::check_model_options("vit", json::array()); }), "model 'vit': options must be an object");
}

TEST(ModelJson, ReadsWhatTrainWrites) {
  const auto m = fm::read_model_json(model_json(), "r/model.json", true);
  EXPECT_EQ(m.model, small_cnn());
  EXPECT_EQ(m.dataset, "fashion_mnist");
  EXPECT_EQ(m.mean, (std::vector<double>{0.286}));
  EXPECT_EQ(m.std, (std::vector<double>{0.353}));
  json bare = {{"model", small_cnn()}};
  const auto b = fm::read_model_json(bare, "r/model.json", true);
  EXPECT_TRUE(b.dataset.empty() && b.mean.empty() && b.std.empty());
  // without read_input (the run's config.json gives the data) the other keys are not read
  json odd = model_json();
  odd["input"] = 3;
  odd["extra"] = true;
  EXPECT_EQ(fm::read_model_json(odd, "r/model.json", false).model, small_cnn());
}

TEST(ModelJson, NamesEveryProblem) {
  auto msg = [](const std::function<void(json&)>& edit) {
    json j = model_json();
    edit(j);
    return message([&] { (void)fm::read_model_json(j, "r/model.json", true); });
  };
  EXPECT_EQ(msg([](json& j) { j = {{"dataset", "synthetic"}}; }), "r/model.json: no 'model' entry");
  EXPECT_EQ(message([] { (void)fm::read_model_json(json::array(), "r/model.json", false); }), "r/model.json: no 'model' entry");
  EXPECT_EQ(msg([](json& j) { j["dataset"] = 1; }), "r/model.json: 'dataset' must be a string, got 1");
  EXPECT_EQ(msg([](json& j) { j["input"] = "x"; }), "r/model.json: 'input' must be an object, got \"x\"");
  EXPECT_EQ(msg([](json& j) { j["input"]["std"] = {"a"}; }),
            "r/model.json: input: 'std' must be an array of finite numbers, got [\"a\"]");
  EXPECT_NE(msg([](json& j) { j["input"]["men"] = {0.5}; }).find("r/model.json: input: unknown key 'men' (did you mean 'mean'?"),
            std::string::npos);
  EXPECT_NE(msg([](json& j) { j["weigths"] = 1; }).find("r/model.json: unknown key 'weigths' (did you mean 'weights'?"),
            std::string::npos);
}

TEST(CheckpointMeta, ReadsTheFormatTagSpecAndRecipe) {
  const auto m = fm::read_checkpoint_meta(fm::kTrainCheckpointFormat, small_cnn().dump(), R"({"data": {}})", "c.pt");
  EXPECT_EQ(m.model, small_cnn());
  EXPECT_EQ(m.recipe, json::parse(R"({"data": {}})"));
  EXPECT_EQ(std::string(fm::kTrainCheckpointFormat), "flatmin.train.checkpoint/1");
  EXPECT_EQ(message([] { (void)fm::read_checkpoint_meta("flatmin.train.checkpoint/2", "{}", "{}", "c.pt"); }),
            "c.pt: unknown checkpoint format 'flatmin.train.checkpoint/2' (expected flatmin.train.checkpoint/1)");
  EXPECT_EQ(message([] { (void)fm::read_checkpoint_meta(fm::kTrainCheckpointFormat, "{}", "[1]", "c.pt"); }),
            "c.pt: the checkpoint's recipe is not a JSON object");
  EXPECT_EQ(message([] { (void)fm::read_checkpoint_meta(fm::kTrainCheckpointFormat, "{", "{}", "c.pt"); })
                .rfind("invalid JSON in 'c.pt: model_spec' (byte 2)", 0),
            0u);
  EXPECT_EQ(message([] { (void)fm::read_checkpoint_meta(fm::kTrainCheckpointFormat, "{}", "", "c.pt"); })
                .rfind("invalid JSON in 'c.pt: config'", 0),
            0u);
}

}  // namespace
}  // namespace flatmin::test
