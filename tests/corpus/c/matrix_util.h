/* Small helpers for row-major matrices stored in flat arrays. */
#ifndef MATRIX_UTIL_H
#define MATRIX_UTIL_H

#define ROWS 384
#define COLS 384
#define INNER 768
#define AT(m, r, c, ld) ((m)[(r) * (ld) + (c)])

typedef float real_t;

#endif
