// Process spawning for the agents: posix_spawn with a descriptor map, a
// new process group and default signal state; pidfds to wait for exits.
#ifndef NSCORE_CSPAWN_H
#define NSCORE_CSPAWN_H
#include <sys/types.h>

/// Spawns `path` with `argv`/`envp`. The child gets `stdin_fd`, `stdout_fd`,
/// `stderr_fd` as 0, 1, 2 and, when `extra_fd` >= 0, that descriptor as 3;
/// every other descriptor is closed. With `new_group` it leads a process
/// group of its own. Signal mask empty, every signal at its default.
/// Returns 0 and sets `*pid`, or an errno value (exec failures included).
int nscore_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd, int extra_fd, int new_group);

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits; -1 and errno on failure.
int nscore_pidfd_open(pid_t pid);

/// epoll_create1(EPOLL_CLOEXEC).
int nscore_epoll_create(void);

/// pipe2(fds, O_CLOEXEC); 0 or -1 and errno.
int nscore_pipe(int fds[2]);

/// The capacity of a pipe in bytes (F_GETPIPE_SZ), or -1.
int nscore_pipe_capacity(int fd);

/// Blocks until one of the descriptors registered with `epfd` is readable or
/// `timeout_ms` passes; returns how many are ready, their `data.fd` in `fds`.
int nscore_epoll_wait_fds(int epfd, int *fds, int max, int timeout_ms);

/// Adds `fd` (EPOLLIN) to `epfd`; 0 or -1 and errno.
int nscore_epoll_add(int epfd, int fd);

/// Removes `fd` from `epfd`.
int nscore_epoll_remove(int epfd, int fd);
#endif
