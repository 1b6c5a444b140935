/* SPDX-License-Identifier: Apache-2.0 */
/* test_ingest_pager.c -- pagination state machines, resume state and its atomic file write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ingest/ingest_internal.h"
#include "spate/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *state_of(const struct ingest_pager *pg)
{
    struct spate_buf b = {0};
    assert_int_equal(ingest__pager_state(pg, &b), 0);
    assert_int_equal(spate_buf_append(&b, "", 1), 0);
    return b.data;
}

static void finish(struct ingest_pager *pg, struct ingest_entry *e, size_t n, const char *next)
{
    assert_int_equal(ingest__pager_response(pg, e, n, next), 0);
    e->processing = 0;
    ingest__pager_settle(pg, e);
}

static void test_page_in_order(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 0);
    for (int64_t p = 1; p <= 5; p++) {
        assert_true(ingest__pager_can_issue(&pg));
        struct ingest_entry *e = ingest__pager_issue(&pg);
        assert_int_equal(e->page, p);
        finish(&pg, e, 10, NULL);
    }
    assert_int_equal(ingest__pager_open(&pg), 0);
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 6\nskip\ntail 5 10\n");
    free(s);
    /* An empty page is the end, and the place to resume. */
    struct ingest_entry *e6 = ingest__pager_issue(&pg);
    struct ingest_entry *e7 = ingest__pager_issue(&pg);
    finish(&pg, e7, 0, NULL);
    finish(&pg, e6, 0, NULL);
    assert_false(ingest__pager_can_issue(&pg));
    s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 6\nskip\ntail 5 10\n");
    free(s);
    ingest__pager_free(&pg);
}

static void test_page_out_of_order_and_resume(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 10);
    struct ingest_entry *e[6];
    for (int i = 0; i < 6; i++)
        e[i] = ingest__pager_issue(&pg); /* pages 1..6 in flight */
    /* Pages 2, 4 and 5 complete; 1 waits for deliveries; 3 and 6 for retries. */
    finish(&pg, e[1], 10, NULL);
    finish(&pg, e[3], 10, NULL);
    finish(&pg, e[4], 10, NULL);
    assert_int_equal(ingest__pager_response(&pg, e[0], 10, NULL), 0);
    e[0]->pending = 3;
    e[0]->processing = 0;
    ingest__pager_settle(&pg, e[0]);
    assert_int_equal(ingest__pager_open(&pg), 3);
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 1\nskip 2 4 5\ntail 5 10\n");
    /* Deliveries of page 1 arrive: the low mark moves to 3. */
    e[0]->pending = 0;
    ingest__pager_settle(&pg, e[0]);
    char *s2 = state_of(&pg);
    assert_string_equal(s2, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip 4 5\ntail 5 10\n");

    /* A new run resumes: 3, then 6, 7 ... (4 and 5 are skipped), up to max_pages. */
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_PAGE, 1, 10);
    assert_int_equal(ingest__pager_load(&r, s2, NULL, 0), 0);
    int64_t want[] = {3, 6, 7, 8, 9, 10};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(ingest__pager_can_issue(&r));
        struct ingest_entry *x = ingest__pager_issue(&r);
        assert_int_equal(x->page, want[i]);
        finish(&r, x, 1, NULL);
    }
    assert_false(ingest__pager_can_issue(&r)); /* max_pages 10 from start_page 1 */
    /* Loading a state of another style is refused. */
    struct ingest_pager c;
    ingest__pager_init(&c, INGEST_STYLE_CURSOR, 1, 0);
    assert_int_equal(ingest__pager_load(&c, s2, NULL, 0), SPATE_EPARSE);
    assert_int_equal(ingest__pager_load(&c, "garbage", NULL, 0), SPATE_EPARSE);
    ingest__pager_free(&c);
    free(s);
    free(s2);
    ingest__pager_free(&r);
    ingest__pager_free(&pg);
}

