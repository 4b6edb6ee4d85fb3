/*
 * membudget.h - one global byte budget for in-flight data (spec §5.1, style.md "Memory").
 *
 * Every buffer that holds object data on its way through the daemon (read-ahead chunks,
 * upload parts) is charged to one budget before it is allocated and credited back when it is
 * freed, so the daemon's memory stays bounded however many files are open.  Users degrade
 * (smaller windows, direct reads, back-pressure) when the budget is exhausted rather than
 * growing past it.  Those buffers themselves are mapped by membudget_map (below), so that
 * every one of them has the same kind of memory.  All functions are thread-safe.
 */
#ifndef MVBACKUPFS_MEMBUDGET_H
#define MVBACKUPFS_MEMBUDGET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct membudget {
	pthread_mutex_t lock;	/* protects used, peak and waiters */
	pthread_cond_t freed;	/* broadcast when bytes are released (CLOCK_MONOTONIC) */
	uint64_t total;		/* the budget, bytes; fixed at init */
	uint64_t used;		/* bytes currently acquired */
	uint64_t peak;		/* highest `used` ever seen */
	unsigned waiters;	/* threads blocked in membudget_acquire */
};

/* Default budget of the daemon: peak RSS while streaming must stay <= 128 MiB (spec §8). */
#define MEMBUDGET_DEFAULT (96ull << 20)

/* Set up a budget of `total` bytes (0 = MEMBUDGET_DEFAULT).  Returns 0 or -errno from the
 * pthread initialisers. */
int membudget_init(struct membudget *b, uint64_t total);

/* Destroy the mutex and condition variable.  Every byte should have been given back.
 * (Named destroy, not release: membudget_release gives bytes back, as the team's API says.) */
void membudget_destroy(struct membudget *b);

/* Take `n` bytes if they fit right now: 0, or -EAGAIN when they do not (nothing taken),
 * -E2BIG when n exceeds the whole budget (can never fit). */
int membudget_try_acquire(struct membudget *b, uint64_t n);

/* Take `n` bytes, waiting for other users to give bytes back.  `timeout_ms` < 0 waits as
 * long as needed; otherwise -ETIMEDOUT after that many milliseconds (nothing taken).
 * -E2BIG when n exceeds the whole budget. */
int membudget_acquire(struct membudget *b, uint64_t n, int64_t timeout_ms);

/* Give back `n` bytes taken by an acquire and wake waiters.  Giving back more than is in use
 * is a bug (aborts). */
void membudget_release(struct membudget *b, uint64_t n);

/* Whether a caller is blocked in membudget_acquire now (a snapshot): holders of spare
 * buffers give them back instead of keeping them then. */
int membudget_has_waiters(struct membudget *b);

/* Bytes in use now, the highest use ever seen, and the total (snapshots). */
uint64_t membudget_used(struct membudget *b);
uint64_t membudget_peak(struct membudget *b);
uint64_t membudget_total(const struct membudget *b);

/*
 * A fresh buffer of `n` bytes for object data (a read-ahead chunk, an upload part), already
 * charged by the caller: an anonymous mapping, so that giving it back (munmap) returns the
 * memory to the system at once (idle RSS, spec §8).  NULL when memory is short.
 *
 * Its pages are small ones on purpose (MADV_NOHUGEPAGE).  A huge page's first touch can cost
 * far more than 512 small ones: on a VM that hands its free memory back to the host (free
 * page reporting; the test VM, a Firecracker guest, reports free blocks of 8 MiB and more),
 * huge pages are carved from the large free blocks, the ones handed back, and the host has
 * to back them again on that touch.  Measured on the test VM (THP "madvise"):
 * 32 MiB of fresh huge pages took 190-530 ms to touch (90-180 MB/s), of small pages 7-22 ms.
 * A 1 GiB `cat` on a fresh mount (its read-ahead maps ~33 MiB) took 800-1220 ms with huge
 * pages (median ~950) and 785-865 ms without (8 pairs); on one mount, each `cat` after 3 s
 * idle (spares given back after 1 s) 790-1466 ms against 800-923 ms (docs/performance.md,
 * stop 24).  Buffers are recycled, so the small pages' extra faults are
 * paid once per buffer.
 */
void *membudget_map(size_t n);

#endif
