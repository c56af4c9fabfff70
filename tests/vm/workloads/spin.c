/* spin SECS CPU [BURST_MS]: pinned to CPU, burn it for SECS seconds (a
 * CPU-bound thread that osnoise on that CPU sees as thread noise). With
 * BURST_MS, run SCHED_FIFO 1 in bursts of BURST_MS, each followed by as
 * long a sleep: while a burst runs, the (normal-priority) osnoise thread
 * cannot, so each burst is one sample of thread noise that long. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) + (b.tv_nsec - a->tv_nsec) / 1e9;
}

static void burn(double secs)
{
	struct timespec a;
	clock_gettime(CLOCK_MONOTONIC, &a);
	volatile unsigned long n = 0;
	do {
		for (int i = 0; i < 100000; i++) n++;
	} while (since(&a) < secs);
}

int main(int argc, char **argv)
{
	if (argc < 3) { fprintf(stderr, "usage: spin SECS CPU [BURST_MS]\n"); return 2; }
	double secs = atof(argv[1]);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(atoi(argv[2]), &set);
	if (sched_setaffinity(0, sizeof set, &set)) { perror("sched_setaffinity"); return 1; }
	if (argc < 4) {
		burn(secs);
		return 0;
	}
	double burst = atof(argv[3]) / 1000;
	struct sched_param p = { .sched_priority = 1 };
	if (sched_setscheduler(0, SCHED_FIFO, &p)) { perror("sched_setscheduler"); return 1; }
	struct timespec start, pause = { 0, (long)(burst * 1e9) };
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (since(&start) < secs) {
		burn(burst);
		nanosleep(&pause, NULL);
	}
	return 0;
}
