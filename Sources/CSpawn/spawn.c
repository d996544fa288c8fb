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

static void close_from(int lowest) {
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0) == 0) return;
#endif
    for (int fd = lowest; fd < 65536; fd++) close(fd);
}

pid_t dagi_spawn(const char *path, char *const argv[], char *const envp[], int output_fd, int die_with_parent) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;

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
