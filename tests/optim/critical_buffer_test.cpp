// The critical buffer of Adam+CM / Adam+CG on its own (optim/critical_buffer.h), against the
// official TensorList (prioritydict.py): where each step's item goes, the stale FIFO slot, ageing,
// the NaN-first argmin, the checkpoint round trip and the consistency checks on load. The full
// optimizer against the official step is in adam_cm_test.cpp.
#include "optim/critical_buffer.h"

#include <cmath>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"

namespace flatmin::test {
namespace {

using optim::CriticalBuffer;
using rules::CriticalMode;

const auto kNever = [] { return false; };
const auto kAlways = [] { return true; };

/// Writes `value` into the planned item (what the rule does for a new item).
void fill(const CriticalBuffer::Plan& plan, double value) {
  if (plan.item.defined()) plan.item.fill_(value);
}

TEST(CriticalBuffer, FirstAppendThenPriorityModeReplacesTheMinimumOnlyWhenLarger) {
  CriticalBuffer b(torch::zeros({3}, torch::kFloat64), /*capacity=*/2, /*decay=*/0.5);
  EXPECT_TRUE(b.empty());
  auto p1 = b.plan(4.0, kNever);
  EXPECT_EQ(p1.mode, CriticalMode::kFirst);
  EXPECT_EQ(p1.count, 0);
  fill(p1, 1.0);
  b.age();  // keys {2}
  auto p2 = b.plan(3.0, kNever);
  EXPECT_EQ(p2.mode, CriticalMode::kAppend);
  EXPECT_EQ(p2.count, 1);
  fill(p2, 2.0);
  b.age();  // keys {1, 1.5}
  EXPECT_EQ(b.keys(), (std::vector<double>{1.0, 1.5}));
  // Full: 0.9 is not larger than the minimum 1.0 → kept, but the search remembers slot 0.
  auto p3 = b.plan(0.9, kNever);
  EXPECT_EQ(p3.mode, CriticalMode::kKeep);
  EXPECT_FALSE(p3.item.defined());
  EXPECT_EQ(p3.count, 2);
  EXPECT_EQ(b.smallest(), 0);
  EXPECT_EQ(b.keys(), (std::vector<double>{1.0, 1.5}));
  // 1.2 > 1.0 → replaces slot 0 (the item tensor is the stored one, written in place).
  auto p4 = b.plan(1.2, kNever);
  EXPECT_EQ(p4.mode, CriticalMode::kReplace);
  EXPECT_TRUE(p4.item.is_same(b.items()[0]));
  EXPECT_EQ(b.keys(), (std::vector<double>{1.2, 1.5}));
  EXPECT_EQ(b.items().size(), 2u);
}

TEST(CriticalBuffer, FifoModeOverwritesTheSlotOfTheLastSearchWithoutSearching) {
  CriticalBuffer b(torch::zeros({2}), 3, 1.0);
  for (double k : {5.0, 1.0, 3.0}) b.plan(k, kNever);
  EXPECT_EQ(b.smallest(), 0);  // never searched yet: the official initial index
  auto f = b.plan(0.1, kAlways);  // FIFO: slot 0 although slot 1 holds the minimum, and even though 0.1 is smaller
  EXPECT_EQ(f.mode, CriticalMode::kReplace);
  EXPECT_TRUE(f.item.is_same(b.items()[0]));
  EXPECT_EQ(b.keys(), (std::vector<double>{0.1, 1.0, 3.0}));
  b.plan(2.0, kNever);  // priority search finds slot 0 (0.1) and replaces it
  EXPECT_EQ(b.smallest(), 0);
  EXPECT_EQ(b.keys(), (std::vector<double>{2.0, 1.0, 3.0}));
  b.plan(9.0, kNever);  // now slot 1
  EXPECT_EQ(b.smallest(), 1);
  auto g = b.plan(0.5, kAlways);  // FIFO reuses the stale index 1
  EXPECT_TRUE(g.item.is_same(b.items()[1]));
  EXPECT_EQ(b.keys(), (std::vector<double>{2.0, 0.5, 3.0}));
}

TEST(CriticalBuffer, FifoIsAskedOnlyWhenFull) {
  CriticalBuffer b(torch::zeros({1}), 2, 0.7);
  int asked = 0;
  auto count = [&] {
    ++asked;
    return false;
  };
  b.plan(1.0, count);
  b.plan(2.0, count);
  EXPECT_EQ(asked, 0);  // the official code draws np.random.uniform() only for a full buffer
  b.plan(3.0, count);
  EXPECT_EQ(asked, 1);
}

TEST(CriticalBuffer, AgeingMultipliesEveryPriority) {
  CriticalBuffer b(torch::zeros({1}), 3, 0.7);
  b.plan(2.0, kNever);
  b.plan(4.0, kNever);
  b.age();
  b.age();
  EXPECT_EQ(b.keys(), (std::vector<double>{2.0 * 0.7 * 0.7, 4.0 * 0.7 * 0.7}));
}

TEST(CriticalBuffer, ArgminTakesTheFirstMinimumAndANanAsTheMinimum) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(optim::critical_argmin({3, 1, 1, 2}), 1);
  EXPECT_EQ(optim::critical_argmin({3, nan, 0, nan}), 1);  // torch.argmin: NaN wins, first one
  EXPECT_EQ(optim::critical_argmin({nan, 0}), 0);
  EXPECT_EQ(optim::critical_argmin({7}), 0);
}

TEST(CriticalBuffer, CheckpointRoundTripIsExactAndLoadChecksConsistency) {
  const auto like = torch::zeros({2, 2}, torch::kFloat64);
  CriticalBuffer b(like, 3, 0.9);
  for (double k : {1.0, 0.25, 3.0, 0.5}) {
    fill(b.plan(k, kNever), k);
    b.age();
  }
  torch::serialize::OutputArchive out;
  b.save(out);
  std::ostringstream os;
  out.save_to(os);
  torch::serialize::InputArchive in;
  std::istringstream is(os.str());
  in.load_from(is);
  CriticalBuffer c;
  c.load(in);
  c.adopt(like, "test");
  EXPECT_EQ(c.keys(), b.keys());
  EXPECT_EQ(c.smallest(), b.smallest());
  EXPECT_EQ(c.capacity(), 3);
  EXPECT_EQ(c.decay(), 0.9);
  ASSERT_EQ(c.items().size(), b.items().size());
  for (size_t j = 0; j < c.items().size(); ++j) EXPECT_TRUE(torch::equal(c.items()[j], b.items()[j]));
  // A buffer whose items do not fit the parameter, or an empty one, is refused with an InputError.
  EXPECT_THROW(c.adopt(torch::zeros({3}, torch::kFloat64), "test"), common::InputError);
  CriticalBuffer empty(like, 3, 0.9);
  try {
    empty.adopt(like, "adam_cm");
    FAIL() << "an empty buffer was accepted";
  } catch (const common::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("inconsistent adam_cm buffer (0 items"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flatmin::test
