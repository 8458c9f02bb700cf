// Reproduce targets of experiments/simulations (MIAdam Fig. 2, the 2,500-start study, escape, regret).
#include "experiments/commands/reproduce_target.h"

namespace flatmin::experiments {

void add_sim_targets(std::map<std::string, TargetRunner>&) {}

}  // namespace flatmin::experiments
