// Runs the program boot.sh pinned (BPF_PROG_TEST_RUN) and prints what it
// wrote to its BPF stdout stream (BPF_PROG_STREAM_READ_BY_FD, Linux 6.17+),
// which bookworm's bpftool cannot read. Built static by boot.sh
// (BOOT_RUN=...) and run in the guest: `prog-run-stream /sys/fs/bpf/PIN`.
// Raw bpf(2) with the layouts of the kernel's uapi spelled out here:
// bookworm's <linux/bpf.h> predates the stream command.
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

enum {
	CMD_OBJ_GET = 7,
	CMD_PROG_TEST_RUN = 10,
	/* enum bpf_cmd in Linux 7.1's include/uapi/linux/bpf.h */
	CMD_PROG_STREAM_READ_BY_FD = 37,
	STREAM_STDOUT = 1,
};

struct obj_get {
	uint64_t pathname;
	uint32_t bpf_fd;
	uint32_t file_flags;
	uint32_t path_fd;
};

struct test_run {
	uint32_t prog_fd;
	uint32_t retval;
	uint32_t data_size_in;
	uint32_t data_size_out;
	uint64_t data_in;
	uint64_t data_out;
	uint32_t repeat;
	uint32_t duration;
	uint32_t ctx_size_in;
	uint32_t ctx_size_out;
	uint64_t ctx_in;
	uint64_t ctx_out;
	uint32_t flags;
	uint32_t cpu;
	uint32_t batch_size;
};

struct stream_read {
	uint64_t stream_buf;
	uint32_t stream_buf_len;
	uint32_t stream_id;
	uint32_t prog_fd;
};

static long bpf(int cmd, void *attr, unsigned int size)
{
	return syscall(SYS_bpf, cmd, attr, size);
}

int main(int argc, char **argv)
{
	struct obj_get get;
	struct test_run run;
	struct stream_read rd;
	char buf[4096];
	long fd, n;

	if (argc != 2) {
		fprintf(stderr, "usage: prog-run-stream PINNED_PROG\n");
		return 2;
	}
	memset(&get, 0, sizeof(get));
	get.pathname = (uintptr_t)argv[1];
	fd = bpf(CMD_OBJ_GET, &get, sizeof(get));
	if (fd < 0) {
		perror("BPF_OBJ_GET");
		return 1;
	}
	memset(&run, 0, sizeof(run));
	run.prog_fd = fd;
	if (bpf(CMD_PROG_TEST_RUN, &run, sizeof(run)) < 0) {
		perror("BPF_PROG_TEST_RUN");
		return 1;
	}
	printf("prog-run-stream: ran, retval %d\n", (int)run.retval);
	memset(&rd, 0, sizeof(rd));
	rd.stream_buf = (uintptr_t)buf;
	rd.stream_buf_len = sizeof(buf) - 1;
	rd.stream_id = STREAM_STDOUT;
	rd.prog_fd = fd;
	n = bpf(CMD_PROG_STREAM_READ_BY_FD, &rd, sizeof(rd));
	if (n < 0) {
		perror("BPF_PROG_STREAM_READ_BY_FD");
		return 1;
	}
	buf[n] = 0;
	printf("prog-run-stream: stdout stream (%ld bytes): %s", n, buf);
	return n > 0 ? 0 : 1;
}
