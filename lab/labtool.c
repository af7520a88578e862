/*
 * labtool: the vfio lab's helper inside L1 (built static by lab/build with the machine's gcc, so
 * L1 needs no C library of its own). Its commands:
 *
 *   labtool fdpass SOCKET [NAME=PATH]... [-- COMMAND-JSON...]
 *     The privileged side of fd passing, as the sidecar does it: connects to a QMP monitor on the
 *     Unix socket SOCKET, negotiates capabilities, opens each PATH (read-write) and sends it with
 *     SCM_RIGHTS along with {"execute":"getfd","arguments":{"fdname":NAME}}, closing its own copy
 *     once QEMU answered, then runs each COMMAND-JSON on the same monitor (QEMU looks the fd
 *     names up in the monitor that received them). Prints one line per QMP reply; events are
 *     printed as "event: ...". Exit 0 when every command succeeded, 1 on a QMP error (the
 *     error line is printed), 2 on a local failure (open, connect, I/O), 3 on timeout.
 *
 *   labtool fdwatch PID PATH TIMEOUT-MS
 *     Watches, every millisecond, how PID holds PATH: descriptors in /proc/PID/fd pointing at it
 *     and mappings of it in /proc/PID/maps (an mmap of a VFIO device's BAR keeps the device open
 *     after its fd is closed). Prints "fdwatch ready fds=N maps=M realtime-us=T" first, then for
 *     each kind once it drops to zero "fdwatch fds-gone last-held-us=A gone-us=B" (and maps-gone):
 *     A is when the last scan that still found it started, B when the first scan that did not
 *     ended, so the hold ended after A and before B. Times are
 *     CLOCK_REALTIME of L1 in microseconds, the clock QEMU stamps its QMP events with. Ends with
 *     "fdwatch released" when both are gone (exit 0), "fdwatch exited" when PID went away first,
 *     or "fdwatch timeout fds=N maps=M" (exit 3).
 *
 *   labtool runas UID:GID PROG [ARG]...
 *     Runs PROG as UID:GID with no supplementary groups and an unlimited RLIMIT_MEMLOCK (what a
 *     management stack grants an unprivileged QEMU so that VFIO can pin its memory), keeping the
 *     process id: the unprivileged L2 QEMU of the IOMMUFD tests.
 *
 *   labtool sandbox [--ro PATH]... [--rw PATH]... [--cap sys_ptrace] -- PROG [ARG]...
 *     Runs PROG as a systemd unit with ProtectKernelTunables=/ReadWritePaths=,
 *     CapabilityBoundingSet= (empty, or the capabilities --cap names) and NoNewPrivileges=yes
 *     would run it, as the user it runs as (root here): in a mount namespace of its own where each
 *     --ro PATH is a read-only bind mount and each --rw PATH (below it) a writable one, with
 *     no_new_privs set, the ambient and inheritable sets empty, and every capability but those
 *     --cap names dropped from the bounding set; PROG, run by root, then has exactly those in its
 *     permitted and effective sets. The host-prep helper's lab test runs it so, with the paths and
 *     the capability its unit names.
 *
 *   labtool peerpid SOCKET
 *     Connects to the Unix socket SOCKET and prints the pid of the process that listens on it
 *     (SO_PEERCRED: the kernel records it at listen()), then closes. The sidecar finds a QEMU the
 *     same way, through its own monitor connection; a socket's name in /proc/net/unix is the path
 *     it was bound to, which a live update's rename leaves stale. Exit 2 when it cannot connect,
 *     3 when the socket's listen queue stays full for 10 s (a QEMU monitor serving another client
 *     queues further connections, two of them, until that client has gone).
 *
 *   labtool unixcat SOCKET
 *     Connects to the Unix socket SOCKET and copies bytes both ways between it and its standard
 *     input and output until either side closes: with busybox's "nc -ll -p PORT -e labtool unixcat
 *     SOCKET", a TCP port (forwarded to the host) that reaches a QEMU monitor on a Unix socket,
 *     so that the host's sidecar can follow the socket's path when a live update moves it from
 *     one QEMU to the next. Exit 0 when a side closed, 2 when SOCKET cannot be reached or poll
 *     fails. Its last line on standard error says which side ended the copy and how, when
 *     (CLOCK_REALTIME, the clock of QMP event timestamps) and how many bytes went each way:
 *     lab/l2 keeps these lines in /tmp/NAME.fwd.log.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FDPASS_TIMEOUT_S 60
/* peerpid retries a full listen queue every 10 ms, this many times (10 s). */
#define PEERPID_QUEUE_FULL_TRIES 1000
#define LINE_MAX_BYTES 65536

