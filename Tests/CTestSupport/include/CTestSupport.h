#ifndef NSCORE_CTESTSUPPORT_H
#define NSCORE_CTESTSUPPORT_H
#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64 over bytes, continuing from `hash`. In C so that
   checksumming hundreds of MiB in debug test builds stays fast. */
uint64_t nscore_fnv1a(uint64_t hash, const uint8_t *bytes, size_t count);

/* Fills `out` with the test pattern bytes for offsets [start, start+count). */
void nscore_pattern_fill(uint8_t *out, size_t start, size_t count, uint8_t seed);

/* posix_spawn_file_actions_addclosefrom_np (glibc >= 2.34), which Swift's
   Glibc module does not export: close every descriptor >= from in the child. */
int nscore_spawn_closefrom(void *actions, int from);

/* posix_spawn_file_actions_addchdir_np (glibc >= 2.29): the child starts in `path`. */
int nscore_spawn_chdir(void *actions, const char *path);

#endif
