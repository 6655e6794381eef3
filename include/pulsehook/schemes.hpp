#ifndef PULSEHOOK_SCHEMES_HPP
#define PULSEHOOK_SCHEMES_HPP

/// @file
/// Every signature scheme pulsehook ships (see signature.hpp for the requirement).

#include <pulsehook/schemes/github.hpp>
#include <pulsehook/schemes/metapulse.hpp>
#include <pulsehook/schemes/standard_webhooks.hpp>
#include <pulsehook/schemes/stripe.hpp>
#include <pulsehook/signature.hpp>

#endif
