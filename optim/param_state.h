#pragma once
/// \file
/// Hand-written per-parameter state from ONE field list (the elementwise optimizers use
/// ElementwiseState<Rule> instead). A list is a macro taking X, one `X(type, name, adopt)` per field:
///
///   #define FLATMIN_ADAI_STATE(X)  X(int64_t, step, as_is)  X(torch::Tensor, exp_avg, like_param) …
///   (one field per line, lines joined by backslashes)
///   struct AdaiParamState : torch::optim::OptimizerCloneableParamState<AdaiParamState> {
///     FLATMIN_STATE_FIELDS(FLATMIN_ADAI_STATE)
///     FLATMIN_STATE_SERIALIZE()          // or serialize by hand: write_fields/read_fields + extras
///   };
///
/// generates the TORCH_ARG accessors (value-initialised: counts 0, tensors undefined), write_fields /
/// read_fields (torch's _TORCH_OPTIM_(DE)SERIALIZE_TORCH_ARG, so the checkpoint keys are the field
/// names and an undefined tensor is not written) and adopt_fields(p, who): every `like_param` tensor
/// is moved to p's device and must have p's shape and dtype (adopt_state_tensor; InputError naming
/// "who name"); `as_is` fields (scalars, or tensors the optimizer checks itself) are left alone.
#include <string>

#include <torch/optim/optimizer.h>
#include <torch/optim/serialize.h>
#include <torch/serialize/archive.h>

#include "optim/optimizer_base.h"

namespace flatmin::optim::detail {

inline void adopt_field_like_param(torch::Tensor& t, const torch::Tensor& p, const std::string& who, const char* name) {
  t = adopt_state_tensor(t, p, who + " " + name);
}
template <class T>
void adopt_field_as_is(T&, const torch::Tensor&, const std::string&, const char*) {}

}  // namespace flatmin::optim::detail

#define FLATMIN_STATE_DECLARE_(type, name, adopt) TORCH_ARG(type, name){};
#define FLATMIN_STATE_WRITE_(type, name, adopt) _TORCH_OPTIM_SERIALIZE_TORCH_ARG(name)
#define FLATMIN_STATE_READ_(type, name, adopt) _TORCH_OPTIM_DESERIALIZE_TORCH_ARG(type, name)
#define FLATMIN_STATE_ADOPT_(type, name, adopt) ::flatmin::optim::detail::adopt_field_##adopt(name##_, p, who, #name);

#define FLATMIN_STATE_FIELDS(FIELDS)                                                                   \
  FIELDS(FLATMIN_STATE_DECLARE_)                                                                       \
 public:                                                                                               \
  void write_fields(torch::serialize::OutputArchive& archive) const { FIELDS(FLATMIN_STATE_WRITE_) }   \
  void read_fields(torch::serialize::InputArchive& archive) { FIELDS(FLATMIN_STATE_READ_) }            \
  void adopt_fields(const torch::Tensor& p, const std::string& who) { FIELDS(FLATMIN_STATE_ADOPT_) }

/// The two serialize overrides of a state that is exactly its field list.
#define FLATMIN_STATE_SERIALIZE()                                                                      \
  void serialize(torch::serialize::InputArchive& archive) override { read_fields(archive); }           \
  void serialize(torch::serialize::OutputArchive& archive) const override { write_fields(archive); }
