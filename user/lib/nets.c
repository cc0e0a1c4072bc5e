// SPDX-License-Identifier: GPL-2.0
/* Address tables of a generation: the IPv4 trie (tapis_abi.h; mmapped
 * arrays, edited in place) with an exact-prefix hash as the source of
 * truth, and the IPv6 filter bitmap, per-/32 length masks, exact-prefix
 * hash and short-prefix trie. Every entry records its prefix length, so an
 * edit changes a slot's list only below the prefixes more specific than
 * its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "gen.h"
#include "log.h"

#define MIN_HASH 16384u /* IPv6 hash entries at least: room for live adds */

static int ex_map(struct net_tables *nt);
static int ex_flush(struct net_tables *nt);

/* n and a quarter more, at least min_extra more. */
static size_t with_headroom_sz(size_t n, size_t min_extra)
{
	return n + (n / 4 > min_extra ? n / 4 : min_extra);
}

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
	static const int inner[] = {M_V4_DIR16,	  M_V4_DIR24,  M_V4_CHUNK,    M_V4_CHUNK_S,
				    M_V4_LEAF,	  M_V6_FILTER, M_V6_FILTER_S, M_V6_L32,
				    M_V6_PFX,	  M_V6_SHORT,  M_HOSTS,	      M_HOST_INDEX,
				    M_HOST_FILTER};
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
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
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
	/* The count, the policy's prefixes, and room for live adds. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, V4_EXACT_MAP, 4, sizeof(uint64_t),
			    1 + with_headroom_sz(n, 4096), &o);
	if (fd < 0)
		return -errno;
	return fd;
}

static void *map_mmap(int fd, size_t bytes, bool ro)
{
	void *p = mmap(NULL, bytes, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

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
	nt->fd_dir = nt->fd_chunk = nt->fd_leaf = nt->exact_fd = -1;
	nt->fd_filter = nt->fd_l32 = nt->fd_pfx = nt->fd_short = -1;
}

/* ---- IPv4 trie: sizes ---- */
static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static size_t distinct(uint32_t *v, size_t n)
{
	size_t d = 0;

	qsort(v, n, sizeof(*v), u32_cmp);
	for (size_t i = 0; i < n; i++)
		d += !i || v[i] != v[i - 1];
	return d;
}

int net_v4_plan(const struct compiled *c, struct v4_plan *plan)
{
	uint32_t *b16 = calloc(c->n_nets + 1, sizeof(*b16));
	uint32_t *b24 = calloc(c->n_nets + 1, sizeof(*b24));
	size_t n16 = 0, n24 = 0, g16, g24;

	if (!b16 || !b24) {
		free(b16);
		free(b24);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct net_entry *e = c->nets[i].e;
		uint32_t a = ((uint32_t)e->addr[0] << 24) | ((uint32_t)e->addr[1] << 16) |
			     ((uint32_t)e->addr[2] << 8) | e->addr[3];

		if (e->family != 4)
			continue;
		if (e->plen > 16)
			b16[n16++] = a >> 16;
		if (e->plen > 24)
			b24[n24++] = a >> 8;
	}
	g16 = distinct(b16, n16);
	g24 = distinct(b24, n24);
	free(b16);
	free(b24);
	/* Memory decides: a /16 first level costs a chunk for every /16
	 * holding a longer prefix, a /24 one 32 MiB whatever the policy. The
	 * larger stride also saves a read, so it wins a tie. */
	size_t mem16 = ((size_t)1 << 16) * 2 + (g16 + g24) * TAPIS_V4_CHUNK_SLOTS * 2;
	size_t mem24 = ((size_t)1 << 24) * 2 + g24 * TAPIS_V4_CHUNK_SLOTS * 2;

	size_t max = TAPIS_V4_SLOT_IDS - TAPIS_V4_MIN_LEAVES;

	if (mem16 < mem24 && g16 + g24 < max) {
		plan->bits = TAPIS_V4_BITS_SMALL;
		plan->chunks = g16 + g24;
	} else {
		plan->bits = TAPIS_V4_BITS_LARGE;
		plan->chunks = g24;
	}
	if (plan->chunks >= max) {
		pr_err("%zu /24s hold IPv4 prefixes longer than /24: the table takes at most %zu",
		       g24, max - 1);
		return -ENOSPC;
	}
	return 0;
}

/* Room for live adds: a quarter more than the policy needs, at least
 * min_extra, within what a 15-bit id can name. */
static uint32_t with_headroom(uint32_t used, uint32_t max, uint32_t min_extra)
{
	uint64_t n = (uint64_t)used + (used / 4 > min_extra ? used / 4 : min_extra);

	return n > max ? max : (uint32_t)n;
}

/* ---- IPv4 trie: leaves ---- */
#define LHASH_SLOTS (1u << 16) /* > 2 * TAPIS_V4_MAX_LEAVES: probes stay short */

static uint32_t leaf_hash(const struct tapis_v4_leaf *l)
{
	const uint32_t *w = (const uint32_t *)l;
	uint64_t h = 0x9E3779B97F4A7C15ULL;

	for (size_t i = 0; i < sizeof(*l) / 4; i++)
		h = (h ^ w[i]) * 0x100000001B3ULL;
	return (uint32_t)(h ^ (h >> 29)) & (LHASH_SLOTS - 1);
}

