/* What an exec would run: a #! script (and its interpreter line, parsed as
 * the kernel does), or an ELF file the shim can follow — dynamically linked
 * against this very loader, not set-id, no file capabilities — or one it
 * cannot. Raw syscalls and no allocation: this runs in vfork children. */
#include "ovlshim.h"
#include "sys.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#if defined(__x86_64__)
#define OUR_MACHINE EM_X86_64
#define OUR_LOADER "ld-linux-x86-64.so.2"
#elif defined(__aarch64__)
#define OUR_MACHINE EM_AARCH64
#define OUR_LOADER "ld-linux-aarch64.so.1"
#else
#define OUR_MACHINE EM_NONE
#define OUR_LOADER ""
#endif

const char *ovl_exec_why(int kind)
{
        switch (kind) {
        case OVL_EXEC_STATIC:
                return "statically linked";
        case OVL_EXEC_SECURE:
                return "set-user-ID, set-group-ID or with file capabilities (the loader drops "
                       "LD_PRELOAD)";
        case OVL_EXEC_LOADER:
                return "built for another dynamic loader";
        case OVL_EXEC_ARCH:
                return "built for another architecture";
        default:
                return "";
        }
}

/* Kernel rules: interpreter up to the first blank, one optional argument
 * that is the rest of the line with outer blanks trimmed, not split. */
static int parse_shebang(char *buf, ssize_t n, struct ovl_exec_info *info)
{
        buf[n] = '\0';
        char *nl = strchr(buf, '\n');
        if (nl) {
                *nl = '\0';
        }
        char *p = buf + 2;
        p += strspn(p, " \t");
        size_t il = strcspn(p, " \t");
        if (!il || il >= sizeof(info->interp)) {
                return -ENOEXEC;
        }
        memcpy(info->interp, p, il);
        info->interp[il] = '\0';
        p += il;
        p += strspn(p, " \t");
        size_t al = strlen(p);
        while (al && (p[al - 1] == ' ' || p[al - 1] == '\t')) {
                al--;
        }
        info->has_arg = al > 0;
        memcpy(info->arg, p, al < sizeof(info->arg) ? al : sizeof(info->arg) - 1);
        info->arg[al < sizeof(info->arg) ? al : sizeof(info->arg) - 1] = '\0';
        info->kind = OVL_EXEC_SCRIPT;
        return 0;
}

static bool our_loader(int fd, const Elf64_Phdr *ph)
{
        char interp[PATH_MAX];
        size_t n = ph->p_filesz < sizeof(interp) - 1 ? ph->p_filesz : sizeof(interp) - 1;
        if (ovl_sys6(SYS_pread64, fd, (long)interp, (long)n, (long)ph->p_offset, 0, 0) != (long)n) {
                return false;
        }
        interp[n] = '\0';
        const char *base = strrchr(interp, '/');
        return !strcmp(base ? base + 1 : interp, OUR_LOADER);
}

static int probe_elf(int fd, const unsigned char *buf, ssize_t n)
{
        if (n < (ssize_t)sizeof(Elf64_Ehdr) || buf[EI_CLASS] != ELFCLASS64) {
                return OVL_EXEC_ARCH;
        }
        Elf64_Ehdr eh;
        memcpy(&eh, buf, sizeof(eh));
        if (eh.e_machine != OUR_MACHINE) {
                return OVL_EXEC_ARCH;
        }
        for (unsigned i = 0; i < eh.e_phnum && eh.e_phentsize >= sizeof(Elf64_Phdr); i++) {
                Elf64_Phdr ph;
                off_t off = (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize);
                if (ovl_sys6(SYS_pread64, fd, (long)&ph, sizeof(ph), off, 0, 0) !=
                    (long)sizeof(ph)) {
                        break;
                }
                if (ph.p_type == PT_INTERP) {
                        return our_loader(fd, &ph) ? OVL_EXEC_OK : OVL_EXEC_LOADER;
                }
        }
        return OVL_EXEC_STATIC;
}

/* Would the loader run this file in secure mode (and ignore LD_PRELOAD)? Not
 * on a nosuid mount, where set-id bits and capabilities do nothing. */
static bool secure_exec(int fd, const struct stat *st)
{
        struct statfs sfs;
        if (ovl_sys6(SYS_fstatfs, fd, (long)&sfs, 0, 0, 0, 0) == 0 && (sfs.f_flags & ST_NOSUID)) {
                return false;
        }
        uid_t uid = (uid_t)ovl_sys6(SYS_getuid, 0, 0, 0, 0, 0, 0);
        gid_t gid = (gid_t)ovl_sys6(SYS_getgid, 0, 0, 0, 0, 0, 0);
        if ((st->st_mode & S_ISUID) && st->st_uid != uid) {
                return true;
        }
        if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != gid) {
                return true;
        }
        return uid != 0 && ovl_sys_fgetxattr(fd, "security.capability", NULL, 0) > 0;
}

