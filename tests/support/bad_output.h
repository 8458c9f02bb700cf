#pragma once
// Unusable output locations (issue 15): a command given one must stop before any work with one line
// `<prog>: error: …` naming the flag and the path, exit 2, and write nothing anywhere.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/run_cli.h"
#include "tests/support/temp_dir.h"

namespace flatmin::common::testing_support {

/// Every path under `root` with its size (a file) or -1 (a folder), except the runner's stdout/stderr files.
inline std::set<std::pair<std::string, long long>> tree_of(const std::filesystem::path& root) {
  std::set<std::pair<std::string, long long>> t;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name == "stdout.txt" || name == "stderr.txt") continue;
    t.insert({e.path().string(), e.is_regular_file() ? static_cast<long long>(e.file_size()) : -1});
  }
  return t;
}

/// An output location that must be refused, and what the message must say about it.
struct BadOutput {
  std::string why;   ///< the case, for failure messages
  std::string path;  ///< the value given to the output flag
};

/// The unusable locations for an output folder (`file_out` false) or file (`file_out` true), set up in `dir`:
/// a path under /proc, a regular file used as a folder, an existing folder where a file goes (files only),
/// and a folder the user cannot write (skipped as root, who writes everywhere).
inline std::vector<BadOutput> bad_outputs(const TempDir& dir, bool file_out) {
  std::ofstream(dir / "afile") << "keep";
  std::filesystem::create_directories(dir / "afolder");
  std::vector<BadOutput> v;
  v.push_back({"under /proc", file_out ? "/proc/flatmin_out_test.csv" : "/proc/flatmin_out_test"});
  if (file_out) {
    v.push_back({"a file used as a folder", (dir / "afile" / "x.csv").string()});
    v.push_back({"an existing folder where a file goes", (dir / "afolder").string()});
  } else {
    v.push_back({"a file used as the folder", (dir / "afile").string()});
    v.push_back({"a file used as a parent folder", (dir / "afile" / "sub").string()});
  }
  if (::geteuid() != 0) {
    std::filesystem::create_directories(dir / "ro");
    std::filesystem::permissions(dir / "ro", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    v.push_back({"an unwritable parent", (dir / "ro" / (file_out ? "x.csv" : "run")).string()});
  }
  return v;
}

/// Runs `command(out)` (a command line for run_cli) for every bad output location and checks: exit 2,
/// one line starting `<prog>: error: `, naming `flag` and the path, and nothing written in `dir`.
inline void expect_bad_outputs_refused(const std::string& prog, const std::string& flag, bool file_out, const TempDir& dir,
                                       const std::function<std::string(const std::string&)>& command) {
  for (const auto& b : bad_outputs(dir, file_out)) {
    const auto before = tree_of(dir.path());
    const auto r = run_cli(command(b.path), dir);
    const std::string what = command(b.path) + " (" + b.why + ")";
    EXPECT_EQ(r.code, 2) << what << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << what << "\n" << r.err;
    EXPECT_EQ(r.err.rfind(prog + ": error: ", 0), 0u) << what << "\n" << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << what << "\n" << r.err;
    EXPECT_NE(r.err.find(b.path), std::string::npos) << what << "\n" << r.err;
    EXPECT_EQ(tree_of(dir.path()), before) << what << ": something was written";
    EXPECT_FALSE(std::filesystem::exists("/proc/flatmin_out_test"));
  }
  std::error_code ec;
  std::filesystem::permissions(dir / "ro", std::filesystem::perms::owner_all, ec);  // so TempDir can remove it
}

}  // namespace flatmin::common::testing_support
