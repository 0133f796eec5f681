/* arc-fanout: runs one command on many servers at once, on the poll loop
 * through an arc_group, and shows every server's answer as a live table,
 * as lines or as JSON (docs/arc-fanout.md, arc-fanout.1). */
#define _POSIX_C_SOURCE 200809L
#include "options.h"
#include "report.h"
#include "server.h"
#include "table.h"

#include <arc/adapters/poll.h>
#ifdef ARC_FANOUT_TLS
#include <arc/tls.h>
#endif

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The table is redrawn at most this often: enough to watch the clocks
 * move, little enough for a slow terminal or an ssh link. */
#define REDRAW_MS 100
/* The longest a loop pass waits, so that a signal that lands just before
 * poll() is seen soon (the loop has no descriptor of ours to wake it). */
#define MAX_WAIT_MS 100
/* The brief form of a reply kept for the table: wider than any terminal,
 * so that what is cut is cut at the screen's edge. */
#define BRIEF_LIMIT 4096
/* See wait_for_lookups(). */
#define LOOKUP_LINGER_MS 250

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

typedef struct fo_run {
    const fo_config *cfg;
    fo_output output;
    fo_server *servers;
    size_t n;
    arc_poll_loop *loop;
    arc_group *group;
    arc_options member; /* the members' template: lives as the group */
#ifdef ARC_FANOUT_TLS
    arc_tls *tls;
#endif
    size_t *argvlen; /* the command's word lengths */

    unsigned round;      /* the round under way, from 1 */
    int64_t round_start; /* arc_now_ms() */
    bool round_done;
    int64_t round_done_ms;
    size_t answered; /* of this round; error replies included */
    size_t errors;   /* answers that were error replies */
    size_t failed;   /* no answer */
    bool quiet;      /* the round is being dropped: print nothing */

    unsigned rounds_done; /* rounds completed */
    bool last_ok;         /* the last completed round: all fine */
    fo_text last_summary; /* ... and its summary line */

    fo_table table;
    int64_t next_draw;
    fo_text line; /* scratch for one output line */
} fo_run;

/* ---- the fan-out's callbacks ---- */

static void on_reply(arc_group *g, arc_member *m, arc_reply *reply, int status, void *privdata)
{
    (void)g;
    fo_run *run = privdata;
    fo_server *sv = arc_member_data(m);
    sv->pending = false;
    sv->round = run->round;
    sv->answered = reply != NULL;
    sv->error_reply = reply != NULL && reply->type == ARC_REPLY_ERROR;
    sv->ms = (long)(arc_now_ms() - run->round_start);
    if (reply == NULL)
        run->failed++;
    else
        run->answered++;
    if (sv->error_reply)
        run->errors++;

    fo_report rep = {sv, reply, status, run->round, run->cfg->timeout_ms};
    fo_text_clear(&sv->outcome);
    fo_report_brief(&sv->outcome, &rep, BRIEF_LIMIT);

    if (run->quiet || run->output == FO_OUTPUT_TABLE)
        return;
    fo_text_clear(&run->line);
    if (run->output == FO_OUTPUT_JSON)
        fo_report_json(&run->line, &rep);
    else
        fo_report_line(&run->line, &rep);
    if (run->line.failed)
        fprintf(stderr, "arc-fanout: %s: out of memory for its output line\n", sv->target->spec);
    else
        fwrite(run->line.s, 1, run->line.len, stdout);
    /* As each server ends, not when a buffer fills: the reader may be
     * watching, or a pipe consumer may act line by line. */
    fflush(stdout);
}

static void on_done(arc_group *g, arc_fanout *f, void *privdata)
{
    (void)g;
    (void)f;
    fo_run *run = privdata;
    run->round_done = true;
    run->round_done_ms = arc_now_ms();
}

/* ---- rounds ---- */

static void summary(fo_text *t, const fo_run *run, int64_t now)
{
    fo_text_printf(t, "%zu server%s: %zu answered", run->n, run->n == 1 ? "" : "s", run->answered);
    if (run->errors > 0)
        fo_text_printf(t, " (%zu with an error reply)", run->errors);
    fo_text_printf(t, ", %zu failed in %.2f s", run->failed,
                   (double)(now - run->round_start) / 1000.0);
}

