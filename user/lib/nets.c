// SPDX-License-Identifier: GPL-2.0
/* Address tables of a generation: IPv4 DIR-24-8 (mmapped arrays, edited in
 * place) with an exact-prefix hash as the source of truth, and the IPv6
 * filter bitmap, per-/32 length masks, exact-prefix hash and short-prefix
 * trie. Every entry records its prefix length, so inserts and deletes only
 * touch slots whose current prefix is not more specific. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "gen.h"
#include "log.h"

#define TBL24_BYTES  ((size_t)TAPIS_V4_TBL24_SIZE * sizeof(struct tapis_v4_ent))
#define FILTER_BYTES ((size_t)TAPIS_V6_FILTER_WORDS * sizeof(uint64_t))
#define MIN_HASH     65536u
#define MIN_TBL8     1024u

void gen_userspace_pin_path(const struct tapis *t, int gen, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/" V4_EXACT_MAP "_g%d", t->pin_path, gen);
}

int gen_active(struct tapis *t, uint32_t *gen)
{
	struct tapis_ctl ctl;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(t->map_fd[M_CTL], &zero, &ctl))
		return -errno;
	*gen = ctl.gen & 1;
	return 0;
}

/* Inner maps are pinned beside their outer map, "<name>_g<gen>": a reader
 * without root cannot turn a map id into a descriptor (that needs
 * CAP_SYS_ADMIN) but can open a pin it may read. */
static void inner_pin_path(const struct tapis *t, int map_id, uint32_t gen, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s_g%u", t->pin_path, tapis_map_names[map_id], gen & 1);
}

int gen_publish_inner(struct tapis *t, int map_id, uint32_t gen, int fd)
{
	char path[PATH_MAX];

	if (bpf_map_update_elem(t->map_fd[map_id], &gen, &fd, BPF_ANY))
		return -errno;
	if (!t->pin_path[0])
		return 0;
	inner_pin_path(t, map_id, gen, path, sizeof(path));
	unlink(path);
	if (bpf_obj_pin(fd, path))
		return -errno;
	tapis_pin_perms(path);
	return 0;
}

void gen_unpin_inner(struct tapis *t, uint32_t gen)
{
	static const int inner[] = {M_V4_TBL24, M_V4_TBL8, M_V6_FILTER,	 M_V6_L32,     M_V6_PFX,
				    M_V6_SHORT, M_HOSTS,   M_HOST_INDEX, M_HOST_FILTER};
	char path[PATH_MAX];

	for (size_t i = 0; t->pin_path[0] && i < sizeof(inner) / sizeof(inner[0]); i++) {
		inner_pin_path(t, inner[i], gen, path, sizeof(path));
		unlink(path);
	}
}

int gen_inner_fd(struct tapis *t, int map_id, uint32_t gen)
{
	uint32_t id;
	int fd;

	if (t->readonly && t->pin_path[0]) {
		LIBBPF_OPTS(bpf_obj_get_opts, go, .file_flags = BPF_F_RDONLY);
		char path[PATH_MAX];

		inner_pin_path(t, map_id, gen, path, sizeof(path));
		fd = bpf_obj_get_opts(path, &go);
		return fd < 0 ? -errno : fd;
	}
	if (bpf_map_lookup_elem(t->map_fd[map_id], &gen, &id))
		return errno == ENOENT ? -ENOENT : -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

static int exact_fd(struct tapis *t, uint32_t gen, bool create, size_t n)
{
	char path[PATH_MAX];
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd;

	if (!t->pin_path[0]) {
		if (t->v4_exact_fd[gen] >= 0 && !create)
			return dup(t->v4_exact_fd[gen]);
	} else if (!create) {
		LIBBPF_OPTS(bpf_obj_get_opts, go, .file_flags = t->readonly ? BPF_F_RDONLY : 0);

		gen_userspace_pin_path(t, gen, path, sizeof(path));
		fd = bpf_obj_get_opts(path, &go);
		return fd < 0 ? -errno : fd;
	}
	if (!create)
		return -ENOENT;
	/* Twice the policy's prefixes leaves room for live adds. */
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, V4_EXACT_MAP, sizeof(struct v4_exact_key),
			    sizeof(uint32_t), n * 2 < MIN_HASH ? MIN_HASH : n * 2, &o);
	if (fd < 0)
		return -errno;
	return fd;
}

