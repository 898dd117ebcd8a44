/*
 * plot: draw a set of recorded runs with gnuplot (PNG and SVG): the JCT CDF
 * of each run, GPU/CPU/memory allocation vs demand over time, average JCT vs
 * load for each policy and mode (the shape of the paper's Figures 7 and 8),
 * and the JCT CDF by mode at each load. Data files and the gnuplot script are
 * kept next to the images (DIR/data/, DIR/plots.gp) so a plot can be redrawn
 * or restyled by hand.
 */
#ifndef SYNERGY_PLOT_H
#define SYNERGY_PLOT_H

#include "store.h"

/* Draw the complete runs matching f into dir (created if missing). Which
 * plots appear depends on the runs: a load plot needs two loads, a by-mode
 * CDF two modes. 0, or -1 with err (no runs, gnuplot missing or failing). */
int plot_write(store_t *st, const struct store_filter *f, const char *dir, struct err *err);

#endif
