#define _GNU_SOURCE
#include "dagi_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#ifdef __APPLE__
#include <sys/sysctl.h>
#endif

static void close_from(int lowest) {
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
    for (int fd = lowest; fd < 65536; fd++) close(fd);
}

pid_t dagi_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, int die_with_parent) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid > 0) {
        // Also from this side, so the group exists before anyone signals it (fails harmlessly
        // once the child has exec'd, by when it has done it itself).
        setpgid(pid, pid);
        return pid;
    }
    if (pid < 0) return pid;

    // In the child: async-signal-safe calls only, then exec.
    setpgid(0, 0);
#ifdef __linux__
    if (die_with_parent) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127); // the parent died before prctl took effect
    }
#else
    (void)parent;
    (void)die_with_parent;
#endif
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < 32; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0 && devnull != 0) { dup2(devnull, 0); }
    if (output_fd >= 0) {
        dup2(output_fd, 1);
        dup2(output_fd, 2);
    }
    close_from(3);
    execve(path, argv, envp);
    // Report the failure on the output pipe the parent reads.
    const char *message = "dagi: cannot execute the model command: ";
    write(2, message, strlen(message));
    write(2, strerror(errno), strlen(strerror(errno)));
    write(2, "\n", 1);
    _exit(127);
}

#ifdef __APPLE__
int dagi_process_info(pid_t pid, uint64_t *start_time, int *zombie) {
    struct kinfo_proc info;
    memset(&info, 0, sizeof info);
    size_t size = sizeof info;
    int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid};
    if (sysctl(mib, 4, &info, &size, NULL, 0) != 0 || size == 0) return -1;
    *start_time = (uint64_t)info.kp_proc.p_starttime.tv_sec * 1000000ULL + (uint64_t)info.kp_proc.p_starttime.tv_usec;
    *zombie = info.kp_proc.p_stat == SZOMB;
    return 0;
}

long dagi_process_args(pid_t pid, char *buffer, size_t capacity) {
    int argmax = 0;
    size_t size = sizeof argmax;
    int mib_argmax[2] = {CTL_KERN, KERN_ARGMAX};
    if (sysctl(mib_argmax, 2, &argmax, &size, NULL, 0) != 0 || argmax <= (int)sizeof(int)) return -1;
    char *raw = malloc((size_t)argmax);
    if (raw == NULL) return -1;
    // KERN_PROCARGS2: argc, the executable's path, NUL padding, then argc NUL-terminated
    // arguments (then the environment, which we do not read).
    int mib[3] = {CTL_KERN, KERN_PROCARGS2, pid};
    size = (size_t)argmax;
    if (sysctl(mib, 3, raw, &size, NULL, 0) != 0 || size < sizeof(int)) {
        free(raw);
        return -1;
    }
    int argc;
    memcpy(&argc, raw, sizeof argc);
    size_t i = sizeof argc;
    while (i < size && raw[i] != '\0') i++;
    while (i < size && raw[i] == '\0') i++;
    size_t start = i;
    int seen = 0;
    while (i < size && seen < argc) {
        if (raw[i] == '\0') seen++;
        i++;
    }
    size_t length = i - start;
    if (length > capacity) length = capacity;
    memcpy(buffer, raw + start, length);
    free(raw);
    return (long)length;
}

int dagi_boot_time(uint64_t *boot) {
    struct timeval tv;
    size_t size = sizeof tv;
    int mib[2] = {CTL_KERN, KERN_BOOTTIME};
    if (sysctl(mib, 2, &tv, &size, NULL, 0) != 0) return -1;
    *boot = (uint64_t)tv.tv_sec * 1000000ULL + (uint64_t)tv.tv_usec;
    return 0;
}
#endif
