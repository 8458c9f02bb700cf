// "Did you mean": edit distance and the nearest known name, as every strict reader reports them.
#include "common/nearest.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flatmin::common {
namespace {

TEST(Nearest, EditDistanceCountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("lr", "lr"), 0u);
  EXPECT_EQ(edit_distance("lrr", "lr"), 1u);         // deletion
  EXPECT_EQ(edit_distance("epochz", "epochs"), 1u);  // substitution
  EXPECT_EQ(edit_distance("kapa", "kappa"), 1u);     // insertion
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("betas", "beats"), 2u);    // a transposition is two edits
}

TEST(Nearest, NameAndMessageNameTheClosestKnownName) {
  const std::vector<std::string> known = {"lr", "betas", "eps", "weight_decay", "kappa"};
  EXPECT_EQ(nearest_name("wieght_decay", known), "weight_decay");
  EXPECT_EQ(nearest_name("kapa", known), "kappa");
  EXPECT_EQ(nearest_name("x", std::vector<std::string>{}), "");
  const auto msg = unknown_name_message("option", "wieght_decay", known);
  EXPECT_EQ(msg, "unknown option 'wieght_decay' (did you mean 'weight_decay'? known: lr, betas, eps, weight_decay, kappa)");
  EXPECT_EQ(unknown_name_message("option", "x", std::vector<std::string>{}), "unknown option 'x'");
}

}  // namespace
}  // namespace flatmin::common