/* pagination.follow: a source that grows after the end was reached. */
static void test_page_follow(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 0);
    /* 25 records in pages of 10: 1 and 2 full, 3 holds 5, 4 is empty. */
    size_t have[] = {10, 10, 5, 0};
    for (int i = 0; i < 4; i++)
        finish(&pg, ingest__pager_issue(&pg), have[i], NULL);
    assert_false(ingest__pager_can_issue(&pg));
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 4\nskip\ntail 3 5\n");
    /* Follow: page 3 again, its first 5 records skipped, then 4 onwards. */
    ingest__pager_follow(&pg, 10);
    assert_true(ingest__pager_can_issue(&pg));
    struct ingest_entry *e = ingest__pager_issue(&pg);
    assert_int_equal(e->page, 3);
    assert_int_equal(e->skip_records, 5);
    struct ingest_entry *e4 = ingest__pager_issue(&pg);
    assert_int_equal(e4->page, 4);
    assert_int_equal(e4->skip_records, 0);
    finish(&pg, e, 10, NULL); /* page 3 filled up */
    finish(&pg, e4, 2, NULL);
    finish(&pg, ingest__pager_issue(&pg), 0, NULL); /* page 5: the new end */
    /* A restart resumes at 5 and, following, fetches page 4 again skipping 2. */
    char *s2 = state_of(&pg);
    assert_string_equal(s2, "spate-ingest-state 1\nstyle page\nnext_page 5\nskip\ntail 4 2\n");
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_PAGE, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s2, NULL, 0), 0);
    struct ingest_entry *x = ingest__pager_issue(&r);
    assert_int_equal(x->page, 5);
    finish(&r, x, 0, NULL);
    ingest__pager_follow(&r, 10);
    x = ingest__pager_issue(&r);
    assert_int_equal(x->page, 4);
    assert_int_equal(x->skip_records, 2);
    finish(&r, x, 2, NULL);
    /* A full last page: following starts at the first empty page. */
    struct ingest_pager f;
    ingest__pager_init(&f, INGEST_STYLE_PAGE, 1, 0);
    finish(&f, ingest__pager_issue(&f), 10, NULL);
    finish(&f, ingest__pager_issue(&f), 0, NULL);
    ingest__pager_follow(&f, 10);
    x = ingest__pager_issue(&f);
    assert_int_equal(x->page, 2);
    assert_int_equal(x->skip_records, 0);
    finish(&f, x, 0, NULL);
    free(s);
    free(s2);
    ingest__pager_free(&f);
    ingest__pager_free(&r);
    ingest__pager_free(&pg);
}

static void test_cursor_chain(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_CURSOR, 1, 0);
    assert_true(ingest__pager_can_issue(&pg));
    struct ingest_entry *a = ingest__pager_issue(&pg);
    assert_null(a->cursor);
    /* Sequential: nothing more until the response names the next cursor. */
    assert_false(ingest__pager_can_issue(&pg));
    assert_int_equal(ingest__pager_response(&pg, a, 5, "c=\n2"), 0);
    assert_true(ingest__pager_can_issue(&pg));
    struct ingest_entry *b = ingest__pager_issue(&pg);
    assert_string_equal(b->cursor, "c=\n2");
    /* a's deliveries still pending: resume position is the first page. */
    a->pending = 1;
    a->processing = 0;
    ingest__pager_settle(&pg, a);
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle cursor\ncursor -\n");
    free(s);
    a->pending = 0;
    ingest__pager_settle(&pg, a);
    s = state_of(&pg);
    /* The cursor is stored hex-encoded (it may hold any bytes). */
    assert_string_equal(s, "spate-ingest-state 1\nstyle cursor\ncursor 633d0a32\n");
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_CURSOR, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s, NULL, 0), 0);
    struct ingest_entry *x = ingest__pager_issue(&r);
    assert_string_equal(x->cursor, "c=\n2");
    free(s);
    ingest__pager_free(&r);
    /* The last page has no next cursor: the end, and the state says so. */
    finish(&pg, b, 5, NULL);
    assert_false(ingest__pager_can_issue(&pg));
    s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle cursor\nend 1\n");
    ingest__pager_init(&r, INGEST_STYLE_CURSOR, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s, NULL, 0), 0);
    assert_false(ingest__pager_can_issue(&r));
    ingest__pager_free(&r);
    free(s);
    ingest__pager_free(&pg);
}

