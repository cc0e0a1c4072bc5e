// SPDX-License-Identifier: GPL-2.0
/* The host table: a filter, an index and a hash map (tapis_abi.h).
 *
 * The filter has a bit per key, so the XDP program rules most suffixes out
 * with one array read. The index holds the keys with their rules in an
 * open-addressed array the program reads without a call; the hash map holds
 * only the keys that found no slot in the index (a few percent): writing
 * two million keys into a hash map was most of a load's time. Filter and
 * index are built whole with each generation (mmap of an array map) and
 * only gain while it lives: a filter bit or index key left behind by `host
 * del` costs a lookup or holds zero rules, never a wrong answer.
 *
 * Writers and the XDP readers share the index without locks: a new slot
 * gets its rules before its key (release store), so a reader that sees the
 * key sees the rules; a changed slot changes its rules one 16-bit store at
 * a time, old or new each. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "gen.h"
#include "host_filter.h"

/* Both arrays mapped, with the size the program was loaded with
 * (tapis_abi.h): the hashes must agree with the data path's. */
struct views {
	uint64_t *filter;
	struct tapis_host_slot *index;
	uint32_t log2; /* of the index's slots */
};

static size_t filter_words(uint32_t log2)
{
	return (size_t)1 << (log2 + TAPIS_HOST_FILTER_LOG2_PER_SLOT - 6);
}

static size_t filter_bytes(uint32_t log2)
{
	return filter_words(log2) * sizeof(uint64_t);
}

static size_t index_bytes(uint32_t log2)
{
	return (size_t)tapis_host_idx_entries(log2) * sizeof(struct tapis_host_slot);
}

static void filter_set(const struct views *v, uint64_t key)
{
	uint32_t bit = tapis_host_filter_bit(key, tapis_host_idx_shift(v->log2));

	v->filter[bit >> 6] |= 1ULL << (bit & 63);
}

/* Put key with v in the index: its slot if it has one, else the first
 * empty one from home. False when it found neither: home is then marked
 * overflowed and the key belongs in the hash map (the XDP side asks it). A
 * key with no rules that has no slot takes none. */
static bool index_set(const struct views *vw, uint64_t key, const struct tapis_host_val *v)
{
	struct tapis_host_slot *idx = vw->index;
	uint32_t home = tapis_host_idx_home(key, tapis_host_idx_shift(vw->log2));

	if (!key) { /* 0 marks an empty slot: such a key lives in the hash map */
		__atomic_fetch_or(&idx[home].flags, TAPIS_HIS_OVERFLOW, __ATOMIC_RELEASE);
		return false;
	}
	for (uint32_t p = 0; p < TAPIS_HOST_IDX_PROBES; p++) {
		struct tapis_host_slot *s = &idx[home + p];
		uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (k == key) {
			__atomic_store_n(&s->self_rule, v->self_rule, __ATOMIC_RELAXED);
			__atomic_store_n(&s->sub_rule, v->sub_rule, __ATOMIC_RELAXED);
			return true;
		}
		if (!k) {
			if (!v->self_rule && !v->sub_rule)
				return false; /* nothing to add for a deleted key */
			s->self_rule = v->self_rule;
			s->sub_rule = v->sub_rule;
			__atomic_store_n(&s->key, key, __ATOMIC_RELEASE);
			return true;
		}
	}
	if (v->self_rule || v->sub_rule)
		__atomic_fetch_or(&idx[home].flags, TAPIS_HIS_OVERFLOW, __ATOMIC_RELEASE);
	return false;
}

static int create(const char *name, uint32_t value_size, uint32_t entries)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	int fd =
		bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(uint32_t), value_size, entries, &o);

	return fd < 0 ? -errno : fd;
}

