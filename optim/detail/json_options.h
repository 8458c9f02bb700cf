#pragma once
/// \file
/// Reads optimizer options from a JSON object, remembering which keys were used so that an
/// unknown option is reported (with the list of known ones) instead of being silently ignored.
#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace flatmin::optim::detail {

class OptionReader {
 public:
  OptionReader(std::string who, const nlohmann::json& j) : who_(std::move(who)), j_(j) {
    FLATMIN_CHECK(j_.is_object(), who_ << ": options must be a JSON object, got " << j_.dump());
  }

  bool has(const std::string& key) {
    known_.insert(key);
    return j_.contains(key) && !j_.at(key).is_null();
  }

  double number(const std::string& key, double def) {
    if (!has(key)) return def;
    const auto& v = j_.at(key);
    FLATMIN_CHECK(v.is_number(), who_ << ": option '" << key << "' must be a number, got " << v.dump());
    const double x = v.get<double>();
    FLATMIN_CHECK(std::isfinite(x), who_ << ": option '" << key << "' is not finite");
    return x;
  }

  int64_t integer(const std::string& key, int64_t def) {
    if (!has(key)) return def;
    const auto& v = j_.at(key);
    const bool integral = v.is_number_integer() ||
                          (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>());
    FLATMIN_CHECK(integral, who_ << ": option '" << key << "' must be an integer, got " << v.dump());
    return v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
  }

  bool boolean(const std::string& key, bool def) {
    if (!has(key)) return def;
    const auto& v = j_.at(key);
    FLATMIN_CHECK(v.is_boolean(), who_ << ": option '" << key << "' must be true or false, got " << v.dump());
    return v.get<bool>();
  }

  std::string string(const std::string& key, const std::string& def) {
    if (!has(key)) return def;
    const auto& v = j_.at(key);
    FLATMIN_CHECK(v.is_string(), who_ << ": option '" << key << "' must be a string, got " << v.dump());
    return v.get<std::string>();
  }

  std::tuple<double, double> betas(std::tuple<double, double> def) {
    if (!has("betas")) return def;
    const auto& v = j_.at("betas");
    FLATMIN_CHECK(v.is_array() && v.size() == 2 && v[0].is_number() && v[1].is_number(),
                  who_ << ": option 'betas' must be a list of two numbers, got " << v.dump());
    return {v[0].get<double>(), v[1].get<double>()};
  }

  /// A list of integers (e.g. ND-Adam's vec_axes); null or absent gives `def`.
  std::vector<int64_t> integers(const std::string& key, std::vector<int64_t> def) {
    if (!has(key)) return def;
    const auto& v = j_.at(key);
    FLATMIN_CHECK(v.is_array(), who_ << ": option '" << key << "' must be a list of integers, got " << v.dump());
    std::vector<int64_t> out;
    for (const auto& x : v) {
      FLATMIN_CHECK(x.is_number_integer(), who_ << ": option '" << key << "' must be a list of integers, got " << v.dump());
      out.push_back(x.get<int64_t>());
    }
    return out;
  }

  /// Throws if the object holds a key no getter asked for.
  void finish() const {
    for (const auto& item : j_.items()) {
      if (known_.count(item.key()) == 0) {
        std::ostringstream os;
        for (const auto& k : known_) os << (os.tellp() > 0 ? ", " : "") << k;
        throw common::InputError(who_ + ": unknown option '" + item.key() + "' (known: " + os.str() + ")");
      }
    }
  }

 private:
  std::string who_;
  const nlohmann::json& j_;
  std::set<std::string> known_;
};

}  // namespace flatmin::optim::detail
