/* table.c (arc-fanout): the live table of table.h. */
#define _DEFAULT_SOURCE /* TIOCGWINSZ */
#include "table.h"

#include "render.h"

#include <arc/arc.h>

#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Without a window size (a pipe given --table), the classic terminal. */
#define DEFAULT_COLS 80
#define DEFAULT_ROWS 24
/* Column caps, so that one long name or address list cannot push the
 * replies off the screen. */
#define NAME_MAX_WIDTH 40
#define ADDR_MAX_WIDTH 48
#define STATE_WIDTH 13 /* "disconnecting" */
#define TIME_WIDTH 6

void fo_table_init(fo_table *tb, FILE *out)
{
    *tb = (fo_table){0};
    tb->out = out;
    tb->fd = fileno(out);
}

static void window(const fo_table *tb, size_t *cols, size_t *rows)
{
    struct winsize ws;
    *cols = DEFAULT_COLS;
    *rows = DEFAULT_ROWS;
    if (ioctl(tb->fd, TIOCGWINSZ, &ws) == 0) {
        if (ws.ws_col > 0)
            *cols = ws.ws_col;
        if (ws.ws_row > 0)
            *rows = ws.ws_row;
    }
}

/* "0.4s" "12s" "3m05s" "2h10m": at most TIME_WIDTH columns. */
static void duration(fo_text *t, long ms)
{
    if (ms < 0)
        ms = 0;
    long s = ms / 1000;
    if (ms < 10000)
        fo_text_printf(t, "%ld.%lds", s, (ms % 1000) / 100);
    else if (s < 100)
        fo_text_printf(t, "%lds", s);
    else if (s < 3600)
        fo_text_printf(t, "%ldm%02lds", s / 60, s % 60);
    else
        fo_text_printf(t, "%ldh%02ldm", s / 3600, (s / 60) % 60);
}

/* Appends `cell` in exactly `width` columns: padded, or cut with "...".
 * Cells hold escaped text only: a byte is a column. */
static void put_cell(fo_text *line, const fo_text *cell, size_t width, bool last)
{
    size_t n = cell->len;
    if (n > width) {
        if (width > 3) {
            fo_text_put(line, cell->s, width - 3);
            fo_text_puts(line, "...");
        } else {
            fo_text_put(line, cell->s, width);
        }
        n = width;
    } else {
        fo_text_put(line, fo_text_str(cell), n);
    }
    if (!last)
        for (; n < width + 2; n++)
            fo_text_putc(line, ' ');
}

static void put_label(fo_text *line, const char *s, size_t width, fo_text *cell)
{
    fo_text_clear(cell);
    fo_text_puts(cell, s);
    put_cell(line, cell, width, false);
}

/* Ends a line of the frame: cut to the width, the old frame's rest of the
 * line cleared. */
static void end_line(fo_table *tb, size_t start, size_t cols, size_t *lines)
{
    fo_text *f = &tb->frame;
    /* One column short of the edge: a full line leaves some terminals in
     * their pending-wrap state, which would throw the count off. */
    size_t max = cols > 1 ? cols - 1 : cols;
    if (f->len - start > max) {
        fo_text_truncate(f, start + (max > 3 ? max - 3 : max));
        if (max > 3)
            fo_text_puts(f, "...");
    }
    fo_text_puts(f, "\x1b[K\n");
    (*lines)++;
}

static void row(fo_table *tb, const fo_server *sv, size_t wname, size_t waddr, int64_t now)
{
    fo_text *f = &tb->frame;
    fo_text *cell = &tb->cell;
    fo_text_clear(cell);
    fo_escape_line(cell, sv->target->spec, strlen(sv->target->spec));
    put_cell(f, cell, wname, false);
    char label[40];
    arc_state st = sv->member != NULL ? arc_member_state(sv->member) : ARC_STATE_CLOSED;
    put_label(f, fo_state_label(st, label, sizeof label), STATE_WIDTH, cell);
    fo_text_clear(cell);
    if (sv->member != NULL)
        duration(cell, (long)(now - arc_member_since_ms(sv->member)));
    put_cell(f, cell, TIME_WIDTH, false);
    fo_text_clear(cell);
    fo_server_addresses(cell, sv->member);
    put_cell(f, cell, waddr, false);
    if (sv->round > 0)
        fo_text_put(f, fo_text_str(&sv->outcome), sv->outcome.len);
    else
        fo_text_puts(f, "...");
}

void fo_table_draw(fo_table *tb, const fo_server *servers, size_t n, const char *progress,
                   bool final)
{
    size_t cols, rows;
    window(tb, &cols, &rows);
    size_t wname = strlen("SERVER"), waddr = strlen("ADDRESSES");
    for (size_t i = 0; i < n; i++) {
        fo_text_clear(&tb->cell);
        fo_escape_line(&tb->cell, servers[i].target->spec, strlen(servers[i].target->spec));
        if (tb->cell.len > wname)
            wname = tb->cell.len;
        fo_text_clear(&tb->cell);
        fo_server_addresses(&tb->cell, servers[i].member);
        if (tb->cell.len > waddr)
            waddr = tb->cell.len;
    }
    wname = wname < NAME_MAX_WIDTH ? wname : NAME_MAX_WIDTH;
    waddr = waddr < ADDR_MAX_WIDTH ? waddr : ADDR_MAX_WIDTH;

    /* Live, the frame must fit the window: the cursor cannot go back over
     * lines that scrolled off. Header and progress take two lines, the
     * "more" line one. */
    size_t shown = n;
    if (!final && rows > 4 && n + 2 >= rows)
        shown = rows - 4;

    fo_text *f = &tb->frame;
    fo_text_clear(f);
    if (!tb->cursor_hidden && !final) {
        fo_text_puts(f, "\x1b[?25l");
        tb->cursor_hidden = true;
    }
    if (tb->drawn > 0)
        fo_text_printf(f, "\r\x1b[%zuA", tb->drawn);
    size_t lines = 0;
    size_t start = f->len;
    fo_text_clear(&tb->cell);
    put_label(f, "SERVER", wname, &tb->cell);
    put_label(f, "STATE", STATE_WIDTH, &tb->cell);
    put_label(f, "TIME", TIME_WIDTH, &tb->cell);
    put_label(f, "ADDRESSES", waddr, &tb->cell);
    fo_text_puts(f, "REPLY");
    end_line(tb, start, cols, &lines);
    int64_t now = arc_now_ms();
    for (size_t i = 0; i < shown; i++) {
        start = f->len;
        row(tb, &servers[i], wname, waddr, now);
        end_line(tb, start, cols, &lines);
    }
    if (shown < n) {
        start = f->len;
        fo_text_printf(f, "... and %zu more", n - shown);
        end_line(tb, start, cols, &lines);
    }
    start = f->len;
    fo_text_puts(f, progress);
    end_line(tb, start, cols, &lines);
    fo_text_puts(f, "\x1b[J");
    if (final && tb->cursor_hidden) {
        fo_text_puts(f, "\x1b[?25h");
        tb->cursor_hidden = false;
    }
    tb->drawn = final ? 0 : lines;
    if (!f->failed)
        fwrite(f->s, 1, f->len, tb->out);
    fflush(tb->out);
}

void fo_table_free(fo_table *tb)
{
    if (tb->cursor_hidden) {
        fputs("\x1b[?25h", tb->out);
        fflush(tb->out);
    }
    fo_text_free(&tb->frame);
    fo_text_free(&tb->cell);
}
