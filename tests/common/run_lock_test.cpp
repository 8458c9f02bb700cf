// Run-folder locks (common/run_lock.h) and write failures of AtomicFile (ENOSPC via /dev/full, EFBIG via
// RLIMIT_FSIZE): issue 15 item 2.
#include "common/run_lock.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <string>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/temp_cleanup.h"
#include "tests/support/temp_dir.h"

namespace flatmin::common {
namespace {

namespace fs = std::filesystem;
using testing_support::slurp;
using testing_support::TempDir;


TEST(RunLock, ASecondHolderInThisProcessIsAnInputErrorNamingThePid) {
  TempDir dir;
  const RunLock a(dir / "run", "train: run folder");
  EXPECT_TRUE(fs::exists(dir / "run" / kRunLockFile));
  try {
    RunLock b(dir / "run", "train: run folder");
    FAIL() << "second lock granted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("is in use by PID " + std::to_string(::getpid())), std::string::npos) << m;
    EXPECT_NE(m.find((dir / "run").string()), std::string::npos) << m;
  }
}

TEST(RunLock, AnotherProcessHoldsItUntilItIsKilled) {
  TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    RunLock lock(dir / "run", "sweep: folder");
    const char c = 'x';
    if (::write(ready[1], &c, 1) != 1) _exit(1);
    ::pause();  // killed by the parent
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  try {
    RunLock mine(dir / "run", "sweep: folder");
    FAIL() << "the folder locked by PID " << child << " was granted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("sweep: folder '" + (dir / "run").string() + "' is in use by PID " + std::to_string(child)),
              std::string::npos)
        << e.what();
  }
  ::kill(child, SIGKILL);  // the kernel drops the lock with the process: no stale lock
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_NO_THROW(RunLock again(dir / "run", "sweep: folder"));
  EXPECT_EQ(slurp(dir / "run" / kRunLockFile), std::to_string(::getpid()) + "\n");
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(RunLock, ALockFileItCreatedIsRemovedOnReleaseAPreexistingOneStays) {
  TempDir dir;
  fs::create_directories(dir / "run");
  { const RunLock a(dir / "run", "train: run folder"); }  // e.g. a run refused for bad input after locking
  EXPECT_FALSE(fs::exists(dir / "run" / kRunLockFile)) << "the folder is left as it was";
  { std::ofstream(dir / "run" / kRunLockFile) << "1\n"; }  // left by a killed holder
  { const RunLock b(dir / "run", "train: run folder"); }
  EXPECT_TRUE(fs::exists(dir / "run" / kRunLockFile));
  const RunLock c(dir / "run", "train: run folder");  // and it can be taken again
  EXPECT_EQ(slurp(dir / "run" / kRunLockFile), std::to_string(::getpid()) + "\n");
}

TEST(RunLock, TempNames) {
  long pid = 0;
  EXPECT_TRUE(is_atomic_temp_name("checkpoint.pt.tmp.1234.7", &pid));
  EXPECT_EQ(pid, 1234);
  EXPECT_TRUE(is_atomic_temp_name("a.tmp.1.0"));
  EXPECT_FALSE(is_atomic_temp_name("checkpoint.pt"));
  EXPECT_FALSE(is_atomic_temp_name("x.tmp.12"));
  EXPECT_FALSE(is_atomic_temp_name("x.tmp.12.a"));
  EXPECT_FALSE(is_atomic_temp_name("x.tmp..3"));
  EXPECT_FALSE(is_atomic_temp_name("x.tmpx.1.2"));
  EXPECT_FALSE(is_atomic_temp_name(".tmp.1.2x"));
}

TEST(RunLock, StaleTempsOfDeadWritersAreRemoved) {
  TempDir dir;
  const pid_t dead = ::fork();
  if (dead == 0) _exit(0);
  int status = 0;
  ::waitpid(dead, &status, 0);  // reaped: its PID names no process now
  const std::string live = std::to_string(::getpid());
  for (const std::string& f : {"checkpoint.pt.tmp." + std::to_string(dead) + ".0", "metrics.csv.tmp." + live + ".3",
                               std::string("keep.txt"), std::string("keep.tmp")}) {
    std::ofstream(dir / f) << "x";
  }
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "sub" / ("x.tmp." + std::to_string(dead) + ".1")) << "x";
  EXPECT_EQ(remove_stale_temps(dir.path(), /*all=*/false), 1u);
  EXPECT_FALSE(fs::exists(dir / ("checkpoint.pt.tmp." + std::to_string(dead) + ".0")));
  EXPECT_TRUE(fs::exists(dir / ("metrics.csv.tmp." + live + ".3")));  // a live writer's
  EXPECT_EQ(remove_stale_temps(dir.path(), /*all=*/true), 1u);        // under the folder's lock: all of them
  EXPECT_FALSE(fs::exists(dir / ("metrics.csv.tmp." + live + ".3")));
  EXPECT_TRUE(fs::exists(dir / "keep.txt"));
  EXPECT_TRUE(fs::exists(dir / "keep.tmp"));
  EXPECT_TRUE(fs::exists(dir / "sub" / ("x.tmp." + std::to_string(dead) + ".1")));  // not recursive
  EXPECT_EQ(remove_stale_temps(dir / "missing", true), 0u);
}

TEST(WriteFailure, DevFullGivesNoSpaceLeft) {
  const int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "no /dev/full";
  FdStreamBuf buf(fd);
  std::ostream os(&buf);
  os << std::string(100000, 'x');
  os.flush();
  EXPECT_FALSE(os.good());
  EXPECT_EQ(buf.error(), ENOSPC);
  ::close(fd);
  EXPECT_EQ(write_error_message("/r/checkpoint.pt", ENOSPC), "cannot write '/r/checkpoint.pt': no space left on device");
}

TEST(WriteFailure, FileSizeLimitGivesFileTooLargeKeepsThePreviousFileAndNoTemp) {
  TempDir dir;
  const fs::path target = dir / "checkpoint.pt";
  write_text_atomic(target, "previous\n");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // as run_main does: write(2) returns EFBIG
  rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  {
    AtomicFile f(target);
    f.stream() << std::string(100000, 'y');
    try {
      f.commit();
    } catch (const std::runtime_error& e) {
      message = e.what();
    }
    EXPECT_THROW(f.check(), std::runtime_error);
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(message, "cannot write '" + target.string() + "': file too large (the file size limit, ulimit -f, was reached)");
  EXPECT_EQ(slurp(target), "previous\n");
  EXPECT_EQ(remove_stale_temps(dir.path(), true), 0u);  // the failed writer removed its temporary
}

TEST(WriteFailure, TheLibTorchWriterNeverReportsAFailureButCommitDoes) {
  TempDir dir;
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 1 << 16;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  bool threw = false;
  {
    AtomicFile f(dir / "m.pt");
    auto w = f.writer();
    const std::string chunk(50000, 'z');
    for (int i = 0; i < 4; ++i) EXPECT_EQ(w(chunk.data(), chunk.size()), chunk.size());
    try {
      f.commit();
    } catch (const std::runtime_error& e) {
      threw = std::string(e.what()).find("file too large") != std::string::npos;
    }
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(threw);
  EXPECT_FALSE(fs::exists(dir / "m.pt"));
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(WriteFailure, SigtermMidWriteLeavesNoTemporary) {
  // What `kill <pid>` (SIGTERM) of a long writer did before: its *.tmp.* stayed (358 MB for miadam-gain, issue 15).
  TempDir dir;
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    remove_temps_on_termination_signals();  // as run_main does
    AtomicFile f(dir / "big.csv");
    f.stream() << std::string(10000, 'p');
    f.stream().flush();
    const char c = 'x';
    if (::write(ready[1], &c, 1) != 1) _exit(1);
    ::pause();
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  std::size_t temps_before = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) temps_before += is_atomic_temp_name(e.path().filename().string()) ? 1 : 0;
  EXPECT_EQ(temps_before, 1u);
  ::kill(child, SIGTERM);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;  // still ends by the signal
  EXPECT_TRUE(fs::is_empty(dir.path()));
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace flatmin::common
