// Cost model and scheduler tests.
#include <catch2/catch.hpp>
