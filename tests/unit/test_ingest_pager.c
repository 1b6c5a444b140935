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
    assert_int_equal(ingest__pager_load(&r, s2), 0);
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
    assert_int_equal(ingest__pager_load(&c, s2), SPATE_EPARSE);
    assert_int_equal(ingest__pager_load(&c, "garbage"), SPATE_EPARSE);
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
    assert_int_equal(ingest__pager_load(&r, s2), 0);
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
    assert_int_equal(ingest__pager_load(&r, s), 0);
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
    assert_int_equal(ingest__pager_load(&r, s), 0);
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
    assert_int_equal(ingest__pager_load(&r, s), 0);
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
    assert_int_equal(ingest__pager_load(&r, s), 0);
    assert_true(ingest__pager_can_issue(&r));
    assert_int_equal(ingest__pager_issue(&r)->page, 2);
    assert_int_equal(ingest__pager_issue(&r)->page, 5);
    ingest__pager_free(&r);
    free(s);
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
    assert_int_equal(ingest__write_atomic(path, "one\n", 4), 0);
    assert_int_equal(ingest__write_atomic(path, "two!\n", 5), 0);
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
    assert_int_equal(ingest__write_atomic("/nonexistent-dir/x/y", "a", 1), SPATE_ESYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_in_order),  cmocka_unit_test(test_page_out_of_order_and_resume),
        cmocka_unit_test(test_cursor_chain),   cmocka_unit_test(test_link_abandon),
        cmocka_unit_test(test_page_abandon),
        cmocka_unit_test(test_none_style),     cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_page_follow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
