#pragma once
/// \file
/// One option schema per optimizer. An optimizer's options are written once, as a field list
///
///   #define FLATMIN_ADAMAX_FIELDS(X)  (one X(...) per option, lines joined by backslashes)
///     X(double, lr, 2e-3, at_least(0), "torch.optim.Adamax", "learning rate α")
///     X(Betas, betas, Betas(0.9, 0.999), unit_interval(), "torch.optim.Adamax", "β1, β2") …
///   struct AdamaxOptions : OptionsBase<AdamaxOptions> { FLATMIN_OPTIONS(AdamaxOptions, "adamax", FLATMIN_ADAMAX_FIELDS) };
///
/// (type, name, default, allowed range, where the default comes from, one-line doc), and that list
/// generates the accessors (LibTorch's TORCH_ARG), the strict JSON parse (an unknown name is an error
/// naming the nearest known one; a wrong type names the key and the expected type), validation,
/// checkpoint save/load, `to_json` for manifests, the `list-optimizers --options` table, and the
/// schema as data (`FieldInfo`) for other front ends. LibTorch's own options (SGD, Adam, AdamW) get the
/// same treatment through `schema::fields_of<Options>(…)` over their accessors.
///
/// A registry name can configure a shared options type through a `Preset`: options fixed by the name
/// (miadam2's order), other defaults, options the name does not take, spellings of its own
/// (nadam_keras' schedule_decay) and options without a default (Adai's lr).
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "common/error.h"
#include "common/nearest.h"
#include "optim/field_info.h"

/// The JSON names of enum E's values (strings in JSON, integers in checkpoints).
#define FLATMIN_ENUM_NAMES(E, ...)                                                      \
  inline const std::vector<std::pair<std::string, E>>& enum_names(E) {                 \
    static const std::vector<std::pair<std::string, E>> names{__VA_ARGS__};            \
    return names;                                                                       \
  }

namespace flatmin::optim {

using Betas = std::tuple<double, double>;

namespace schema {

using nlohmann::json;

/// Where a field's default comes from when the field is not a user option (kept in checkpoints only).
inline constexpr const char* kInternal = "internal";

/// An allowed interval for a number (each element of betas, the value of a number-or-null).
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_closed = true, hi_closed = false;
  std::string note;  ///< appended to the violation message, e.g. "(Theorem 2)"
  bool any = false;  ///< no constraint

  bool contains(double x) const {
    if (any) return true;
    if (!std::isfinite(x)) return false;
    return (lo_closed ? x >= lo : x > lo) && (hi_closed ? x <= hi : x < hi);
  }
  std::string text(const std::string& name) const;
};
inline Range any() { Range r; r.any = true; return r; }
/// lo <= x < inf
inline Range at_least(double lo, std::string note = {}) { return Range{lo, std::numeric_limits<double>::infinity(), true, false, std::move(note)}; }
/// lo < x < inf
inline Range above(double lo, std::string note = {}) { return Range{lo, std::numeric_limits<double>::infinity(), false, false, std::move(note)}; }
/// lo <= x < hi
inline Range half_open(double lo, double hi, std::string note = {}) { return Range{lo, hi, true, false, std::move(note)}; }
/// lo <= x <= hi
inline Range closed(double lo, double hi, std::string note = {}) { return Range{lo, hi, true, true, std::move(note)}; }
/// lo < x <= hi
inline Range left_open(double lo, double hi, std::string note = {}) { return Range{lo, hi, false, true, std::move(note)}; }
/// [0, 1): a decay rate (each of betas)
inline Range unit_interval() { return half_open(0.0, 1.0); }

std::string format_number(double x);

inline std::string Range::text(const std::string& name) const {
  if (any) return {};
  std::string s;
  s += format_number(lo) + (lo_closed ? " <= " : " < ") + name;
  s += (hi_closed ? " <= " : " < ") + format_number(hi);
  if (!note.empty()) s += " " + note;
  return s;
}

// ---- value types -------------------------------------------------------------------------------

/// Names of an enum's values, found by ADL: `const std::vector<std::pair<std::string, E>>& enum_names(E)`,
/// declared next to the enum with FLATMIN_ENUM_NAMES(E, {"name", E::kValue}, …).
template <class E>
const std::vector<std::pair<std::string, E>>& names_of() {
  return enum_names(E{});
}

[[noreturn]] void wrong_type(const std::string& who, const std::string& key, const std::string& expected, const json& got);
[[noreturn]] void out_of_range(const std::string& who, const std::string& key, double value, const std::string& constraint);

/// How one C++ option type reads/writes JSON and checkpoints, and how it is named in the schema.
template <class T, class = void>
struct Traits;

template <>
struct Traits<double> {
  static std::string type() { return "number"; }
  static double parse(const json& v, const std::string& who, const std::string& key) {
    if (!v.is_number()) wrong_type(who, key, "a number", v);
    const double x = v.get<double>();
    FLATMIN_CHECK(std::isfinite(x), who << ": option '" << key << "' is not finite");
    return x;
  }
  static json to_json(double x) { return x; }
  static c10::IValue save(double x) { return x; }
  static double load(const c10::IValue& v) { return v.toDouble(); }
  static void check(const std::string& who, const std::string& key, double x, const Range& r) {
    if (!r.contains(x)) out_of_range(who, key, x, r.text(key));
  }
};

template <>
struct Traits<int64_t> {
  static std::string type() { return "integer"; }
  static int64_t parse(const json& v, const std::string& who, const std::string& key) {
    const bool integral = v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) &&
                                                    std::floor(v.get<double>()) == v.get<double>());
    if (!integral) wrong_type(who, key, "an integer", v);
    return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
  }
  static json to_json(int64_t x) { return x; }
  static c10::IValue save(int64_t x) { return x; }
  static int64_t load(const c10::IValue& v) { return v.toInt(); }
  static void check(const std::string& who, const std::string& key, int64_t x, const Range& r) {
    if (!r.contains(static_cast<double>(x))) out_of_range(who, key, static_cast<double>(x), r.text(key));
  }
};

