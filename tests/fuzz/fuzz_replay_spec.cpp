// libFuzzer target: the optim-replay spec reader (optim/replay_spec.h, parse_replay_spec: every check of
// `flatmin optim-replay` but the optimizer's name and option values). Any input may be rejected with
// InputError; anything else (another exception, a crash, a sanitizer report) is a bug. An accepted spec
// must also hold what replay() relies on (shapes, counts, groups), checked here.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/json_io.h"
#include "optim/replay_spec.h"

namespace fc = flatmin::common;
namespace fo = flatmin::optim;

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // an accepted spec that replay() could not run: a bug
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json j = fc::parse_json_text(text, "spec.json");
    const fo::ReplaySpec s = fo::parse_replay_spec(j);
    check(!s.params.empty() && s.steps >= 0 && s.steps <= fo::kMaxReplaySteps && s.steps_per_epoch >= 1);
    check(s.options.is_object());
    for (const auto& p : s.params) check(!p.empty());
    if (s.has_grads) {
      check(static_cast<int64_t>(s.grads.size()) == s.steps && s.quad_a.empty());
      for (const auto& g : s.grads) {
        check(g.size() == s.params.size());
        for (size_t i = 0; i < g.size(); ++i) check(g[i].size() == s.params[i].size());
      }
    } else {
      check(s.quad_a.size() == s.params.size() && s.quad_c.size() == s.params.size() && s.grads.empty());
      for (size_t i = 0; i < s.params.size(); ++i) {
        check(s.quad_a[i].size() == s.params[i].size() && s.quad_c[i].size() == s.params[i].size());
      }
    }
    if (!s.groups.empty()) {
      std::vector<int> seen(s.params.size(), 0);
      for (const auto& g : s.groups) {
        check(g.options.is_object());
        for (const auto i : g.params) {
          check(i < s.params.size());
          ++seen[i];
        }
      }
      for (const int n : seen) check(n == 1);
    }
  } catch (const fc::InputError&) {
    // rejected input: fine
  }
  return 0;
}
