// SPDX-License-Identifier: GPL-2.0
/*
 * maps_mem.c - kernel memory of tapis's maps, found without knowing their
 * layout (issue 11): the tables are being redesigned, and the figures must
 * follow whatever structure lands.
 *
 * Which maps: every map the loaded program uses (bpf_prog_info map_ids),
 * every map inside those (the inner maps of map-in-map outers, by id), and
 * every other map this process holds a descriptor of when the walk runs
 * (the library keeps user-space-only tables, such as the exact IPv4 prefix
 * list, open in its handle). The bench walks before it creates any map of
 * its own, so every descriptor is tapis's.
 *
 * Which generation: tapis keeps two generations of its tables and flips
 * between them (tapis_ctl.gen); a map-in-map outer of exactly two slots is
 * taken as indexed by generation, and what hangs off the slot that is not
 * active is "standby". Everything else is "loaded". The data path reads the
 * loaded maps that the program reaches ("datapath").
 *
 * Bytes: memlock from /proc/self/fdinfo, what `bpftool map show` reports.
 * Group: by name, "_v4" IPv4, "_v6" IPv6, "host" names, anything else other.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include "bench.h"

#define MAX_MAPS 1024

struct walk_item {
	uint32_t id;
	bool from_prog, standby;
	char via[64]; /* "outer[key]" for an inner map, else "" */
};

static const char *const GROUP_NAMES[MG__COUNT] = {"v4", "v6", "hosts", "other"};

const char *map_group_name(enum map_group g)
{
	return g < MG__COUNT ? GROUP_NAMES[g] : "?";
}

static enum map_group group_of(const char *name)
{
	if (strstr(name, "_v4"))
		return MG_V4;
	if (strstr(name, "_v6"))
		return MG_V6;
	if (strstr(name, "host"))
		return MG_HOSTS;
	return MG_OTHER;
}

long long fd_memlock(int fd)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "memlock:", 8)) {
			v = atoll(line + 8);
			break;
		}
	fclose(f);
	return v;
}

static bool is_outer(uint32_t type)
{
	return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

struct walk {
	struct walk_item q[MAX_MAPS];
	unsigned n;
};

static bool queued(const struct walk *w, uint32_t id)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->q[i].id == id)
			return true;
	return false;
}

static int enqueue(struct walk *w, uint32_t id, bool from_prog, bool standby, const char *via)
{
	if (!id || queued(w, id))
		return 0;
	if (w->n == MAX_MAPS)
		return -E2BIG;
	w->q[w->n] = (struct walk_item){.id = id, .from_prog = from_prog, .standby = standby};
	snprintf(w->q[w->n].via, sizeof(w->q[w->n].via), "%s", via);
	w->n++;
	return 0;
}

/* The inner maps of an outer, each under its slot's generation. */
static int enqueue_inner(struct walk *w, int fd, const struct bpf_map_info *info,
			 const struct walk_item *it, uint32_t gen)
{
	bool by_gen = info->type == BPF_MAP_TYPE_ARRAY_OF_MAPS && info->max_entries == 2;
	uint8_t key[64], next[64];
	void *prev = NULL;
	int err = 0;

	if (info->key_size > sizeof(key))
		return -E2BIG;
	while (!err && !bpf_map_get_next_key(fd, prev, next)) {
		uint32_t inner = 0, slot = 0;
		char via[64];

		memcpy(key, next, info->key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, &inner))
			continue; /* an empty slot */
		if (info->key_size == 4)
			memcpy(&slot, key, 4);
		snprintf(via, sizeof(via), "%s[%u]", info->name, slot);
		err = enqueue(w, inner, it->from_prog, it->standby || (by_gen && slot != gen), via);
	}
	return err;
}

/* Maps this process holds that the walk has not met: /proc/self/fd links
 * read "anon_inode:bpf-map". */
static int enqueue_held(struct walk *w)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		char path[300], link[64];
		struct bpf_map_info info = {};
		uint32_t len = sizeof(info);
		ssize_t n;
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		if (strcmp(link, "anon_inode:bpf-map") || bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		err = enqueue(w, info.id, false, false, "");
	}
	closedir(d);
	return err;
}

int map_mem_walk(int prog_fd, uint32_t gen, struct map_mem *m)
{
	struct bpf_prog_info pi = {};
	uint32_t len = sizeof(pi), ids[256];
	struct walk *w = calloc(1, sizeof(*w));
	int err = 0;

	memset(m, 0, sizeof(*m));
	m->list = json_object_new_array();
	if (!w || !m->list) {
		free(w);
		return -ENOMEM;
	}
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len)) {
		err = -errno;
		goto out;
	}
	if (pi.nr_map_ids > sizeof(ids) / sizeof(ids[0])) {
		err = -E2BIG;
		goto out;
	}
	{
		uint32_t nr = pi.nr_map_ids;

		memset(&pi, 0, sizeof(pi));
		pi.nr_map_ids = nr;
		pi.map_ids = (uint64_t)(uintptr_t)ids;
		len = sizeof(pi);
		if (bpf_obj_get_info_by_fd(prog_fd, &pi, &len)) {
			err = -errno;
			goto out;
		}
	}
	for (uint32_t i = 0; i < pi.nr_map_ids && !err; i++)
		err = enqueue(w, ids[i], true, false, "");
	/* breadth first: the program's maps and their inner maps, then the
	 * maps only the handle holds (and theirs) */
	for (unsigned i = 0, held = 0; !err && (i < w->n || !held); i++) {
		struct walk_item *it;
		struct bpf_map_info info = {};
		uint32_t ilen = sizeof(info);
		struct json_object *o;
		enum map_group g;
		long long b;
		int fd;

		if (i == w->n) { /* the program's maps are done */
			held = 1;
			err = enqueue_held(w);
			i--;
			continue;
		}
		it = &w->q[i];
		fd = bpf_map_get_fd_by_id(it->id);
		if (fd < 0)
			continue; /* freed since: nothing to count */
		b = fd_memlock(fd);
		if (b < 0 || bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			close(fd);
			continue;
		}
		if (is_outer(info.type))
			err = enqueue_inner(w, fd, &info, it, gen);
		close(fd);
		g = group_of(info.name);
		m->total += b;
		m->all[g] += b;
		if (!it->standby)
			m->loaded[g] += b;
		if (!it->standby && it->from_prog)
			m->datapath[g] += b;
		m->n++;
		o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(info.name));
		json_object_object_add(o, "id", json_object_new_int64(info.id));
		json_object_object_add(o, "type", json_object_new_int64(info.type));
		json_object_object_add(o, "max_entries", json_object_new_int64(info.max_entries));
		json_object_object_add(o, "bytes_memlock", json_object_new_int64(b));
		json_object_object_add(o, "group", json_object_new_string(GROUP_NAMES[g]));
		json_object_object_add(o, "read_by_program",
				       json_object_new_boolean(it->from_prog));
		json_object_object_add(o, "standby_generation",
				       json_object_new_boolean(it->standby));
		if (it->via[0])
			json_object_object_add(o, "inner_of", json_object_new_string(it->via));
		json_object_array_add(m->list, o);
	}
out:
	free(w);
	return err;
}
