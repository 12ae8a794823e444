/*
 * spawn.c - run one command, report its wall time and peak RSS.
 *
 *   rh-spawn FD CMD [ARG...]
 *
 * Runs CMD (PATH search) with the same stdin, stdout and stderr, waits for
 * it and writes one line to file descriptor FD (which CMD does not inherit):
 *   {"seconds":S,"maxrss_kb":K,"status":N}
 * seconds runs from just before fork to just after wait4 (CLOCK_MONOTONIC);
 * maxrss_kb is the child's ru_maxrss from wait4; status is the exit status,
 * or 128 + the signal number.  rh-spawn exits with the same status.
 *
 * Why it exists: Linux carries a process's peak RSS across fork and exec
 * (the child starts with the parent's high-water mark, exec folds it into
 * the signal struct's maxrss), so a child forked straight from the Python
 * harness reports at least the harness's own ~25 MB, hiding the figure of
 * any program smaller than that (rh-ceiling, relayhound on small inputs).
 * Forked from this small program, the floor is this program's RSS (~1 MB).
 * Rejected: /usr/bin/time (not installed everywhere, and its output shares
 * stderr with the child); reading VmHWM from /proc (racy at exit).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
spawn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	double t0, t1;
	pid_t pid;
	char *end;
	long fd;
	int st, code;

	if (argc < 3) {
		fprintf(stderr, "usage: rh-spawn FD CMD [ARG...]\n");
		return 2;
	}
	fd = strtol(argv[1], &end, 10);
	if (*end != '\0' || fd < 0 || fd > 1024) {
		fprintf(stderr, "rh-spawn: bad file descriptor '%s'\n", argv[1]);
		return 2;
	}
	t0 = spawn_now();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "rh-spawn: fork: %s\n", strerror(errno));
		return 127;
	}
	if (pid == 0) {
		close((int)fd);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rh-spawn: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &st, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "rh-spawn: wait4: %s\n", strerror(errno));
			return 127;
		}
	}
	t1 = spawn_now();
	if (WIFEXITED(st))
		code = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		code = 128 + WTERMSIG(st);
	else
		code = 127;
	dprintf((int)fd, "{\"seconds\":%.6f,\"maxrss_kb\":%ld,\"status\":%d}\n",
	    t1 - t0, ru.ru_maxrss, code);
	return code;
}
