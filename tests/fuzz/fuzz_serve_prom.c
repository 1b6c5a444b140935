/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_serve_prom.c -- libFuzzer target: a stage's /metrics bytes -> samples, sums, histograms. */
#include "serve/serve_internal.h"
#include "spate/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct serve_prom p;
    int rc = serve__prom_parse((const char *)data, size, &p);
    if (rc != 0) {
        /* An error hands nothing out: the caller has nothing to free. */
        if (p.s || p.n || p.cap)
            abort();
        return 0;
    }
    char v[64];
    for (size_t i = 0; i < p.n; i++) {
        serve__prom_label(p.s[i].labels, "le", v, sizeof v);
        serve__prom_label(p.s[i].labels, "source", v, 1);
        serve__prom_sum(&p, p.s[i].name, p.s[i].labels, NULL);
    }
    static const char *const words[] = {"e2e", "latency", NULL};
    const char *fam = serve__prom_find_name(&p, "", words, "_bucket");
    char name[160] = "h";
    if (fam && strlen(fam) - strlen("_bucket") < sizeof name) {
        memcpy(name, fam, strlen(fam) - strlen("_bucket"));
        name[strlen(fam) - strlen("_bucket")] = '\0';
    }
    /* What the sampler does with two scrapes: now against before, and the reverse. */
    struct serve_hist h, empty;
    rc = serve__prom_histogram(&p, name, &h);
    if (rc != 0 && h.n != 0)
        abort();
    memset(&empty, 0, sizeof empty);
    if (rc == 0) {
        for (size_t k = 1; k < h.n; k++)
            if (!(h.bounds[k - 1] < h.bounds[k]))
                abort();
        uint64_t n;
        serve__hist_quantile(&h, NULL, 0.99, &n);
        serve__hist_quantile(&h, &h, 0.5, &n);
        serve__hist_quantile(&empty, &h, 0.5, &n);
    }
    struct serve_sample s;
    memset(&s, 0, sizeof s);
    serve__sample_from_ingest(&s, &p);
    serve__sample_from_sink(&s, &p, "ks", &h);
    if (h.n)
        s.p50 = serve__hist_quantile(&h, NULL, 0.5, NULL);
    struct spate_buf j = {0};
    serve__sample_json(&s, &j);
    spate_buf_free(&j);
    serve__prom_free(&p);
    return 0;
}
