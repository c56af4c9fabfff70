/* forker [N]: fork a child that does N (default 3) pwritev2() and N write()
 * calls on a file in /tmp; the parent does one pwritev2() and waits for the
 * child.  Workload for --inherit (follow children) tests. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int writes(const char *tag, int n, int with_write)
{
	char path[64], buf[32];
	snprintf(path, sizeof path, "/tmp/forker.%s.%d", tag, (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) { perror("open"); return 1; }
	memset(buf, 'f', sizeof buf);
	for (int i = 0; i < n; i++) {
		struct iovec iov = { buf, sizeof buf };
		if (pwritev2(fd, &iov, 1, (off_t)i * 32, 0) < 0) { perror("pwritev2"); return 1; }
		if (with_write && write(fd, buf, 8) < 0) { perror("write"); return 1; }
	}
	close(fd);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3;
	pid_t pid = fork();
	if (pid < 0) { perror("fork"); return 1; }
	if (pid == 0)
		_exit(writes("child", n, 1));
	int rc = writes("parent", 1, 0);
	int status;
	if (waitpid(pid, &status, 0) < 0) { perror("waitpid"); return 1; }
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
	return rc;
}
