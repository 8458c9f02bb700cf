#include "common/atomic_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace flatmin::common {
namespace {

namespace fs = std::filesystem;
using testing_support::slurp;
using testing_support::TempDir;


std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

TEST(AtomicFile, CommitCreatesTargetAndLeavesNoTemporary) {
  TempDir dir;
  const fs::path target = dir / "result.csv";
  {
    AtomicFile f(target);
    f.stream() << "a,b\n1,2\n";
    EXPECT_FALSE(fs::exists(target)) << "target must not appear before commit";
    EXPECT_TRUE(fs::exists(f.temp_path()));
    f.commit();
    EXPECT_TRUE(f.committed());
    EXPECT_FALSE(fs::exists(f.temp_path()));
  }
  EXPECT_EQ(slurp(target), "a,b\n1,2\n");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"result.csv"});
}

TEST(AtomicFile, TemporaryIsSiblingNamedWithPid) {
  TempDir dir;
  const fs::path target = dir / "x.json";
  AtomicFile a(target);
  AtomicFile b(target);
  EXPECT_EQ(a.temp_path().parent_path(), target.parent_path());
  const std::string prefix = target.filename().string() + ".tmp." + std::to_string(::getpid()) + ".";
  EXPECT_EQ(a.temp_path().filename().string().rfind(prefix, 0), 0u) << a.temp_path();
  EXPECT_NE(a.temp_path(), b.temp_path());
}

TEST(AtomicFile, CommitReplacesExistingTargetOnlyAtCommit) {
  TempDir dir;
  const fs::path target = dir / "out.txt";
  write_text_atomic(target, "old content that is longer than the new one\n");
  {
    AtomicFile f(target);
    f.stream() << "new\n";
    f.stream().flush();
    EXPECT_EQ(slurp(target), "old content that is longer than the new one\n");
    f.commit();
  }
  EXPECT_EQ(slurp(target), "new\n");
  EXPECT_EQ(entries(dir.path()).size(), 1u);
}

TEST(AtomicFile, DestructorWithoutCommitKeepsOldTargetAndRemovesTemporary) {
  TempDir dir;
  const fs::path target = dir / "out.txt";
  write_text_atomic(target, "previous\n");
  fs::path temp;
  {
    AtomicFile f(target);
    temp = f.temp_path();
    f.stream() << "partial";
    f.stream().flush();
    EXPECT_TRUE(fs::exists(temp));
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(slurp(target), "previous\n");
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, ExceptionWhileWritingLeavesNoFileAtAll) {
  TempDir dir;
  const fs::path target = dir / "never.csv";
  auto produce = [&] {
    AtomicFile f(target);
    for (int i = 0; i < 1000; ++i) {
      f.stream() << i << "\n";
      if (i == 500) throw std::runtime_error("simulated failure mid-write");
    }
    f.commit();
  };
  EXPECT_THROW(produce(), std::runtime_error);
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(AtomicFile, CreatesParentDirectories) {
  TempDir dir;
  const fs::path target = dir / "a/b/c/result.json";
  write_text_atomic(target, "{}\n");
  EXPECT_EQ(slurp(target), "{}\n");
}

TEST(AtomicFile, StreamFailureMakesCommitThrowAndLeavesNothing) {
  TempDir dir;
  const fs::path target = dir / "bad.txt";
  {
    AtomicFile f(target);
    f.stream() << "data";
    f.stream().setstate(std::ios::badbit);  // what a failed write (e.g. ENOSPC) looks like
    EXPECT_THROW(f.commit(), std::runtime_error);
    EXPECT_FALSE(f.committed());
  }
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(entries(dir.path()).empty());
}

TEST(AtomicFile, DoubleCommitIsALogicError) {
  TempDir dir;
  AtomicFile f(dir / "once.txt");
  f.stream() << "x";
  f.commit();
  EXPECT_THROW(f.commit(), std::logic_error);
  EXPECT_EQ(slurp(dir / "once.txt"), "x");
}

TEST(AtomicFile, UncreatableDirectoryThrows) {
  TempDir dir;
  write_text_atomic(dir / "plainfile", "x");
  EXPECT_THROW(AtomicFile(dir / "plainfile/sub/target.txt"), std::runtime_error);
}

TEST(WriteTextAtomic, WritesBytesVerbatim) {
  TempDir dir;
  const std::string content("line1\r\nnul:\0:end\n", 17);
  write_text_atomic(dir / "bin.dat", content);
  EXPECT_EQ(slurp(dir / "bin.dat"), content);
  write_text_atomic(dir / "empty.txt", "");
  EXPECT_TRUE(fs::exists(dir / "empty.txt"));
  EXPECT_EQ(fs::file_size(dir / "empty.txt"), 0u);
}

}  // namespace
}  // namespace flatmin::common