static void test_link_abandon(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_LINK, 1, 0);
    struct ingest_entry *a = ingest__pager_issue(&pg);
    finish(&pg, a, 3, "http://h/p?after=9");
    struct ingest_entry *b = ingest__pager_issue(&pg);
    assert_string_equal(b->cursor, "http://h/p?after=9");
    /* Retries exhausted on b: the source stops, and the state keeps b so the
     * next run tries it again instead of skipping ahead. */
    ingest__pager_abandon(&pg, b);
    b->processing = 0;
    ingest__pager_settle(&pg, b);
    assert_false(ingest__pager_can_issue(&pg));
    char *s = state_of(&pg);
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_LINK, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s, NULL, 0), 0);
    struct ingest_entry *x = ingest__pager_issue(&r);
    assert_string_equal(x->cursor, "http://h/p?after=9");
    ingest__pager_free(&r);
    free(s);
    ingest__pager_free(&pg);
}

/* Issue 14 item 1: a page that gives up (retries exhausted, a 4xx) is never
 * skipped: the source stops issuing and the state resumes at that page, with
 * the later pages that did complete listed as done. */
static void test_page_abandon(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 0);
    struct ingest_entry *e[4];
    for (int i = 0; i < 4; i++)
        e[i] = ingest__pager_issue(&pg);
    finish(&pg, e[0], 10, NULL);
    ingest__pager_abandon(&pg, e[1]);
    e[1]->processing = 0;
    ingest__pager_settle(&pg, e[1]);
    assert_false(ingest__pager_can_issue(&pg));
    finish(&pg, e[2], 10, NULL);
    finish(&pg, e[3], 10, NULL);
    assert_false(ingest__pager_can_issue(&pg));
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 2\nskip 3 4\ntail 4 10\n");
    /* follow (a growing source) must not restart a source that gave up */
    ingest__pager_follow(&pg, 10);
    assert_false(ingest__pager_can_issue(&pg));
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_PAGE, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s, NULL, 0), 0);
    assert_true(ingest__pager_can_issue(&r));
    assert_int_equal(ingest__pager_issue(&r)->page, 2);
    assert_int_equal(ingest__pager_issue(&r)->page, 5);
    ingest__pager_free(&r);
    free(s);
    ingest__pager_free(&pg);
}

/* Issue 15: a page's stamp (spate.fetched_at) is in the state from before its
 * records are produced until the page completes, so a restart that fetches
 * it again stamps its records as the first fetch did. */
static void test_page_stamps(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 0);
    struct ingest_entry *e[3];
    for (int i = 0; i < 3; i++)
        e[i] = ingest__pager_issue(&pg);
    assert_int_equal(e[0]->stamp, 0);
    /* A new stamp asks for a state write before producing, and is in it. */
    pg.dirty = 0;
    assert_int_equal(ingest__pager_stamp(&pg, e[0], 1000), 1);
    assert_true(pg.dirty);
    assert_int_equal(e[0]->stamp, 1000);
    assert_int_equal(ingest__pager_stamp(&pg, e[0], 2000), 0); /* stamped already */
    assert_int_equal(e[0]->stamp, 1000);
    assert_int_equal(ingest__pager_stamp(&pg, e[1], 1001), 1);
    assert_int_equal(ingest__pager_stamp(&pg, e[2], 1002), 1);
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 1\nskip\n"
                           "stamp 1 1000 0\nstamp 2 1001 0\nstamp 3 1002 0\n");
    free(s);
    /* Records of 1 and 2 produced, 1 waits for deliveries; 2 completes out of
     * order: it is in the skip list, never fetched again, so its stamp goes. */
    assert_int_equal(ingest__pager_response(&pg, e[0], 10, NULL), 0);
    e[0]->pending = 4;
    e[0]->processing = 0;
    ingest__pager_settle(&pg, e[0]);
    finish(&pg, e[1], 10, NULL);
    s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 1\nskip 2\ntail 2 10\n"
                           "stamp 1 1000 0\nstamp 3 1002 0\n");
    /* Killed here; the restart fetches 1 and 3 again with their stamps. */
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_PAGE, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s, NULL, 0), 0);
    free(s);
    /* Before they are issued again, a save (and a second crash) keeps them. */
    s = state_of(&r);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 1\nskip 2\ntail 2 10\n"
                           "stamp 1 1000 0\nstamp 3 1002 0\n");
    free(s);
    struct ingest_entry *x1 = ingest__pager_issue(&r);
    assert_int_equal(x1->page, 1);
    assert_int_equal(x1->stamp, 1000);
    assert_int_equal(ingest__pager_stamp(&r, x1, 5000), 0); /* on disk already: no write */
    assert_int_equal(x1->stamp, 1000);
    struct ingest_entry *x3 = ingest__pager_issue(&r);
    assert_int_equal(x3->page, 3);
    assert_int_equal(x3->stamp, 1002);
    struct ingest_entry *x4 = ingest__pager_issue(&r);
    assert_int_equal(x4->page, 4);
    assert_int_equal(x4->stamp, 0); /* never produced: a fresh stamp when it is */
    assert_int_equal(ingest__pager_stamp(&r, x4, 5000), 1);
    assert_int_equal(x4->stamp, 5000);
    /* Dropped as the pages complete. */
    finish(&r, x1, 10, NULL);
    finish(&r, x3, 10, NULL);
    s = state_of(&r);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 4\nskip\ntail 3 10\n"
                           "stamp 4 5000 0\n");
    free(s);
    finish(&r, x4, 10, NULL);
    s = state_of(&r);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 5\nskip\ntail 4 10\n");
    free(s);
    ingest__pager_free(&r);
    ingest__pager_free(&pg);
}

