// Output locations are checked before any work (issue 15 item 1): the right kind, creatable, writable,
// not in /proc; the error names the flag and the path.
#include "common/output_path.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "common/error.h"

namespace flatmin::common {
namespace {
namespace fs = std::filesystem;

class OutputPath : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("flatmin_output_path_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "afile") << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string p(const std::string& rel) const { return (dir_ / rel).string(); }
  fs::path dir_;
};

std::string error_of(void (*f)(const std::string&, const std::string&), const std::string& path,
                     const std::string& flag) {
  try {
    f(path, flag);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST_F(OutputPath, UsableFoldersPass) {
  EXPECT_NO_THROW(check_output_dir(p(""), "--out"));           // existing folder
  EXPECT_NO_THROW(check_output_dir(p("new/deeper"), "--out"));  // creatable
  EXPECT_FALSE(fs::exists(p("new")));                           // nothing created
  EXPECT_NO_THROW(check_output_file(p("new/file.csv"), "--csv"));
  EXPECT_NO_THROW(check_output_file(p("afile"), "--csv"));  // overwriting a file is fine
  EXPECT_NO_THROW(check_output_file("relative.csv", "--csv"));
}

TEST_F(OutputPath, FileUsedAsFolderNamesFlagAndPath) {
  const std::string e = error_of(check_output_dir, p("afile"), "--out");
  EXPECT_NE(e.find("--out"), std::string::npos) << e;
  EXPECT_NE(e.find(p("afile")), std::string::npos) << e;
  EXPECT_NE(e.find("is a file"), std::string::npos) << e;
  const std::string e2 = error_of(check_output_dir, p("afile/sub"), "--out");
  EXPECT_NE(e2.find("is a file, not a folder"), std::string::npos) << e2;
  const std::string e3 = error_of(check_output_file, p("afile/x.csv"), "--csv");
  EXPECT_NE(e3.find("--csv"), std::string::npos) << e3;
  EXPECT_NE(e3.find("not a folder"), std::string::npos) << e3;
}

TEST_F(OutputPath, ExistingFolderWhereAFileGoes) {
  const std::string e = error_of(check_output_file, p(""), "--csv");
  EXPECT_NE(e.find("is a folder, expected a file"), std::string::npos) << e;
}

TEST_F(OutputPath, ProcAndSysAreRefused) {
  EXPECT_NE(error_of(check_output_dir, "/proc/flatmin_out", "--out").find("/proc"), std::string::npos);
  EXPECT_NE(error_of(check_output_file, "/proc/self/x.csv", "--out").find("/proc"), std::string::npos);
  EXPECT_NE(error_of(check_output_dir, "/sys/x", "--out").find("/sys"), std::string::npos);
}

TEST_F(OutputPath, UnwritableParentIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes everywhere";
  fs::create_directories(p("ro"));
  fs::permissions(p("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  const std::string e = error_of(check_output_dir, p("ro/run"), "--out");
  fs::permissions(p("ro"), fs::perms::owner_all);
  EXPECT_NE(e.find("not writable"), std::string::npos) << e;
}

TEST_F(OutputPath, EmptyPathIsRefused) {
  EXPECT_NE(error_of(check_output_dir, "", "--out").find("--out"), std::string::npos);
}

}  // namespace
}  // namespace flatmin::common