static void lhash_add(struct net_tables *nt, uint32_t id)
{
	uint32_t h = leaf_hash(&nt->leaf[id]);

	while (nt->lhash[h])
		h = (h + 1) & (LHASH_SLOTS - 1);
	nt->lhash[h] = (uint16_t)id;
}

static int lhash_build(struct net_tables *nt, const uint8_t *is_free)
{
	nt->lhash = calloc(LHASH_SLOTS, sizeof(*nt->lhash));
	if (!nt->lhash)
		return -ENOMEM;
	for (uint32_t id = 1; id < nt->leaves_used; id++)
		if (!is_free || !is_free[id])
			lhash_add(nt, id);
	return 0;
}

/* The id of a leaf with this content, a new one if none has it yet. The
 * content is written before the id is handed out: a slot that gets it
 * points to a complete leaf. */
static int leaf_intern(struct net_tables *nt, const struct tapis_v4_leaf *l, uint16_t *id)
{
	static const struct tapis_v4_leaf empty;
	uint32_t h, n;

	if (!memcmp(l, &empty, sizeof(*l))) {
		*id = 0;
		return 0;
	}
	for (h = leaf_hash(l); nt->lhash[h]; h = (h + 1) & (LHASH_SLOTS - 1))
		if (!memcmp(&nt->leaf[nt->lhash[h]], l, sizeof(*l))) {
			*id = nt->lhash[h];
			return 0;
		}
	if (nt->n_free) {
		n = nt->free_leaves[--nt->n_free];
		memcpy(&nt->leaf[n], l, sizeof(*l));
		__atomic_thread_fence(__ATOMIC_RELEASE);
		nt->lhash[h] = (uint16_t)n;
		*id = (uint16_t)n;
		return 0;
	}
	if (nt->leaves_used >= nt->n_leaves) {
		pr_err("IPv4 table has no room for more distinct entries (%u); reload the policy "
		       "to grow it",
		       nt->n_leaves);
		return -ENOSPC;
	}
	n = nt->leaves_used++;
	memcpy(&nt->leaf[n], l, sizeof(*l));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	nt->lhash[h] = (uint16_t)n;
	*id = (uint16_t)n;
	return 0;
}

/* Whether rule id may expire in this generation (its list needs the
 * prefixes below it). */
static bool rule_may_expire(struct net_tables *nt, uint32_t id)
{
	id &= TAPIS_MAX_RULES - 1;
	if (!nt->rule_exp[id]) {
		struct tapis_rule r = {};
		uint32_t k = nt->gen * TAPIS_MAX_RULES + id;

		bpf_map_lookup_elem(nt->t->map_fd[M_RULES], &k, &r);
		nt->rule_exp[id] = r.flags & TAPIS_RF_EXPIRES ? 2 : 1;
	}
	return nt->rule_exp[id] == 2;
}

/* Cut a list after its first entry whose rule never expires. */
static void chain_cut(struct net_tables *nt, uint32_t *ent)
{
	for (int i = 0; i < TAPIS_NET_CHAIN; i++) {
		if (!ent[i])
			return;
		if (!rule_may_expire(nt, tapis_ent_rule(ent[i]))) {
			for (int j = i + 1; j < TAPIS_NET_CHAIN; j++)
				ent[j] = 0;
			return;
		}
	}
}

/* An edit of one prefix of one direction: insert ent, or delete the entry
 * of length plen and let the list continue with covers (the prefixes the
 * deleted one lies in, most specific first). */
struct v4_edit {
	int dir;
	bool del;
	uint32_t ent;
	unsigned plen;
	uint32_t covers[TAPIS_NET_CHAIN];
	/* old leaf -> new leaf, for the few leaves one edit meets */
	uint16_t memo_from[16], memo_to[16];
	unsigned n_memo;
};

static void chain_edit(struct net_tables *nt, const struct v4_edit *ed, uint32_t *ent)
{
	uint32_t out[TAPIS_NET_CHAIN] = {0};
	int n = 0, i;

	for (i = 0; i < TAPIS_NET_CHAIN && ent[i] && tapis_ent_plen(ent[i]) > ed->plen; i++)
		out[n++] = ent[i];
	if (ed->del) {
		for (int j = 0; j < TAPIS_NET_CHAIN && ed->covers[j] && n < TAPIS_NET_CHAIN; j++)
			out[n++] = ed->covers[j];
	} else {
		if (n < TAPIS_NET_CHAIN)
			out[n++] = ed->ent;
		/* The same length again: an insert done twice (see net_insert). */
		if (i < TAPIS_NET_CHAIN && ent[i] && tapis_ent_plen(ent[i]) == ed->plen)
			i++;
		for (; i < TAPIS_NET_CHAIN && ent[i] && n < TAPIS_NET_CHAIN; i++)
			out[n++] = ent[i];
	}
	chain_cut(nt, out);
	memcpy(ent, out, sizeof(out));
}

