#include "common/json_io.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/support/temp_dir.h"

namespace flatmin::common {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::slurp;
using testing_support::TempDir;


/// Runs `f`, requires an InputError and returns its message.
template <class F>
std::string input_error_message(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected InputError, nothing thrown";
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ReadJsonFile, MissingFileIsInputErrorNamingTheFile) {
  TempDir dir;
  const fs::path file = dir / "no_such_config.json";
  const std::string msg = input_error_message([&] { (void)read_json_file(file); });
  EXPECT_TRUE(contains(msg, file.string())) << msg;
}

TEST(ReadJsonFile, DirectoryIsInputError) {
  TempDir dir;
  const std::string msg = input_error_message([&] { (void)read_json_file(dir.path()); });
  EXPECT_TRUE(contains(msg, dir.path().string())) << msg;
}

TEST(ReadJsonFile, SyntaxErrorIsInputErrorWithFileAndPosition) {
  TempDir dir;
  const fs::path file = dir / "broken.json";
  write_text_atomic(file, "{\n  \"lr\": 0.1,\n  \"steps\": oops\n}\n");
  const std::string msg = input_error_message([&] { (void)read_json_file(file); });
  EXPECT_TRUE(contains(msg, file.string())) << msg;
  EXPECT_TRUE(contains(msg, "parse error")) << msg;
  EXPECT_TRUE(contains(msg, "line 3")) << msg;
  EXPECT_TRUE(contains(msg, "byte")) << msg;
}

TEST(ReadJsonFile, EmptyAndTruncatedFilesAreInputErrors) {
  TempDir dir;
  write_text_atomic(dir / "empty.json", "");
  write_text_atomic(dir / "truncated.json", "{\"a\": [1, 2");
  EXPECT_TRUE(contains(input_error_message([&] { (void)read_json_file(dir / "empty.json"); }), "empty.json"));
  EXPECT_TRUE(contains(input_error_message([&] { (void)read_json_file(dir / "truncated.json"); }), "truncated.json"));
}

TEST(ReadJsonFile, OverflowingNumberIsInputError) {
  // nlohmann 3.11 refuses 1e999 while parsing (out_of_range.406); it must surface as InputError.
  TempDir dir;
  write_text_atomic(dir / "huge.json", "{\"lr\": 1e999}");
  const std::string msg = input_error_message([&] { (void)read_json_file(dir / "huge.json"); });
  EXPECT_TRUE(contains(msg, "huge.json")) << msg;
}

TEST(ReadJsonFile, ReadsWhatWriteJsonAtomicWrote) {
  TempDir dir;
  const json j = {{"name", "sam"}, {"rho", 0.05}, {"seeds", {1, 2, 3}}, {"nested", {{"k", true}}}};
  const fs::path file = dir / "sub/config.json";
  write_json_atomic(file, j);
  EXPECT_EQ(read_json_file(file), j);
  EXPECT_EQ(slurp(file), j.dump(2) + "\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "sub"), fs::directory_iterator()), 1);
}

TEST(RequireFiniteJson, AcceptsFiniteDocuments) {
  const json j = json::parse(R"({"a": 1, "b": [0.5, -2, {"c": 1e300}], "s": "inf", "n": null, "t": true})");
  EXPECT_NO_THROW(require_finite_json(j, "config"));
  EXPECT_NO_THROW(require_finite_json(json::object(), "config"));
}

TEST(RequireFiniteJson, ReportsPointerOfInfinity) {
  json j = json::parse(R"({"optim": {"name": "sam", "rho": 0.05, "schedule": [1.0, 0.5, 0.25]}})");
  j["optim"]["schedule"][2] = std::numeric_limits<double>::infinity();
  const std::string msg = input_error_message([&] { require_finite_json(j, "run.json"); });
  EXPECT_TRUE(contains(msg, "run.json")) << msg;
  EXPECT_TRUE(contains(msg, "/optim/schedule/2")) << msg;
  EXPECT_TRUE(contains(msg, "inf")) << msg;
  // The pointer really addresses the offending value.
  EXPECT_TRUE(std::isinf(j.at(json::json_pointer("/optim/schedule/2")).get<double>()));
}

TEST(RequireFiniteJson, ReportsNanAndNegativeInfinityAndEscapesKeys) {
  json j;
  j["a/b"]["t~x"] = std::numeric_limits<double>::quiet_NaN();
  std::string msg = input_error_message([&] { require_finite_json(j, "cfg"); });
  EXPECT_TRUE(contains(msg, "/a~1b/t~0x")) << msg;
  EXPECT_TRUE(contains(msg, "nan")) << msg;

  json k = json::array({1.0, json::array({2.0, -std::numeric_limits<double>::infinity()})});
  msg = input_error_message([&] { require_finite_json(k, "cfg"); });
  EXPECT_TRUE(contains(msg, "/1/1")) << msg;
  EXPECT_TRUE(contains(msg, "-inf")) << msg;
}

TEST(RequireFiniteJson, ReportsFirstOffenderAndRoot) {
  json j;
  j["a"] = 1.0;
  j["b"] = std::numeric_limits<double>::infinity();
  j["c"] = std::numeric_limits<double>::quiet_NaN();
  const std::string msg = input_error_message([&] { require_finite_json(j, "cfg"); });
  EXPECT_TRUE(contains(msg, "/b")) << msg;
  EXPECT_FALSE(contains(msg, "/c")) << msg;

  const std::string root = input_error_message([&] { require_finite_json(json(std::nan("")), "value"); });
  EXPECT_TRUE(contains(root, "document root")) << root;
}

}  // namespace
}  // namespace flatmin::common
