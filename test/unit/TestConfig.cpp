// Config and network YAML tests (being written).
#include <catch2/catch.hpp>
