/*
 * fuse.h — graph passes on the lowered program that make it shorter and
 * faster, before memory planning:
 *   - a per-channel constant Mul/Add/Sub after a conv, depthwise conv or
 *     matmul with constant weights folds into its weights and bias (frozen
 *     BatchNorm), possibly several in a row;
 *   - an activation (Relu, Relu6, Elu, Sigmoid, Tanh, LeakyRelu) after a
 *     conv, depthwise conv, matmul or arithmetic step becomes its epilogue;
 *     so does a PReLU with constant per-channel slopes after a conv;
 *   - conv(x) + r, with r a tensor of the same shape (a residual shortcut),
 *     becomes the conv adding r in its epilogue, before its activation (so
 *     conv -> Add -> Relu is one step); the conv then runs where the Add did;
 *   - zero padding of H and W before a convolution becomes the conv's padding.
 * Each applies only when the intermediate tensor has no other reader.
 */
#ifndef KILN_FUSE_H
#define KILN_FUSE_H

#include <stdbool.h>

#include "program.h"

/* Rewrites p in place; dropped steps are removed by kc_compact after it. */
bool kc_fuse(kc_program *p);

#endif
