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

tus=${TUS:-"empty vocabulary mp_lookup mp_registry mp_publish_all gen240_registry gen240_publish"}
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
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