template <>
struct Traits<bool> {
  static std::string type() { return "bool"; }
  static bool parse(const json& v, const std::string& who, const std::string& key) {
    if (!v.is_boolean()) wrong_type(who, key, "true or false", v);
    return v.get<bool>();
  }
  static json to_json(bool x) { return x; }
  static c10::IValue save(bool x) { return x; }
  static bool load(const c10::IValue& v) { return v.toBool(); }
  static void check(const std::string&, const std::string&, bool, const Range&) {}
};

template <>
struct Traits<Betas> {
  static std::string type() { return "[number, number]"; }
  static Betas parse(const json& v, const std::string& who, const std::string& key) {
    if (!(v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number())) {
      wrong_type(who, key, "a list of two numbers", v);
    }
    return {v[0].get<double>(), v[1].get<double>()};
  }
  static json to_json(const Betas& b) { return json::array({std::get<0>(b), std::get<1>(b)}); }
  static c10::IValue save(const Betas& b) { return c10::IValue(b); }
  static Betas load(const c10::IValue& v) { return v.to<Betas>(); }
  static void check(const std::string& who, const std::string& key, const Betas& b, const Range& r) {
    Traits<double>::check(who, key + "[0]", std::get<0>(b), r);
    Traits<double>::check(who, key + "[1]", std::get<1>(b), r);
  }
};

/// A number that may be absent (JSON null; NaN in checkpoints, as the official `None`).
template <>
struct Traits<std::optional<double>> {
  static std::string type() { return "number or null"; }
  static std::optional<double> parse(const json& v, const std::string& who, const std::string& key) {
    if (v.is_null()) return std::nullopt;
    if (!v.is_number()) wrong_type(who, key, "a number or null", v);
    return Traits<double>::parse(v, who, key);
  }
  static json to_json(const std::optional<double>& x) { return x ? json(*x) : json(nullptr); }
  static c10::IValue save(const std::optional<double>& x) { return x ? *x : std::numeric_limits<double>::quiet_NaN(); }
  static std::optional<double> load(const c10::IValue& v) {
    const double x = v.toDouble();
    return std::isnan(x) ? std::nullopt : std::optional<double>(x);
  }
  static void check(const std::string& who, const std::string& key, const std::optional<double>& x, const Range& r) {
    if (x) Traits<double>::check(who, key, *x, r);
  }
};

