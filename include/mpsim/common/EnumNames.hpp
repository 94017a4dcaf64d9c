#pragma once
// Name tables of enums: one table per enum is the single place that spells its values, used for
// parsing config files, printing reports and listing the valid choices in error messages.
//
//   inline constexpr EnumName<PeKind> kPeKindNames[] = {{PeKind::Lut, "lut"}, ...};
//   enumName(kPeKindNames, k)        -> "lut"
//   parseEnum(kPeKindNames, "dsp")   -> PeKind::Dsp (nullopt for an unknown name)
//   enumChoices(kPeKindNames)        -> "lut, dsp, bitserial"
//
// A table may list aliases after the primary spelling of a value: enumName gives the first one.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace mpsim {

template <class E> struct EnumName {
  E value;
  const char* name;
};

template <class E, size_t N> const char* enumName(const EnumName<E> (&table)[N], E v) {
  for (const auto& e : table)
    if (e.value == v) return e.name;
  return "?";
}

template <class E, size_t N> std::optional<E> parseEnum(const EnumName<E> (&table)[N], const std::string& s) {
  for (const auto& e : table)
    if (s == e.name) return e.value;
  return std::nullopt;
}

/// Every spelling of the table, in table order.
template <class E, size_t N> std::vector<std::string> enumNames(const EnumName<E> (&table)[N]) {
  std::vector<std::string> v;
  for (const auto& e : table) v.push_back(e.name);
  return v;
}

/// "a, b, c": the valid spellings, for messages.
template <class E, size_t N> std::string enumChoices(const EnumName<E> (&table)[N]) {
  std::string s;
  for (const auto& e : table) s += (s.empty() ? "" : ", ") + std::string(e.name);
  return s;
}

} // namespace mpsim
