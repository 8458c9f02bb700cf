#include "common/manifest.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/json_io.h"
#include "tests/support/temp_dir.h"

namespace flatmin::common {
namespace {

using nlohmann::json;
using testing_support::TempDir;

bool matches(const json& j, const char* pattern) {
  return j.is_string() && std::regex_match(j.get<std::string>(), std::regex(pattern));
}

constexpr const char* kIsoUtc = R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)";
constexpr const char* kSemver = R"(\d+\.\d+\.\d+)";

TEST(Manifest, AutomaticFields) {
  Manifest m("train", {"flatmin", "train", "--config", "c.json"});
  const json j = m.to_json();
  EXPECT_EQ(j.at("command"), "train");
  EXPECT_EQ(j.at("argv"), json({"flatmin", "train", "--config", "c.json"}));
  EXPECT_TRUE(matches(j.at("start_time"), kIsoUtc)) << j.at("start_time");
  EXPECT_EQ(j.at("status"), "running");
  EXPECT_TRUE(j.at("end_time").is_null());
  EXPECT_TRUE(j.at("wall_time_s").is_null());

  EXPECT_EQ(j.at("flatmin_version"), flatmin_version());
  EXPECT_TRUE(matches(j.at("flatmin_version"), kSemver)) << j.at("flatmin_version");

  const std::string source = j.at("git_sha_source").get<std::string>();
  ASSERT_TRUE(source == "runtime" || source == "configure") << source;
  ASSERT_TRUE(j.at("git_sha").is_string());
  EXPECT_FALSE(j.at("git_sha").get<std::string>().empty());
  if (source == "runtime") {
    EXPECT_TRUE(matches(j.at("git_sha"), "[0-9a-f]{40}")) << j.at("git_sha");
  } else {
    EXPECT_TRUE(matches(j.at("git_sha"), "[0-9a-f]{7,64}|unknown")) << j.at("git_sha");
  }
  EXPECT_TRUE(j.at("git_dirty").is_boolean() || j.at("git_dirty").is_null());

  EXPECT_NE(j.at("compiler").get<std::string>().find(__VERSION__), std::string::npos) << j.at("compiler");
  EXPECT_FALSE(j.at("build_type").get<std::string>().empty());
  EXPECT_FALSE(j.at("hostname").get<std::string>().empty());
  EXPECT_FALSE(j.at("cwd").get<std::string>().empty());

  const json& libs = j.at("libraries");
  EXPECT_TRUE(matches(libs.at("eigen"), kSemver)) << libs;
  EXPECT_TRUE(matches(libs.at("boost"), kSemver)) << libs;
  EXPECT_TRUE(matches(libs.at("nlohmann_json"), kSemver)) << libs;
  EXPECT_EQ(libs.at("eigen").get<std::string>().rfind("3.", 0), 0u) << libs;
#if __has_include(<Spectra/Util/Version.h>)
  EXPECT_TRUE(matches(libs.at("spectra"), kSemver)) << libs;
#endif
  EXPECT_FALSE(libs.contains("libtorch")) << "LibTorch version is added by the torch-side caller";
  EXPECT_TRUE(j.at("seeds").is_object());
  EXPECT_TRUE(j.at("seeds").empty());
  EXPECT_TRUE(j.at("config").is_null());
}

TEST(Manifest, CallerSuppliedFields) {
  Manifest m("sweep", {"flatmin", "sweep"});
  m.set_config({{"optimizer", "miadam"}, {"kappa", 0.9}, {"K", 2}});
  m.set_seed("model_init", 42);
  m.set_seed("data_order", std::numeric_limits<std::uint64_t>::max());
  m.set_seed("model_init", 43);  // overwrite
  m.set_library_version("libtorch", "2.1.0");
  m.set_library_version("eigen", "override-test");
  m.set_field("device", "cpu");
  m.set_field("threads", 2);
  const json j = m.to_json();
  EXPECT_EQ(j.at("config").at("optimizer"), "miadam");
  EXPECT_EQ(j.at("config").at("kappa"), 0.9);
  EXPECT_EQ(j.at("seeds").at("model_init").get<std::uint64_t>(), 43u);
  EXPECT_EQ(j.at("seeds").at("data_order").get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(j.at("libraries").at("libtorch"), "2.1.0");
  EXPECT_EQ(j.at("libraries").at("eigen"), "override-test");
  EXPECT_EQ(j.at("device"), "cpu");
  EXPECT_EQ(j.at("threads"), 2);
}

TEST(Manifest, ReservedFieldsCannotBeOverwritten) {
  Manifest m("x", {});
  EXPECT_THROW(m.set_field("git_sha", "fake"), std::invalid_argument);
  EXPECT_THROW(m.set_field("status", "ok"), std::invalid_argument);
  EXPECT_THROW(m.set_field("config", json::object()), std::invalid_argument);
  EXPECT_NE(m.to_json().at("git_sha"), "fake");
}

TEST(Manifest, FinishRecordsTimesAndStatus) {
  Manifest m("train", {"flatmin"});
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  m.finish();
  json j = m.to_json();
  EXPECT_TRUE(m.finished());
  EXPECT_EQ(j.at("status"), "ok");
  EXPECT_EQ(j.at("message"), "");
  EXPECT_TRUE(matches(j.at("end_time"), kIsoUtc)) << j.at("end_time");
  EXPECT_GE(j.at("end_time").get<std::string>(), j.at("start_time").get<std::string>());
  const double wall = j.at("wall_time_s").get<double>();
  EXPECT_GE(wall, 0.025);
  EXPECT_LT(wall, 60.0);

  m.finish(flatmin::common::RunStatus::failed, "loss became NaN at step 17");
  j = m.to_json();
  EXPECT_EQ(j.at("status"), "failed");
  EXPECT_EQ(j.at("message"), "loss became NaN at step 17");
}

TEST(Manifest, WriteProducesReadableJson) {
  TempDir dir;
  Manifest m("train", {"flatmin", "train"});
  m.set_seed("s", 1);
  m.finish();
  const auto file = dir / "run/manifest.json";
  m.write(file);
  EXPECT_EQ(read_json_file(file), m.to_json());
}

}  // namespace
}  // namespace flatmin::common
