/* sleeper [N]: N times (default 5): write() 8 bytes to a file in /tmp, then
 * nanosleep 50 ms.  Workload for sched_switch events and nosleep-time tests. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5;
	char path[64];
	snprintf(path, sizeof path, "/tmp/sleeper.%d", (int)getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) { perror("open"); return 1; }
	for (int i = 0; i < n; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		if (write(fd, "sleeper\n", 8) < 0) { perror("write"); return 1; }
		nanosleep(&ts, NULL);
	}
	close(fd);
	unlink(path);
	return 0;
}
