/*
 * replay_main.c - run a fuzz target over files, without libFuzzer.
 *
 * Design: libpcap's testprogs/fuzz/onefile.c idea.  Every argument is a
 * file or a directory (walked recursively, entries in name order so a
 * target with state kept across calls replays the same way every time);
 * each file is read into a malloc'ed buffer of exactly its size and handed
 * to LLVMFuzzerTestOneInput.  Arguments starting with '-' are ignored, so a
 * command line written for a libFuzzer binary also works here.  This is
 * what the meson `fuzz` suite runs over fuzz/seeds/<target>/, and how a
 * saved crash is reproduced under gdb or valgrind.
 *
 * Rejected: reading stdin (a crash file is always at hand) and fork per
 * input (a failure stops the run with the file name printed first).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned long replay_count;

static int
replay_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	long len;
	size_t got;

	f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot size\n", path);
		fclose(f);
		return -1;
	}
	/* exact size; malloc(0) may be NULL, so keep one byte for it */
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	got = len > 0 ? fread(buf, 1, (size_t)len, f) : 0;
	fclose(f);
	if (got != (size_t)len) {
		fprintf(stderr, "%s: short read\n", path);
		free(buf);
		return -1;
	}
	fprintf(stderr, "replay %s (%ld bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, got);
	free(buf);
	replay_count++;
	return 0;
}

static int
replay_path(const char *path)
{
	struct dirent **ents;
	struct stat st;
	char *sub;
	size_t n;
	int i, k, err = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path);
	k = scandir(path, &ents, NULL, alphasort);
	if (k < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < k; i++) {
		if (ents[i]->d_name[0] != '.') {
			n = strlen(path) + strlen(ents[i]->d_name) + 2;
			sub = malloc(n);
			if (sub == NULL) {
				err = -1;
			} else {
				snprintf(sub, n, "%s/%s", path,
				    ents[i]->d_name);
				if (replay_path(sub) != 0)
					err = -1;
				free(sub);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return err;
}

int
main(int argc, char **argv)
{
	int i, err = 0;

	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		if (replay_path(argv[i]) != 0)
			err = 1;
	}
	fprintf(stderr, "%s: %lu inputs replayed%s\n", argv[0], replay_count,
	    err ? ", some could not be read" : "");
	/* an empty seed directory would make a test pass vacuously */
	return err || replay_count == 0;
}
