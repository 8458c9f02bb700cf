// The strict config reader and the profile merge every entry point uses (common/config.h).
#include "common/config.h"

#include <functional>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/limits.h"

namespace flatmin::common {
namespace {

using nlohmann::json;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigReader, TypedValuesDefaultsAndResolved) {
  const json j = {{"lr", 0.1}, {"epochs", 3}, {"name", "a"}, {"flag", true}, {"betas", {0.9, 0.999}}, {"w", 2.0}};
  ConfigReader r(j, "cfg");
  EXPECT_EQ(r.number("lr", 1.0), 0.1);
  EXPECT_EQ(r.number("missing", 7.0), 7.0);
  EXPECT_EQ(r.integer("epochs", 1), 3);
  EXPECT_EQ(r.integer("w"), 2);  // an integral float is an integer
  EXPECT_EQ(r.string("name"), "a");
  EXPECT_TRUE(r.boolean("flag", false));
  EXPECT_EQ(r.numbers("betas", {}), (std::vector<double>{0.9, 0.999}));
  const json resolved = r.finish();
  EXPECT_EQ(resolved.at("missing"), 7.0);
  EXPECT_EQ(resolved.at("epochs"), 3);
}

TEST(ConfigReader, UnknownKeyNamesTheNearestKnownKey) {
  const json j = {{"lr", 0.1}, {"epohcs", 3}};
  ConfigReader r(j, "train config");
  r.number("lr", 1.0);
  r.integer("epochs", 1);
  const auto msg = error_of([&] { r.finish(); });
  EXPECT_NE(msg.find("train config: unknown key 'epohcs'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'epochs'"), std::string::npos) << msg;
}

TEST(ConfigReader, WrongTypeNamesTheKeyAndTheExpectedType) {
  const json j = {{"lr", "fast"}, {"epochs", 2.5}, {"flag", 1}, {"betas", {0.9, "x"}}, {"sub", 3}};
  ConfigReader r(j, "cfg");
  EXPECT_EQ(error_of([&] { r.number("lr", 1.0); }), "cfg: 'lr' must be a number, got \"fast\"");
  EXPECT_EQ(error_of([&] { r.integer("epochs", 1); }), "cfg: 'epochs' must be an integer, got 2.5");
  EXPECT_EQ(error_of([&] { r.boolean("flag", false); }), "cfg: 'flag' must be true or false, got 1");
  EXPECT_NE(error_of([&] { r.numbers("betas", {}); }).find("'betas' must be an array of finite numbers"), std::string::npos);
  EXPECT_NE(error_of([&] { r.object("sub"); }).find("'sub' must be an object"), std::string::npos);
  EXPECT_NE(error_of([&] { r.number("absent"); }).find("missing required key 'absent'"), std::string::npos);
  const json array = json::array();
  EXPECT_NE(error_of([&] { ConfigReader bad(array, "cfg"); }).find("cfg: must be a JSON object"), std::string::npos);
}

TEST(ConfigReader, BoundedIntegerNamesTheKeyAndTheRange) {
  const json j = {{"steps", 1000000000000000000}, {"n", 5}};
  ConfigReader r(j, "spec");
  EXPECT_EQ(error_of([&] { r.integer("steps", 1, 0, 10000000); }),
            "spec: steps = 1000000000000000000 must be in [0, 10000000]");
  EXPECT_EQ(r.integer("n", 1, 0, 5), 5);
  EXPECT_EQ(r.integer("absent", 3, 0, 5), 3);
}

// issue 15: a count given as 1e18 (a float) or beyond int64 is read saturated, so that its bound check names
// the value as given and the bound; integer() still calls such a value a wrong type.
TEST(ConfigReader, CountBeyondInt64IsRejectedByItsBoundShowingTheValueAsGiven) {
  const json j = json::parse(R"({"steps": 1e18, "epochs": 18446744073709551615, "n": 3.0, "half": 2.5, "neg": -1e30})");
  ConfigReader r(j, "cfg");
  EXPECT_EQ(r.count("steps", 1), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(r.count("epochs", 1), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(r.count("neg", 1), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.count("n", 1), 3);
  EXPECT_EQ(error_of([&] { r.count("half", 1); }), "cfg: 'half' must be an integer, got 2.5");
  EXPECT_EQ(error_of([&] { r.require(false, "steps", r.count("steps", 1), "in [1, 1e9]"); }), "cfg: steps = 1e+18 must be in [1, 1e9]");
  EXPECT_EQ(error_of([&] { r.integer("steps", 1, 1, 1000000000); }), "cfg: steps = 1e+18 must be in [1, 1000000000]");
  EXPECT_EQ(error_of([&] { r.integer("epochs", 1, 1, 10); }), "cfg: epochs = 18446744073709551615 must be in [1, 10]");
  EXPECT_EQ(error_of([&] { r.integer("steps", 1); }), "cfg: 'steps' must be an integer, got 1e+18");
}

TEST(Limits, FormatCount) {
  EXPECT_EQ(format_count(1000000000), "1e9");
  EXPECT_EQ(format_count(20000000), "2e7");
  EXPECT_EQ(format_count(4096), "4096");
  EXPECT_EQ(format_count(64), "64");
  EXPECT_EQ(format_count(123456), "123456");
}

TEST(ConfigReader, ChoiceNamesTheNearestAllowedValue) {
  const json j = {{"method", "hutchpp"}};
  ConfigReader r(j, "cfg");
  const auto msg = error_of([&] { r.choice("method", "hutchinson", {"hutchinson", "hutch++"}); });
  EXPECT_NE(msg.find("unknown value 'hutchpp' (did you mean 'hutch++'?"), std::string::npos) << msg;
  const json good = {{"method", "hutch++"}};  // the reader holds its JSON by reference: no temporary
  ConfigReader ok(good, "cfg");
  EXPECT_EQ(ok.choice("method", "hutchinson", {"hutchinson", "hutch++"}), "hutch++");
}

TEST(MergeProfile, MergesTheNamedProfileAndDropsTheTable) {
  const json cfg = {{"epochs", 100}, {"data", {{"subset", 0}, {"dir", "d"}}},
                    {"profiles", {{"quick", {{"epochs", 2}, {"data", {{"subset", 512}}}}}, {"full", json::object()}}}};
  const json q = merge_profile(cfg, "quick", "cfg");
  EXPECT_FALSE(q.contains("profiles"));
  EXPECT_EQ(q.at("epochs"), 2);
  EXPECT_EQ(q.at("data").at("subset"), 512);
  EXPECT_EQ(q.at("data").at("dir"), "d");  // a merge patch, not a replacement
  EXPECT_EQ(merge_profile(cfg, "full", "cfg").at("epochs"), 100);
  EXPECT_EQ(merge_profile(cfg, "absent", "cfg").at("epochs"), 100);
  EXPECT_EQ(merge_profile(json{{"a", 1}}, "quick", "cfg"), (json{{"a", 1}}));
  EXPECT_NE(error_of([] { merge_profile(json{{"profiles", 3}}, "quick", "cfg"); }).find("cfg: 'profiles' must be an object"),
            std::string::npos);
  EXPECT_NE(error_of([] { merge_profile(json{{"profiles", {{"quick", 1}}}}, "quick", "cfg"); }).find("profiles.quick must be an object"),
            std::string::npos);
}

}  // namespace
}  // namespace flatmin::common