static void draw(fo_run *run, bool final)
{
    fo_text progress = {0};
    if (run->cfg->every_ms > 0)
        fo_text_printf(&progress, "round %u: ", run->round);
    size_t pending = run->n - run->answered - run->failed;
    fo_text_printf(&progress, "answered %zu / failed %zu / pending %zu", run->answered, run->failed,
                   pending);
    if (run->errors > 0)
        fo_text_printf(&progress, " (%zu error repl%s)", run->errors,
                       run->errors == 1 ? "y" : "ies");
    if (pending == 0)
        fo_text_printf(&progress, " in %.2f s",
                       (double)(run->round_done_ms - run->round_start) / 1000.0);
    fo_table_draw(&run->table, run->servers, run->n, fo_text_str(&progress), final);
    fo_text_free(&progress);
    run->next_draw = arc_now_ms() + REDRAW_MS;
}

static bool all_ended(const fo_run *run)
{
    return arc_group_count(run->group, ARC_STATE_CLOSED) +
               arc_group_count(run->group, ARC_STATE_FAILED) ==
           arc_group_size(run->group);
}

/* One pass of the loop, waiting at most `wait_ms`, and a redraw when due. */
static int step(fo_run *run, long wait_ms)
{
    if (wait_ms > MAX_WAIT_MS)
        wait_ms = MAX_WAIT_MS;
    if (run->output == FO_OUTPUT_TABLE) {
        int64_t until_draw = run->next_draw - arc_now_ms();
        if (until_draw < wait_ms)
            wait_ms = until_draw > 0 ? (long)until_draw : 0;
    }
    if (all_ended(run)) {
        /* Nothing left to watch: run_once would return at once, and the
         * wait for the next round would spin. */
        struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    } else if (arc_poll_loop_run_once(run->loop, wait_ms) < 0) {
        perror("arc-fanout: poll");
        return -1;
    }
    if (run->output == FO_OUTPUT_TABLE && arc_now_ms() >= run->next_draw)
        draw(run, false);
    return 0;
}

static arc_member *add_member(fo_run *run, fo_server *sv)
{
    const fo_target *t = sv->target;
    sv->member = t->path != NULL ? arc_group_add_unix(run->group, t->path, sv)
                                 : arc_group_add(run->group, t->host, t->port, sv);
    if (sv->member == NULL)
        fputs("arc-fanout: out of memory\n", stderr);
    return sv->member;
}

/* With --every, a server whose connection ended (refused, lost, timed
 * out by the health check) gets a new member, so that each round tries
 * it afresh and says how it is now. A reconnect policy would not do:
 * commands queued while its first connect fails wait for a later one
 * until they time out, so one server down would hold every round up. */
static int renew_ended(fo_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        fo_server *sv = &run->servers[i];
        arc_state st = arc_member_state(sv->member);
        if (st != ARC_STATE_CLOSED && st != ARC_STATE_FAILED)
            continue;
        arc_group_remove(run->group, sv->member);
        if (add_member(run, sv) == NULL)
            return -1;
    }
    return 0;
}

static int start_round(fo_run *run)
{
    if (run->round > 0 && renew_ended(run) != 0)
        return -1;
    run->round++;
    run->round_start = arc_now_ms();
    run->round_done = false;
    run->answered = run->errors = run->failed = 0;
    for (size_t i = 0; i < run->n; i++)
        run->servers[i].pending = true;
    arc_fanout_options fo = {0};
    fo.timeout_ms = run->cfg->timeout_ms;
    fo.on_reply = on_reply;
    fo.on_done = on_done;
    fo.privdata = run;
    int rc = arc_group_fanout_argv(run->group, &fo, run->cfg->argc, run->cfg->argv, run->argvlen);
    if (rc != ARC_OK) {
        fprintf(stderr, "arc-fanout: the command cannot be sent: %s\n", arc_strerror(rc));
        return -1;
    }
    return 0;
}

/* A round completed: its outcome is what the exit status says. */
static void end_round(fo_run *run)
{
    run->rounds_done++;
    run->last_ok = run->failed == 0 && run->errors == 0;
    fo_text_clear(&run->last_summary);
    summary(&run->last_summary, run, run->round_done_ms);
    if (run->output == FO_OUTPUT_TABLE)
        draw(run, run->cfg->every_ms == 0);
    else if (run->cfg->every_ms > 0)
        fprintf(stderr, "round %u: %s\n", run->round, fo_text_str(&run->last_summary));
}

