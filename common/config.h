#pragma once
/// \file
/// The one strict reader for JSON configs (train, sweep, reproduce targets, simulate, theory) and the
/// one profile merge. A reader hands out typed values with defaults, records every key it was asked
/// for and the value it resolved to (for manifests), and `finish()` rejects any key nobody asked for,
/// naming the nearest known key. A value of the wrong type is an InputError naming the key and the
/// expected type. All errors are `common::InputError` (exit 2) and carry the reader's `where` prefix.

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace flatmin::common {

class ConfigReader {
 public:
  /// `j` must be a JSON object and must outlive the reader (it is held by reference); `where` prefixes
  /// every message (e.g. "train config", "config.json: escape.optimizer").
  ConfigReader(const nlohmann::json& j, std::string where);
  /// The reader holds `j` by reference: a temporary would dangle.
  ConfigReader(nlohmann::json&& j, std::string where) = delete;

  /// A finite number; an integer in JSON is accepted.
  double number(const std::string& key, double def);
  double number(const std::string& key);  ///< required
  int64_t integer(const std::string& key, int64_t def);
  int64_t integer(const std::string& key);  ///< required
  /// A count: an integer whose bound the caller checks (common/limits.h) with require(); a value too large for
  /// int64 (`1e18` as a float, 2^64 - 1) reads as the largest integer of its sign, so that the bound check
  /// rejects it showing the value as given (integer() calls it a wrong type).
  int64_t count(const std::string& key, int64_t def);
  /// A count in [lo, hi] (its documented bound): out of range names the key and the range.
  int64_t integer(const std::string& key, int64_t def, int64_t lo, int64_t hi);
  bool boolean(const std::string& key, bool def);
  std::string string(const std::string& key, const std::string& def);
  std::string string(const std::string& key);  ///< required
  /// A string that must be one of `allowed` (an unknown one names the nearest allowed value).
  std::string choice(const std::string& key, const std::string& def, std::initializer_list<std::string_view> allowed);
  std::vector<double> numbers(const std::string& key, const std::vector<double>& def);
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& def);
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& def);
  /// A sub-document as it stands (`def` when absent); its resolved form is the caller's to set().
  nlohmann::json raw(const std::string& key, const nlohmann::json& def);
  /// A sub-object (an empty object when absent), for a nested reader: `ConfigReader sub(r.object("data"), r.where() + ".data")`.
  const nlohmann::json& object(const std::string& key);
  bool has(const std::string& key);  ///< marks `key` as known
  /// Marks keys as known without reading them (keys consumed elsewhere, e.g. "profiles", "about").
  void allow(std::initializer_list<std::string_view> keys);
  void set(const std::string& key, nlohmann::json v);

  /// Throws for the first key that was never asked for; returns the resolved values by key.
  nlohmann::json finish();
  const std::string& where() const { return where_; }
  /// The keys asked for so far.
  const std::set<std::string>& known() const { return seen_; }

  /// InputError "<where>: <key> = <v> must be <what>" unless ok.
  void require(bool ok, const std::string& key, const nlohmann::json& v, const std::string& what) const;

 private:
  const nlohmann::json& at(const std::string& key) const;
  int64_t read_integer(const std::string& key, int64_t def, bool saturate);
  [[noreturn]] void wrong_type(const std::string& key, const char* expected) const;
  /// An array (else wrong_type naming `array`) whose every element passes `ok` (else naming `expected`), read as T.
  template <class T, class Ok>
  std::vector<T> list(const std::string& key, const std::vector<T>& def, Ok&& ok, const char* array, const char* expected);
  const nlohmann::json& j_;
  std::string where_;
  std::set<std::string> seen_;
  nlohmann::json resolved_ = nlohmann::json::object();
  static const nlohmann::json kEmptyObject;
};

/// The one profile merge: `cfg` without its "profiles" key, with `profiles[profile]` merged in
/// (RFC 7386 merge patch) when present. InputError when "profiles" is not an object of objects.
/// A config without "profiles" is returned as it is.
nlohmann::json merge_profile(const nlohmann::json& cfg, const std::string& profile, const std::string& where);

}  // namespace flatmin::common
