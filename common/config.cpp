#include "common/config.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/nearest.h"

namespace flatmin::common {

using nlohmann::json;

const json ConfigReader::kEmptyObject = json::object();

ConfigReader::ConfigReader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
  FLATMIN_CHECK(j_.is_object(), where_ << ": must be a JSON object, got " << j_.dump());
}

bool ConfigReader::has(const std::string& key) {
  seen_.insert(key);
  return j_.contains(key) && !j_.at(key).is_null();
}

void ConfigReader::allow(std::initializer_list<std::string_view> keys) {
  for (const auto k : keys) seen_.insert(std::string(k));
}

const json& ConfigReader::at(const std::string& key) const { return j_.at(key); }

void ConfigReader::wrong_type(const std::string& key, const char* expected) const {
  throw InputTypeError(where_ + ": '" + key + "' must be " + expected + ", got " + at(key).dump());
}

void ConfigReader::require(bool ok, const std::string& key, const json& v, const std::string& what) const {
  if (ok) return;
  // a count beyond int64 was read as the largest integer (integer()): show it as given
  const bool saturated = v.is_number_integer() && (v == std::numeric_limits<int64_t>::max() || v == std::numeric_limits<int64_t>::min());
  const json& shown = saturated && j_.contains(key) ? j_.at(key) : v;
  throw InputError(where_ + ": " + key + " = " + shown.dump() + " must be " + what);
}

double ConfigReader::number(const std::string& key, double def) {
  double v = def;
  if (has(key)) {
    const auto& x = at(key);
    if (!x.is_number()) wrong_type(key, "a number");
    v = x.get<double>();
    require(std::isfinite(v), key, x, "finite");
  }
  resolved_[key] = v;
  return v;
}

double ConfigReader::number(const std::string& key) {
  FLATMIN_CHECK(has(key), where_ << ": missing required key '" << key << "' (a number)");
  return number(key, 0.0);
}

int64_t ConfigReader::read_integer(const std::string& key, int64_t def, bool saturate) {
  int64_t v = def;
  if (has(key)) {
    const auto& x = at(key);
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
    // 3.0 is accepted as 3 (JSON writers often emit integral floats); 3.5 is not. A count beyond 9e15 (e.g.
    // 1e18) reads as the largest integer of its sign, so that the caller's bound check names the bound.
    if (x.is_number_float()) {
      const double d = x.get<double>();
      const bool integral = std::isfinite(d) && d == std::floor(d);
      if (!integral || (!saturate && std::fabs(d) >= 9.0e15)) wrong_type(key, "an integer");
      v = std::fabs(d) < 9.0e15 ? static_cast<int64_t>(d) : (d > 0 ? kMax : kMin);
    } else if (x.is_number_unsigned() && x.get<uint64_t>() > static_cast<uint64_t>(kMax)) {
      if (!saturate) wrong_type(key, "an integer below 2^63");
      v = kMax;
    } else if (x.is_number_integer()) {
      v = x.get<int64_t>();
    } else {
      wrong_type(key, "an integer");
    }
  }
  resolved_[key] = v;
  return v;
}

int64_t ConfigReader::integer(const std::string& key, int64_t def) { return read_integer(key, def, false); }

int64_t ConfigReader::count(const std::string& key, int64_t def) { return read_integer(key, def, true); }

int64_t ConfigReader::integer(const std::string& key) {
  FLATMIN_CHECK(has(key), where_ << ": missing required key '" << key << "' (an integer)");
  return integer(key, 0);
}

int64_t ConfigReader::integer(const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  const int64_t v = count(key, def);
  require(v >= lo && v <= hi, key, v, "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v;
}

bool ConfigReader::boolean(const std::string& key, bool def) {
  bool v = def;
  if (has(key)) {
    if (!at(key).is_boolean()) wrong_type(key, "true or false");
    v = at(key).get<bool>();
  }
  resolved_[key] = v;
  return v;
}

std::string ConfigReader::string(const std::string& key, const std::string& def) {
  std::string v = def;
  if (has(key)) {
    if (!at(key).is_string()) wrong_type(key, "a string");
    v = at(key).get<std::string>();
  }
  resolved_[key] = v;
  return v;
}

std::string ConfigReader::string(const std::string& key) {
  FLATMIN_CHECK(has(key), where_ << ": missing required key '" << key << "' (a string)");
  return string(key, "");
}

std::string ConfigReader::choice(const std::string& key, const std::string& def,
                                 std::initializer_list<std::string_view> allowed) {
  const std::string v = string(key, def);
  for (const auto a : allowed) {
    if (a == v) return v;
  }
  throw InputError(where_ + ": '" + key + "': " + unknown_name_message("value", v, allowed));
}

template <class T, class Ok>
std::vector<T> ConfigReader::list(const std::string& key, const std::vector<T>& def, Ok&& ok, const char* array,
                                  const char* expected) {
  std::vector<T> v = def;
  if (has(key)) {
    const auto& x = at(key);
    if (!x.is_array()) wrong_type(key, array);
    v.clear();
    for (const auto& e : x) {
      if (!ok(e)) wrong_type(key, expected);
      v.push_back(e.template get<T>());
    }
  }
  resolved_[key] = v;
  return v;
}

std::vector<double> ConfigReader::numbers(const std::string& key, const std::vector<double>& def) {
  return list<double>(key, def, [](const json& e) { return e.is_number() && std::isfinite(e.get<double>()); },
                      "an array of numbers", "an array of finite numbers");
}

std::vector<int64_t> ConfigReader::integers(const std::string& key, const std::vector<int64_t>& def) {
  return list<int64_t>(key, def, [](const json& e) { return e.is_number_integer(); }, "an array of integers",
                       "an array of integers");
}

std::vector<std::string> ConfigReader::strings(const std::string& key, const std::vector<std::string>& def) {
  return list<std::string>(key, def, [](const json& e) { return e.is_string(); }, "an array of strings",
                           "an array of strings");
}

json ConfigReader::raw(const std::string& key, const json& def) { return has(key) ? at(key) : def; }

const json& ConfigReader::object(const std::string& key) {
  if (!has(key)) return kEmptyObject;
  if (!at(key).is_object()) wrong_type(key, "an object");
  return at(key);
}

void ConfigReader::set(const std::string& key, json v) { resolved_[key] = std::move(v); }

json ConfigReader::finish() {
  for (const auto& [k, v] : j_.items()) {
    if (seen_.count(k) == 0) throw InputError(where_ + ": " + unknown_name_message("key", k, seen_));
  }
  return resolved_;
}

json merge_profile(const json& cfg, const std::string& profile, const std::string& where) {
  if (!cfg.is_object() || !cfg.contains("profiles")) return cfg;
  json out = cfg;
  const json profiles = out.at("profiles");
  out.erase("profiles");
  FLATMIN_CHECK(profiles.is_object(), where << ": 'profiles' must be an object of profile name -> overrides");
  for (const auto& [name, over] : profiles.items()) {
    FLATMIN_CHECK(over.is_object(), where << ": profiles." << name << " must be an object");
  }
  if (profiles.contains(profile)) out.merge_patch(profiles.at(profile));
  return out;
}

}  // namespace flatmin::common
