# file: lib/os/os.c
# tests: unit/check_numa
# bug: chunks not bound to their node
0,/MPOL_PREFERRED/{/MPOL_PREFERRED/s|MPOL_PREFERRED|MPOL_DEFAULT|}
