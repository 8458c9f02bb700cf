#include "common/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <string>

namespace flatmin::common {
namespace {

/// Manually advanced clock.
struct FakeClock {
  double now = 100.0;  // arbitrary origin
  Progress::Clock fn() {
    return [this] { return now; };
  }
};

std::size_t count(const std::string& s, char c) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), c)); }

TEST(Progress, FormatLine) {
  FakeClock clock;
  std::ostringstream os;
  Progress p("train", 100, 10.0, &os, clock.fn(), false);
  EXPECT_EQ(p.format_line(45, 12.3), "train: 45/100 (45.0%) elapsed 12.3s ETA 15.0s");
  EXPECT_EQ(p.format_line(0, 1.0), "train: 0/100 (0.0%) elapsed 1.0s ETA ?");
  EXPECT_EQ(p.format_line(100, 8.0), "train: 100/100 (100.0%) elapsed 8.0s ETA 0.0s");
  EXPECT_EQ(p.format_line(100, 8.0, false), "train: 100/100 (100.0%) elapsed 8.0s");
  Progress unknown("scan", 0, 10.0, &os, clock.fn(), false);
  EXPECT_EQ(unknown.format_line(7, 2.0), "scan: 7 elapsed 2.0s");
  EXPECT_EQ(os.str(), "");  // formatting alone prints nothing
}

TEST(Progress, NonTtyRateLimitAndEta) {
  FakeClock clock;
  std::ostringstream os;
  Progress p("eval", 200, 10.0, &os, clock.fn(), false);
  EXPECT_FALSE(p.tty());
  for (int i = 1; i <= 9; ++i) {
    clock.now = 100.0 + i;
    p.update(5 * i);
  }
  EXPECT_EQ(os.str(), "") << "nothing before the first interval";

  clock.now = 110.0;
  p.update(50);  // 50 items in 10 s -> 150 left at 5/s = 30 s
  EXPECT_EQ(os.str(), "eval: 50/200 (25.0%) elapsed 10.0s ETA 30.0s\n");

  clock.now = 115.0;
  p.update(60);
  clock.now = 119.75;
  p.update(70);
  EXPECT_EQ(p.lines_printed(), 1u) << "still within 10 s of the last line";

  clock.now = 120.0;
  p.update(100);  // 100 in 20 s -> 100 left -> 20 s
  EXPECT_EQ(os.str(),
            "eval: 50/200 (25.0%) elapsed 10.0s ETA 30.0s\n"
            "eval: 100/200 (50.0%) elapsed 20.0s ETA 20.0s\n");

  clock.now = 121.0;
  p.update(200);
  p.finish();
  p.finish();     // only once
  p.update(200);  // ignored after finish
  EXPECT_EQ(os.str(),
            "eval: 50/200 (25.0%) elapsed 10.0s ETA 30.0s\n"
            "eval: 100/200 (50.0%) elapsed 20.0s ETA 20.0s\n"
            "eval: 200/200 (100.0%) elapsed 21.0s\n");
  EXPECT_EQ(count(os.str(), '\r'), 0u);
}

TEST(Progress, TtyRedrawsInPlaceAtMostEveryFifthOfASecond) {
  FakeClock clock;
  std::ostringstream os;
  Progress p("t", 1000, 10.0, &os, clock.fn(), true);
  EXPECT_TRUE(p.tty());
  p.update(1);  // first update draws immediately
  EXPECT_EQ(os.str(), "\rt: 1/1000 (0.1%) elapsed 0.0s ETA ?");  // no elapsed time yet -> no rate
  EXPECT_EQ(p.lines_printed(), 1u);

  for (int i = 1; i < 8; ++i) {  // 0.025 .. 0.175 s: suppressed
    clock.now = 100.0 + 0.025 * i;
    p.update(1 + i);
  }
  EXPECT_EQ(p.lines_printed(), 1u);

  clock.now = 100.25;
  p.update(500);  // 500 in 0.25 s -> 500 left -> 0.25 s
  EXPECT_EQ(p.lines_printed(), 2u);
  clock.now = 100.375;
  p.update(600);
  EXPECT_EQ(p.lines_printed(), 2u);
  clock.now = 100.5;
  p.update(1000);
  EXPECT_EQ(p.lines_printed(), 3u);
  p.finish();
  EXPECT_EQ(p.lines_printed(), 4u);

  const std::string out = os.str();
  EXPECT_EQ(count(out, '\r'), 4u);
  EXPECT_EQ(count(out, '\n'), 1u);
  EXPECT_EQ(out.back(), '\n');
  EXPECT_NE(out.find("\rt: 500/1000 (50.0%) elapsed 0.2s ETA 0.2s"), std::string::npos) << out;
  // Final line (no ETA) overwrites the longer previous one: padded with blanks, then '\n'.
  const std::string last = "\rt: 1000/1000 (100.0%) elapsed 0.5s";
  const std::string previous = "t: 1000/1000 (100.0%) elapsed 0.5s ETA 0.0s";
  EXPECT_EQ(out.substr(out.size() - (previous.size() + 2)),
            last + std::string(previous.size() + 1 - last.size(), ' ') + "\n");
}

TEST(Progress, TtyShorterLineErasesLeftovers) {
  FakeClock clock;
  std::ostringstream os;
  Progress p("x", 0, 10.0, &os, clock.fn(), true);
  clock.now = 200.0;  // elapsed 100.0s
  p.update(12345);
  const std::string first = os.str();
  os.str("");
  clock.now = 200.5;  // elapsed 100.5s, shorter count
  p.update(7);
  const std::string second = os.str();
  EXPECT_EQ(first, "\rx: 12345 elapsed 100.0s");
  EXPECT_EQ(second, "\rx: 7 elapsed 100.5s    ");
  EXPECT_EQ(second.size(), first.size());
}

TEST(Progress, DestructorTerminatesUnfinishedTtyLine) {
  FakeClock clock;
  std::ostringstream os;
  {
    Progress p("d", 10, 10.0, &os, clock.fn(), true);
    p.update(3);
  }
  EXPECT_EQ(os.str().back(), '\n');
  std::ostringstream quiet;
  { Progress p("d", 10, 10.0, &quiet, clock.fn(), false); }
  EXPECT_EQ(quiet.str(), "");
}

TEST(Progress, NullStreamAndBadArguments) {
  FakeClock clock;
  Progress silent("s", 10, 0.0, nullptr, clock.fn(), false);
  silent.update(5);
  silent.finish();
  EXPECT_EQ(silent.lines_printed(), 0u);

  std::ostringstream os;
  EXPECT_THROW(Progress("s", 10, -1.0, &os, clock.fn(), false), std::invalid_argument);
  EXPECT_THROW(Progress("s", 10, 1.0, &os, Progress::Clock(), false), std::invalid_argument);
}

TEST(Progress, DefaultConstructorOnNonStderrStreamIsNotTty) {
  std::ostringstream os;
  Progress p("real", 3, 3600.0, &os);
  EXPECT_FALSE(p.tty());
  p.update(1);
  EXPECT_EQ(os.str(), "");  // within the first interval
  p.finish();
  const std::string out = os.str();
  EXPECT_EQ(out.rfind("real: 1/3 (33.3%) elapsed ", 0), 0u) << out;
  EXPECT_EQ(count(out, '\n'), 1u);
}

}  // namespace
}  // namespace flatmin::common
