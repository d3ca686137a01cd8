# file: daemon/metrics_names.c
# tests: unit/check_metrics_names
# bug: a pod UID from a systemd slice keeps its underscores
s|^\t\t\to->pod\[i\] = '-';$|\t\t\to->pod[i] = sep;|
