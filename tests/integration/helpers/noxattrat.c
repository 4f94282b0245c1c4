/* noxattrat ERRNO CMD ARGS...: run CMD with the *xattrat system calls of
 * Linux 6.13 (463-466) failing with ERRNO (ENOSYS: an older kernel; EPERM: a
 * seccomp profile that refuses what it does not know), so that the shim's
 * fallback to /proc/self/fd paths is tested on any kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        if (argc < 3 || (strcmp(argv[1], "ENOSYS") && strcmp(argv[1], "EPERM"))) {
                fprintf(stderr, "usage: noxattrat ENOSYS|EPERM CMD ARGS...\n");
                return 125;
        }
        unsigned err = strcmp(argv[1], "EPERM") ? ENOSYS : EPERM;
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 463, 0, 2),
            BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 466, 1, 0),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
                perror("noxattrat: seccomp");
                return 125;
        }
        execvp(argv[2], argv + 2);
        perror("noxattrat: exec");
        return 127;
}
