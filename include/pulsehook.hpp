#ifndef PULSEHOOK_HPP
#define PULSEHOOK_HPP

/// @file
/// The umbrella header: everything a service needs to send and receive pulsehook webhooks.
/// Each header also works on its own; include only what you use to keep compiles short.

// Shared vocabulary
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/time.hpp>
#include <pulsehook/version.hpp>

// Event types: registries, subscriptions, envelopes, typed parsing, the MetaPulse catalogue
#include <pulsehook/envelope.hpp>
#include <pulsehook/event_id.hpp>
#include <pulsehook/event_type_set.hpp>
#include <pulsehook/json.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/payload.hpp>
#include <pulsehook/registry.hpp>

// Signing and verification
#include <pulsehook/beast/verify.hpp>
#include <pulsehook/encoding.hpp>
#include <pulsehook/hmac.hpp>
#include <pulsehook/schemes.hpp>
#include <pulsehook/secret.hpp>
#include <pulsehook/signature.hpp>
#include <pulsehook/verify.hpp>

// Endpoints and the event log
#include <pulsehook/endpoint.hpp>
#include <pulsehook/memory_store.hpp>
#include <pulsehook/postgres_store.hpp>
#include <pulsehook/sqlite_store.hpp>
#include <pulsehook/storage.hpp>

// Delivery: retry policies, the sans-I/O engine, transports, the dispatcher
#include <pulsehook/callbacks.hpp>
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/engine.hpp>
#include <pulsehook/http_transport.hpp>
#include <pulsehook/metrics.hpp>
#include <pulsehook/options.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/transport.hpp>

// Management: the JSON API, its Beast server, the live feed and the console
#include <pulsehook/management.hpp>

#endif