static int leaf_edit(struct net_tables *nt, struct v4_edit *ed, uint16_t from, uint16_t *to)
{
	struct tapis_v4_leaf l;
	int err;

	for (unsigned i = 0; i < ed->n_memo; i++)
		if (ed->memo_from[i] == from) {
			*to = ed->memo_to[i];
			return 0;
		}
	if (from >= nt->leaves_used)
		return -EUCLEAN; /* a slot names a leaf never handed out */
	l = nt->leaf[from];
	chain_edit(nt, ed, l.ent[ed->dir]);
	err = leaf_intern(nt, &l, to);
	if (err)
		return err;
	if (ed->n_memo < 16) {
		ed->memo_from[ed->n_memo] = from;
		ed->memo_to[ed->n_memo++] = *to;
	}
	return 0;
}

/* ---- IPv4 trie: slots ---- */
static uint16_t slot_load(const uint16_t *s)
{
	return __atomic_load_n(s, __ATOMIC_RELAXED);
}

/* Release: what the slot names (leaf, chunk) is written before it. */
static void slot_store(uint16_t *s, uint16_t v)
{
	__atomic_store_n(s, v, __ATOMIC_RELEASE);
}

/* n slots from first of the first level (chunk false) or of the chunks.
 * A running generation's maps are mapped a few pages at a time, where an
 * edit goes: mapping all of a 32 MiB first level costs a `net add` more
 * than the edit. NULL when the pages cannot be mapped (errno set). */
static uint16_t *slots_at(struct net_tables *nt, bool chunk, size_t first, size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), b0 = first * 2, b1 = (first + n) * 2;
	size_t p0 = b0 / pg, p1 = (b1 + pg - 1) / pg;
	struct nt_win *w;
	void *m;

	if (!nt->windowed)
		return (chunk ? nt->chunk : nt->dir) + first;
	for (size_t i = 0; i < nt->n_win; i++) {
		w = &nt->win[i];
		if (w->chunk == chunk && w->p0 <= p0 && w->p1 >= p1)
			return (uint16_t *)((char *)w->m + (b0 - w->p0 * pg));
	}
	if (nt->n_win == nt->cap_win) {
		size_t c = nt->cap_win ? 2 * nt->cap_win : 64;

		w = realloc(nt->win, c * sizeof(*w));
		if (!w)
			return NULL;
		nt->win = w;
		nt->cap_win = c;
	}
	m = mmap(NULL, (p1 - p0) * pg, nt->t->readonly ? PROT_READ : PROT_READ | PROT_WRITE,
		 MAP_SHARED, chunk ? nt->fd_chunk : nt->fd_dir, (off_t)(p0 * pg));
	if (m == MAP_FAILED)
		return NULL;
	nt->win[nt->n_win++] = (struct nt_win){.chunk = chunk, .p0 = p0, .p1 = p1, .m = m};
	return (uint16_t *)((char *)m + (b0 - p0 * pg));
}

/* One slot, for readers: looked up where a read-only descriptor cannot
 * be mapped. */
static uint16_t slot_peek(struct net_tables *nt, bool chunk, size_t i)
{
	struct tapis_v4_slots v = {};
	uint32_t k = (uint32_t)(i / TAPIS_V4_SLOTS_PER_VAL);
	uint16_t *s;

	if (!nt->t->readonly) {
		s = slots_at(nt, chunk, i, 1);
		return s ? slot_load(s) : 0;
	}
	bpf_map_lookup_elem(chunk ? nt->fd_chunk : nt->fd_dir, &k, &v);
	return v.s[i % TAPIS_V4_SLOTS_PER_VAL];
}

static uint16_t *chunk_slots(struct net_tables *nt, uint16_t v)
{
	return slots_at(nt, true, (size_t)(v - nt->leaf_limit) * TAPIS_V4_CHUNK_SLOTS,
			TAPIS_V4_CHUNK_SLOTS);
}

/* Apply ed to n slots, and to every slot of the chunks they point to. */
static int slots_edit(struct net_tables *nt, struct v4_edit *ed, uint16_t *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint16_t v = slot_load(&s[i]), to = v;
		int err;

		if (v >= nt->leaf_limit) {
			uint16_t *c = chunk_slots(nt, v);

			err = c ? slots_edit(nt, ed, c, TAPIS_V4_CHUNK_SLOTS) : -errno;
		} else
			err = leaf_edit(nt, ed, v, &to);
		if (err)
			return err;
		if (v < nt->leaf_limit && to != v)
			slot_store(&s[i], to);
	}
	return 0;
}

/* A chunk under slot s holding what s held in all its 256 slots. */
static int chunk_split(struct net_tables *nt, uint16_t *s)
{
	uint16_t v = slot_load(s), *c;
	uint32_t id;

	if (v >= nt->leaf_limit)
		return 0;
	if (nt->chunks_used >= nt->n_chunks) {
		pr_err("IPv4 table has no room for more /24s holding longer prefixes (%u); "
		       "reload the policy to grow it",
		       nt->n_chunks);
		return -ENOSPC;
	}
	id = nt->chunks_used;
	c = chunk_slots(nt, (uint16_t)(nt->leaf_limit + id));
	if (!c)
		return -errno;
	nt->chunks_used++;
	for (uint32_t i = 0; i < TAPIS_V4_CHUNK_SLOTS; i++)
		c[i] = v;
	slot_store(s, (uint16_t)(nt->leaf_limit + id));
	return 0;
}

