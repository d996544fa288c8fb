#ifndef DAGI_SPAWN_H
#define DAGI_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Starts `path` with `argv` and `envp` in a new process group, its stdin on /dev/null and its
/// stdout and stderr on `output_fd`. Every other descriptor is closed and every signal
/// disposition reset, so the child inherits neither our sockets nor our ignored SIGTERM.
///
/// With `die_with_parent` the child does not outlive the calling process, even on SIGKILL:
/// - Linux: the kernel sends it SIGTERM when the calling *thread* dies (`PR_SET_PDEATHSIG`), so
///   call this from a thread that lives as long as the process.
/// - macOS: a small watchdog process (a grandchild, adopted by launchd) waits on a kqueue for the
///   caller's exit (`EVFILT_PROC`, `NOTE_EXIT`) and then stops the child's process group: SIGTERM,
///   and SIGKILL 5 s later. It exits when the child does.
///
/// Returns the pid, or -1 with errno set.
pid_t dagi_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, int die_with_parent);

#ifdef __APPLE__
/// The process's start time (microseconds since the epoch) and whether it is a zombie; 0, or -1
/// when there is no such process.
int dagi_process_info(pid_t pid, uint64_t *start_time, int *zombie);

/// The process's arguments, NUL-separated, copied into `buffer`; the length, or -1.
long dagi_process_args(pid_t pid, char *buffer, size_t capacity);

/// When the machine booted (microseconds since the epoch); 0, or -1.
int dagi_boot_time(uint64_t *boot);
#endif

#endif
