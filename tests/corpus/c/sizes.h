/* Problem sizes shared by the benchmark drivers. */
#ifndef SIZES_H
#define SIZES_H

#define M_SIZE 512
#define N_SIZE 256
#define K_SIZE 128

#endif