/* A chunk whose slots all name one leaf is that leaf again: the parent
 * slot takes it (one store), and the chunk is left unused until a reload. */
static void chunk_join(struct net_tables *nt, uint16_t *parent)
{
	uint16_t v = slot_load(parent), *c, first;

	if (v < nt->leaf_limit)
		return;
	c = chunk_slots(nt, v);
	if (!c)
		return;
	first = slot_load(&c[0]);
	if (first >= nt->leaf_limit)
		return;
	for (uint32_t i = 1; i < TAPIS_V4_CHUNK_SLOTS; i++)
		if (slot_load(&c[i]) != first)
			return;
	slot_store(parent, first);
}

/* Apply ed to the slots of prefix a/plen: a range of one level, the
 * levels above it split into chunks on the way (inserts), and chunks that
 * a delete left uniform joined on the way back. */
static int v4_edit_prefix(struct net_tables *nt, struct v4_edit *ed, uint32_t a, unsigned plen)
{
	uint16_t *path[4], *base;
	unsigned end = nt->v4_bits, depth = 0;
	uint32_t idx = a >> (32 - nt->v4_bits);
	int err;

	/* The first level: the prefix's own range, or the one slot it is in. */
	base = slots_at(nt, false, idx, plen > end ? 1 : 1u << (end - plen));
	if (!base)
		return -errno;
	idx = 0;
	while (plen > end) {
		uint16_t *s = &base[idx];

		if (ed->del && slot_load(s) < nt->leaf_limit)
			return -ENOENT;
		err = chunk_split(nt, s);
		if (err)
			return err;
		path[depth++] = s;
		base = chunk_slots(nt, slot_load(s));
		if (!base)
			return -errno;
		end += TAPIS_V4_CHUNK_BITS;
		idx = (a >> (32 - end)) & (TAPIS_V4_CHUNK_SLOTS - 1);
	}
	err = slots_edit(nt, ed, &base[idx], 1u << (end - plen));
	while (!err && ed->del && depth)
		chunk_join(nt, path[--depth]);
	return err;
}

/* ---- IPv4 trie: maps ---- */
static int v4_buffers(struct net_tables *nt, const struct v4_plan *plan)
{
	/* Chunk ids take the slot values above the leaves': fixed here, with
	 * room for live adds, the rest left to leaves. */
	nt->v4_bits = plan->bits;
	nt->n_chunks = with_headroom(plan->chunks, TAPIS_V4_SLOT_IDS - TAPIS_V4_MIN_LEAVES, 64);
	/* Few chunks: the small map, read inline, whatever room it leaves
	 * for live adds beyond the 64 at least that the policy gets. */
	if (plan->bits == TAPIS_V4_BITS_SMALL && plan->chunks + 64 <= TAPIS_V4_CHUNKS_SMALL) {
		nt->n_chunks = TAPIS_V4_CHUNKS_SMALL;
		nt->flags |= TAPIS_SF_V4_CHUNK_SMALL;
	}
	nt->leaf_limit = TAPIS_V4_SLOT_IDS - nt->n_chunks;
	nt->n_leaves = nt->leaf_limit < TAPIS_V4_MAX_LEAVES ? nt->leaf_limit : TAPIS_V4_MAX_LEAVES;
	nt->leaves_used = 1;
	nt->dir = calloc((size_t)1 << plan->bits, sizeof(*nt->dir));
	nt->chunk = calloc(((size_t)nt->n_chunks + 1) * TAPIS_V4_CHUNK_SLOTS, sizeof(*nt->chunk));
	nt->leaf = calloc(nt->n_leaves, sizeof(*nt->leaf));
	if (!nt->dir || !nt->chunk || !nt->leaf)
		return -ENOMEM;
	return lhash_build(nt, NULL);
}

static int v4_map(int map_id, uint32_t vsz, size_t n_vals, const void *src, size_t bytes,
		  uint32_t flags)
{
	int fd = create_inner(BPF_MAP_TYPE_ARRAY, tapis_map_names[map_id], 4, vsz,
			      n_vals ? (uint32_t)n_vals : 1, BPF_F_MMAPABLE | flags);
	void *m;

	if (fd < 0)
		return fd;
	m = map_mmap(fd, n_vals * vsz, false);
	if (!m) {
		int err = -errno;

		close(fd);
		return err;
	}
	memcpy(m, src, bytes);
	munmap(m, n_vals * vsz);
	return fd;
}

static int v4_dir_map(uint32_t bits)
{
	return bits == TAPIS_V4_BITS_SMALL ? M_V4_DIR16 : M_V4_DIR24;
}

static int v4_chunk_map(uint32_t flags)
{
	return flags & TAPIS_SF_V4_CHUNK_SMALL ? M_V4_CHUNK_S : M_V4_CHUNK;
}

/* The bulk-built trie into maps: the first level as built, chunks and
 * leaves with room for live edits. */
