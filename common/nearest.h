#pragma once
/// \file
/// "Did you mean …?" for unknown names: the known name nearest to a typo (Levenshtein distance,
/// ties broken by order). Used by every strict reader (optimizer options, config keys) so that an
/// unknown key is reported with the one valid key the user most likely meant.
#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace flatmin::common {

/// Edit distance (insertions, deletions, substitutions, each 1) between a and b, case-sensitive.
inline size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

/// The element of `known` nearest to `name` (first of equals); empty when `known` is empty.
template <class Range>
std::string nearest_name(std::string_view name, const Range& known) {
  std::string best;
  size_t best_d = static_cast<size_t>(-1);
  for (const auto& k : known) {
    const std::string_view kv(k);
    const size_t d = edit_distance(name, kv);
    if (d < best_d) {
      best_d = d;
      best = std::string(kv);
    }
  }
  return best;
}

/// "unknown <what> '<name>' (did you mean '<nearest>'? known: a, b, …)".
template <class Range>
std::string unknown_name_message(const std::string& what, std::string_view name, const Range& known) {
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + std::string(std::string_view(k));
  const std::string near = nearest_name(name, known);
  std::string msg = "unknown " + what + " '" + std::string(name) + "'";
  if (!near.empty()) msg += " (did you mean '" + near + "'? known: " + list + ")";
  return msg;
}

}  // namespace flatmin::common
