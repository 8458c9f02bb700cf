#include "common/error.h"
#include "common/library_error.h"
#include "common/status.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace flatmin::common {
namespace {

static_assert(std::is_base_of_v<std::runtime_error, InputError>, "InputError must be a runtime_error");

TEST(FlatminCheck, PassingConditionDoesNotEvaluateMessage) {
  int evaluated = 0;
  auto side_effect = [&] {
    ++evaluated;
    return 1;
  };
  EXPECT_NO_THROW(FLATMIN_CHECK(1 + 1 == 2, "never " << side_effect()));
  EXPECT_EQ(evaluated, 0);
}

TEST(FlatminCheck, FailingConditionThrowsInputErrorWithStreamedMessage) {
  const double k = 1.5;
  try {
    FLATMIN_CHECK(k > 0 && k <= 1, "kappa = " << k << " violates 0 < kappa <= 1");
    FAIL() << "FLATMIN_CHECK did not throw";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "kappa = 1.5 violates 0 < kappa <= 1");
  }
}

TEST(FlatminCheck, WorksAsSingleStatementInIfElse) {
  bool threw = false;
  try {
    if (true)
      FLATMIN_CHECK(false, "x");
    else
      threw = false;
  } catch (const InputError&) {
    threw = true;
  }
  EXPECT_TRUE(threw);
}

struct RunResult {
  int code;
  std::string err;
};

RunResult run_captured(const std::function<int()>& body) {
  ::testing::internal::CaptureStderr();
  const int code = run_main("flatmin", body);
  return {code, ::testing::internal::GetCapturedStderr()};
}

std::size_t count_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

TEST(RunMain, ReturnsBodyResultAndPrintsNothing) {
  const RunResult r0 = run_captured([] { return 0; });
  EXPECT_EQ(r0.code, 0);
  EXPECT_EQ(r0.err, "");
  const RunResult r7 = run_captured([] { return 7; });
  EXPECT_EQ(r7.code, 7);
  EXPECT_EQ(r7.err, "");
}

TEST(RunMain, InputErrorGivesExitCode2AndOneErrorLine) {
  const RunResult r = run_captured([]() -> int { throw InputError("unknown option --foo"); });
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flatmin: error: unknown option --foo\n");
  EXPECT_EQ(count_lines(r.err), 1u);
}

TEST(RunMain, FlatminCheckFailureGivesExitCode2) {
  const RunResult r = run_captured([]() -> int {
    FLATMIN_CHECK(false, "steps = " << -3 << " must be positive");
    return 0;
  });
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "flatmin: error: steps = -3 must be positive\n");
}

TEST(RunMain, RuntimeErrorGivesExitCode1AndOneFatalLine) {
  const RunResult r = run_captured([]() -> int { throw std::runtime_error("CUDA out of memory"); });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "flatmin: fatal: CUDA out of memory\n");
  EXPECT_EQ(count_lines(r.err), 1u);
}

TEST(RunMain, LogicErrorIsFatal) {
  const RunResult r = run_captured([]() -> int { throw std::logic_error("bug"); });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "flatmin: fatal: bug\n");
}

TEST(RunMain, MultiLineMessageIsPrintedOnOneLine) {
  const RunResult r = run_captured([]() -> int { throw InputError("first\nsecond\r\nthird\n"); });
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(count_lines(r.err), 1u);
  EXPECT_EQ(r.err.rfind("flatmin: error: first second", 0), 0u) << r.err;
  EXPECT_EQ(r.err.back(), '\n');
}

TEST(RunMain, DivergedErrorGivesExitCode1AndOneDivergedLine) {
  const RunResult r = run_captured([]() -> int { throw DivergedError("epoch 1, batch 3: loss = inf"); });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "flatmin: diverged: epoch 1, batch 3: loss = inf\n");
  EXPECT_EQ(count_lines(r.err), 1u);
}