static int v4_write_maps(struct net_tables *nt)
{
	uint32_t chunks = nt->n_chunks;
	size_t dir_vals = ((size_t)1 << nt->v4_bits) / TAPIS_V4_SLOTS_PER_VAL;
	size_t chunk_vals = (size_t)chunks * TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL;

	nt->fd_dir = v4_map(v4_dir_map(nt->v4_bits), sizeof(struct tapis_v4_slots), dir_vals,
			    nt->dir, ((size_t)1 << nt->v4_bits) * sizeof(*nt->dir), 0);
	if (nt->fd_dir < 0)
		return nt->fd_dir;
	nt->fd_chunk = v4_map(v4_chunk_map(nt->flags), sizeof(struct tapis_v4_slots), chunk_vals,
			      nt->chunk,
			      (size_t)nt->chunks_used * TAPIS_V4_CHUNK_SLOTS * sizeof(*nt->chunk),
			      nt->flags & TAPIS_SF_V4_CHUNK_SMALL ? 0 : BPF_F_INNER_MAP);
	if (nt->fd_chunk < 0)
		return nt->fd_chunk;
	/* The leaf map has one size (maps.bpf.h), of which the leaf ids below
	 * the chunks' can be used: n_leaves. */
	nt->fd_leaf = v4_map(M_V4_LEAF, sizeof(struct tapis_v4_leaf), TAPIS_V4_MAX_LEAVES, nt->leaf,
			     (size_t)nt->leaves_used * sizeof(*nt->leaf), 0);
	if (nt->fd_leaf < 0)
		return nt->fd_leaf;
	return 0;
}

static int map_entries(int fd, uint32_t *n)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*n = info.max_entries;
	return 0;
}

/* Leaves no slot names any more, for reuse: edits make new leaves and
 * never change one in use, so a table edited for long fills up. Run when
 * it is three quarters full, by a later command than the edit that let
 * the leaves go: no packet still holds one. Chunks a delete joined back
 * are scanned too, which only keeps a few leaves longer. */
static int v4_gc(struct net_tables *nt)
{
	uint8_t *is_free = malloc(nt->n_leaves);
	size_t nd = (size_t)1 << nt->v4_bits, nc = (size_t)nt->chunks_used * TAPIS_V4_CHUNK_SLOTS;
	const uint16_t *d = slots_at(nt, false, 0, nd), *c = nc ? slots_at(nt, true, 0, nc) : NULL;
	int err;

	nt->free_leaves = malloc(nt->n_leaves * sizeof(*nt->free_leaves));
	if (!is_free || !nt->free_leaves || !d || (nc && !c)) {
		free(is_free);
		return -ENOMEM;
	}
	memset(is_free, 1, nt->n_leaves);
	is_free[0] = 0;
	for (size_t i = 0; i < nd; i++)
		if (d[i] < nt->n_leaves)
			is_free[d[i]] = 0;
	for (size_t i = 0; i < nc; i++)
		if (c[i] < nt->n_leaves)
			is_free[c[i]] = 0;
	nt->n_free = 0;
	for (uint32_t l = nt->leaves_used; l-- > 1;)
		if (is_free[l])
			nt->free_leaves[nt->n_free++] = (uint16_t)l;
	err = lhash_build(nt, is_free);
	free(is_free);
	return err;
}

/* The trie of a running generation, mapped for live edits (or reads). The
 * used counts are those of the settings or, where a killed edit handed out
 * more than it recorded, the highest in use. */
static int v4_open(struct net_tables *nt, const struct tapis_settings *set)
{
	bool ro = nt->t->readonly;
	uint32_t nd = 0, nc = 0, nl = 0;
	int err;

	err = map_entries(nt->fd_dir, &nd) ?: map_entries(nt->fd_chunk, &nc)
						       ?: map_entries(nt->fd_leaf, &nl);
	if (err)
		return err;
	nt->v4_bits =
		set->v4_bits == TAPIS_V4_BITS_SMALL ? TAPIS_V4_BITS_SMALL : TAPIS_V4_BITS_LARGE;
	if ((size_t)nd * TAPIS_V4_SLOTS_PER_VAL != (size_t)1 << nt->v4_bits)
		return -EINVAL;
	nt->n_chunks = nc / (TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL);
	nt->leaf_limit = set->v4_leaf_limit;
	if (nl != TAPIS_V4_MAX_LEAVES || nt->leaf_limit + nt->n_chunks > TAPIS_V4_SLOT_IDS)
		return -EINVAL;
	nl = nt->leaf_limit < nl ? nt->leaf_limit : nl;
	nt->n_leaves = nl;
	nt->dir_bytes = (size_t)nd * sizeof(struct tapis_v4_slots);
	nt->chunk_bytes = (size_t)nc * sizeof(struct tapis_v4_slots);
	nt->leaf_bytes = (size_t)nl * sizeof(struct tapis_v4_leaf);
	nt->windowed = true;
	/* A read-only descriptor cannot be mapped shared: readers look up. */
	if (ro)
		return 0;
	nt->leaf = map_mmap(nt->fd_leaf, nt->leaf_bytes, false);
	if (!nt->leaf)
		return -errno;
	nt->chunks_used = set->v4_chunks_used;
	nt->leaves_used = set->v4_leaves_used ? set->v4_leaves_used : 1;
	static const struct tapis_v4_leaf empty;

	for (uint32_t l = nt->n_leaves; l-- > nt->leaves_used;)
		if (memcmp(&nt->leaf[l], &empty, sizeof(empty))) {
			nt->leaves_used = l + 1;
			break;
		}
	if ((uint64_t)nt->leaves_used * 4 > (uint64_t)nt->n_leaves * 3)
		return v4_gc(nt);
	return lhash_build(nt, NULL);
}

