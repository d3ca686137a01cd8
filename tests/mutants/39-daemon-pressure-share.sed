# file: daemon/policy.c
# tests: system/sys_client_pressure.sh
# bug: a stall above the target never asks for a share of the idle memory
s|if (share > want) {|if (share > want \&\& 0) {|