static int qmp;
static char buf[LINE_MAX_BYTES];
static size_t buffered;

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "labtool: timed out waiting for QEMU's answer\n";
  (void)write(2, msg, sizeof msg - 1);
  _exit(3);
}

/* Reads one line (without its newline) from the monitor into line; exits 2 on EOF or error. */
static void read_line(char *line, size_t size) {
  for (;;) {
    char *nl = memchr(buf, '\n', buffered);
    if (nl) {
      size_t len = (size_t)(nl - buf);
      if (len >= size) {
        fprintf(stderr, "labtool: a QMP line of %zu bytes is longer than %zu\n", len, size - 1);
        exit(2);
      }
      memcpy(line, buf, len);
      line[len] = '\0';
      if (len > 0 && line[len - 1] == '\r') {
        line[len - 1] = '\0';
      }
      memmove(buf, nl + 1, buffered - len - 1);
      buffered -= len + 1;
      return;
    }
    if (buffered == sizeof buf) {
      fprintf(stderr, "labtool: a QMP line is longer than %zu bytes\n", sizeof buf);
      exit(2);
    }
    ssize_t n = read(qmp, buf + buffered, sizeof buf - buffered);
    if (n == 0) {
      fprintf(stderr, "labtool: QEMU closed the monitor\n");
      exit(2);
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      perror("labtool: read from the monitor");
      exit(2);
    }
    buffered += (size_t)n;
  }
}

/* Sends one command line, with fd attached as SCM_RIGHTS when fd >= 0. */
static void send_command(const char *json, int fd) {
  char line[LINE_MAX_BYTES];
  int len = snprintf(line, sizeof line, "%s\n", json);
  if (len < 0 || (size_t)len >= sizeof line) {
    fprintf(stderr, "labtool: command too long\n");
    exit(2);
  }
  struct iovec iov = {.iov_base = line, .iov_len = (size_t)len};
  union {
    char space[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    memset(&control, 0, sizeof control);
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof control.space;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  /* QEMU reads the fd with the first byte of the message, so the whole line goes in one sendmsg. */
  if (sendmsg(qmp, &msg, 0) != len) {
    perror("labtool: sendmsg to the monitor");
    exit(2);
  }
}

/* Reads until the reply to the last command; prints events and the reply; 1 on a QMP error. */
static int await_reply(void) {
  char line[LINE_MAX_BYTES];
  for (;;) {
    read_line(line, sizeof line);
    if (strncmp(line, "{\"return\"", 9) == 0) {
      printf("%s\n", line);
      return 0;
    }
    if (strncmp(line, "{\"error\"", 8) == 0) {
      printf("%s\n", line);
      return 1;
    }
    printf("event: %s\n", line);
  }
}

static int fdpass(int argc, char **argv) {
  if (argc < 1) {
    fprintf(stderr, "usage: labtool fdpass SOCKET [NAME=PATH]... [-- COMMAND-JSON...]\n");
    return 2;
  }
  signal(SIGALRM, on_alarm);
  alarm(FDPASS_TIMEOUT_S);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(argv[0]) >= sizeof addr.sun_path) {
    fprintf(stderr, "labtool: socket path too long: %s\n", argv[0]);
    return 2;
  }
  strcpy(addr.sun_path, argv[0]);
  qmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (qmp < 0 || connect(qmp, (struct sockaddr *)&addr, sizeof addr) < 0) {
    fprintf(stderr, "labtool: cannot connect to the QMP socket %s: %s\n", argv[0], strerror(errno));
    return 2;
  }
  char greeting[LINE_MAX_BYTES];
  read_line(greeting, sizeof greeting);
  if (strstr(greeting, "\"QMP\"") == NULL) {
    fprintf(stderr, "labtool: %s did not greet with QMP: %s\n", argv[0], greeting);
    return 2;
  }
  send_command("{\"execute\":\"qmp_capabilities\"}", -1);
  if (await_reply() != 0) {
    return 1;
  }
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    char *eq = strchr(argv[i], '=');
    if (eq == NULL || eq == argv[i]) {
      fprintf(stderr, "labtool: expected NAME=PATH, got %s\n", argv[i]);
      return 2;
    }
    *eq = '\0';
    if (strspn(argv[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(argv[i])) {
      fprintf(stderr, "labtool: an fd name has only letters, digits, '_' and '-': %s\n", argv[i]);
      return 2;
    }
    const char *path = eq + 1;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      fprintf(stderr, "labtool: cannot open %s: %s\n", path, strerror(errno));
      return 2;
    }
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"%s\"}}", argv[i]);
    send_command(cmd, fd);
    int failed = await_reply();
    close(fd);
    if (failed) {
      return 1;
    }
    printf("fdpass %s=%s fd=%d sent and closed\n", argv[i], path, fd);
  }
  if (i < argc) {
    i++;
  }
  for (; i < argc; i++) {
    send_command(argv[i], -1);
    if (await_reply() != 0) {
      return 1;
    }
  }
  fflush(stdout);
  return 0;
}

