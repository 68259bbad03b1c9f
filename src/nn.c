#include "tlsweep/nn.h"

#include <cblas.h>
#include <math.h>

void tls_linear_forward(float *out, const float *inp, const float *W, const float *b, int B,
                        int Din, int Dout) {
    for (int i = 0; i < B; i++)
        for (int o = 0; o < Dout; o++) out[(size_t)i * Dout + o] = b[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, Dout, Din, 1.0f, inp, Din, W, Din, 1.0f,
                out, Dout);
}

void tls_linear_backward(float *dinp, float *dW, float *db, const float *dout, const float *inp,
                         const float *W, int B, int Din, int Dout) {
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, Din, Dout, 1.0f, dout, Dout, W,
                    Din, 1.0f, dinp, Din);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Dout, Din, B, 1.0f, dout, Dout, inp, Din,
                1.0f, dW, Din);
    for (int i = 0; i < B; i++)
        for (int o = 0; o < Dout; o++) db[o] += dout[(size_t)i * Dout + o];
}

void tls_relu_forward(float *out, const float *inp, int n) {
    for (int i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void tls_relu_backward(float *d, const float *out, int n) {
    for (int i = 0; i < n; i++) d[i] = out[i] > 0.0f ? d[i] : 0.0f;
}

double tls_crossentropy_forward(float *probs, const float *logits, const int *y, int B, int C) {
    double loss = 0.0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * C;
        float *p = probs + (size_t)i * C;
        float zmax = z[0];
        for (int c = 1; c < C; c++) zmax = z[c] > zmax ? z[c] : zmax;
        double sum = 0.0;
        for (int c = 0; c < C; c++) {
            p[c] = expf(z[c] - zmax);
            sum += p[c];
        }
        for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
        loss += -((double)z[y[i]] - zmax - log(sum));
    }
    return loss / B;
}

void tls_crossentropy_backward(float *dlogits, const float *probs, const int *y, float dloss, int B,
                               int C) {
    float s = dloss / (float)B;
    for (int i = 0; i < B; i++)
        for (int c = 0; c < C; c++) {
            float t = c == y[i] ? 1.0f : 0.0f;
            dlogits[(size_t)i * C + c] += s * (probs[(size_t)i * C + c] - t);
        }
}

void tls_argmax_rows(int *pred, const float *logits, int B, int C) {
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (z[c] > z[best]) best = c;
        pred[i] = best;
    }
}
