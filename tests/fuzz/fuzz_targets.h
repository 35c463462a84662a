/*
 * fuzz_targets.h — what each fuzz target does with one input. The libFuzzer
 * entry points (tests/fuzz/fuzz_*.c) and the regression replay
 * (tests/c/test_fuzz_regressions.c) run exactly this code.
 *
 * Every function must return normally whatever the bytes: a crash, a hang, a
 * sanitizer report or an abort() here is a bug. The only aborts are the
 * harness's own checks of what must always hold (a bundle the converter
 * built must load), which print why first.
 */
#ifndef KILN_FUZZ_TARGETS_H
#define KILN_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* The bundles the harness runs after loading them: bigger ones are only loaded,
 * so that a valid bundle describing a huge computation is not taken for a hang.
 * The cost of a run is its FLOPs plus KF_STEP_COST per step executed, loops
 * counted at their iteration caps. */
#define KF_MAX_RUN_ARENA ((size_t)64 << 20)
#define KF_MAX_RUN_COST 1e7
#define KF_STEP_COST 1000.0

/* A .kiln bundle: loaded, then (within the limits above) a context is created,
 * every input fed with zeros, the plan run and every output byte read. The
 * header's file_size and checksum are first set to match the input (if it is
 * long enough to have a header), so that mutations reach the validation
 * behind them. */
void kf_bundle(const uint8_t *data, size_t size);

/* A binary GraphDef: read_pb, then kc_convert and kc_build_bundle with default
 * options, then the bundle as above. Programs whose tensors (constants and
 * activations) add up to more than KF_MAX_BUILD_BYTES are not built: tiny
 * graphs can describe huge tensors, and building them is only time. */
#define KF_MAX_BUILD_BYTES (64.0 * (1 << 20))
void kf_pb(const uint8_t *data, size_t size);

/* A tfjs graph model: the bytes up to the first KF_SHARD_MARKER are model.json,
 * each part after a marker is a weight file named "0", "1", ... (at most
 * KF_MAX_SHARDS; later markers stay in the last file's bytes). They are
 * written to a private temporary directory, read with read_tfjs, then
 * converted and run like kf_pb. */
#define KF_SHARD_MARKER "\n#KILN-SHARD#\n"
#define KF_MAX_SHARDS 8
void kf_tfjs(const uint8_t *data, size_t size);

/* A SavedModel directory: saved_model.pb, then after a KF_SHARD_MARKER
 * variables/variables.index, then after another the checkpoint's one data
 * shard; read with read_savedmodel (signature serving_default), then
 * converted and run like kf_pb. */
void kf_savedmodel(const uint8_t *data, size_t size);

/* A Keras model file: written to a private temporary directory as model.keras
 * if it starts like a zip ("PK\3\4"), else as model.h5, then read with
 * read_keras_file (which reads it first in a forked child: a crash there, or a
 * read longer than KF_KERAS_READ_MS, HDF5's as much as ours, is a named
 * error) and converted and run like kf_pb. The CRC-32 in the central
 * directory of each stored zip entry is first set to match its bytes, so that
 * mutations reach the HDF5 file and the config behind the check. Two things
 * abort, as bugs: the child stopped other than by a signal or its own exit (a
 * sanitizer report in the child), and HDF5 objects left open after reading.
 * Under ASan, a report in the child of HDF5 reading memory HDF5 allocated
 * (through a libc function ASan intercepts: HDF5 1.10 over-reads damaged
 * attribute names) ends the child with exit status KF_HDF5_REPORT_EXIT
 * instead: HDF5's bug, which the child is there to contain. */
#define KF_KERAS_READ_MS 500
#define KF_HDF5_REPORT_EXIT 86
void kf_kerasfile(const uint8_t *data, size_t size);

#endif