static long long realtime_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Descriptors of the process whose fd directory is dir pointing at path, or -1 when it is gone. */
static int count_fds(const char *dir, const char *path) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return -1;
  }
  int count = 0;
  struct dirent *e;
  char link[PATH_MAX], target[PATH_MAX];
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      continue;
    }
    snprintf(link, sizeof link, "%s/%s", dir, e->d_name);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n > 0) {
      target[n] = '\0';
      if (strcmp(target, path) == 0) {
        count++;
      }
    }
  }
  closedir(d);
  return count;
}

/* Mappings in the maps file of a process whose pathname is path, or -1 when it is gone. */
static int count_maps(const char *maps, const char *path) {
  FILE *f = fopen(maps, "r");
  if (f == NULL) {
    return -1;
  }
  int count = 0;
  size_t len = strlen(path);
  char line[PATH_MAX + 256];
  while (fgets(line, sizeof line, f) != NULL) {
    char *name = strchr(line, '/');
    if (name != NULL && strncmp(name, path, len) == 0 && (name[len] == '\n' || name[len] == '\0'
        || name[len] == ' ')) {
      count++;
    }
  }
  fclose(f);
  return count;
}

struct held {
  const char *kind;
  int count;
  long long last_held;
  int reported;
};

/* Records one scan of a kind (started at begin, ended at end); returns whether it is gone. */
static int gone(struct held *h, long long begin, long long end) {
  if (h->count > 0) {
    h->last_held = begin;
    return 0;
  }
  if (!h->reported) {
    printf("fdwatch %s-gone last-held-us=%lld gone-us=%lld\n", h->kind, h->last_held, end);
    h->reported = 1;
  }
  return 1;
}

static int fdwatch(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: labtool fdwatch PID PATH TIMEOUT-MS\n");
    return 2;
  }
  char dir[64], maps[64];
  snprintf(dir, sizeof dir, "/proc/%d/fd", atoi(argv[0]));
  snprintf(maps, sizeof maps, "/proc/%d/maps", atoi(argv[0]));
  long long deadline = realtime_us() + atoll(argv[2]) * 1000;
  struct held fds = {"fds", count_fds(dir, argv[1]), realtime_us(), 0};
  struct held mapped = {"maps", count_maps(maps, argv[1]), realtime_us(), 0};
  if (fds.count < 0 || mapped.count < 0) {
    fprintf(stderr, "labtool: no process %s\n", argv[0]);
    return 2;
  }
  printf("fdwatch ready fds=%d maps=%d realtime-us=%lld\n", fds.count, mapped.count, realtime_us());
  struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
  for (;;) {
    long long begin = realtime_us();
    fds.count = count_fds(dir, argv[1]);
    long long between = realtime_us();
    mapped.count = count_maps(maps, argv[1]);
    long long now = realtime_us();
    if (fds.count < 0 || mapped.count < 0) {
      printf("fdwatch exited realtime-us=%lld\n", now);
      return 0;
    }
    int fds_gone = gone(&fds, begin, between);
    int maps_gone = gone(&mapped, between, now);
    if (fds_gone && maps_gone) {
      printf("fdwatch released realtime-us=%lld\n", now);
      return 0;
    }
    if (now > deadline) {
      printf("fdwatch timeout fds=%d maps=%d\n", fds.count, mapped.count);
      return 3;
    }
    nanosleep(&ms, NULL);
  }
}

