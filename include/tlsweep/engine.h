/* engine.h - one configuration of the article's experiment.
 *
 * For a point (shift, lambda, n_target, seed) and fixed parameters, runs the
 * three methods on the same data: an RBF SVM from scratch on the labelled
 * target points, "direct transfer" (the SVM trained on the source), and the
 * MLP trained with cross-entropy + lambda * MMD^2 then fine-tuned on the
 * labelled target points. A pure library: no MPI, no globals, no output;
 * the result depends only on (params, point).
 *
 * Common random numbers: the source set depends on the seed only; the target
 * test set on the seed, then rotated by the shift; the labelled target set
 * on (seed, n_target), then rotated; network init and batch order on the
 * seed only. Points that differ only in lambda see identical data and init.
 *
 * With data files (source_data/target_data), per seed: n_source source
 * points drawn without replacement (all: file order); n_target labelled
 * target points stratified by class (stream of (seed, n_target)); n_test
 * test points from the rest (stream of (seed, n_target)). The shift rotates
 * the target points: images (image_h, image_w) bilinearly about their
 * centre, other points in their first two coordinates. Standardisation, if
 * any, is applied last, to source and target alike. The sets are drawn by
 * data.h (tls_data_draw); the alignment loss is a row of align.h's table. */
#ifndef TLSWEEP_ENGINE_H
#define TLSWEEP_ENGINE_H

#include "tlsweep/params.h"
#include "tlsweep/result.h"

/* Runs the three methods for pt, filling r (created for p or for shapes at
 * least p's). Returns 0 with r->s.status DONE, or with status FAILED and
 * r->s.reason set when a method or a distance itself fails (non-finite
 * training, libsvm refusal): that is a result, not an error; the methods
 * that succeeded keep their metrics. Returns non-zero only for errors that
 * are not the configuration's (out of memory). */
int tls_engine_run(tls_result *r, const tls_engine_params *p, const tls_point *pt);

#endif