static_assert(std::is_base_of_v<std::runtime_error, DivergedError>, "DivergedError is a runtime_error");
static_assert(!std::is_base_of_v<InputError, DivergedError>, "divergence is not bad input (exit 1, not 2)");

TEST(RunStatus, ToStringNamesAsWritten) {
  EXPECT_STREQ(to_string(RunStatus::ok), "ok");
  EXPECT_STREQ(to_string(RunStatus::diverged), "diverged");
  EXPECT_STREQ(to_string(RunStatus::not_converged), "not_converged");
  EXPECT_STREQ(to_string(RunStatus::failed), "failed");
  EXPECT_STREQ(to_string(RunStatus::interrupted), "interrupted");
  const RunOutcome o = DivergedError("path 17 at t = 2.5").outcome();
  EXPECT_EQ(o.status, RunStatus::diverged);
  EXPECT_FALSE(o.ok());
  EXPECT_STREQ(o.status_name(), "diverged");
  EXPECT_EQ(o.message, "path 17 at t = 2.5");
  EXPECT_TRUE(RunOutcome{}.ok());
}

TEST(RunMain, NonStdExceptionGivesExitCode1) {
  const RunResult r = run_captured([]() -> int { throw 42; });
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "flatmin: fatal: unknown exception\n");
}


// The one LibTorch error mapper: the first meaningful sentence, no frames, never cut mid-word.
TEST(ShortLibraryError, C10ErrorKeepsTheMessageDropsTheBacktrace) {
  const std::string what =
      "PytorchStreamReader failed reading zip archive: failed finding central directory\n"
      "Exception raised from valid at ./caffe2/serialize/inline_container.cc:177 (most recent call first):\n"
      "frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x57 (0x7f in libc10.so)\n"
      "frame #1: c10::detail::torchCheckFail(char const*, char const*, unsigned int, std::string const&) + 0x64\n";
  EXPECT_EQ(short_library_error(what), "PytorchStreamReader failed reading zip archive: failed finding central directory");
  // the same text already flattened onto one line (single_line) maps the same way
  EXPECT_EQ(short_library_error(single_line(what)),
            "PytorchStreamReader failed reading zip archive: failed finding central directory");
}

TEST(ShortLibraryError, TorchScriptInterpreterReportKeepsItsErrorLine) {
  const std::string what =
      "The following operation failed in the TorchScript interpreter.\n"
      "Traceback of TorchScript, serialized code (most recent call last):\n"
      "  File \"code/__torch__.py\", line 10, in forward\n"
      "    input = torch.linear(x, weight, bias)\n"
      "RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x64 and 10x4)\n";
  EXPECT_EQ(short_library_error(what), "mat1 and mat2 shapes cannot be multiplied (2x64 and 10x4)");
}

TEST(ShortLibraryError, FirstNonEmptyLineCollapsedAndNeverEmpty) {
  EXPECT_EQ(short_library_error("\n\n  Unknown opcode   for unpickling at 0x2a: 80\nsecond line\n"),
            "Unknown opcode for unpickling at 0x2a: 80");
  EXPECT_EQ(short_library_error(""), "unknown error");
  EXPECT_EQ(short_library_error("\nframe #0: c10::Error::Error()"), "unknown error");
}

TEST(ShortLibraryError, LongTextIsCutAtAWordBoundary) {
  std::string what;
  for (int i = 0; i < 100; ++i) what += "word" + std::to_string(i) + " ";
  const std::string s = short_library_error(what, 60);
  ASSERT_GE(s.size(), 4u);
  EXPECT_EQ(s.substr(s.size() - 3), "…");
  const std::string body = s.substr(0, s.size() - 3);
  EXPECT_LE(body.size(), 60u);
  EXPECT_EQ(what.compare(0, body.size(), body), 0);
  EXPECT_EQ(what[body.size()], ' ') << "cut mid-word: " << s;
  EXPECT_EQ(s.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace flatmin::common
