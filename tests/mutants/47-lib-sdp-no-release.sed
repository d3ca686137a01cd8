# file: lib/client/sdpressure.c
# tests: unit/check_sdpressure
# bug: a memory pressure event is counted but releases nothing
s|got = sdp.release(SIZE_MAX, MR_URGENCY_NOW);|got = 0;|
