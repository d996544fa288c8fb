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
#include <sys/event.h>
#include <sys/sysctl.h>
#include <sys/wait.h>
#endif

static void close_from(int lowest) {
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
    for (int fd = lowest; fd < 65536; fd++) close(fd);
}

#ifdef __APPLE__
/// The watchdog's whole life, in a grandchild of the guardian: wait for the guardian or the
/// model to exit; if the guardian went first, stop the model's process group. Only
/// async-signal-safe calls (plain system calls): it runs in a fork of a multi-threaded process.
static void watch(pid_t guardian, pid_t model) {
    // Our copies of the guardian's descriptors (its listening socket…) must not outlive it.
    close_from(0);
    int kq = kqueue();
    if (kq < 0) _exit(0);
    struct kevent change, event;
    EV_SET(&change, model, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, NULL);
    if (kevent(kq, &change, 1, NULL, 0, NULL) < 0) _exit(0); // the model is already gone
    EV_SET(&change, guardian, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, NULL);
    int guardian_gone = kevent(kq, &change, 1, NULL, 0, NULL) < 0; // ESRCH: it died already
    while (!guardian_gone) {
        int n = kevent(kq, NULL, 0, &event, 1, NULL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || (pid_t)event.ident == model) _exit(0);
        guardian_gone = 1;
    }
    if (kill(-model, SIGTERM) != 0) kill(model, SIGTERM);
    struct timespec grace = {5, 0};
    int n;
    do { n = kevent(kq, NULL, 0, &event, 1, &grace); } while (n < 0 && errno == EINTR);
    if (n <= 0 && kill(-model, SIGKILL) != 0) kill(model, SIGKILL);
    _exit(0);
}

/// Starts the watchdog for `model` as a grandchild, so launchd adopts it and we never reap it.
static void start_watchdog(pid_t guardian, pid_t model) {
    pid_t middle = fork();
    if (middle == 0) {
        if (fork() == 0) watch(guardian, model);
        _exit(0);
    }
    if (middle > 0) {
        while (waitpid(middle, NULL, 0) < 0 && errno == EINTR) {}
    }
}
#endif

pid_t dagi_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, int die_with_parent) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid > 0) {
        // Also from this side, so the group exists before anyone signals it (fails harmlessly
        // once the child has exec'd, by when it has done it itself).
        setpgid(pid, pid);
#ifdef __APPLE__
        if (die_with_parent) start_watchdog(parent, pid);
#endif
        return pid;
    }
    if (pid < 0) return pid;

    // In the child: async-signal-safe calls only, then exec.
    setpgid(0, 0);
#ifdef __linux__
    if (die_with_parent) {
        // SIGKILL: nobody is left to follow a SIGTERM up. A llama-server whose guardian was
        // SIGKILLed was found an hour later, idle, orphaned: its shutdown had stopped halfway
        // (two threads left, one waiting on a futex, SIGTERM blocked). macOS's watchdog ends
        // with SIGKILL too.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127); // the parent died before prctl took effect
    }
#else
    (void)parent;
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