/* Cursor and link positions are stamped by their cursor (- = the first request). */
static void test_cursor_stamps(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_LINK, 1, 0);
    struct ingest_entry *a = ingest__pager_issue(&pg);
    assert_int_equal(ingest__pager_stamp(&pg, a, 7000), 1);
    assert_int_equal(ingest__pager_response(&pg, a, 3, "http://h/p?after=3"), 0);
    a->pending = 3;
    a->processing = 0;
    ingest__pager_settle(&pg, a);
    struct ingest_entry *b = ingest__pager_issue(&pg);
    assert_int_equal(ingest__pager_stamp(&pg, b, 7001), 1);
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle link\ncursor -\nstamp - 7000\n"
                           "stamp 687474703a2f2f682f703f61667465723d33 7001\n");
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_LINK, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s, NULL, 0), 0);
    free(s);
    struct ingest_entry *x = ingest__pager_issue(&r);
    assert_null(x->cursor);
    assert_int_equal(x->stamp, 7000);
    assert_int_equal(ingest__pager_response(&r, x, 3, "http://h/p?after=3"), 0);
    x = ingest__pager_issue(&r);
    assert_string_equal(x->cursor, "http://h/p?after=3");
    assert_int_equal(x->stamp, 7001);
    ingest__pager_free(&r);
    /* The end reached with nothing open: no stamp is left. */
    a->pending = 0;
    ingest__pager_settle(&pg, a);
    finish(&pg, b, 3, NULL);
    s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle link\nend 1\n");
    free(s);
    ingest__pager_free(&pg);
    /* No pagination, no position to fetch again: nothing to write. */
    ingest__pager_init(&pg, INGEST_STYLE_NONE, 1, 0);
    struct ingest_entry *n = ingest__pager_issue(&pg);
    assert_int_equal(ingest__pager_stamp(&pg, n, 9000), 0);
    assert_int_equal(n->stamp, 9000);
    ingest__pager_free(&pg);
}

/* Following a growing source: a page fetched again in the same run holds new
 * records and gets a new stamp; after a restart in the middle of that fetch
 * the stamp comes back with the count of records produced before it. */
static void test_follow_stamps(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 0);
    struct ingest_entry *e = ingest__pager_issue(&pg);
    assert_int_equal(ingest__pager_stamp(&pg, e, 100), 1);
    finish(&pg, e, 5, NULL);
    finish(&pg, ingest__pager_issue(&pg), 0, NULL);
    ingest__pager_follow(&pg, 10);
    e = ingest__pager_issue(&pg);
    assert_int_equal(e->page, 1);
    assert_int_equal(e->skip_records, 5);
    assert_int_equal(e->stamp, 0);
    assert_int_equal(ingest__pager_stamp(&pg, e, 200), 1);
    assert_int_equal(e->stamp, 200);
    assert_int_equal(ingest__pager_response(&pg, e, 8, NULL), 0);
    e->pending = 3;
    e->processing = 0;
    ingest__pager_settle(&pg, e);
    char *s = state_of(&pg);
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 1\nskip\ntail 1 8\n"
                           "stamp 1 200 5\n");
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_PAGE, 1, 0);
    assert_int_equal(ingest__pager_load(&r, s, NULL, 0), 0);
    free(s);
    struct ingest_entry *x = ingest__pager_issue(&r);
    assert_int_equal(x->page, 1);
    assert_int_equal(x->stamp, 200);
    assert_int_equal(x->skip_records, 5); /* records 1-5 were done before the follow */
    ingest__pager_free(&r);
    ingest__pager_free(&pg);
}