/* Runs the rounds until the last (or SIGINT). 0, or -1 on a failure of
 * the loop or of the fan-out itself. */
static int run_rounds(fo_run *run)
{
    for (;;) {
        if (start_round(run) != 0)
            return -1;
        while (!run->round_done && !interrupted)
            if (step(run, MAX_WAIT_MS) != 0)
                return -1;
        if (!run->round_done)
            return 0;
        end_round(run);
        if (run->cfg->every_ms == 0)
            return 0;
        /* The next round starts on the beat; one that ran over starts
         * at once rather than piling up. */
        int64_t next = run->round_start + run->cfg->every_ms;
        int64_t now;
        while (!interrupted && (now = arc_now_ms()) < next)
            if (step(run, (long)(next - now)) != 0)
                return -1;
        if (interrupted)
            return 0;
    }
}

/* ---- setting up ---- */

static int setup_tls(fo_run *run)
{
    const fo_config *cfg = run->cfg;
    if (!cfg->tls)
        return 0;
#ifdef ARC_FANOUT_TLS
    arc_tls_options t = {0};
    t.ca_file = cfg->cacert;
    t.cert_file = cfg->cert;
    t.key_file = cfg->key;
    t.server_name = cfg->sni;
    t.verify = cfg->insecure ? ARC_TLS_VERIFY_NONE : ARC_TLS_VERIFY_FULL;
    char err[256];
    run->tls = arc_tls_new(&t, err, sizeof err);
    if (run->tls == NULL) {
        fprintf(stderr, "arc-fanout: TLS: %s\n", err);
        return -1;
    }
    run->member.transport = arc_tls_transport(run->tls);
    return 0;
#else
    fputs("arc-fanout: this arc-fanout was built without TLS (libarc-tls)\n", stderr);
    return -1;
#endif
}

static void setup_member_options(fo_run *run)
{
    const fo_config *cfg = run->cfg;
    arc_options *o = &run->member;
    o->connect_timeout_ms = cfg->connect_timeout_ms;
    o->resp = cfg->resp;
    o->username = cfg->user;
    o->password = cfg->password;
    o->db = cfg->db;
    if (cfg->every_ms > 0) {
        /* Watching: a server that went silent with its connection open
         * must end that connection (so that the next round connects
         * again), which commands that only time out never would. */
        o->health_check_ms = cfg->timeout_ms > 1000 ? cfg->timeout_ms : 1000;
    }
}

static int setup(fo_run *run)
{
    const fo_config *cfg = run->cfg;
    run->n = cfg->targets.n;
    run->servers = calloc(run->n, sizeof *run->servers);
    run->argvlen = calloc((size_t)cfg->argc, sizeof *run->argvlen);
    if (run->servers == NULL || run->argvlen == NULL) {
        fputs("arc-fanout: out of memory\n", stderr);
        return -1;
    }
    for (int i = 0; i < cfg->argc; i++)
        run->argvlen[i] = strlen(cfg->argv[i]);
    setup_member_options(run);
    if (setup_tls(run) != 0)
        return FO_EXIT_USAGE;
    arc_group_options go = {0};
    go.max_connecting = cfg->concurrency;
    go.member_options = &run->member;
    run->loop = arc_poll_loop_new();
    run->group = run->loop != NULL ? arc_group_new(&go) : NULL;
    if (run->group == NULL) {
        fputs("arc-fanout: out of memory\n", stderr);
        return -1;
    }
    for (size_t i = 0; i < run->n; i++) {
        run->servers[i].target = &cfg->targets.v[i];
        if (add_member(run, &run->servers[i]) == NULL)
            return -1;
    }
    int rc = arc_group_attach(run->group, arc_poll_attach_loop, run->loop);
    if (rc != ARC_OK) {
        fprintf(stderr, "arc-fanout: cannot start: %s\n", arc_strerror(rc));
        return -1;
    }
    return 0;
}

/* Frees everything, the group first: its members' contexts are attached
 * to the loop, and arc_poll_loop_free() would free them behind the
 * group's back. */