int ovl_exec_probe_fd(int fd, struct ovl_exec_info *info)
{
        memset(info, 0, sizeof(*info));
        unsigned char buf[256];
        ssize_t n = ovl_sys6(SYS_pread64, fd, (long)buf, sizeof(buf) - 1, 0, 0, 0);
        struct stat st;
        int r = n < 0 ? (int)n : ovl_sys_fstat(fd, &st);
        if (r == 0 && n >= 2 && buf[0] == '#' && buf[1] == '!') {
                r = parse_shebang((char *)buf, n, info);
        } else if (r == 0 && n >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG)) {
                info->kind = secure_exec(fd, &st) ? OVL_EXEC_SECURE : probe_elf(fd, buf, n);
        } else if (r == 0) {
                info->kind = OVL_EXEC_OK; /* ENOEXEC: the caller's shell fallback */
        }
        return r;
}

int ovl_exec_probe(int dirfd, const char *path, struct ovl_exec_info *info)
{
        int fd = ovl_sys_openat_noatime(dirfd, path, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) {
                return fd;
        }
        int r = ovl_exec_probe_fd(fd, info);
        ovl_sys_close(fd);
        return r;
}

/* The file offset of virtual address `va` in the PT_LOAD segments, or -1. */
static long va_offset(const Elf64_Phdr *ph, unsigned n, uint64_t va)
{
        for (unsigned i = 0; i < n; i++) {
                if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
                    va < ph[i].p_vaddr + ph[i].p_filesz) {
                        return (long)(va - ph[i].p_vaddr + ph[i].p_offset);
                }
        }
        return -1;
}

static bool has_origin(const char *s)
{
        return strstr(s, "$ORIGIN") || strstr(s, "${ORIGIN}");
}

int ovl_elf_origin_path(int dirfd, const char *path, char *out, size_t cap)
{
        int fd = ovl_sys_openat_noatime(dirfd, path, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0) {
                return fd;
        }
        int r = 0;
        Elf64_Ehdr eh;
        Elf64_Phdr ph[64];
        Elf64_Dyn dyn[256];
        long n = ovl_sys6(SYS_pread64, fd, (long)&eh, sizeof(eh), 0, 0, 0);
        if (n != (long)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
            eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
            !eh.e_phnum || eh.e_phnum > 64) {
                goto out;
        }
        size_t phl = sizeof(ph[0]) * eh.e_phnum;
        if (ovl_sys6(SYS_pread64, fd, (long)ph, (long)phl, (long)eh.e_phoff, 0, 0) != (long)phl) {
                goto out;
        }
        long dl = 0;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                if (ph[i].p_type == PT_DYNAMIC) {
                        size_t want = ph[i].p_filesz < sizeof(dyn) ? ph[i].p_filesz : sizeof(dyn);
                        dl = ovl_sys6(SYS_pread64, fd, (long)dyn, (long)want, (long)ph[i].p_offset,
                                      0, 0);
                        break;
                }
        }
        uint64_t strtab = 0, runpath = 0, rpath = 0;
        bool has_rp = false, has_rrp = false;
        for (long i = 0; i < dl / (long)sizeof(dyn[0]) && dyn[i].d_tag != DT_NULL; i++) {
                if (dyn[i].d_tag == DT_STRTAB) {
                        strtab = dyn[i].d_un.d_ptr;
                } else if (dyn[i].d_tag == DT_RUNPATH) {
                        runpath = dyn[i].d_un.d_val;
                        has_rp = true;
                } else if (dyn[i].d_tag == DT_RPATH) {
                        rpath = dyn[i].d_un.d_val;
                        has_rrp = true;
                }
        }
        long so = strtab ? va_offset(ph, eh.e_phnum, strtab) : -1;
        if (so < 0 || (!has_rp && !has_rrp) || cap < 2) {
                goto out;
        }
        /* the loader ignores DT_RPATH when DT_RUNPATH is there */
        n = ovl_sys6(SYS_pread64, fd, (long)out, (long)cap - 1,
                     so + (long)(has_rp ? runpath : rpath), 0, 0);
        if (n > 0) {
                out[n] = '\0';
                r = strnlen(out, (size_t)n) < (size_t)n && has_origin(out);
        }
out:
        ovl_sys_close(fd);
        return r;
}
