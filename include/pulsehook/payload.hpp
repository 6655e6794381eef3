#ifndef PULSEHOOK_PAYLOAD_HPP
#define PULSEHOOK_PAYLOAD_HPP

/// @file
/// Payload types and their JSON form.
///
/// A payload is a struct described with Boost.Describe; its fields become the members of a
/// JSON object, in declaration order:
///
/// | C++ field type | JSON |
/// |---|---|
/// | `bool` | `true` / `false` |
/// | integers (not `char`) | number (must fit the field when read) |
/// | `float`, `double` | number (`null` for inf / nan, which JSON cannot carry) |
/// | `std::string` | string (invalid UTF-8 is written as U+FFFD) |
/// | `std::chrono::year_month_day` | `"2026-11-29"` |
/// | `pulsehook::time_point` | `"2026-11-29T14:04:37Z"` or `"...37.250Z"` (UTC, ms kept) |
/// | `std::optional<T>` | `null` when empty; absent or `null` reads as empty |
/// | `std::vector<T>` | array |
/// | enum described with `BOOST_DESCRIBE_ENUM` | the enumerator's name, e.g. `"monthly"` |
/// | struct described with `BOOST_DESCRIBE_STRUCT` | object (unknown members are ignored when read) |
/// | any `T` with a `pulsehook::json_codec<T>` | what the codec writes |
///
/// Types converted with Boost.JSON's `tag_invoke` (`value_from` / `value_to`) work as fields
/// and payloads too once `<pulsehook/json.hpp>` is included, which bridges them.
///
/// Writing needs only this header (no Boost.JSON: publishing stays cheap to compile); reading
/// is in `<pulsehook/json.hpp>`.
///
/// @par Example
/// @code
/// enum class frequency { daily, weekly, monthly };
/// BOOST_DESCRIBE_ENUM(frequency, daily, weekly, monthly)
/// struct graph { std::string id; std::string name; frequency every; std::optional<double> target; };
/// BOOST_DESCRIBE_STRUCT(graph, (), (id, name, every, target))
///
/// std::string s = pulsehook::to_json(graph{"gr_1", "MRR", frequency::monthly, {}});
/// // {"id":"gr_1","name":"MRR","every":"monthly","target":null}
/// @endcode

#include <pulsehook/detail/envelope_writer.hpp>
#include <pulsehook/time.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pulsehook {

/// Customisation point for a field or payload type the built-in mapping does not cover.
/// Specialise it with
/// - `static void write(std::string& out, T const& v)`: appends one JSON value;
/// - `static bool read(boost::json::value const& j, T& v, std::string& why)`: on mismatch
///   returns false and sets `why` (e.g. "expected a string"); needs `<boost/json/value.hpp>`.
template <class T>
struct json_codec;

namespace detail {
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T> struct is_vector : std::false_type {};
template <class T, class A> struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
concept described_struct = std::is_class_v<T> && boost::describe::has_describe_members<T>::value;
template <class T>
concept described_enum = std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;
template <class T>
concept json_integer = std::is_integral_v<T> && !std::is_same_v<T, bool> &&
    !std::is_same_v<T, char> && !std::is_same_v<T, char8_t> && !std::is_same_v<T, char16_t> &&
    !std::is_same_v<T, char32_t> && !std::is_same_v<T, wchar_t>;
template <class T>
concept has_json_codec = requires(std::string& out, T const& v) { json_codec<T>::write(out, v); };
} // namespace detail

/// True for the field and payload types of the table above.
template <class T>
concept json_field =
    std::is_same_v<T, bool> || detail::json_integer<T> || std::is_floating_point_v<T> ||
    std::is_same_v<T, std::string> || std::is_same_v<T, std::chrono::year_month_day> ||
    std::is_same_v<T, time_point> || detail::is_optional<T>::value || detail::is_vector<T>::value ||
    detail::described_enum<T> || detail::described_struct<T> || detail::has_json_codec<T>;

/// Appends the JSON text of `value` to `out`.
/// @throws std::bad_alloc only
template <class T>
void append_json(std::string& out, T const& value);

/// The JSON text of `value`.
template <class T>
std::string to_json(T const& value);

/// Appends a JSON object holding, for each top-level field of the described struct `before`
/// whose value differs from the same field of `after`, that field's value in `before` (an
/// optional empty before and set after is written as `null`). This is the `previous` member of
/// an ".updated" envelope: the changed fields, before the change. Reading it back
/// (`json.hpp`) overlays it on `data` to rebuild the whole previous state.
template <class T>
void append_json_changes(std::string& out, T const& before, T const& after);

} // namespace pulsehook

#include <pulsehook/impl/payload.hpp>

#endif