/* A state file from before stamps loads as it did; a bad stamp line is
 * refused with its line number, and the pager is left as it was. */
static void test_state_stamp_lines(void **state)
{
    (void)state;
    char err[200];
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 0);
    assert_int_equal(ingest__pager_load(&pg, "spate-ingest-state 1\nstyle page\nnext_page 3\n"
                                             "skip 5\ntail 5 10\n", err, sizeof err), 0);
    assert_int_equal(pg.nstamps, 0);
    struct ingest_entry *e = ingest__pager_issue(&pg);
    assert_int_equal(e->page, 3);
    assert_int_equal(e->stamp, 0);
    ingest__pager_free(&pg);

    static const struct {
        enum ingest_style style;
        const char *text;
        const char *err;
    } bad[] = {
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip\nstamp 3 x 0\n",
         "line 5: a stamp line is \"stamp PAGE FETCHED_AT_MS FIRST_RECORD\""},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip\ntail 2 1\n"
                            "stamp 3 1700000000000\n", "line 6: a stamp line is"},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip\n"
                            "stamp 3 0 0\n", "line 5: a stamp line is"},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip\n"
                            "stamp 3 17 0 9\n", "line 5: a stamp line is"},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip\n"
                            "stamp 3 -17 0\n", "line 5: a stamp line is"},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip\n"
                            "stamp 3 99999999999999999999 0\n", "line 5: a stamp line is"},
        {INGEST_STYLE_CURSOR, "spate-ingest-state 1\nstyle cursor\ncursor -\nstamp zz 17\n",
         "line 4: the cursor of a stamp line is not hex"},
        {INGEST_STYLE_CURSOR, "spate-ingest-state 1\nstyle cursor\ncursor -\nstamp - 17 3\n",
         "line 4: a stamp line is \"stamp CURSOR FETCHED_AT_MS\""},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\nskip\nstamps 3\n",
         "line 5: unexpected line \"stamps 3\""},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle cursor\ncursor -\n",
         "line 2: a cursor-pagination state, but the source's pagination.style is page"},
        {INGEST_STYLE_PAGE, "garbage", "line 1: not a spate ingest state"},
        {INGEST_STYLE_PAGE, "spate-ingest-state 1\nstyle page\nnext_page 3\n",
         "line 4: the state ends early"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ingest__pager_init(&pg, bad[i].style, 1, 0);
        err[0] = '\0';
        assert_int_equal(ingest__pager_load(&pg, bad[i].text, err, sizeof err), SPATE_EPARSE);
        if (strncmp(err, bad[i].err, strlen(bad[i].err)) != 0)
            fail_msg("case %zu: error \"%s\", expected \"%s...\"", i, err, bad[i].err);
        /* nothing of the refused text was taken */
        assert_int_equal(pg.nstamps, 0);
        assert_int_equal(pg.next_page, 1);
        ingest__pager_free(&pg);
    }
}

/* The write-ahead appends stamp lines to the state file as it is: that text
 * loads, a later line for a page wins, and a stamp of a page the state counts
 * as complete is never used. */