static void *map_mmap(int fd, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int create_inner(int type, const char *name, uint32_t ksz, uint32_t vsz, uint32_t n,
			uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	int fd = bpf_map_create(type, name, ksz, vsz, n, &o);

	return fd < 0 ? -errno : fd;
}

static void nt_init(struct net_tables *nt, struct tapis *t, uint32_t gen)
{
	memset(nt, 0, sizeof(*nt));
	nt->t = t;
	nt->gen = gen;
	nt->fd24 = nt->fd8 = nt->exact_fd = -1;
	nt->fd_filter = nt->fd_l32 = nt->fd_pfx = nt->fd_short = -1;
}

static int create_v4(struct net_tables *nt, uint32_t groups)
{
	nt->fd24 = create_inner(BPF_MAP_TYPE_ARRAY, tapis_map_names[M_V4_TBL24], 4,
				sizeof(struct tapis_v4_ent), TAPIS_V4_TBL24_SIZE, BPF_F_MMAPABLE);
	if (nt->fd24 < 0)
		return nt->fd24;
	nt->fd8 = create_inner(BPF_MAP_TYPE_ARRAY, tapis_map_names[M_V4_TBL8], 4,
			       sizeof(struct tapis_v4_ent), groups * TAPIS_V4_TBL8_GROUP,
			       BPF_F_MMAPABLE | BPF_F_INNER_MAP);
	if (nt->fd8 < 0)
		return nt->fd8;
	nt->tbl8_groups = groups;
	nt->tbl24 = map_mmap(nt->fd24, TBL24_BYTES);
	nt->tbl8 = map_mmap(nt->fd8, (size_t)groups * TAPIS_V4_TBL8_GROUP * sizeof(*nt->tbl8));
	if (!nt->tbl24 || !nt->tbl8)
		return -errno;
	return 0;
}

static int create_v6(struct net_tables *nt, size_t n_v6)
{
	uint32_t n = n_v6 * 2 < MIN_HASH ? MIN_HASH : n_v6 * 2;

	nt->fd_filter = create_inner(BPF_MAP_TYPE_ARRAY, tapis_map_names[M_V6_FILTER], 4, 8,
				     TAPIS_V6_FILTER_WORDS, BPF_F_MMAPABLE);
	if (nt->fd_filter < 0)
		return nt->fd_filter;
	nt->fd_l32 = create_inner(BPF_MAP_TYPE_HASH, tapis_map_names[M_V6_L32],
				  sizeof(struct tapis_v6_l32_key), sizeof(struct tapis_v6_l32_val),
				  n, BPF_F_NO_PREALLOC);
	if (nt->fd_l32 < 0)
		return nt->fd_l32;
	nt->fd_pfx = create_inner(BPF_MAP_TYPE_HASH, tapis_map_names[M_V6_PFX],
				  sizeof(struct tapis_v6_key), 4, n, BPF_F_NO_PREALLOC);
	if (nt->fd_pfx < 0)
		return nt->fd_pfx;
	nt->fd_short = create_inner(BPF_MAP_TYPE_LPM_TRIE, tapis_map_names[M_V6_SHORT],
				    sizeof(struct tapis_lpm_v6_key), 4, 4096, BPF_F_NO_PREALLOC);
	if (nt->fd_short < 0)
		return nt->fd_short;
	nt->filter = map_mmap(nt->fd_filter, FILTER_BYTES);
	return nt->filter ? 0 : -errno;
}

int net_tables_create(struct net_tables *nt, struct tapis *t, uint32_t gen, size_t n_v4,
		      size_t n_v4_groups, size_t n_v6)
{
	/* Headroom for live adds of longer-than-/24 prefixes: a quarter more
	 * groups than the policy needs, never fewer than MIN_TBL8. */
	uint32_t groups = n_v4_groups + n_v4_groups / 4;
	int err;

	nt_init(nt, t, gen);
	if (groups < MIN_TBL8)
		groups = MIN_TBL8;
	err = create_v4(nt, groups);
	if (!err)
		err = create_v6(nt, n_v6);
	if (!err) {
		nt->exact_fd = exact_fd(t, gen, true, n_v4);
		err = nt->exact_fd < 0 ? nt->exact_fd : 0;
	}
	if (err) {
		pr_err("create address tables: %s", strerror(-err));
		net_tables_close(nt);
	}
	return err;
}

static int publish_one(struct tapis *t, int map_id, uint32_t gen, int fd)
{
	return fd < 0 ? 0 : gen_publish_inner(t, map_id, gen, fd);
}

int net_tables_publish(struct net_tables *nt)
{
	struct tapis *t = nt->t;
	char path[PATH_MAX];
	int err = 0;

	err = err ?: publish_one(t, M_V4_TBL24, nt->gen, nt->fd24);
	err = err ?: publish_one(t, M_V4_TBL8, nt->gen, nt->fd8);
	err = err ?: publish_one(t, M_V6_FILTER, nt->gen, nt->fd_filter);
	err = err ?: publish_one(t, M_V6_L32, nt->gen, nt->fd_l32);
	err = err ?: publish_one(t, M_V6_PFX, nt->gen, nt->fd_pfx);
	err = err ?: publish_one(t, M_V6_SHORT, nt->gen, nt->fd_short);
	if (err)
		return err;
	if (t->pin_path[0]) {
		gen_userspace_pin_path(t, nt->gen, path, sizeof(path));
		unlink(path);
		if (bpf_obj_pin(nt->exact_fd, path) == 0)
			tapis_pin_perms(path);
		else
			return -errno;
	} else {
		if (t->v4_exact_fd[nt->gen] >= 0)
			close(t->v4_exact_fd[nt->gen]);
		t->v4_exact_fd[nt->gen] = dup(nt->exact_fd);
	}
	return 0;
}

int net_tables_open(struct net_tables *nt, struct tapis *t, uint32_t gen)
{
	struct tapis_settings set;
	int err;

	nt_init(nt, t, gen);
	if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set))
		return -errno;
	nt->fd24 = gen_inner_fd(t, M_V4_TBL24, gen);
	nt->fd8 = gen_inner_fd(t, M_V4_TBL8, gen);
	nt->fd_filter = gen_inner_fd(t, M_V6_FILTER, gen);
	nt->fd_l32 = gen_inner_fd(t, M_V6_L32, gen);
	nt->fd_pfx = gen_inner_fd(t, M_V6_PFX, gen);
	nt->fd_short = gen_inner_fd(t, M_V6_SHORT, gen);
	nt->exact_fd = exact_fd(t, gen, false, 0);
	if (nt->fd24 < 0 || nt->fd8 < 0 || nt->fd_filter < 0 || nt->fd_l32 < 0 || nt->fd_pfx < 0 ||
	    nt->fd_short < 0 || nt->exact_fd < 0) {
		err = -ENOENT;
		goto fail;
	}
	nt->tbl8_groups = set.tbl8_groups;
	nt->tbl8_used = set.tbl8_used;
	nt->flags = set.flags;
	/* Live edits touch a few slots: map syscalls beat mmapping (and
	 * faulting in) 128 MiB for each `net add`. */
	return 0;
