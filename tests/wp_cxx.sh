#!/bin/sh
# A C++ program using the standard containers across threads
# (cxx_containers.cc), with and without memreclaim: same output.
. "${srcdir:-$(dirname "$0")}/wp_common.sh"
wp_compare cxx_containers ./cxx_containers
wp_finish
