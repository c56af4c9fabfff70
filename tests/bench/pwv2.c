/* pwv2: N pwritev2() calls of one 64-byte iovec, RWF flags 0.
 *
 *   pwv2 [N [FILE]]     N defaults to 200000, FILE to ./pwv2.out
 *
 * The offset cycles over the first 64 KiB so the file stays small and in the
 * page cache; the file is removed at the end. Exits 1 on the first failure.
 * Used by tests/bench/syscalls.sh. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	const char *path = argc > 2 ? argv[2] : "pwv2.out";
	char buf[64];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
	int fd;

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = 'a' + i % 26;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		ssize_t r = pwritev2(fd, &iov, 1, (off_t)(i % 1024) * 64, 0);
		if (r != (ssize_t)sizeof buf) {
			perror("pwritev2");
			return 1;
		}
	}
	close(fd);
	unlink(path);
	return 0;
}