fail:
	pr_err("open address tables of generation %u: %s", gen, strerror(-err));
	net_tables_close(nt);
	return err;
}

static void free_gathered(struct net_tables *nt)
{
	free(nt->bk4);
	free(nt->bv4);
	free(nt->bk6);
	free(nt->bv6);
	nt->bk4 = nt->bk6 = NULL;
	nt->bv4 = nt->bv6 = NULL;
	nt->bn4 = nt->bn6 = nt->bcap4 = nt->bcap6 = 0;
}

void net_tables_close(struct net_tables *nt)
{
	if (nt->tbl24)
		munmap(nt->tbl24, TBL24_BYTES);
	if (nt->tbl8)
		munmap(nt->tbl8, (size_t)nt->tbl8_groups * TAPIS_V4_TBL8_GROUP * sizeof(*nt->tbl8));
	if (nt->filter)
		munmap(nt->filter, FILTER_BYTES);
	int *fds[] = {&nt->fd24,   &nt->fd8,	&nt->exact_fd, &nt->fd_filter,
		      &nt->fd_l32, &nt->fd_pfx, &nt->fd_short};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	nt->tbl24 = nt->tbl8 = NULL;
	nt->filter = NULL;
	free_gathered(nt);
}

/* ---- IPv4 ---- */
static uint32_t v4_addr_h(const struct net_entry *e)
{
	uint32_t a;

	memcpy(&a, e->addr, 4);
	return ntohl(a);
}

