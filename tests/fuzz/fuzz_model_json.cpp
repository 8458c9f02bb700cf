// libFuzzer target: the LibTorch-free readers of a training run's model description
// (experiments/models/model_spec.h): model.json (read_model_json, with and without its input/dataset
// keys), the model spec in it (ModelSpec::from_json, the input itself also read as a spec) and a
// checkpoint's JSON metadata (read_checkpoint_meta with the input as the model_spec and config texts; the
// checkpoint.pt zip archive itself is not fuzzed: LibTorch 1.13 crashes on corrupt archives, see
// docs/robustness.md). Any input may be rejected with InputError; anything else is a bug. An accepted spec
// must survive to_json() -> from_json() unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/json_io.h"
#include "experiments/models/model_spec.h"

namespace fc = flatmin::common;
namespace fm = flatmin::models;

namespace {

template <class F>
void guard(F&& f) {
  try {
    f();
  } catch (const fc::InputError&) {
    // rejected input: fine
  }
}

void spec(const nlohmann::json& j, const std::string& where) {
  const fm::ModelSpec s = fm::ModelSpec::from_json(j, where);
  if (s.in_channels < 1 || s.image_size < 1 || s.num_classes < fm::kMinClasses || !s.options.is_object()) std::abort();
  const fm::ModelSpec t = fm::ModelSpec::from_json(s.to_json(), where);
  if (t.to_json() != s.to_json()) std::abort();  // the round trip must be exact
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  guard([&] {
    const nlohmann::json j = fc::parse_json_text(text, "model.json");
    guard([&] { spec(j, "model spec"); });
    for (const bool read_input : {false, true}) {
      guard([&] {
        const fm::ModelJson m = fm::read_model_json(j, "model.json", read_input);
        if (!read_input && (!m.dataset.empty() || !m.mean.empty() || !m.std.empty())) std::abort();
        spec(m.model, "model.json: model");
      });
    }
  });
  guard([&] {
    const fm::CheckpointMeta meta = fm::read_checkpoint_meta(fm::kTrainCheckpointFormat, text, text, "checkpoint.pt");
    if (!meta.recipe.is_object()) std::abort();
    spec(meta.model, "checkpoint.pt: model_spec");
  });
  guard([&] {  // a wrong format tag is always rejected
    (void)fm::read_checkpoint_meta(text, "{}", "{}", "checkpoint.pt");
    if (text != fm::kTrainCheckpointFormat) std::abort();
  });
  return 0;
}