/// A list of integers; JSON null or absent is the empty list.
template <>
struct Traits<std::vector<int64_t>> {
  static std::string type() { return "list of integers or null"; }
  static std::vector<int64_t> parse(const json& v, const std::string& who, const std::string& key) {
    if (v.is_null()) return {};
    if (!v.is_array()) wrong_type(who, key, "a list of integers", v);
    std::vector<int64_t> out;
    for (const auto& x : v) {
      if (!x.is_number_integer()) wrong_type(who, key, "a list of integers", v);
      out.push_back(x.get<int64_t>());
    }
    return out;
  }
  static json to_json(const std::vector<int64_t>& x) { return x.empty() ? json(nullptr) : json(x); }
  static c10::IValue save(const std::vector<int64_t>& x) { return c10::IValue(x); }
  static std::vector<int64_t> load(const c10::IValue& v) { return v.toIntVector(); }
  static void check(const std::string&, const std::string&, const std::vector<int64_t>&, const Range&) {}
};

/// An enum: a string in JSON (one of its names), an integer in checkpoints.
template <class E>
struct Traits<E, std::enable_if_t<std::is_enum_v<E>>> {
  static std::string type() {
    std::string s = "one of";
    for (const auto& [n, e] : names_of<E>()) s += (s.size() > 6 ? ", '" : " '") + n + "'";
    return s;
  }
  static E parse(const json& v, const std::string& who, const std::string& key) {
    if (!v.is_string()) wrong_type(who, key, type(), v);
    for (const auto& [n, e] : names_of<E>()) {
      if (n == v.get<std::string>()) return e;
    }
    throw common::InputError(who + ": " + key + " = '" + v.get<std::string>() + "' is not " + type());
  }
  static json to_json(E x) {
    for (const auto& [n, e] : names_of<E>()) {
      if (e == x) return n;
    }
    return static_cast<int64_t>(x);
  }
  static c10::IValue save(E x) { return static_cast<int64_t>(x); }
  static E load(const c10::IValue& v) { return static_cast<E>(v.toInt()); }
  static void check(const std::string& who, const std::string& key, E x, const Range&) {
    bool known = false;
    for (const auto& [n, e] : names_of<E>()) known = known || e == x;
    FLATMIN_CHECK(known, who << ": " << key << " has an unknown value " << static_cast<int64_t>(x));
  }
};

// ---- fields ------------------------------------------------------------------------------------

/// One field of options type O, type-erased: everything the schema generates for it.
template <class O>
struct Field {
  FieldInfo info;
  bool internal = false;  ///< not a user option (checkpoint only)
  std::function<void(O&, const json&, const std::string& who)> parse;
  std::function<json(const O&)> to_json;
  std::function<bool(const O&, const json&)> equals;  ///< the value equals a JSON value (a preset's fixed value)
  std::function<void(const O&, const std::string& who, const std::string& key)> check;  ///< key: the name to report
  std::function<void(const O&, torch::serialize::OutputArchive&)> save;
  std::function<void(O&, torch::serialize::InputArchive&)> load;
};

template <class O, class T, class Get, class Set>
Field<O> make_field(const char* name, Get get, Set set, const T& def, Range range, const char* source, const char* doc) {
  using Tr = Traits<T>;
  Field<O> f;
  const std::string key = name;
  f.internal = std::string(source) == kInternal;
  f.info = FieldInfo{key, Tr::type(), Tr::to_json(def), range.text(key), source, doc};
  f.parse = [key, set](O& o, const json& v, const std::string& who) { set(o, Tr::parse(v, who, key)); };
  f.to_json = [get](const O& o) { return Tr::to_json(get(o)); };
  f.equals = [get](const O& o, const json& v) { return Tr::to_json(get(o)) == v; };
  f.check = [get, range](const O& o, const std::string& who, const std::string& as) { Tr::check(who, as, get(o), range); };
  f.save = [key, get](const O& o, torch::serialize::OutputArchive& a) { a.write(key, Tr::save(get(o))); };
  f.load = [key, set](O& o, torch::serialize::InputArchive& a) {
    c10::IValue v;
    if (a.try_read(key, v)) set(o, Tr::load(v));  // absent in an older checkpoint: keep the default
  };
  return f;
}

