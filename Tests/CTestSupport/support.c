#define _GNU_SOURCE
#include <spawn.h>
#include "CTestSupport.h"

uint64_t nscore_fnv1a(uint64_t hash, const uint8_t *bytes, size_t count) {
    for (size_t i = 0; i < count; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

void nscore_pattern_fill(uint8_t *out, size_t start, size_t count, uint8_t seed) {
    for (size_t i = 0; i < count; i++) {
        size_t offset = start + i;
        out[i] = (uint8_t)(offset * 31 + (offset >> 8) + seed);
    }
}

int nscore_spawn_closefrom(void *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, from);
}

int nscore_spawn_chdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}