static void v4_close(struct net_tables *nt)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < nt->n_win; i++)
		munmap(nt->win[i].m, (nt->win[i].p1 - nt->win[i].p0) * pg);
	free(nt->win);
	nt->win = NULL;
	nt->n_win = nt->cap_win = 0;
	if (nt->windowed) {
		if (nt->leaf)
			munmap(nt->leaf, nt->leaf_bytes);
	} else {
		free(nt->dir);
		free(nt->chunk);
		free(nt->leaf);
	}
	free(nt->lhash);
	free(nt->free_leaves);
	nt->free_leaves = NULL;
	nt->n_free = 0;
	nt->dir = nt->chunk = NULL;
	nt->leaf = NULL;
	nt->lhash = NULL;
	nt->dir_bytes = nt->chunk_bytes = nt->leaf_bytes = 0;
	nt->windowed = false;
}

static int filter_map(uint32_t flags)
{
	return flags & TAPIS_SF_V6_FILTER_SMALL ? M_V6_FILTER_S : M_V6_FILTER;
}

static size_t filter_bytes(uint32_t flags)
{
	return (flags & TAPIS_SF_V6_FILTER_SMALL ? TAPIS_V6_FILTER_S_WORDS
						 : TAPIS_V6_FILTER_WORDS) *
	       sizeof(uint64_t);
}

static int create_v6(struct net_tables *nt, size_t n_v6)
{
	uint32_t n = n_v6 * 2 < MIN_HASH ? MIN_HASH : n_v6 * 2;
	bool small = n_v6 <= TAPIS_V6_FILTER_S_MAX_TOPS;

	/* A policy's /32s are at most its prefixes. */
	if (small)
		nt->flags |= TAPIS_SF_V6_FILTER_SMALL;
	nt->fd_filter = create_inner(
		BPF_MAP_TYPE_ARRAY, tapis_map_names[small ? M_V6_FILTER_S : M_V6_FILTER], 4, 8,
		small ? TAPIS_V6_FILTER_S_WORDS : TAPIS_V6_FILTER_WORDS, BPF_F_MMAPABLE);
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
	nt->filter = map_mmap(nt->fd_filter, filter_bytes(nt->flags), false);
	return nt->filter ? 0 : -errno;
}

