// A payload field type without a JSON mapping.
#include <pulsehook/payload.hpp>
struct opaque { int x; };
struct wrapper { opaque o; };
BOOST_DESCRIBE_STRUCT(wrapper, (), (o))
int main() { return static_cast<int>(pulsehook::to_json(wrapper{}).size()); }
