/* nn.h - hand-written forward/backward passes of the layers the article uses.
 *
 * Argument order (llm.c's): outputs first, then inputs and weights, then
 * sizes. Forward passes overwrite their outputs; backward passes ADD into the
 * gradients they are given (call tls_model_zero_grad once per step). All
 * buffers are row-major float32.
 *
 * Layer products run in register-blocked loops (AVX-512, AVX2 and baseline
 * copies that return the same bits: no fused multiply-adds; see
 * tls_nn_select), and in OpenBLAS from 2^20 multiply-adds per product up,
 * where it is faster (784-pixel inputs). */
#ifndef TLSWEEP_NN_H
#define TLSWEEP_NN_H

#include <stddef.h>

/* out (B, Dout) = inp (B, Din) @ W^T + b, with W (Dout, Din) as PyTorch stores it and b (Dout). */
void tls_linear_forward(float *out, const float *inp, const float *W, const float *b, int B,
                        int Din, int Dout);
/* dinp (B, Din) += dout (B, Dout) @ W;  dW (Dout, Din) += dout^T @ inp;  db (Dout) += column sums
 * of dout. dinp may be NULL when the input needs no gradient; dW and db both NULL when the
 * weights need none. */
void tls_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                         const float *W, int B, int Din, int Dout);

/* tls_linear_forward, then tls_relu_forward on out, in one pass; the same bits. */
void tls_linear_relu_forward(float *out, const float *inp, const float *W, const float *b, int B,
                             int Din, int Dout);
/* The backward pass of a linear layer whose input inp is a ReLU's output:
 * dinp (B, Din) = dout @ W where inp > 0, 0 elsewhere (overwritten, not
 * added to: zeroing dinp, tls_linear_backward and tls_relu_backward(dinp,
 * inp) in one pass; the same bits); dW, db as tls_linear_backward. */
void tls_linear_relu_backward(float *dinp, float *dW, float *db, const float *dout,
                              const float *inp, const float *W, int B, int Din, int Dout);

/* out (n) = max(inp, 0); out may alias inp. */
void tls_relu_forward(float *out, const float *inp, int n);
/* ReLU backward in place: d (n) keeps its value where out > 0 and becomes 0
 * elsewhere (PyTorch's subgradient 0 at 0). d holds dout on entry, dinp on exit. */
void tls_relu_backward(float *d, const float *out, int n);

/* One Adam step on n parameters p with moments m, v and gradients g, all (n):
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g g;
 *   p -= step_size m / (sqrt(v) / bc2_sqrt + eps)
 * in float, in that order (step_size = lr / (1 - beta1^t), bc2_sqrt =
 * sqrt(1 - beta2^t)). Every copy (tls_nn_select) returns the same bits. */
void tls_adam_update(float *p, float *m, float *v, const float *g, size_t n, float beta1,
                     float beta2, float step_size, float bc2_sqrt, float eps);

/* Chooses the copy of the layer products and of Adam for the whole process:
 * "auto" (the default: the widest this CPU runs), "avx512", "avx2" or
 * "generic"; all return the same bits. Returns 0, or -1 for an unknown name or a copy this
 * CPU cannot run (the choice is then unchanged). */
int tls_nn_select(const char *name);
/* Name of the layer products' copy in use. */
const char *tls_nn_kernel(void);

/* Mean cross-entropy of logits (B,C) against labels y (B) in [0,C).
 * Writes the softmax probabilities (B,C) for the backward pass; returns the loss. */
double tls_crossentropy_forward(float *probs, const float *logits, const int *y, int B, int C);
/* dlogits (B,C) += dloss * (probs - onehot(y)) / B. */
void tls_crossentropy_backward(float *dlogits, const float *probs, const int *y, float dloss, int B,
                               int C);

/* Softmax of each row of logits (B,C) into probs (B,C), as the cross-entropy computes it. */
void tls_softmax_forward(float *probs, const float *logits, int B, int C);

/* Mean binary cross-entropy of logits (B) against labels y (B) in {0, 1}
 * (PyTorch's BCEWithLogitsLoss); writes the sigmoids (B) for the backward
 * pass; returns the loss. */
double tls_bce_forward(float *probs, const float *logits, const int *y, int B);
/* dlogits (B) += dloss * (probs - y) / B. */
void tls_bce_backward(float *dlogits, const float *probs, const int *y, float dloss, int B);

/* argmax over each row of logits (B,C) into pred (B); ties go to the lowest class. */
void tls_argmax_rows(int *pred, const float *logits, int B, int C);

#endif