static void teardown(fo_run *run)
{
    arc_group_free(run->group);
    run->group = NULL;
    for (size_t i = 0; i < run->n && run->servers != NULL; i++) {
        run->servers[i].member = NULL;
        fo_text_free(&run->servers[i].outcome);
    }
    arc_poll_loop_free(run->loop);
#ifdef ARC_FANOUT_TLS
    arc_tls_free(run->tls); /* after the last context that used it */
#endif
    free(run->servers);
    free(run->argvlen);
    fo_text_free(&run->line);
    fo_text_free(&run->last_summary);
    fo_table_free(&run->table);
}

/* How many threads besides this one the process has (0 where /proc is
 * not there to say). */
static int other_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

/* arc looks host names up on detached threads of its own and offers no
 * way to wait for them. One that has handed its answer over may still be
 * on its way out when main returns, and its thread-local block then shows
 * as "possibly lost" under valgrind. Such a thread is gone within
 * microseconds; one still asking a slow DNS server (its context gave it
 * up) is not waited for past LOOKUP_LINGER_MS. */
static void wait_for_lookups(void)
{
    int64_t end = arc_now_ms() + LOOKUP_LINGER_MS;
    while (other_threads() > 0 && arc_now_ms() < end) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() must return so that the loop sees the flag. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static fo_output pick_output(fo_output asked)
{
    if (asked != FO_OUTPUT_AUTO)
        return asked;
    return isatty(STDOUT_FILENO) ? FO_OUTPUT_TABLE : FO_OUTPUT_LINES;
}

int main(int argc, char **argv)
{
    fo_config cfg;
    fo_parse_result parsed = fo_config_parse(&cfg, argc, argv, stdout, stderr);
    if (parsed != FO_PARSE_RUN) {
        fo_config_free(&cfg);
        return parsed == FO_PARSE_DONE ? FO_EXIT_OK : FO_EXIT_USAGE;
    }
    fo_run run = {0};
    run.cfg = &cfg;
    run.output = pick_output(cfg.output);
    fo_table_init(&run.table, stdout);
    catch_signals();
    int rc = setup(&run);
    int status;
    if (rc != 0) {
        status = rc > 0 ? rc : FO_EXIT_FAILED;
    } else if (run_rounds(&run) != 0) {
        status = FO_EXIT_FAILED;
    } else if (cfg.every_ms > 0) {
        status = run.rounds_done == 0 ? FO_EXIT_INTERRUPTED
                 : run.last_ok        ? FO_EXIT_OK
                                      : FO_EXIT_FAILED;
    } else {
        status = !run.round_done ? FO_EXIT_INTERRUPTED : run.last_ok ? FO_EXIT_OK : FO_EXIT_FAILED;
    }

    bool abandoned = rc == 0 && !run.round_done;
    /* The last frame stays on the screen, the cursor below it. */
    if (rc == 0 && run.output == FO_OUTPUT_TABLE && (abandoned || cfg.every_ms > 0))
        draw(&run, true);
    /* A round cut short: with --every it is dropped; a single round
     * reports its servers still pending as interrupted (their callbacks
     * come from arc_group_free()), so that every server has its line. */
    run.quiet = cfg.every_ms > 0 || run.output == FO_OUTPUT_TABLE;
    arc_group_free(run.group);
    run.group = NULL;
    if (rc == 0 && cfg.every_ms > 0) {
        if (run.rounds_done == 0)
            fprintf(stderr, "interrupted before the first round completed\n");
        else
            fprintf(stderr, "%u round%s; the last: %s\n", run.rounds_done,
                    run.rounds_done == 1 ? "" : "s", fo_text_str(&run.last_summary));
    } else if (rc == 0) {
        fo_text line = {0};
        if (abandoned) {
            run.round_done_ms = arc_now_ms();
            summary(&line, &run, run.round_done_ms);
            fo_text_puts(&line, " (interrupted)");
        } else {
            fo_text_puts(&line, fo_text_str(&run.last_summary));
        }
        fprintf(stderr, "%s\n", fo_text_str(&line));
        fo_text_free(&line);
    }
    teardown(&run);
    fo_config_free(&cfg);
    wait_for_lookups();
    return status;
}
