// libFuzzer target: the strict JSON config reader of common/ (parse_json_text, require_finite_json,
// merge_profile, ConfigReader with every accessor, finish). Any input may be rejected with
// InputError; anything else (another exception, a crash, a sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/error.h"
#include "common/json_io.h"

namespace fc = flatmin::common;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json j = fc::parse_json_text(text, "fuzz.json");
    fc::require_finite_json(j, "fuzz.json");
    if (!j.is_object()) return 0;
    const nlohmann::json cfg = j.contains("profiles") ? fc::merge_profile(j, "quick", "fuzz.json") : j;
    fc::ConfigReader r(cfg, "fuzz");
    r.allow({"profiles", "about"});
    // Every accessor, with and without defaults; each may throw InputError (wrong type, range, missing).
    auto guard = [](auto&& f) {
      try { f(); } catch (const fc::InputError&) {}
    };
    guard([&] { (void)r.number("lr", 0.1); });
    guard([&] { (void)r.number("momentum"); });
    guard([&] { (void)r.integer("epochs", 1); });
    guard([&] { (void)r.integer("seed"); });
    guard([&] { (void)r.integer("steps", 10, 0, 1000000); });
    guard([&] { (void)r.boolean("nesterov", false); });
    guard([&] { (void)r.string("name", "x"); });
    guard([&] { (void)r.string("model"); });
    guard([&] { (void)r.choice("optimizer", "sgd", {"sgd", "adam", "adamw"}); });
    guard([&] { (void)r.numbers("mean", {0.0}); });
    guard([&] { (void)r.integers("widths", {1}); });
    guard([&] { (void)r.strings("tags", {}); });
    guard([&] { (void)r.raw("extra", nlohmann::json::object()); });
    guard([&] {
      fc::ConfigReader sub(r.object("data"), r.where() + ".data");
      (void)sub.number("std", 1.0);
      (void)sub.integers("shape", {});
      (void)sub.finish();
    });
    guard([&] { (void)r.has("flag"); });
    guard([&] { (void)r.finish(); });
  } catch (const fc::InputError&) {
    // rejected input: fine
  }
  return 0;
}