int net_tables_create(struct net_tables *nt, struct tapis *t, uint32_t gen, size_t n_v4,
		      const struct v4_plan *plan, size_t n_v6)
{
	int err;

	nt_init(nt, t, gen);
	err = v4_buffers(nt, plan);
	if (!err)
		err = create_v6(nt, n_v6);
	if (!err) {
		nt->exact_fd = exact_fd(t, gen, true, n_v4);
		err = nt->exact_fd < 0 ? nt->exact_fd : ex_map(nt);
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

	err = err ?: publish_one(t, v4_dir_map(nt->v4_bits), nt->gen, nt->fd_dir);
	err = err ?: publish_one(t, v4_chunk_map(nt->flags), nt->gen, nt->fd_chunk);
	err = err ?: publish_one(t, M_V4_LEAF, nt->gen, nt->fd_leaf);
	err = err ?: publish_one(t, filter_map(nt->flags), nt->gen, nt->fd_filter);
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
	nt->fd_dir = gen_inner_fd(t, v4_dir_map(set.v4_bits), gen);
	nt->fd_chunk = gen_inner_fd(t, v4_chunk_map(set.flags), gen);
	nt->fd_leaf = gen_inner_fd(t, M_V4_LEAF, gen);
	nt->fd_filter = gen_inner_fd(t, filter_map(set.flags), gen);
	nt->fd_l32 = gen_inner_fd(t, M_V6_L32, gen);
	nt->fd_pfx = gen_inner_fd(t, M_V6_PFX, gen);
	nt->fd_short = gen_inner_fd(t, M_V6_SHORT, gen);
	nt->exact_fd = exact_fd(t, gen, false, 0);
	if (nt->fd_dir < 0 || nt->fd_chunk < 0 || nt->fd_leaf < 0 || nt->fd_filter < 0 ||
	    nt->fd_l32 < 0 || nt->fd_pfx < 0 || nt->fd_short < 0 || nt->exact_fd < 0) {
		err = -ENOENT;
		goto fail;
	}
	nt->flags = set.flags;
	err = ex_map(nt) ?: v4_open(nt, &set);
	if (err)
		goto fail;
	return 0;
fail:
	pr_err("open address tables of generation %u: %s", gen, strerror(-err));
	net_tables_close(nt);
	return err;
}

static void free_gathered(struct net_tables *nt)
{
	free(nt->bk6);
	free(nt->bv6);
	nt->bk6 = NULL;
	nt->bv6 = NULL;
	nt->bn6 = nt->bcap6 = 0;
}

void net_tables_close(struct net_tables *nt)
{
	v4_close(nt);
	if (nt->ex)
		munmap(nt->ex, (nt->ex_cap + 1) * sizeof(uint64_t));
	nt->ex = NULL;
	free(nt->ex_bulk);
	nt->ex_bulk = NULL;
	nt->ex_n = nt->ex_bcap = 0;
	if (nt->filter)
		munmap(nt->filter, filter_bytes(nt->flags));
	int *fds[] = {&nt->fd_dir,    &nt->fd_chunk, &nt->fd_leaf, &nt->exact_fd,
		      &nt->fd_filter, &nt->fd_l32,   &nt->fd_pfx,  &nt->fd_short};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
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
	int err = v4_write_maps(nt);

	err = err ?: ex_flush(nt);
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
	uint32_t fb = tapis_v6_filter_bit(k.top, !!(nt->flags & TAPIS_SF_V6_FILTER_SMALL));
	uint32_t word = fb >> 6;
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

/* ---- IPv4 prefixes as written: the user-space source of truth ----
 * A sorted array of u64 (dir, address, length | rule) in an mmapable map
 * pinned per generation; [0] holds the count. 8 bytes a prefix, exact
 * lookups and the covering prefixes by binary search; an insert or delete
 * moves the tail (a few MiB at most). */
static uint64_t ex_key(int dir, uint32_t a, unsigned plen)
{
	return ((uint64_t)(dir & 1) << 40) | ((uint64_t)v4_mask(a, plen) << 8) | plen;
}

static int ex_map(struct net_tables *nt)
{
	uint32_t n = 0;
	int err = map_entries(nt->exact_fd, &n);

	if (err)
		return err;
	nt->ex_cap = n - 1;
	/* A read-only descriptor cannot be mapped shared: readers look up. */
	if (nt->t->readonly)
		return 0;
	nt->ex = map_mmap(nt->exact_fd, (size_t)n * sizeof(uint64_t), false);
	return nt->ex ? 0 : -errno;
}

static uint64_t ex_at(const struct net_tables *nt, size_t i)
{
	uint32_t k = (uint32_t)i;
	uint64_t v = 0;

	if (nt->ex)
		return nt->ex[i];
	bpf_map_lookup_elem(nt->exact_fd, &k, &v);
	return v;
}

/* Index of the first entry whose key is >= key, in [1, count + 1]. */
static size_t ex_lower(const struct net_tables *nt, uint64_t key)
{
	size_t lo = 1, hi = 1 + ex_at(nt, 0);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ex_at(nt, mid) >> 16 < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int ex_get(const struct net_tables *nt, int dir, uint32_t a, unsigned plen, uint32_t *rule)
{
	uint64_t key = ex_key(dir, a, plen), v;
	size_t i = ex_lower(nt, key);

	if (i > ex_at(nt, 0))
		return -ENOENT;
	v = ex_at(nt, i);
	if (v >> 16 != key)
		return -ENOENT;
	*rule = v & 0xffff;
	return 0;
}

static int ex_insert(struct net_tables *nt, int dir, uint32_t a, unsigned plen, uint32_t rule)
{
	uint64_t key = ex_key(dir, a, plen), n = nt->ex[0];
	size_t i;

	if (nt->bulk) {
		if (nt->ex_n == nt->ex_bcap) {
			size_t c = nt->ex_bcap ? 2 * nt->ex_bcap : 4096;
			uint64_t *p = realloc(nt->ex_bulk, c * sizeof(*p));

			if (!p)
				return -ENOMEM;
			nt->ex_bulk = p;
			nt->ex_bcap = c;
		}
		nt->ex_bulk[nt->ex_n++] = key << 16 | rule;
		return 0;
	}
	if (n >= nt->ex_cap) {
		pr_err("the IPv4 prefix list is full (%zu); reload the policy to grow it",
		       nt->ex_cap);
		return -ENOSPC;
	}
	i = ex_lower(nt, key);
	if (i <= n && nt->ex[i] >> 16 == key)
		return -EEXIST;
	memmove(&nt->ex[i + 1], &nt->ex[i], (n + 1 - i) * sizeof(uint64_t));
	nt->ex[i] = key << 16 | rule;
	nt->ex[0] = n + 1;
	return 0;
}

static int ex_delete(struct net_tables *nt, int dir, uint32_t a, unsigned plen)
{
	uint64_t key = ex_key(dir, a, plen), n = nt->ex[0];
	size_t i = ex_lower(nt, key);

	if (i > n || nt->ex[i] >> 16 != key)
		return -ENOENT;
	memmove(&nt->ex[i], &nt->ex[i + 1], (n - i) * sizeof(uint64_t));
	nt->ex[0] = n - 1;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A bulk build's prefixes, sorted, into the array. */
static int ex_flush(struct net_tables *nt)
{
	if (nt->ex_n > nt->ex_cap)
		return -ENOSPC;
	qsort(nt->ex_bulk, nt->ex_n, sizeof(uint64_t), u64_cmp);
	memcpy(&nt->ex[1], nt->ex_bulk, nt->ex_n * sizeof(uint64_t));
	nt->ex[0] = nt->ex_n;
	free(nt->ex_bulk);
	nt->ex_bulk = NULL;
	nt->ex_n = nt->ex_bcap = 0;
	return 0;
}

/* ---- common ---- */
static int owner_of(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t *owner)
{
	if (e->family == 4)
		return ex_get(nt, dir, v4_addr_h(e), e->plen, owner);
	struct tapis_v6_key k;
	uint32_t v;

	v6_key(&k, dir, e);
	if (bpf_map_lookup_elem(nt->fd_pfx, &k, &v))
		return -errno;
	*owner = tapis_ent_rule(v);
	return 0;
}

/* The prefixes a/plen lies in, most specific first, as many as a list
 * needs (see chain_cut). */
static void v4_covers(struct net_tables *nt, int dir, uint32_t a, unsigned plen, uint32_t *covers)
{
	uint32_t r;
	int n = 0;

	for (int l = (int)plen - 1; l >= 0 && n < TAPIS_NET_CHAIN; l--) {
		if (ex_get(nt, dir, a, l, &r))
			continue;
		covers[n++] = tapis_ent_make(r, l);
		if (!rule_may_expire(nt, r))
			break;
	}
}

/* Take back the slots of an insert that could not be recorded. */
static void v4_undo_insert(struct net_tables *nt, int dir, uint32_t a, unsigned plen)
{
	struct v4_edit ed = {.dir = dir, .del = true, .plen = plen};

	v4_covers(nt, dir, a, plen, ed.covers);
	v4_edit_prefix(nt, &ed, a, plen);
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
		uint32_t a = v4_addr_h(e);
		struct v4_edit ed = {.dir = dir, .ent = v, .plen = e->plen};

		/* The slots first, the prefix list last: the list says that
		 * an entry exists (owner_of), so a process killed in between
		 * leaves an entry the next insert makes again (chain_edit
		 * takes it twice as once) or the next delete finds missing. */
		err = v4_edit_prefix(nt, &ed, v4_mask(a, e->plen), e->plen);
		if (!err)
			err = ex_insert(nt, dir, a, e->plen, rule);
		if (err) {
			if (!nt->bulk)
				v4_undo_insert(nt, dir, v4_mask(a, e->plen), e->plen);
			return err;
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

	/* The slots continue with the prefixes this one lies in, as many as
	 * a list holds (see chain_cut). */
	uint32_t a = v4_mask(v4_addr_h(e), e->plen);
	struct v4_edit ed = {.dir = dir, .del = true, .plen = e->plen};

	v4_covers(nt, dir, a, e->plen, ed.covers);
	/* The slots first, the list entry last, as in net_insert. */
	err = v4_edit_prefix(nt, &ed, a, e->plen);
	return err ?: ex_delete(nt, dir, a, e->plen);
}

void net_lookup_v4_list(struct net_tables *nt, int dir, const struct net_entry *addr,
			uint32_t *ents)
{
	uint32_t a = v4_addr_h(addr);
	unsigned end = nt->v4_bits;
	uint16_t v = slot_peek(nt, false, a >> (32 - end));
	struct tapis_v4_leaf l = {};

	while (v >= nt->leaf_limit && end < 32) {
		end += TAPIS_V4_CHUNK_BITS;
		v = slot_peek(nt, true,
			      (size_t)(v - nt->leaf_limit) * TAPIS_V4_CHUNK_SLOTS +
				      ((a >> (32 - end)) & (TAPIS_V4_CHUNK_SLOTS - 1)));
	}
	if (v < nt->n_leaves && v < nt->leaf_limit) {
		uint32_t k = v;

		if (nt->leaf)
			l = nt->leaf[v];
		else
			bpf_map_lookup_elem(nt->fd_leaf, &k, &l);
	}
	memcpy(ents, l.ent[dir & 1], sizeof(l.ent[0]));
}

uint32_t net_lookup(struct net_tables *nt, int dir, const struct net_entry *addr)
{
	if (addr->family == 4) {
		uint32_t ents[TAPIS_NET_CHAIN];

		net_lookup_v4_list(nt, dir, addr, ents);
		return ents[0];
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
	static const int outers[] = {M_V4_DIR16,  M_V4_DIR24,  M_V4_CHUNK,    M_V4_CHUNK_S,
				     M_V4_LEAF,	  M_V6_FILTER, M_V6_FILTER_S, M_V6_L32,
				     M_V6_PFX,	  M_V6_SHORT,  M_HOSTS,	      M_HOST_FILTER,
				     M_HOST_INDEX};
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
	static const int outers[] = {M_V4_DIR16,  M_V4_DIR24,  M_V4_CHUNK,    M_V4_CHUNK_S,
				     M_V4_LEAF,	  M_V6_FILTER, M_V6_FILTER_S, M_V6_L32,
				     M_V6_PFX,	  M_V6_SHORT,  M_HOSTS,	      M_HOST_FILTER,
				     M_HOST_INDEX};
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
