/* pwv2 [N]: N (default 10) pwritev2() calls on a file in /tmp, then exit.
 * Workload for function_graph tests with set_graph_function=__x64_sys_pwritev2. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	char path[64], buf[64];
	snprintf(path, sizeof path, "/tmp/pwv2.%d", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) { perror("open"); return 1; }
	memset(buf, 'x', sizeof buf);
	for (int i = 0; i < n; i++) {
		struct iovec iov[2] = { { buf, 16 }, { buf + 16, 16 } };
		if (pwritev2(fd, iov, 2, (off_t)i * 32, 0) < 0) { perror("pwritev2"); return 1; }
	}
	close(fd);
	unlink(path);
	return 0;
}
