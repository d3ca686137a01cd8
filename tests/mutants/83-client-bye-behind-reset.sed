# file: lib/client/client.c
# tests: unit/check_client
# bug: a broken link is not read on for the BYE queued before it (a refused client says "dropped before answering" and retries soon)
/^\tfor (i = 0; i < CLIENT_FRAMES_PER_TICK; i++) {$/s|i < CLIENT_FRAMES_PER_TICK|i < 0|