static uint32_t v4_mask(uint32_t a, unsigned plen)
{
	return plen ? a & (0xffffffffu << (32 - plen)) : 0;
}

/* Slot access: through the mmap when the tables were just created (bulk
 * loads), through map syscalls for live edits of a running generation. */
static uint32_t slot_get(int fd, struct tapis_v4_ent *m, uint32_t i, int dir)
{
	struct tapis_v4_ent e = {};

	if (m)
		return __atomic_load_n(&m[i].ent[dir], __ATOMIC_RELAXED);
	bpf_map_lookup_elem(fd, &i, &e);
	return e.ent[dir];
}

static int slot_set(int fd, struct tapis_v4_ent *m, uint32_t i, int dir, uint32_t v)
{
	struct tapis_v4_ent e = {};

	if (m) {
		__atomic_store_n(&m[i].ent[dir], v, __ATOMIC_RELAXED);
		return 0;
	}
	if (bpf_map_lookup_elem(fd, &i, &e))
		return -errno;
	e.ent[dir] = v;
	return bpf_map_update_elem(fd, &i, &e, BPF_ANY) ? -errno : 0;
}

/* Write v into every slot of [first, first + n) whose current prefix is not
 * more specific than plen (or, for deletes, exactly plen). */
static int v4_fill(int fd, struct tapis_v4_ent *m, uint32_t first, uint32_t n, int dir, uint32_t v,
		   unsigned plen, bool only_equal)
{
	for (uint32_t i = first; i < first + n; i++) {
		uint32_t cur = slot_get(fd, m, i, dir);
		unsigned cp = tapis_ent_plen(cur);
		int err;

		if (only_equal ? (cur && cp == plen) : cp <= plen) {
			err = slot_set(fd, m, i, dir, v);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Give a /24 slot its own tbl8 group holding what the slot held, for both
 * directions, then publish the pointer (release: group before pointer). */
static int v4_split(struct net_tables *nt, uint32_t idx, uint32_t *group)
{
	struct tapis_v4_ent s = {};
	uint32_t g;
	int err;

	s.ent[0] = slot_get(nt->fd24, nt->tbl24, idx, 0);
	s.ent[1] = slot_get(nt->fd24, nt->tbl24, idx, 1);
	if (s.ent[0] & TAPIS_ENT_EXT) {
		*group = s.ent[0] & TAPIS_ENT_GROUP_MASK;
		return 0;
	}
	if (nt->tbl8_used >= nt->tbl8_groups) {
		pr_err("IPv4 table has no room for more prefixes longer than /24 (%u groups); "
		       "reload the policy to grow it",
		       nt->tbl8_groups);
		return -ENOSPC;
	}
	g = nt->tbl8_used++;
	for (uint32_t i = 0; i < TAPIS_V4_TBL8_GROUP; i++)
		for (int d = 0; d < TAPIS_DIR_MAX; d++) {
			err = slot_set(nt->fd8, nt->tbl8, g * TAPIS_V4_TBL8_GROUP + i, d, s.ent[d]);
			if (err)
				return err;
		}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (int d = 0; d < TAPIS_DIR_MAX; d++) {
		err = slot_set(nt->fd24, nt->tbl24, idx, d, TAPIS_ENT_EXT | g);
		if (err)
			return err;
	}
	*group = g;
	return 0;
}

static int v4_apply(struct net_tables *nt, int dir, uint32_t a, unsigned plen, uint32_t v,
		    bool only_equal)
{
	if (plen <= 24) {
		uint32_t first = a >> 8, n = 1u << (24 - plen);

		for (uint32_t i = first; i < first + n; i++) {
			uint32_t cur = slot_get(nt->fd24, nt->tbl24, i, dir);
			int err;

			if (cur & TAPIS_ENT_EXT)
				err = v4_fill(nt->fd8, nt->tbl8,
					      (cur & TAPIS_ENT_GROUP_MASK) * TAPIS_V4_TBL8_GROUP,
					      TAPIS_V4_TBL8_GROUP, dir, v, plen, only_equal);
			else
				err = v4_fill(nt->fd24, nt->tbl24, i, 1, dir, v, plen, only_equal);
			if (err)
				return err;
		}
		return 0;
	}
	uint32_t g;
	int err = v4_split(nt, a >> 8, &g);

	if (err)
		return err;
	return v4_fill(nt->fd8, nt->tbl8, g * TAPIS_V4_TBL8_GROUP + (a & 0xff), 1u << (32 - plen),
		       dir, v, plen, only_equal);
}

/* ---- IPv6 ---- */
static void v6_key(struct tapis_v6_key *k, int dir, const struct net_entry *e)
{
	memset(k, 0, sizeof(*k));
	k->dir = dir;
	k->plen = e->plen;
	k->top = ((uint32_t)e->addr[0] << 24) | ((uint32_t)e->addr[1] << 16) |
		 ((uint32_t)e->addr[2] << 8) | e->addr[3];
	memcpy(k->addr, e->addr, 16);
}

static uint32_t v6_bits(const struct net_entry *e)
{
	return ((uint32_t)e->addr[4] << 24) | ((uint32_t)e->addr[5] << 16) |
	       ((uint32_t)e->addr[6] << 8) | e->addr[7];
}

/* Append a key and value for a later batch write. */
static int gather(void **keys, uint32_t **vals, size_t *n, size_t *cap, const void *k, size_t ksz,
		  uint32_t v)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 4096;
		void *nk = realloc(*keys, c * ksz);
		uint32_t *nv;

		if (!nk)
			return -ENOMEM;
		*keys = nk;
		nv = realloc(*vals, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*vals = nv;
		*cap = c;
	}
	memcpy((char *)*keys + *n * ksz, k, ksz);
	(*vals)[(*n)++] = v;
	return 0;
}

static int batch_write(int fd, const void *keys, const uint32_t *vals, size_t n, size_t ksz)
{
	for (size_t off = 0; off < n;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		uint32_t cnt = n - off > 65536 ? 65536 : (uint32_t)(n - off);

		if (bpf_map_update_batch(fd, (const char *)keys + off * ksz, vals + off, &cnt, &bo))
			return errno == E2BIG ? -ENOSPC : -errno;
		off += cnt;
	}
	return 0;
}

int net_tables_flush(struct net_tables *nt)
{
	int err = batch_write(nt->exact_fd, nt->bk4, nt->bv4, nt->bn4, sizeof(struct v4_exact_key));

	err = err
		      ?: batch_write(nt->fd_pfx, nt->bk6, nt->bv6, nt->bn6,
				     sizeof(struct tapis_v6_key));
	free_gathered(nt);
	return err;
}

/* The prefix table (fd_pfx) says that an entry exists (owner_of): an
 * insert writes it last and a delete removes it last, so that a process
 * killed in between leaves an entry the next insert or delete finds to
 * do, and the steps before it are safe to do twice. */
static int v6_pfx_commit(struct net_tables *nt, const struct tapis_v6_key *k, uint32_t v)
{
	if (nt->bulk)
		return gather(&nt->bk6, &nt->bv6, &nt->bn6, &nt->bcap6, k, sizeof(*k), v);
	return bpf_map_update_elem(nt->fd_pfx, k, &v, BPF_ANY) ? -errno : 0;
}

static int v6_insert(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t v)
{
	struct tapis_v6_key k;
	int err;

	v6_key(&k, dir, e);
	if (e->plen < TAPIS_V6_MIN_HASHED_PLEN) {
		struct tapis_lpm_v6_key lk = {.prefixlen = 8 + e->plen};

		lk.data[0] = dir;
		memcpy(&lk.data[1], e->addr, 16);
		if (bpf_map_update_elem(nt->fd_short, &lk, &v, BPF_ANY))
			return -errno;
		nt->flags |= TAPIS_SF_V6_SHORT;
		return v6_pfx_commit(nt, &k, v);
	}
	struct tapis_v6_l32_key lk = {.top = k.top, .dir = dir};
	struct tapis_v6_l32_val lv = {};
	unsigned bit = e->plen - 32;
	int i;

	err = bpf_map_lookup_elem(nt->fd_l32, &lk, &lv);
	if (err && errno != ENOENT)
		return -errno;
	lv.lenmask[bit / 64] |= 1ULL << (bit % 64);
	lv.count++;
	/* Inline already: an insert killed before its commit, done again. */
	for (i = 0; i < lv.n_inline; i++)
		if (lv.inl[i].plen == e->plen && lv.inl[i].bits == v6_bits(e))
			break;
	if (i < lv.n_inline) {
		lv.inl[i].ent = v;
	} else if (!lv.overflow && e->plen <= 64 && lv.n_inline < TAPIS_V6_INLINE) {
		struct tapis_v6_inline *in = &lv.inl[lv.n_inline++];

		in->bits = v6_bits(e);
		in->plen = e->plen;
		in->ent = v;
	} else {
		lv.overflow = 1;
	}
	if (bpf_map_update_elem(nt->fd_l32, &lk, &lv, BPF_ANY))
		return -errno;
	/* Filter after the table: a packet that sees the bit finds the
	 * prefix. */
	uint32_t fb = tapis_v6_filter_bit(k.top), word = fb >> 6;
	uint64_t w = 0;

	if (nt->filter) {
		__atomic_fetch_or(&nt->filter[word], 1ULL << (fb & 63), __ATOMIC_RELEASE);
	} else {
		if (bpf_map_lookup_elem(nt->fd_filter, &word, &w))
			return -errno;
		w |= 1ULL << (fb & 63);
		if (bpf_map_update_elem(nt->fd_filter, &word, &w, BPF_ANY))
			return -errno;
	}
	return v6_pfx_commit(nt, &k, v);
}

static int v6_delete(struct net_tables *nt, int dir, const struct net_entry *e)
{
	struct tapis_v6_key k;

	v6_key(&k, dir, e);
	if (e->plen < TAPIS_V6_MIN_HASHED_PLEN) {
		struct tapis_lpm_v6_key lk = {.prefixlen = 8 + e->plen};

		lk.data[0] = dir;
		memcpy(&lk.data[1], e->addr, 16);
		if (bpf_map_delete_elem(nt->fd_short, &lk) && errno != ENOENT)
			return -errno;
		return bpf_map_delete_elem(nt->fd_pfx, &k) ? -errno : 0;
	}
	/* The length bit and the filter bit stay: other prefixes of the same
	 * length may share them, and a stale bit only costs one probe. */
	struct tapis_v6_l32_key lk = {.top = k.top, .dir = dir};
	struct tapis_v6_l32_val lv;
	bool found = false;

	if (bpf_map_lookup_elem(nt->fd_l32, &lk, &lv) == 0) {
		for (int i = 0; i < lv.n_inline; i++) {
			if (lv.inl[i].plen != e->plen || lv.inl[i].bits != v6_bits(e))
				continue;
			memmove(&lv.inl[i], &lv.inl[i + 1],
				(lv.n_inline - i - 1) * sizeof(lv.inl[0]));
			lv.n_inline--;
			found = true;
			break;
		}
		/* Counted down only with an inline entry, which a delete done
		 * twice finds once: a count too high keeps the key (one
		 * probe, until the next reload), one too low would drop the
		 * key of prefixes still there. */
		if (found && lv.count > 0 && --lv.count == 0) {
			if (bpf_map_delete_elem(nt->fd_l32, &lk))
				return -errno;
		} else if (found && bpf_map_update_elem(nt->fd_l32, &lk, &lv, BPF_ANY)) {
			return -errno;
		}
	}
	return bpf_map_delete_elem(nt->fd_pfx, &k) ? -errno : 0;
}

/* ---- common ---- */
static void exact_key(struct v4_exact_key *k, int dir, uint32_t a, unsigned plen)
{
	memset(k, 0, sizeof(*k));
	k->dir = dir;
	k->plen = plen;
	k->addr_h = v4_mask(a, plen);
}

static int owner_of(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t *owner)
{
	if (e->family == 4) {
		struct v4_exact_key k;

		exact_key(&k, dir, v4_addr_h(e), e->plen);
		return bpf_map_lookup_elem(nt->exact_fd, &k, owner) ? -errno : 0;
	}
	struct tapis_v6_key k;
	uint32_t v;

	v6_key(&k, dir, e);
	if (bpf_map_lookup_elem(nt->fd_pfx, &k, &v))
		return -errno;
	*owner = tapis_ent_rule(v);
	return 0;
}

/* The value the slots of a v4 prefix fall back to without it: the next
 * less specific prefix of the exact map, or none. */
static uint32_t v4_cover(struct net_tables *nt, int dir, uint32_t a, unsigned plen)
{
	struct v4_exact_key k;
	uint32_t r;

	for (int l = (int)plen - 1; l >= 0; l--) {
		exact_key(&k, dir, a, l);
		if (bpf_map_lookup_elem(nt->exact_fd, &k, &r) == 0)
			return tapis_ent_make(r, l);
	}
	return 0;
}

int net_insert(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t rule,
	       uint32_t *owner)
{
	uint32_t v = tapis_ent_make(rule, e->plen), cur;
	int err;

	if (!nt->bulk && owner_of(nt, dir, e, &cur) == 0) {
		*owner = cur;
		return cur == rule ? -EALREADY : -EEXIST;
	}
	if (e->family == 4) {
		struct v4_exact_key k;
		uint32_t a = v4_mask(v4_addr_h(e), e->plen);

		exact_key(&k, dir, a, e->plen);
		if (nt->bulk) {
			err = gather(&nt->bk4, &nt->bv4, &nt->bn4, &nt->bcap4, &k, sizeof(k), rule);
			err = err ?: v4_apply(nt, dir, a, e->plen, v, false);
			if (err)
				return err;
		} else {
			/* The slots first, the exact map last: the exact map
			 * says that an entry exists (owner_of), so a process
			 * killed in between leaves an entry the next one finds
			 * missing and writes again, never one it takes for
			 * made while packets do not meet it. */
			err = v4_apply(nt, dir, a, e->plen, v, false);
			if (!err && bpf_map_update_elem(nt->exact_fd, &k, &rule, BPF_NOEXIST))
				err = errno == E2BIG ? -ENOSPC : -errno;
			if (err) {
				v4_apply(nt, dir, a, e->plen, v4_cover(nt, dir, a, e->plen), true);
				return err;
			}
		}
		nt->flags |= dir == TAPIS_DIR_DST ? TAPIS_SF_V4_DST : TAPIS_SF_V4_SRC;
		return 0;
	}
	err = v6_insert(nt, dir, e, v);
	if (err)
		return err == -E2BIG ? -ENOSPC : err;
	nt->flags |= dir == TAPIS_DIR_DST ? TAPIS_SF_V6_DST : TAPIS_SF_V6_SRC;
	return 0;
}

int net_delete(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t rule)
{
	uint32_t cur;
	int err;

	if (owner_of(nt, dir, e, &cur))
		return -ENOENT;
	if (cur != rule)
		return -EPERM;
	if (e->family == 6)
		return v6_delete(nt, dir, e);

	/* The slots fall back to the next less specific prefix, if any;
	 * then the exact entry goes (last, as in net_insert: a process
	 * killed in between leaves an entry the next delete finds). */
	uint32_t a = v4_mask(v4_addr_h(e), e->plen);
	struct v4_exact_key k;

	err = v4_apply(nt, dir, a, e->plen, v4_cover(nt, dir, a, e->plen), true);
	if (err)
		return err;
	exact_key(&k, dir, a, e->plen);
	return bpf_map_delete_elem(nt->exact_fd, &k) ? -errno : 0;
}

uint32_t net_lookup(struct net_tables *nt, int dir, const struct net_entry *addr)
{
	if (addr->family == 4) {
		uint32_t a = v4_addr_h(addr);
		uint32_t v = slot_get(nt->fd24, nt->tbl24, a >> 8, dir);

		if (v & TAPIS_ENT_EXT)
			v = slot_get(nt->fd8, nt->tbl8,
				     (v & TAPIS_ENT_GROUP_MASK) * TAPIS_V4_TBL8_GROUP + (a & 0xff),
				     dir);
		return v;
	}
	/* IPv6 from user space: probe every length, longest first. */
	for (int l = 128; l >= 0; l--) {
		struct net_entry m = *addr;
		struct tapis_v6_key k;
		uint32_t v;

		m.plen = l;
		for (int b = 0; b < 16; b++) {
			int keep = l - b * 8;

			m.addr[b] = keep >= 8	? addr->addr[b]
				    : keep <= 0 ? 0
						: addr->addr[b] & (uint8_t)(0xff << (8 - keep));
		}
		v6_key(&k, dir, &m);
		if (bpf_map_lookup_elem(nt->fd_pfx, &k, &v) == 0)
			return v;
	}
	return 0;
}

bool gen_in_use(struct tapis *t, uint32_t gen)
{
	static const int outers[] = {M_V4_TBL24, M_V4_TBL8, M_V6_FILTER,   M_V6_L32,	M_V6_PFX,
				     M_V6_SHORT, M_HOSTS,   M_HOST_FILTER, M_HOST_INDEX};
	char path[PATH_MAX];
	uint32_t id;

	for (size_t i = 0; i < sizeof(outers) / sizeof(outers[0]); i++) {
		if (bpf_map_lookup_elem(t->map_fd[outers[i]], &gen, &id) == 0)
			return true;
		if (t->pin_path[0]) {
			inner_pin_path(t, outers[i], gen, path, sizeof(path));
			if (access(path, F_OK) == 0)
				return true;
		}
	}
	if (t->pin_path[0]) {
		gen_userspace_pin_path(t, (int)gen, path, sizeof(path));
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

int gen_clear(struct tapis *t, uint32_t gen)
{
	static const int outers[] = {M_V4_TBL24, M_V4_TBL8, M_V6_FILTER,   M_V6_L32,	M_V6_PFX,
				     M_V6_SHORT, M_HOSTS,   M_HOST_FILTER, M_HOST_INDEX};
	char path[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < sizeof(outers) / sizeof(outers[0]); i++)
		if (bpf_map_delete_elem(t->map_fd[outers[i]], &gen) && errno != ENOENT)
			err = -errno;
	if (t->pin_path[0]) {
		gen_unpin_inner(t, gen);
		gen_userspace_pin_path(t, gen, path, sizeof(path));
		unlink(path);
	} else if (t->v4_exact_fd[gen] >= 0) {
		close(t->v4_exact_fd[gen]);
		t->v4_exact_fd[gen] = -1;
	}
	return err;
}
