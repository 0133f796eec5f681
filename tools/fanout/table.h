/* table.h (arc-fanout): the live table drawn on a terminal: a row per
 * server and a progress line, redrawn in place with ANSI escapes. */
#ifndef ARC_FANOUT_TABLE_H
#define ARC_FANOUT_TABLE_H

#include "server.h"
#include "text.h"

#include <stdio.h>

typedef struct fo_table {
    FILE *out;
    int fd;       /* out's descriptor, for its window size */
    size_t drawn; /* lines of the frame on screen, to go back over */
    bool cursor_hidden;
    fo_text frame; /* the frame being built: written in one go */
    fo_text cell;  /* scratch for one cell */
} fo_table;

void fo_table_init(fo_table *tb, FILE *out);

/* Draws the frame over the previous one: a header, a row per server, then
 * `progress`. Every line is cut to the terminal's width (so that none
 * wraps and the next frame knows how far to go back). While live, rows
 * that do not fit the window's height are summed up in one line; the
 * final frame (`final`) shows them all and leaves the cursor below. */
void fo_table_draw(fo_table *tb, const fo_server *servers, size_t n, const char *progress,
                   bool final);

/* Shows the cursor again if a frame hid it; frees the buffers. */
void fo_table_free(fo_table *tb);

#endif