/// One X-list entry as a Field of `Self` over the accessors `o.name()` / `o.name(value)`.
#define FLATMIN_SCHEMA_FIELD(T, name, def, range, source, doc)                                                 \
  ::flatmin::optim::schema::make_field<Self, T>(                                                              \
      #name, [](const Self& o) -> T { return o.name(); }, [](Self& o, const T& v) { o.name(v); }, T(def),       \
      [] { using namespace ::flatmin::optim::schema; return range; }(), source, doc),

/// One X-list entry as a TORCH_ARG member with its default.
#define FLATMIN_SCHEMA_MEMBER(T, name, def, range, source, doc) TORCH_ARG(T, name) = T(def);

/// The body of an options struct from its field list: the accessors, kName and the field table.
#define FLATMIN_OPTIONS(Type, name_string, FIELDS)                                \
 public:                                                                        \
  using Self = Type;                                                            \
  static constexpr const char* kName = name_string;                            \
  Type() = default;                                                             \
  Type(double lr) { this->lr(lr); } /* NOLINT: LibTorch constructs options from an lr */ \
  static const std::vector<::flatmin::optim::schema::Field<Type>>& fields() {  \
    static const std::vector<::flatmin::optim::schema::Field<Type>> f{FIELDS(FLATMIN_SCHEMA_FIELD)}; \
    return f;                                                                   \
  }                                                                             \
  FIELDS(FLATMIN_SCHEMA_MEMBER)                                                 \
 public:

// ---- operations over a field table -------------------------------------------------------------

/// How `spellings` ({name, field}) spell a field (the field's own name when they do not).
inline std::string spelled(const std::vector<std::pair<std::string, std::string>>& spellings, const std::string& field) {
  for (const auto& [spelling, f] : spellings) {
    if (f == field) return spelling;
  }
  return field;
}

template <class O, class = void>
struct HasCheck : std::false_type {};
template <class O>
struct HasCheck<O, std::void_t<decltype(std::declval<const O&>().check(std::string()))>> : std::true_type {};

/// Validates every field against its range, then the type's cross-field `check(who)` if it has one.
/// `spellings` ({name, field}) name a field as a registry name spells it.
template <class O>
void validate(const O& o, const std::vector<Field<O>>& fields, const std::string& who,
              const std::vector<std::pair<std::string, std::string>>& spellings = {}) {
  for (const auto& f : fields) {
    f.check(o, who, spelled(spellings, f.info.name));
  }
  if constexpr (HasCheck<O>::value) o.check(who);
}

}  // namespace schema

/// How a registry name configures a shared options type.
struct Preset {
  nlohmann::json fixed = nlohmann::json::object();     ///< set by the name; another user value is an error
  nlohmann::json defaults = nlohmann::json::object();  ///< defaults that differ from the type's
  std::vector<std::string> hidden;                     ///< fields the name does not take (left at their default)
  std::vector<std::pair<std::string, std::string>> spellings;  ///< {the name's spelling, field}
  std::vector<std::string> required;                   ///< fields the user must give
  std::string fixed_hint;                              ///< appended to a "fixed by the name" error
  std::string required_hint;                           ///< appended to a "required" error
};

