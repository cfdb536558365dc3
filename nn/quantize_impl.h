/* Private to nn/quantize.c and nn/quantize_ref.c: the byte layout shared by every block struct. */
#ifndef LETHE_QUANTIZE_IMPL_H
#define LETHE_QUANTIZE_IMPL_H

#include <stddef.h>

#include "nn/nn.h"

#define QUANT_BLOCK_D 0             /* float d */
#define QUANT_BLOCK_ZP 4            /* uint8_t zp */
#define QUANT_BLOCK_QS 5            /* uint8_t qs[] */

_Static_assert(offsetof(struct quant_block_q8_g32, zp) == QUANT_BLOCK_ZP &&
               offsetof(struct quant_block_q8_g32, qs) == QUANT_BLOCK_QS &&
               offsetof(struct quant_block_q8_g64, qs) == QUANT_BLOCK_QS &&
               offsetof(struct quant_block_q8_g128, qs) == QUANT_BLOCK_QS &&
               offsetof(struct quant_block_q4_g32, qs) == QUANT_BLOCK_QS &&
               offsetof(struct quant_block_q4_g64, qs) == QUANT_BLOCK_QS &&
               offsetof(struct quant_block_q4_g128, qs) == QUANT_BLOCK_QS, "block layout");

#endif