static void *map_view(int fd, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void views_unmap(struct views *v)
{
	if (v->filter)
		munmap(v->filter, filter_bytes(v->log2));
	if (v->index)
		munmap(v->index, index_bytes(v->log2));
	v->filter = NULL;
	v->index = NULL;
}

/* Create both maps for a generation, mapped. fds out; -errno. */
static int create_both(int *ffd, int *ifd, struct views *v)
{
	*ffd = create(tapis_map_names[M_HOST_FILTER], sizeof(uint64_t),
		      (uint32_t)filter_words(v->log2));
	*ifd = *ffd < 0 ? -1
			: create(tapis_map_names[M_HOST_INDEX], sizeof(struct tapis_host_slot),
				 tapis_host_idx_entries(v->log2));
	if (*ffd < 0 || *ifd < 0)
		return *ffd < 0 ? *ffd : *ifd;
	v->filter = map_view(*ffd, filter_bytes(v->log2));
	v->index = v->filter ? map_view(*ifd, index_bytes(v->log2)) : NULL;
	return v->index ? 0 : -errno;
}

/* Index first: the filter lets keys through only once they are there. */
static int publish(struct tapis *t, uint32_t gen, int ffd, int ifd)
{
	return gen_publish_inner(t, M_HOST_INDEX, gen, ifd)
		       ?: gen_publish_inner(t, M_HOST_FILTER, gen, ffd);
}

int host_filter_build(struct tapis *t, uint32_t gen, const uint64_t *keys,
		      const struct tapis_host_val *vals, size_t n, size_t *over, size_t *n_over)
{
	struct views v = {.log2 = tapis_host_log2(t)};
	int ffd = -1, ifd = -1, err;

	*n_over = 0;
	err = create_both(&ffd, &ifd, &v);
	if (!err) {
		for (size_t i = 0; i < n; i++) {
			if (!index_set(&v, keys[i], &vals[i]))
				over[(*n_over)++] = i;
			filter_set(&v, keys[i]);
		}
		views_unmap(&v);
		err = publish(t, gen, ffd, ifd);
	}
	views_unmap(&v);
	if (ffd >= 0)
		close(ffd);
	if (ifd >= 0)
		close(ifd);
	return err;
}

/* Every entry of the host table, for a generation that has no filter yet
 * (its policy had no host patterns until this `host add`). */
static int fill_from_table(int hosts_fd, struct views *v)
{
	struct tapis_host_val val;
	uint64_t key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(hosts_fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(hosts_fd, &next, &val) == 0) {
			index_set(v, next, &val);
			filter_set(v, next);
		}
		key = next;
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int host_table_lookup(struct tapis *t, uint32_t gen, int hosts_fd, uint64_t key,
		      struct tapis_host_val *v)
{
	struct tapis_host_slot slot;
	uint32_t home = tapis_host_idx_home(key, tapis_host_idx_shift(tapis_host_log2(t))), i;
	int ifd = gen_inner_fd(t, M_HOST_INDEX, gen), err = -ENOENT;

	memset(v, 0, sizeof(*v));
	if (ifd >= 0 && key) {
		for (uint32_t p = 0; p < TAPIS_HOST_IDX_PROBES; p++) {
			i = home + p;
			if (bpf_map_lookup_elem(ifd, &i, &slot) || !slot.key)
				break;
			if (slot.key == key) {
				v->self_rule = slot.self_rule;
				v->sub_rule = slot.sub_rule;
				err = 0;
				break;
			}
		}
	}
	if (ifd >= 0)
		close(ifd);
	if (err && hosts_fd >= 0 && bpf_map_lookup_elem(hosts_fd, &key, v) == 0)
		err = 0;
	return err;
}

int host_table_store(struct tapis *t, uint32_t gen, int hosts_fd, uint64_t key,
		     const struct tapis_host_val *val)
{
	struct views v = {.log2 = tapis_host_log2(t)};
	int ffd, ifd, err;

	ffd = gen_inner_fd(t, M_HOST_FILTER, gen);
	ifd = gen_inner_fd(t, M_HOST_INDEX, gen);
	if (ffd == -ENOENT || ifd == -ENOENT) {
		/* The generation's policy had no host patterns: its filter
		 * and index come with the first one. */
		if (ffd >= 0)
			close(ffd);
		if (ifd >= 0)
			close(ifd);
		err = create_both(&ffd, &ifd, &v);
		err = err ?: fill_from_table(hosts_fd, &v);
		views_unmap(&v);
		err = err ?: publish(t, gen, ffd, ifd);
		if (err)
			goto out;
	} else if (ffd < 0 || ifd < 0) {
		err = ffd < 0 ? ffd : ifd;
		goto out;
	}
	v.filter = map_view(ffd, filter_bytes(v.log2));
	v.index = v.filter ? map_view(ifd, index_bytes(v.log2)) : NULL;
	if (!v.index) {
		err = -errno;
		goto out;
	}
	if (index_set(&v, key, val)) {
		/* In the index now: a copy in the hash map would be stale. */
		if (bpf_map_delete_elem(hosts_fd, &key) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	} else if (!val->self_rule && !val->sub_rule) {
		if (bpf_map_delete_elem(hosts_fd, &key) && errno != ENOENT) {
			err = -errno;
			goto out;
		}
	} else if (bpf_map_update_elem(hosts_fd, &key, val, BPF_ANY)) {
		/* Its home slot says overflow already: a reader asks the hash
		 * map, which answers once this lands. */
		err = errno == E2BIG ? -ENOSPC : -errno;
		goto out;
	}
	/* Last: the bit lets readers look at all. */
	if (val->self_rule || val->sub_rule)
		filter_set(&v, key);
	err = 0;
out:
	views_unmap(&v);
	if (ffd >= 0)
		close(ffd);
	if (ifd >= 0)
		close(ifd);
	return err;
}

/* Is key in the index view with rules? (A reader's probe.) */
static bool index_has(const struct views *vw, uint64_t key)
{
	uint32_t home = tapis_host_idx_home(key, tapis_host_idx_shift(vw->log2));

	for (uint32_t p = 0; key && p < TAPIS_HOST_IDX_PROBES; p++) {
		const struct tapis_host_slot *s = &vw->index[home + p];

		if (!s->key)
			return false;
		if (s->key == key)
			return s->self_rule || s->sub_rule;
	}
	return false;
}

static int push(uint64_t **keys, struct tapis_host_val **vals, size_t *n, size_t *cap, uint64_t key,
		const struct tapis_host_val *v)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4096;
		uint64_t *k = realloc(*keys, c * sizeof(**keys));
		struct tapis_host_val *x = k ? realloc(*vals, c * sizeof(**vals)) : NULL;

		if (k)
			*keys = k;
		if (!x)
			return -ENOMEM;
		*vals = x;
		*cap = c;
	}
	(*keys)[*n] = key;
	(*vals)[(*n)++] = *v;
	return 0;
}

int host_table_read(struct tapis *t, uint32_t gen, uint64_t **keys, struct tapis_host_val **vals,
		    size_t *n)
{
	struct views v = {.log2 = tapis_host_log2(t)};
	int ifd = gen_inner_fd(t, M_HOST_INDEX, gen), hfd = gen_inner_fd(t, M_HOSTS, gen);
	struct tapis_host_val val;
	uint64_t key, next;
	void *prev = NULL;
	size_t cap = 0;
	int err = 0;

	*keys = NULL;
	*vals = NULL;
	*n = 0;
	if (ifd >= 0) {
		void *p = mmap(NULL, index_bytes(v.log2), PROT_READ, MAP_SHARED, ifd, 0);

		v.index = p == MAP_FAILED ? NULL : p;
		if (!v.index)
			err = -errno;
		for (uint32_t i = 0; !err && i < tapis_host_idx_entries(v.log2); i++) {
			const struct tapis_host_slot *s = &v.index[i];
			struct tapis_host_val x = {.self_rule = s->self_rule,
						   .sub_rule = s->sub_rule};

			if (s->key && (x.self_rule || x.sub_rule))
				err = push(keys, vals, n, &cap, s->key, &x);
		}
	}
	/* The hash map's keys are those the index has no slot for. */
	while (!err && hfd >= 0 && bpf_map_get_next_key(hfd, prev, &next) == 0) {
		if (bpf_map_lookup_elem(hfd, &next, &val) == 0 && (val.self_rule || val.sub_rule) &&
		    !(v.index && index_has(&v, next)))
			err = push(keys, vals, n, &cap, next, &val);
		key = next;
		prev = &key;
	}
	if (v.index)
		munmap(v.index, index_bytes(v.log2));
	if (ifd >= 0)
		close(ifd);
	if (hfd >= 0)
		close(hfd);
	if (err) {
		free(*keys);
		free(*vals);
		*keys = NULL;
		*vals = NULL;
	}
	return err;
}
