#!/bin/sh
# A C++ program using the standard containers across threads
# (prog_cxx_containers.cc), with and without memreclaim: same output.
. "${srcdir:-$(dirname "$0")}/prog_common.sh"
prog_compare prog_cxx_containers ./prog_cxx_containers
prog_finish
