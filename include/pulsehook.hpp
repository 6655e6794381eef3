#ifndef PULSEHOOK_HPP
#define PULSEHOOK_HPP

/// @file
/// The umbrella header: everything a service needs to send and receive pulsehook webhooks.

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/time.hpp>
#include <pulsehook/version.hpp>

#endif
