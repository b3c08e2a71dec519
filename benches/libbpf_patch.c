// SPDX-License-Identifier: GPL-2.0
/*
 * The reference for scripts/bench-patch.sh: the same transformation as
 * `kfunc-scan patch-btf`, done with libbpf (what the kernel's BTF tools use).
 *
 *   libbpf_patch IN.btf PLAN OUT.btf [BASE.btf]
 *
 * PLAN has one kfunc a line: NAME IMPL_NAME OMITTED ADD_KFUNC_TAG ADD_FASTCALL_TAG
 * where OMITTED is a comma-separated list of parameter indices or "-".
 * For each: optionally add bpf_kfunc / bpf_fastcall decl tags where missing;
 * then, when OMITTED is not "-", add IMPL_NAME (unless present) with NAME's
 * prototype and linkage plus copies of NAME's decl tags but bpf_kfunc, add a
 * prototype without the omitted parameters, and repoint NAME to it.
 *
 * OUT.btf is written as pahole writes its raw BTF: truncated and rewritten.
 * On ext4 that makes the kernel start writing the data out on close
 * (auto_da_alloc), which kfunc-scan's swap of a temporary file avoids. With
 * LIBBPF_PATCH_UNLINK_FIRST=1 in the environment the old OUT.btf is removed
 * first, which avoids it too: the same write cost on both sides.
 */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct named { const char *name; int id; };

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static struct named *funcs;
static int nr_funcs;

/* FUNC ids by name, sorted once: a linear btf__find_by_name_kind per kfunc
 * would make the reference needlessly slow. */
static void index_funcs(const struct btf *btf, int start, int end)
{
	funcs = calloc(end - start + 1, sizeof(*funcs));
	for (int id = start; id < end; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (btf_is_func(t)) {
			/* a copy: the strings move once the BTF is modified */
			funcs[nr_funcs].name = strdup(btf__name_by_offset(btf, t->name_off));
			funcs[nr_funcs++].id = id;
		}
	}
	qsort(funcs, nr_funcs, sizeof(*funcs), cmp_named);
}

static int find_func(const char *name)
{
	struct named key = { .name = name }, *hit;

	hit = bsearch(&key, funcs, nr_funcs, sizeof(*funcs), cmp_named);
	return hit ? hit->id : -ENOENT;
}

/* decl tags of own types, collected once: (target, tag id) */
static int *tag_ids, nr_tags;

static int has_tag(const struct btf *btf, int target, const char *name)
{
	for (int i = 0; i < nr_tags; i++) {
		const struct btf_type *t = btf__type_by_id(btf, tag_ids[i]);
		if ((int)t->type == target && btf_decl_tag(t)->component_idx == -1 &&
		    strcmp(btf__name_by_offset(btf, t->name_off), name) == 0)
			return 1;
	}
	return 0;
}

static int add_tag(struct btf *btf, const char *name, int target, int idx)
{
	int id = btf__add_decl_tag(btf, name, target, idx);

	if (id > 0) {
		tag_ids = realloc(tag_ids, (nr_tags + 1) * sizeof(*tag_ids));
		tag_ids[nr_tags++] = id;
	}
	return id;
}

int main(int argc, char **argv)
{
	struct btf *base = NULL, *btf;
	char name[512], impl[512], omitted[512];
	int tag_kfunc, tag_fastcall, start, end;
	FILE *plan, *out;
	const void *raw;
	__u32 size;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: %s IN.btf PLAN OUT.btf [BASE.btf]\n", argv[0]);
		return 2;
	}
	if (argc == 5) {
		base = btf__parse(argv[4], NULL);
		if (!base) {
			fprintf(stderr, "%s: %s\n", argv[4], strerror(errno));
			return 2;
		}
	}
	btf = base ? btf__parse_split(argv[1], base) : btf__parse(argv[1], NULL);
	if (!btf) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	start = base ? btf__type_cnt(base) : 1;
	end = btf__type_cnt(btf);
	index_funcs(btf, start, end);
	tag_ids = calloc(1, sizeof(*tag_ids));
	for (int id = start; id < end; id++)
		if (btf_is_decl_tag(btf__type_by_id(btf, id)))
			tag_ids = realloc(tag_ids, (nr_tags + 1) * sizeof(*tag_ids)), tag_ids[nr_tags++] = id;

	plan = fopen(argv[2], "r");
	if (!plan) {
		fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	while (fscanf(plan, "%511s %511s %511s %d %d", name, impl, omitted, &tag_kfunc,
		      &tag_fastcall) == 5) {
		int id = find_func(name), proto_id, new_proto, impl_id, nr, linkage;
		const struct btf_type *t;
		int skip[64] = {0};

		if (id < 0)
			continue;
		if (tag_kfunc && !has_tag(btf, id, "bpf_kfunc"))
			add_tag(btf, "bpf_kfunc", id, -1);
		if (tag_fastcall && !has_tag(btf, id, "bpf_fastcall"))
			add_tag(btf, "bpf_fastcall", id, -1);
		if (strcmp(omitted, "-") == 0)
			continue;
		for (char *p = strtok(omitted, ","); p; p = strtok(NULL, ","))
			if (atoi(p) >= 0 && atoi(p) < 64)
				skip[atoi(p)] = 1;

		t = btf__type_by_id(btf, id);
		proto_id = t->type;
		linkage = btf_vlen(t);
		impl_id = find_func(impl);
		if (impl_id < 0) {
			int n = nr_tags;

			impl_id = btf__add_func(btf, impl, linkage, proto_id);
			if (impl_id < 0)
				return 1;
			for (int i = 0; i < n; i++) {
				const struct btf_type *tag = btf__type_by_id(btf, tag_ids[i]);
				const char *tn = btf__name_by_offset(btf, tag->name_off);

				if ((int)tag->type != id || strcmp(tn, "bpf_kfunc") == 0)
					continue;
				add_tag(btf, tn, impl_id, btf_decl_tag(tag)->component_idx);
			}
		}
		t = btf__type_by_id(btf, proto_id);
		new_proto = btf__add_func_proto(btf, t->type);
		if (new_proto < 0)
			return 1;
		nr = btf_vlen(btf__type_by_id(btf, proto_id));
		for (int i = 0; i < nr; i++) {
			/* adding may move the types: look the prototype up again */
			const struct btf_param *p = btf_params(btf__type_by_id(btf, proto_id)) + i;

			if (i < 64 && skip[i])
				continue;
			if (btf__add_func_param(btf, btf__name_by_offset(btf, p->name_off), p->type) < 0)
				return 1;
		}
		((struct btf_type *)btf__type_by_id(btf, id))->type = new_proto;
	}
	fclose(plan);

	raw = btf__raw_data(btf, &size);
	if (getenv("LIBBPF_PATCH_UNLINK_FIRST"))
		unlink(argv[3]);
	out = fopen(argv[3], "wb");
	if (!out || fwrite(raw, 1, size, out) != size || fclose(out)) {
		fprintf(stderr, "%s: %s\n", argv[3], strerror(errno));
		return 2;
	}
	return 0;
}
