// The C++ API of dpfl's neural-network kernels: the forward and backward passes of the built-in
// models (dense layers, activations, softmax cross-entropy, embedding bags), the ghost norms that
// give per-sample gradient norms without materialising per-sample gradients, and the optimizer
// updates. Plain C++17, no Node.
//
// Conventions: contiguous row-major float32; a dense weight is stored in x out (Y = X·W + b);
// kernels write into caller-provided outputs, check every argument before touching memory and
// return a Status. Work is split with dpfl::parallel_for over output rows (or columns), each
// output element written by one chunk with a fixed summation order, so results are bit-identical
// for every thread count.
#pragma once
#include <cstdint>

#include "dpfl/status.h"

namespace dpfl {
namespace nn {

// ---- GEMM ------------------------------------------------------------------------------------

// C (m x n) = A (m x k) · B (k x n), or C += A·B when accumulate. Cache-blocked; the inner loop runs
// along contiguous rows of B and C so the compiler vectorises it with the build's flags.
Status gemm_nn(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool accumulate);

// C (m x n) = A (m x k) · Bᵀ with B (n x k): B is transposed into scratch once, then gemm_nn.
Status gemm_nt(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, bool accumulate);

// C (m x n) = Σ_r s_r · A[r]ᵀ ⊗ B[r] over the k rows of A (k x m) and B (k x n): the weight gradient
// Xᵀ·diag(s)·dY. row_scale (k floats) may be null (all ones). accumulate adds to C.
Status gemm_tn(const float* a, const float* b, const float* row_scale, float* c, int64_t m, int64_t n, int64_t k,
               bool accumulate);

// ---- Dense layers -----------------------------------------------------------------------------

// Y (batch x out) = X (batch x in) · W (in x out) + bias (out; may be null).
Status dense_forward(const float* x, const float* w, const float* bias, float* y, int64_t batch, int64_t in,
                     int64_t out);

// dX (batch x in) = dY (batch x out) · Wᵀ.
Status dense_backward_input(const float* dy, const float* w, float* dx, int64_t batch, int64_t in, int64_t out);

// dW (in x out) (+)= Xᵀ·diag(s)·dY and dbias (out; may be null) (+)= Σ_r s_r dY[r] (float64 sums).
// row_scale (batch; may be null = ones) is the per-example clipping factor of book-keeping.
Status dense_backward_params(const float* x, const float* dy, const float* row_scale, float* dw, float* dbias,
                             int64_t batch, int64_t in, int64_t out, bool accumulate);

// Ghost norms of a dense layer: the per-example weight gradient is x_r ⊗ dy_r, so its squared
// Frobenius norm is ‖x_r‖²·‖dy_r‖²; with_bias adds ‖dy_r‖² (the bias gradient dy_r). Written to
// sq_norms (batch float64s), computed in float64.
Status dense_ghost_sqnorms(const float* x, const float* dy, double* sq_norms, int64_t batch, int64_t in, int64_t out,
                           bool with_bias);

// dbias (out) (+)= Σ_r s_r dY[r], float64 sums; row_scale may be null.
Status bias_backward(const float* dy, const float* row_scale, float* dbias, int64_t batch, int64_t out,
                     bool accumulate);

// sq_norms[r] = ‖y_r‖² (float64) for the batch rows of y (batch x dim).
Status row_sqnorms(const float* y, double* sq_norms, int64_t batch, int64_t dim);

// ---- Activations (elementwise; in place allowed) ----------------------------------------------

enum class Activation : int { kRelu = 0, kTanh = 1 };

// y = f(x).
Status activation_forward(Activation f, const float* x, float* y, int64_t n);
// dx = dy · f'(x) expressed through y = f(x): relu: y > 0; tanh: 1 − y².
Status activation_backward(Activation f, const float* y, const float* dy, float* dx, int64_t n);

// ---- Loss -------------------------------------------------------------------------------------

// Softmax cross-entropy of each row of logits (batch x classes) against labels (batch int32s in
// [0, classes)): loss[r] = logsumexp(z_r) − z_r[label_r] (stable: max subtracted, float64 sums),
// dlogits (batch x classes; may be null) = softmax(z_r) − onehot(label_r): the gradient of the
// per-example loss (not averaged). loss may be null.
Status softmax_cross_entropy(const float* logits, const int32_t* labels, float* loss, float* dlogits, int64_t batch,
                             int64_t classes);

// ---- Embedding bags ---------------------------------------------------------------------------

// A batch of bags in CSR form: bag r holds the tokens indices[offsets[r] .. offsets[r+1]) (row ids
// of the table), with per-token weights (null: the mean, weight 1/len of the bag). offsets has
// batch + 1 non-decreasing entries within [0, index_count].
struct Bags {
  const int32_t* indices;
  const int32_t* offsets;
  const float* weights;
  int64_t batch;
  int64_t index_count;
};

// out (batch x dim) = Σ_t w_t · table[indices_t] (+ bias (dim; may be null)). An empty bag gives
// zeros (plus bias). Every index must lie in [0, rows).
Status embedding_bag_forward(const float* table, int64_t rows, int64_t dim, Bags bags, const float* bias, float* out);

// dtable (rows x dim) += Σ_r s_r Σ_{t in bag r} w_t · dout[r] (row_scale may be null = ones). Only
// the rows touched by the tokens are written; the sum into each row follows the token order, so
// the result does not depend on the thread count.
Status embedding_bag_backward(const float* dout, int64_t rows, int64_t dim, Bags bags, const float* row_scale,
                              float* dtable);

// Ghost norms of an embedding bag: the per-example table gradient has row j equal to
// (Σ_{t in bag r, indices_t = j} w_t) · dout[r], so its squared norm is ‖dout_r‖² · Σ_j c_j², with
// duplicates merged exactly; never materialised. sq_norms: batch float64s.
Status embedding_bag_ghost_sqnorms(const float* dout, int64_t rows, int64_t dim, Bags bags, double* sq_norms);

// DP-AdaFEST's contribution map (Ghazi et al., NeurIPS 2023, Algorithm 2; arXiv:2311.08357): adds
// each example's clipped map, weight w = min(1, clip/√n) on each of the n distinct rows of its bag
// (bags.weights ignored), to counts (rows float32s), example by example in bag order, as
// counts[j] = float32(double(counts[j]) + w). A row whose count goes from 0 to non-zero is appended
// to touched[*touched_count] (first-touch order; at most rows entries between resets of counts).
// stamp (rows) holds the last example id that saw each row; *example_id is the last id given and
// wraps to 0 at kContributionStampLimit (stamp cleared). All-or-nothing: offsets and every index are
// checked before anything is written; on an index outside [0, rows) *bad_index (may be null) is its
// position t in indices, else -1.
constexpr int32_t kContributionStampLimit = int32_t{1} << 30;
Status contribution_map_add(Bags bags, int64_t rows, double clip, float* counts, int32_t* stamp, int32_t* example_id,
                            int32_t* touched, int64_t* touched_count, int64_t* bad_index);

// ---- Row moves (sparsity-preserving DP-SGD) ---------------------------------------------------

// The k rows sel[0..k) of a rows x dim table: sel strictly increasing in [0, rows) (so no two
// writes meet). All-or-nothing: sel is checked before anything is written; on a bad entry
// *bad_index (may be null) is its position in sel (else -1). k = 0 writes nothing.
// out (k x dim) = the rows, in sel's order.
Status gather_rows(const float* table, int64_t rows, int64_t dim, const int32_t* sel, int64_t k, float* out,
                   int64_t* bad_index);
// The rows of table = src (k x dim), row i to row sel[i].
Status scatter_rows(const float* src, int64_t rows, int64_t dim, const int32_t* sel, int64_t k, float* table,
                    int64_t* bad_index);
// The rows of table = 0.
Status zero_rows(float* table, int64_t rows, int64_t dim, const int32_t* sel, int64_t k, int64_t* bad_index);

// ---- Optimizer updates (elementwise over the flat parameter vector) ----------------------------

// g = grad_scale·grad + weight_decay·p; v = momentum·v + g (when velocity is not null);
// p −= lr · (velocity ? v : g).
Status sgd_update(float* params, const float* grad, float* velocity, int64_t n, double lr, double momentum,
                  double weight_decay, double grad_scale);

// Adam (Kingma and Ba 2015) with bias correction at step t ≥ 1: g = grad_scale·grad + wd·p,
// m = β1 m + (1 − β1) g, v = β2 v + (1 − β2) g², p −= lr · m̂ / (sqrt(v̂) + eps).
Status adam_update(float* params, const float* grad, float* m, float* v, int64_t n, double lr, double beta1,
                   double beta2, double eps, double weight_decay, double grad_scale, int64_t t);

}  // namespace nn
}  // namespace dpfl
