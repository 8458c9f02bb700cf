#include "optim/adamax.h"

#include "optim/detail/registry_entry.h"
#include "optim/elementwise_impl.h"

namespace flatmin::optim {

FLATMIN_INSTANTIATE_ELEMENTWISE(Adamax, AdamaxRule);

void register_adamax(detail::RegistryTable& table) { table["adamax"] = detail::entry<Adamax>(); }

}  // namespace flatmin::optim