static int runas(int argc, char **argv) {
  unsigned uid, gid;
  if (argc < 2 || sscanf(argv[0], "%u:%u", &uid, &gid) != 2) {
    fprintf(stderr, "usage: labtool runas UID:GID PROG [ARG]...\n");
    return 2;
  }
  struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0 || setgroups(0, NULL) != 0 || setgid(gid) != 0
      || setuid(uid) != 0) {
    fprintf(stderr, "labtool: cannot become %u:%u: %s (run as root)\n", uid, gid, strerror(errno));
    return 2;
  }
  execvp(argv[1], argv + 1);
  fprintf(stderr, "labtool: cannot run %s: %s\n", argv[1], strerror(errno));
  return 2;
}

static int bind_mount(const char *path, unsigned long readonly) {
  /* A bind mount inherits its source's read-only flag: remount either way. */
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0
      || mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | (readonly ? MS_RDONLY : 0), NULL) != 0) {
    fprintf(stderr, "labtool: cannot bind-mount %s%s: %s\n", path, readonly ? " read-only" : "", strerror(errno));
    return -1;
  }
  return 0;
}

/* The capabilities labtool sandbox --cap keeps, by the name a unit's CapabilityBoundingSet= gives. */
static const struct {
  const char *name;
  int cap;
} sandbox_caps[] = {{"sys_ptrace", CAP_SYS_PTRACE}};

static int sandbox_cap(const char *name) {
  for (size_t i = 0; i < sizeof sandbox_caps / sizeof sandbox_caps[0]; i++) {
    if (strcmp(sandbox_caps[i].name, name) == 0) {
      return sandbox_caps[i].cap;
    }
  }
  return -1;
}

static int sandbox(int argc, char **argv) {
  int i = 0;
  unsigned long long kept = 0;
  if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    fprintf(stderr, "labtool: cannot make a mount namespace: %s (run as root)\n", strerror(errno));
    return 2;
  }
  for (int pass = 0; pass < 2; pass++) {
    for (i = 0; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
      if (strcmp(argv[i], "--cap") == 0) {
        int cap = sandbox_cap(argv[i + 1]);
        if (cap < 0) {
          fprintf(stderr, "labtool: sandbox keeps only sys_ptrace (--cap sys_ptrace), not %s\n", argv[i + 1]);
          return 2;
        }
        kept |= 1ULL << cap;
        continue;
      }
      int ro = strcmp(argv[i], "--ro") == 0;
      if (!ro && strcmp(argv[i], "--rw") != 0) {
        fprintf(stderr, "labtool: sandbox takes --ro PATH, --rw PATH and --cap NAME, not %s\n", argv[i]);
        return 2;
      }
      if (ro == (pass == 0) && bind_mount(argv[i + 1], (unsigned long) ro) != 0) {
        return 2;
      }
    }
  }
  if (i + 1 >= argc || strcmp(argv[i], "--") != 0) {
    fprintf(stderr, "usage: labtool sandbox [--ro PATH]... [--rw PATH]... [--cap sys_ptrace] -- PROG [ARG]...\n");
    return 2;
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  /* Permitted and effective are what exec leaves root under no_new_privs: the kept ones. */
  struct __user_cap_data_struct only[_LINUX_CAPABILITY_U32S_3];
  memset(only, 0, sizeof only);
  for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; word++) {
    only[word].permitted = only[word].effective = (unsigned) (kept >> (32 * word));
  }
  for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
    if (!(kept & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      fprintf(stderr, "labtool: cannot drop capability %d: %s\n", cap, strerror(errno));
      return 2;
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0
      || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_capset, &header, only) != 0) {
    fprintf(stderr, "labtool: cannot drop privileges: %s\n", strerror(errno));
    return 2;
  }
  execvp(argv[i + 1], argv + i + 1);
  fprintf(stderr, "labtool: cannot run %s: %s\n", argv[i + 1], strerror(errno));
  return 2;
}

/* A stream socket connected to path; type_flags adds e.g. SOCK_NONBLOCK. -1 with errno set if not. */
static int connect_unix(const char *path, int type_flags) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | type_flags, 0);
  if (s < 0) {
    return -1;
  }
  if (connect(s, (struct sockaddr *) &addr, sizeof addr) != 0) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

