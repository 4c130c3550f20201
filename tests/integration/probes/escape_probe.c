/* escape_probe: what root inside a container tries first to reach the host. Built static by the
 * integration tests (gcc -static) so it runs in any container, and run both on the host (where
 * it must succeed: the control that shows the probe works) and in a container (where it must
 * fail). Prints one line per attempt: "<what> ok" or "<what> errno <N>".
 *
 *   escape_probe handle PATH...  name_to_handle_at(PATH) (or a guessed handle), then
 *                              open_by_handle_at() with a mount fd of every mount point in
 *                              /proc/self/mountinfo (the "shocker" attack: a handle opens a file
 *                              by inode, past any mount or chroot)
 *   escape_probe module        init_module, finit_module, delete_module
 *   escape_probe kexec         kexec_load
 *   escape_probe keyring       keyctl, add_key
 *   escape_probe rename DIR    not an attack: mkdir DIR.new, rename(2) it to DIR, as dpkg does for
 *                              every directory a package brings (an overlay that cannot record
 *                              the move answers EXDEV, and apt-get install breaks)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int report(const char* what, long rc) {
  if (rc >= 0) {
    printf("%s ok\n", what);
    return 1;
  }
  printf("%s errno %d\n", what, errno);
  return 0;
}

/* A handle of PATH, or where its filesystem gives none (overlayfs), the one the shocker exploit
 * guessed: inode 2 (an ext4 root directory), generation 0, type FILEID_INO32_GEN. */
static struct file_handle* handle_of(const char* path) {
  struct file_handle* h = malloc(sizeof *h + MAX_HANDLE_SZ);
  int mount_id = 0;
  h->handle_bytes = MAX_HANDLE_SZ;
  if (name_to_handle_at(AT_FDCWD, path, h, &mount_id, 0) == 0) return h;
  printf("name_to_handle_at %s errno %d: trying a guessed handle\n", path, errno);
  unsigned int ino_gen[2] = {2, 0};
  h->handle_bytes = sizeof ino_gen;
  h->handle_type = 1;
  memcpy(h->f_handle, ino_gen, sizeof ino_gen);
  return h;
}

static int handle(int argc, char** argv) {
  int opened = 0;
  for (int i = 0; i < argc; ++i) {
    struct file_handle* h = handle_of(argv[i]);
    FILE* mi = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    while (mi && fgets(line, sizeof line, mi)) {
      char point[4096];
      /* id parent major:minor root mount-point ... */
      if (sscanf(line, "%*d %*d %*s %*s %4095s", point) != 1) continue;
      int fd = open(point, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      int got = (int)syscall(SYS_open_by_handle_at, fd, h, O_RDONLY);
      if (got >= 0) {
        char buf[64];
        ssize_t n = read(got, buf, sizeof buf);
        printf("open_by_handle_at %s via %s ok read %zd bytes\n", argv[i], point, n);
        opened = 1;
        close(got);
      } else {
        printf("open_by_handle_at %s via %s errno %d\n", argv[i], point, errno);
      }
      close(fd);
    }
    if (mi) fclose(mi);
    free(h);
  }
  return opened;
}

static int module(void) {
  static const char junk[64] = "not a module";
  int any = 0;
  any |= report("init_module", syscall(SYS_init_module, junk, sizeof junk, ""));
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  any |= report("finit_module", syscall(SYS_finit_module, fd, "", 0));
  any |= report("delete_module", syscall(SYS_delete_module, "lxcprov_no_such_module", O_NONBLOCK));
  return any;
}

static int kexec(void) { return report("kexec_load", syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL)); }

static int keyring(void) {
  int any = 0;
  /* KEYCTL_GET_KEYRING_ID (0) of the session keyring (-3), without creating it. */
  any |= report("keyctl", syscall(SYS_keyctl, 0, -3, 0));
  any |= report("add_key", syscall(SYS_add_key, "user", "lxcprov-probe", "x", 1, -3));
  return any;
}

static int rename_dir(const char* dir) {
  char fresh[4096];
  snprintf(fresh, sizeof fresh, "%s.new", dir);
  if (mkdir(fresh, 0) != 0) return report("mkdir", -1), 1;
  return report("rename", rename(fresh, dir)) ? 0 : 1;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && strcmp(argv[1], "handle") == 0) return handle(argc - 2, argv + 2);
  if (argc == 2 && strcmp(argv[1], "module") == 0) return module();
  if (argc == 2 && strcmp(argv[1], "kexec") == 0) return kexec();
  if (argc == 2 && strcmp(argv[1], "keyring") == 0) return keyring();
  if (argc == 3 && strcmp(argv[1], "rename") == 0) return rename_dir(argv[2]);
  fprintf(stderr, "usage: escape_probe handle PATH... | module | kexec | keyring | rename DIR\n");
  return 2;
}
