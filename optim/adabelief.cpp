#include "optim/adabelief.h"

#include "optim/detail/registry_entry.h"
#include "optim/elementwise_impl.h"

namespace flatmin::optim {

FLATMIN_INSTANTIATE_ELEMENTWISE(AdaBelief, AdaBeliefRule);

void register_adabelief(detail::RegistryTable& table) { table["adabelief"] = detail::entry<AdaBelief>(); }

}  // namespace flatmin::optim