static int peerpid(int argc, char **argv) {
  if (argc != 1) {
    fprintf(stderr, "usage: labtool peerpid SOCKET\n");
    return 2;
  }
  /* Non-blocking, retried: a listener that accepts nothing now (a QEMU monitor serving another
   * client) keeps connections in its listen queue, and a blocking connect to a full queue would
   * wait for as long as that client stays. */
  int s;
  for (int tries = 0; (s = connect_unix(argv[0], SOCK_NONBLOCK)) < 0 && errno == EAGAIN; tries++) {
    if (tries == PEERPID_QUEUE_FULL_TRIES) {
      fprintf(stderr, "labtool: %s took no connection in %d s: its listen queue is full (its listener, e.g. a"
              " QEMU monitor serving another client, has not accepted those before); ask again once it has\n",
              argv[0], PEERPID_QUEUE_FULL_TRIES / 100);
      return 3;
    }
    nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (s < 0 || getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    fprintf(stderr, "labtool: cannot connect to %s: %s\n", argv[0], strerror(errno));
    return 2;
  }
  printf("%d\n", (int) cred.pid);
  close(s);
  return 0;
}

/* unixcat's last word: which side ended the copy, and the bytes each way until then. */
static void unixcat_end(const char *socket, const char *why, int err, long long in, long long out) {
  fprintf(stderr, "labtool unixcat %s: pid %d ended at realtime-us=%lld: %s%s%s; %lld bytes to the socket,"
          " %lld from it\n", socket, (int) getpid(), realtime_us(), why, err ? ": " : "", err ? strerror(err) : "",
          in, out);
}

static int unixcat(int argc, char **argv) {
  if (argc != 1) {
    fprintf(stderr, "usage: labtool unixcat SOCKET\n");
    return 2;
  }
  int s = connect_unix(argv[0], 0);
  if (s < 0) {
    fprintf(stderr, "labtool: cannot connect to %s: %s\n", argv[0], strerror(errno));
    return 2;
  }
  static const char *const side[2] = {"the client (standard input)", "the socket"};
  struct pollfd fds[2] = {{.fd = 0, .events = POLLIN}, {.fd = s, .events = POLLIN}};
  int to[2] = {s, 1};
  long long moved[2] = {0, 0};
  char buf[65536];
  char why[96];
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      unixcat_end(argv[0], "poll failed", errno, moved[0], moved[1]);
      return 2;
    }
    for (int i = 0; i < 2; i++) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        int err = n == 0 ? 0 : errno;
        snprintf(why, sizeof why, n == 0 ? "%s closed" : "reading %s failed", side[i]);
        unixcat_end(argv[0], why, err, moved[0], moved[1]);
        return 0;
      }
      for (ssize_t done = 0; done < n;) {
        ssize_t w = write(to[i], buf + done, (size_t) (n - done));
        if (w <= 0) {
          int err = w == 0 ? 0 : errno;
          snprintf(why, sizeof why, "writing to %s failed", side[1 - i]);
          unixcat_end(argv[0], why, err, moved[0], moved[1]);
          return 0;
        }
        done += w;
      }
      moved[i] += n;
    }
  }
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp(argv[1], "fdpass") == 0) {
    return fdpass(argc - 2, argv + 2);
  }
  if (argc >= 2 && strcmp(argv[1], "fdwatch") == 0) {
    return fdwatch(argc - 2, argv + 2);
  }
  if (argc >= 2 && strcmp(argv[1], "runas") == 0) {
    return runas(argc - 2, argv + 2);
  }
  if (argc >= 2 && strcmp(argv[1], "sandbox") == 0) {
    return sandbox(argc - 2, argv + 2);
  }
  if (argc >= 2 && strcmp(argv[1], "peerpid") == 0) {
    return peerpid(argc - 2, argv + 2);
  }
  if (argc >= 2 && strcmp(argv[1], "unixcat") == 0) {
    return unixcat(argc - 2, argv + 2);
  }
  fprintf(stderr, "usage: labtool fdpass SOCKET [NAME=PATH]... [-- COMMAND-JSON...]\n"
                  "       labtool fdwatch PID PATH TIMEOUT-MS\n"
                  "       labtool runas UID:GID PROG [ARG]...\n"
                  "       labtool sandbox [--ro PATH]... [--rw PATH]... [--cap sys_ptrace] -- PROG [ARG]...\n"
                  "       labtool peerpid SOCKET\n"
                  "       labtool unixcat SOCKET\n");
  return 2;
}
