/* opener N [FILE]: open and close FILE (default /tmp/opener.txt, created)
 * N times: a storm of openat with a file name for the strings benchmark.
 * opener unresident FILE: open the file whose name is FILE's content, passed
 * from a fresh mapping of FILE that nothing has touched, so that the page is
 * not in this process's page tables when the syscall enters (an event probe
 * cannot read it; the kernel's own copy of the name faults it in). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "unresident") == 0) {
		int src = open(argv[2], O_RDONLY);
		if (src < 0) { perror(argv[2]); return 1; }
		char *name = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, src, 0);
		if (name == MAP_FAILED) { perror("mmap"); return 1; }
		long fd = syscall(SYS_openat, AT_FDCWD, name, O_RDONLY);
		printf("unresident open: %ld\n", fd);
		return fd < 0;
	}
	long n = argc > 1 ? atol(argv[1]) : 1000;
	const char *path = argc > 2 ? argv[2] : "/tmp/opener.txt";
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) { perror(path); return 1; }
	close(fd);
	for (long i = 0; i < n; i++) {
		fd = open(path, O_RDONLY);
		if (fd < 0) { perror(path); return 1; }
		close(fd);
	}
	return 0;
}