namespace schema {

/// The user-facing names `preset` accepts for fields `fields` (spellings applied, hidden and internal dropped).
template <class O>
std::vector<std::string> accepted_names(const std::vector<Field<O>>& fields, const Preset& preset) {
  std::vector<std::string> out;
  for (const auto& f : fields) {
    if (f.internal) continue;
    bool hide = false;
    for (const auto& h : preset.hidden) hide = hide || h == f.info.name;
    if (hide) continue;
    out.push_back(spelled(preset.spellings, f.info.name));
  }
  return out;
}

/// The field behind user name `key` under `preset`, or nullptr.
template <class O>
const Field<O>* find(const std::vector<Field<O>>& fields, const Preset& preset, const std::string& key) {
  std::string field = key;
  for (const auto& [spelling, f] : preset.spellings) {
    if (f == key) return nullptr;  // the field is spelled differently under this name
    if (spelling == key) field = f;
  }
  for (const auto& h : preset.hidden) {
    if (h == field) return nullptr;
  }
  for (const auto& f : fields) {
    if (!f.internal && f.info.name == field) return &f;
  }
  return nullptr;
}

/// Default-constructed options (LibTorch's SGDOptions has only a constructor from lr).
template <class O>
O blank() {
  if constexpr (std::is_default_constructible_v<O>) {
    return O();
  } else {
    return O(0.0);
  }
}

/// Strict parse of `j` into options (no range validation: that happens once, when the optimizer is
/// constructed). Unknown key → InputError naming the nearest accepted name; wrong type → names the key
/// and the expected type; a value that contradicts the name's preset → InputError.
template <class O>
O parse(const nlohmann::json& j, const std::vector<Field<O>>& fields, const Preset& preset, const std::string& who) {
  FLATMIN_CHECK(j.is_object(), who << ": options must be a JSON object, got " << j.dump());
  O o = blank<O>();
  auto by_name = [&](const std::string& name) -> const Field<O>& {
    for (const auto& f : fields) {
      if (f.info.name == name) return f;
    }
    throw std::logic_error("preset names an unknown field '" + name + "'");
  };
  for (const auto& [k, v] : preset.defaults.items()) by_name(k).parse(o, v, who);
  for (const auto& [k, v] : preset.fixed.items()) by_name(k).parse(o, v, who);
  const auto names = accepted_names(fields, preset);
  for (const auto& [k, v] : j.items()) {
    const Field<O>* f = find(fields, preset, k);
    if (f == nullptr) throw common::InputError(who + ": " + common::unknown_name_message("option", k, names));
    if (v.is_null() && f->info.type.find("null") == std::string::npos) continue;  // null = the default
    if (preset.fixed.contains(f->info.name)) {
      O probe = blank<O>();
      f->parse(probe, v, who);
      FLATMIN_CHECK(f->equals(probe, preset.fixed.at(f->info.name)),
                    who << ": option '" << k << "' = " << v.dump() << " contradicts the name ('" << who
                        << "' fixes it to " << preset.fixed.at(f->info.name).dump() << ")" << preset.fixed_hint);
      continue;
    }
    f->parse(o, v, who);
  }
  for (const auto& r : preset.required) {
    const std::string key = spelled(preset.spellings, r);
    FLATMIN_CHECK(j.contains(key) && !j.at(key).is_null(), who << ": option '" << key << "' is required" << preset.required_hint);
  }
  return o;
}

/// The resolved options as JSON under `preset`'s names.
template <class O>
nlohmann::json to_json(const O& o, const std::vector<Field<O>>& fields, const Preset& preset) {
  nlohmann::json j = nlohmann::json::object();
  const auto names = accepted_names(fields, preset);
  for (const auto& name : names) j[name] = find(fields, preset, name)->to_json(o);
  return j;
}

/// The schema of a registry name as data.
template <class O>
std::vector<FieldInfo> info(const std::vector<Field<O>>& fields, const Preset& preset) {
  std::vector<FieldInfo> out;
  for (const auto& name : accepted_names(fields, preset)) {
    FieldInfo fi = find(fields, preset, name)->info;
    const std::string field = fi.name;
    fi.name = name;
    if (preset.defaults.contains(field)) fi.default_value = preset.defaults.at(field);
    if (preset.fixed.contains(field)) {
      fi.default_value = preset.fixed.at(field);
      fi.constraint = "fixed by the name";
    }
    for (const auto& r : preset.required) {
      if (r == field) fi.default_value = nullptr;
    }
    out.push_back(fi);
  }
  return out;
}

}  // namespace schema

/// CRTP base of flatmin's options types: validation, checkpoint (de)serialisation and the lr
/// accessors LibTorch's schedulers use, all from `Derived::fields()`.
template <class Derived>
struct OptionsBase : public torch::optim::OptimizerCloneableOptions<Derived> {
  /// Throws flatmin::common::InputError "<kName>: <option> = <value> violates <constraint>".
  void validate() const { schema::validate(self(), Derived::fields(), Derived::kName); }
  void serialize(torch::serialize::OutputArchive& archive) const override {
    for (const auto& f : Derived::fields()) f.save(self(), archive);
  }
  void serialize(torch::serialize::InputArchive& archive) override {
    for (const auto& f : Derived::fields()) f.load(static_cast<Derived&>(*this), archive);
  }
  double get_lr() const override { return self().lr(); }
  void set_lr(const double lr) override { static_cast<Derived&>(*this).lr(lr); }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace flatmin::optim
