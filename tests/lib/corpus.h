/* SPDX-License-Identifier: GPL-2.0 */
/* The shared capture corpus (../shared/corpus): where it is, how its TSV
 * files split, which of its encapsulations the data path parses. */
#ifndef TAPIS_TEST_CORPUS_H
#define TAPIS_TEST_CORPUS_H

#include <stdbool.h>
#include <stddef.h>

/* The corpus folder ($TAPIS_CORPUS, ../shared/corpus from the repository
 * root, or /work/shared/corpus) into dir; false when none has
 * expected.tsv. */
bool corpus_find(char *dir, size_t cap);
/* An expected.tsv encapsulation ("none", "vlan+pppoe", ...) made only of
 * headers the data path walks; tunnels ("gre", "other") are not. */
bool corpus_encap_parsed(const char *encap);
/* Split a TSV line in place into at most max columns; the count. */
int corpus_split(char *line, char **col, int max);

#endif
