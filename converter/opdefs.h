/* opdefs.h — the attribute defaults of TensorFlow's OpDefs for the ops Kiln
 * lowers. GraphDefs may leave out any attribute equal to its default (old
 * frozen graphs omit `dilations` on Conv2D; TF2 SavedModels strip all
 * defaults), so they are filled in before lowering. */
#ifndef KILN_OPDEFS_H
#define KILN_OPDEFS_H

#include <stdbool.h>

#include "tf_graph.h"

/* Adds every missing attribute that has a default to every node. */
bool tf_apply_default_attrs(tf_graph *g);

#endif