static void test_appended_stamps(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_PAGE, 1, 0);
    struct ingest_entry *e[3];
    for (int i = 0; i < 3; i++)
        e[i] = ingest__pager_issue(&pg);
    finish(&pg, e[0], 10, NULL);
    char *s = state_of(&pg); /* the last whole save: next_page 2 */
    struct spate_buf f = {0};
    assert_int_equal(spate_buf_append(&f, s, strlen(s)), 0);
    free(s);
    assert_int_equal(ingest__pager_stamp(&pg, e[1], 300), 1);
    assert_int_equal(ingest__pager_stamp_line(&pg, e[1], &f), 0);
    assert_int_equal(ingest__pager_stamp(&pg, e[2], 301), 1);
    assert_int_equal(ingest__pager_stamp_line(&pg, e[2], &f), 0);
    /* as if page 2 had been stamped twice in the run (the later stamp wins),
     * and a page below the resume point (complete: never fetched again) */
    assert_int_equal(spate_buf_append(&f, "stamp 1 9 0\nstamp 2 302 0\n", 26), 0);
    assert_int_equal(spate_buf_append(&f, "", 1), 0);
    assert_string_equal(f.data, "spate-ingest-state 1\nstyle page\nnext_page 2\nskip\ntail 1 10\n"
                                "stamp 2 300 0\nstamp 3 301 0\nstamp 1 9 0\nstamp 2 302 0\n");
    struct ingest_pager r;
    ingest__pager_init(&r, INGEST_STYLE_PAGE, 1, 0);
    char err[200];
    assert_int_equal(ingest__pager_load(&r, f.data, err, sizeof err), 0);
    spate_buf_free(&f);
    s = state_of(&r); /* the next whole save is compact again */
    assert_string_equal(s, "spate-ingest-state 1\nstyle page\nnext_page 2\nskip\ntail 1 10\n"
                           "stamp 2 302 0\nstamp 3 301 0\n");
    free(s);
    struct ingest_entry *x = ingest__pager_issue(&r);
    assert_int_equal(x->page, 2);
    assert_int_equal(x->stamp, 302);
    x = ingest__pager_issue(&r);
    assert_int_equal(x->page, 3);
    assert_int_equal(x->stamp, 301);
    ingest__pager_free(&r);
    ingest__pager_free(&pg);
}

static void test_none_style(void **state)
{
    (void)state;
    struct ingest_pager pg;
    ingest__pager_init(&pg, INGEST_STYLE_NONE, 1, 0);
    for (int i = 0; i < 100; i++) {
        assert_true(ingest__pager_can_issue(&pg));
        struct ingest_entry *e = ingest__pager_issue(&pg);
        finish(&pg, e, 0, NULL); /* empty answers do not end a non-paginated source */
    }
    assert_int_equal(ingest__pager_open(&pg), 0);
    assert_null(pg.head);
    ingest__pager_free(&pg);
}

static void test_write_atomic(void **state)
{
    (void)state;
    char dir[] = "/tmp/spate-test-pager-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/s.state", dir);
    assert_int_equal(ingest__write_atomic(path, "one\n", 4, 1), 0);
    assert_int_equal(ingest__write_atomic(path, "two!\n", 5, 1), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[16] = {0};
    assert_int_equal(fread(buf, 1, sizeof buf, f), 5);
    fclose(f);
    assert_string_equal(buf, "two!\n");
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0); /* no temp file left behind */
    unlink(path);
    rmdir(dir);
    assert_int_equal(ingest__write_atomic("/nonexistent-dir/x/y", "a", 1, 1), SPATE_ESYS);
    /* The write-ahead of a stamp: the same rename, without the fsyncs. */
    char dir2[] = "/tmp/spate-test-pager-XXXXXX";
    assert_non_null(mkdtemp(dir2));
    snprintf(path, sizeof path, "%s/s.state", dir2);
    assert_int_equal(ingest__write_atomic(path, "three\n", 6, 0), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    memset(buf, 0, sizeof buf);
    assert_int_equal(fread(buf, 1, sizeof buf, f), 6);
    fclose(f);
    assert_string_equal(buf, "three\n");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);
    unlink(path);
    rmdir(dir2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_in_order),  cmocka_unit_test(test_page_out_of_order_and_resume),
        cmocka_unit_test(test_cursor_chain),   cmocka_unit_test(test_link_abandon),
        cmocka_unit_test(test_page_abandon),
        cmocka_unit_test(test_none_style),     cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_page_follow),    cmocka_unit_test(test_page_stamps),
        cmocka_unit_test(test_cursor_stamps),  cmocka_unit_test(test_follow_stamps),
        cmocka_unit_test(test_state_stamp_lines), cmocka_unit_test(test_appended_stamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
