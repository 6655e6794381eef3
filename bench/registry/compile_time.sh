#!/usr/bin/env bash
# What including and using registries costs one translation unit, compiled with g++ -O2 -c.
#
#   bench/registry/compile_time.sh [runs]      (default 5 runs per TU; CXX=... to change compiler)
#
# Every TU is compiled `runs` times in this one script run, interleaved, and the median CPU time
# (user + sys) and median wall time are reported (with every run's CPU time), with the
# difference to the empty TU and to the "vocabulary" TU (pulsehook/model.hpp: event_record,
# which every publishing TU includes anyway). TUS="empty vocabulary ..." picks the TUs; keep
# empty and vocabulary in the list, the differences are taken against them.
#
# TUs:
#   empty            an empty file (the baseline the target is stated against)
#   vocabulary       #include <pulsehook/model.hpp> (std strings/chrono + boost/system)
#   mp_lookup        include the MetaPulse registry only; find(), for_each_type, contains, type_of
#   mp_registry      include the MetaPulse registry; find(), for_each_type, an event_type_set
#                    parsed from text (event_type_set.hpp brings pulsehook/error.hpp: Boost.System)
#   mp_publish_all   include envelope.hpp + the MetaPulse registry; make_event for all 24 types
#   mp_publish_writer  the same work without any registry (baseline for what the registry adds):
#                    metapulse/payloads.hpp + model.hpp + payload.hpp (the JSON writer make_event
#                    uses), a hand-written envelope head; an event_record with the same envelope
#                    bytes for each of the 24 types (byte-identical to make_event's)
#   mp_publish_manual  the same work without any registry or pulsehook writer: Boost.JSON
#                    value_from on the described payloads, boost::json::serialize (same bytes
#                    except Boost.JSON's spelling of doubles, e.g. 0E0 for 0)
#   gen240_registry  a generated registry of 240 types (80 resources x 3 actions, 80 payload
#                    structs); find(), an event_type_set
#   gen240_publish   the same registry; make_event for all 240 types
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cxx=${CXX:-g++}
runs=${1:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

: > "$work/empty.cpp"
echo '#include <pulsehook/model.hpp>' > "$work/vocabulary.cpp"

cat > "$work/mp_lookup.cpp" <<'EOF'
#include <pulsehook/metapulse/registry.hpp>
namespace mp = pulsehook::metapulse;
std::size_t use(std::string_view name) {
  std::size_t n = mp::registry::find(name).value_or(0);
  mp::registry::for_each_type([&](auto t) { n += decltype(t)::type::name.size(); });
  static_assert(mp::registry::contains<"graph.updated">);
  using graph_updated = mp::registry::type_of<"graph.updated">;
  return n + sizeof(graph_updated::payload_type) + mp::registry::info(3).description.size();
}
EOF

cat > "$work/mp_registry.cpp" <<'EOF'
#include <pulsehook/event_type_set.hpp>
#include <pulsehook/metapulse/registry.hpp>
namespace mp = pulsehook::metapulse;
std::size_t use(std::string_view name) {
  std::size_t n = mp::registry::find(name).value_or(0);
  mp::registry::for_each_type([&](auto t) { n += decltype(t)::type::name.size(); });
  auto const s = pulsehook::event_type_set<mp::registry>::parse("data_point.*, *.deleted");
  return n + s.size() + s.contains(mp::graph_updated);
}
EOF

{
  echo '#include <pulsehook/envelope.hpp>'
  echo '#include <pulsehook/metapulse/registry.hpp>'
  echo 'namespace mp = pulsehook::metapulse;'
  echo 'std::size_t publish_all(pulsehook::envelope_context const& ctx) {'
  echo '  std::size_t n = 0;'
  for r in data_point event graph knowledge_item member objective position team; do
    echo "  { mp::$r const p{};"
    echo "    n += pulsehook::make_event<mp::registry>(ctx, mp::${r}_created, p).payload.size();"
    echo "    n += pulsehook::make_event<mp::registry>(ctx, mp::${r}_updated, p, p).payload.size();"
    echo "    n += pulsehook::make_event<mp::registry>(ctx, mp::${r}_deleted, p).payload.size(); }"
  done
  echo '  return n;'
  echo '}'
} > "$work/mp_publish_all.cpp"

cat > "$work/mp_publish_manual.cpp" <<'EOF'
// mp_publish_manual: the work of mp_publish_all (an envelope + event_record for each of the 24
// MetaPulse types) without any registry: Boost.JSON value_from on the described payloads.
#include <pulsehook/metapulse/payloads.hpp>
#include <pulsehook/model.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/mp11/algorithm.hpp>
#include <cstdio>
#include <string>
#include <string_view>
namespace mp = pulsehook::metapulse;
// Boost.JSON 1.81 has no conversion for these std::chrono types: found through value_from_tag.
namespace boost::json {
inline void tag_invoke(value_from_tag, value& v, std::chrono::year_month_day const& d) {
  char b[16];
  std::snprintf(b, sizeof b, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  v = b;
}
inline std::string iso_time(pulsehook::time_point t, bool with_millis) {
  auto const day = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day const d{day};
  std::chrono::hh_mm_ss const s{t - day};
  char b[32];
  std::snprintf(b, sizeof b, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()),
                static_cast<int>(s.hours().count()), static_cast<int>(s.minutes().count()),
                static_cast<int>(s.seconds().count()));
  std::string r = b;
  if (with_millis && s.subseconds().count() != 0) {
    std::snprintf(b, sizeof b, ".%03d", static_cast<int>(s.subseconds().count()));
    r += b;
  }
  return r += 'Z';
}
inline void tag_invoke(value_from_tag, value& v, pulsehook::time_point const& t) {
  v = iso_time(t, true);
}
} // namespace boost::json
struct manual_context {
  std::string id;
  std::string organization_id;
  pulsehook::time_point created_at{};
  pulsehook::actor_info actor;
};
inline boost::json::object envelope_head(manual_context const& ctx, std::string_view type) {
  boost::json::object o;
  o["id"] = ctx.id;
  o["type"] = type;
  o["created_at"] = boost::json::iso_time(ctx.created_at, false);
  o["organization"] = {{"id", ctx.organization_id}};
  o["actor"] = {{"type", ctx.actor.type}, {"id", ctx.actor.id}, {"name", ctx.actor.name}};
  return o;
}
template <class Payload>
pulsehook::event_record publish(manual_context const& ctx, std::string_view type,
                                Payload const& data, Payload const* previous) {
  pulsehook::event_record r{ctx.id, ctx.organization_id, std::string(type), ctx.created_at,
                            ctx.actor, {}};
  boost::json::object o = envelope_head(ctx, type);
  o["data"] = boost::json::value_from(data);
  if (previous) {
    boost::json::object changed;
    using members = boost::describe::describe_members<Payload, boost::describe::mod_public>;
    boost::mp11::mp_for_each<members>([&](auto m) {
      if (!(previous->*m.pointer == data.*m.pointer))
        changed[m.name] = boost::json::value_from(previous->*m.pointer);
    });
    o["previous"] = std::move(changed);
  }
  r.payload = boost::json::serialize(o);
  return r;
}
EOF

cat > "$work/mp_publish_writer.cpp" <<'EOF'
// mp_publish_writer: the work of mp_publish_all without any registry, with pulsehook's own JSON
// writer (payload.hpp: the one make_event uses) and a hand-written envelope head.
#include <pulsehook/metapulse/payloads.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/payload.hpp>
#include <string>
#include <string_view>
namespace mp = pulsehook::metapulse;
struct manual_context {
  std::string id;
  std::string organization_id;
  pulsehook::time_point created_at{};
  pulsehook::actor_info actor;
};
inline pulsehook::event_record envelope_head(manual_context const& ctx, std::string_view type) {
  pulsehook::event_record r{ctx.id, ctx.organization_id, std::string(type), ctx.created_at,
                            ctx.actor, {}};
  std::string& out = r.payload;
  out.reserve(256);
  out += "{\"id\":";
  pulsehook::append_json(out, ctx.id);
  out += ",\"type\":\"";
  out += type;
  out += "\",\"created_at\":";
  pulsehook::append_json(out, pulsehook::time_point(std::chrono::floor<std::chrono::seconds>(ctx.created_at)));
  out += ",\"organization\":{\"id\":";
  pulsehook::append_json(out, ctx.organization_id);
  out += "},\"actor\":{\"type\":";
  pulsehook::append_json(out, ctx.actor.type);
  out += ",\"id\":";
  pulsehook::append_json(out, ctx.actor.id);
  out += ",\"name\":";
  pulsehook::append_json(out, ctx.actor.name);
  out += "},\"data\":";
  return r;
}
template <class Payload>
pulsehook::event_record publish(manual_context const& ctx, std::string_view type,
                                Payload const& data, Payload const* previous) {
  pulsehook::event_record r = envelope_head(ctx, type);
  pulsehook::append_json(r.payload, data);
  if (previous) {
    r.payload += ",\"previous\":";
    pulsehook::append_json_changes(r.payload, *previous, data);
  }
  r.payload.push_back('}');
  return r;
}
EOF

# The 24 publications of mp_publish_all, through the TU's own publish() (no registry).
for tu in mp_publish_manual mp_publish_writer; do
  {
    echo 'std::size_t publish_all(manual_context const& ctx) {'
    echo '  std::size_t n = 0;'
    for r in data_point event graph knowledge_item member objective position team; do
      echo "  { mp::$r const p{};"
      echo "    n += publish(ctx, \"${r}.created\", p, static_cast<mp::$r const*>(nullptr)).payload.size();"
      echo "    n += publish(ctx, \"${r}.updated\", p, &p).payload.size();"
      echo "    n += publish(ctx, \"${r}.deleted\", p, static_cast<mp::$r const*>(nullptr)).payload.size(); }"
    done
    echo '  return n;'
    echo '}'
  } >> "$work/$tu.cpp"
done

gen_registry() {
  echo '#include <pulsehook/envelope.hpp>'
  echo '#include <pulsehook/event_type_set.hpp>'
  echo '#include <optional>'
  echo '#include <string>'
  echo '#include <vector>'
  echo 'namespace gen {'
  for i in $(seq 0 79); do
    echo "struct res$i { std::string id; std::string name; std::int64_t count = 0; double score = 0;"
    echo "  std::optional<std::string> note; std::vector<std::string> tags; bool active = true; };"
    echo "BOOST_DESCRIBE_STRUCT(res$i, (), (id, name, count, score, note, tags, active))"
  done
  echo 'struct registry : pulsehook::registry<'
  for i in $(seq 0 79); do
    sep=','; [ "$i" = 79 ] && sep=''
    echo "  pulsehook::resource<\"resource_$i\", res$i, pulsehook::created, pulsehook::updated, pulsehook::deleted>$sep"
  done
  echo '> {};'
  echo '} // namespace gen'
}

{
  gen_registry
  echo 'std::size_t use(std::string_view name) {'
  echo '  auto const s = pulsehook::event_type_set<gen::registry>::parse("resource_7.*, *.deleted");'
  echo '  static_assert(gen::registry::size == 240);'
  echo '  return gen::registry::find(name).value_or(0) + s.size();'
  echo '}'
} > "$work/gen240_registry.cpp"

{
  gen_registry
  echo 'std::size_t publish_all(pulsehook::envelope_context const& ctx) {'
  echo '  std::size_t n = 0;'
  for i in $(seq 0 79); do
    echo "  { gen::res$i const p{};"
    echo "    n += pulsehook::make_event<gen::registry>(ctx, pulsehook::event_tag<\"resource_$i.created\">{}, p).payload.size();"
    echo "    n += pulsehook::make_event<gen::registry>(ctx, pulsehook::event_tag<\"resource_$i.updated\">{}, p, p).payload.size();"
    echo "    n += pulsehook::make_event<gen::registry>(ctx, pulsehook::event_tag<\"resource_$i.deleted\">{}, p).payload.size(); }"
  done
  echo '  return n;'
  echo '}'
} > "$work/gen240_publish.cpp"

tus=${TUS:-"empty vocabulary mp_lookup mp_registry mp_publish_writer mp_publish_manual mp_publish_all gen240_registry gen240_publish"}
declare -A cpus walls
for tu in $tus; do cpus[$tu]=""; walls[$tu]=""; done

echo "compiler: $($cxx --version | head -1)"
echo "command:  $cxx -std=c++20 -O2 -I$root/include -c <tu>.cpp -o <tu>.o   (median of $runs runs)"
echo "machine:  $(nproc) cores, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$runs"); do
  for tu in $tus; do
    out=$( { /usr/bin/time -f "%e %U %S" "$cxx" -std=c++20 -O2 -I"$root/include" \
             -c "$work/$tu.cpp" -o "$work/$tu.o"; } 2>&1 | tail -1 )
    read -r wall user sys <<< "$out"
    cpus[$tu]+="$(echo "$user + $sys" | bc) "
    walls[$tu]+="$wall "
  done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
declare -A med_cpu med_wall
for tu in $tus; do
  med_cpu[$tu]=$(echo "${cpus[$tu]}" | median)
  med_wall[$tu]=$(echo "${walls[$tu]}" | median)
done

printf '\n| TU | CPU s (median) | wall s (median) | CPU runs | CPU vs empty | CPU vs vocabulary |\n|---|---|---|---|---|---|\n'
for tu in $tus; do
  printf '| %s | %.2f | %.2f | %s | %+.2f | %+.2f |\n' "$tu" "${med_cpu[$tu]}" "${med_wall[$tu]}" \
    "${cpus[$tu]% }" \
    "$(echo "${med_cpu[$tu]} - ${med_cpu[empty]:-0}" | bc)" \
    "$(echo "${med_cpu[$tu]} - ${med_cpu[vocabulary]:-0}" | bc)"
done
for base in mp_publish_writer mp_publish_manual; do
  if [ -n "${med_cpu[mp_publish_all]:-}" ] && [ -n "${med_cpu[$base]:-}" ]; then
    printf 'mp_publish_all - %s: %+.2f s CPU (median - median)\n' \
      "$base" "$(echo "${med_cpu[mp_publish_all]} - ${med_cpu[$base]}" | bc)"
  fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
