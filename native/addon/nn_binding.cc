// N-API glue for the neural-network kernels (native/include/dpfl/nn.h): argument conversion and
// cheap length re-checks only. Every function is synchronous: the models call them once per
// layer per step from the training loop, which owns the thread.
#include <string>

#include "args.h"
#include "bindings.h"
#include "dpfl/nn.h"

namespace dpfl_addon {
namespace {

using dpfl::nn::Activation;
using dpfl::nn::Bags;

// A Float32Array of exactly `expected` elements (or, when optional, undefined/null).
float* F32(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t expected, bool optional = false) {
  Napi::Float32Array a = optional ? OptionalFloat32Arg(info, i, name) : Float32Arg(info, i, name);
  if (a.IsEmpty()) return nullptr;
  CheckLength(info.Env(), a.ElementLength(), expected, name);
  return a.Data();
}

double* F64(const Napi::CallbackInfo& info, size_t i, const char* name, int64_t expected) {
  Napi::Float64Array a = Float64Arg(info, i, name);
  CheckLength(info.Env(), a.ElementLength(), expected, name);
  return a.Data();
}

Napi::Int32Array I32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowType(info.Env(), std::string(name) + " must be an Int32Array");
  }
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ArrayBuffer().IsDetached()) ThrowType(info.Env(), std::string(name) + " must not be detached");
  return a;
}

// a * b, refused unless a safe integer: a wrapped product could match a zero-length view.
int64_t Mul(const Napi::CallbackInfo& info, int64_t a, int64_t b, const char* what) {
  return Product(info.Env(), a, b, what);
}

int64_t Positive(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const int64_t v = IndexArg(info, i, name);
  if (v <= 0) ThrowRange(info.Env(), std::string(name) + " must be positive");
  return v;
}

// (x, w, bias|null, y, batch, in, out)
Napi::Value DenseForward(const Napi::CallbackInfo& info) {
  const int64_t batch = IndexArg(info, 4, "batch"), in = Positive(info, 5, "in"), out = Positive(info, 6, "out");
  const float* x = F32(info, 0, "x", Mul(info, batch, in, "batch * in"));
  const float* w = F32(info, 1, "w", Mul(info, in, out, "in * out"));
  const float* b = F32(info, 2, "bias", out, true);
  float* y = F32(info, 3, "y", Mul(info, batch, out, "batch * out"));
  ThrowIfFailed(info.Env(), dpfl::nn::dense_forward(x, w, b, y, batch, in, out));
  return info.Env().Undefined();
}

// (dy, w, dx, batch, in, out)
Napi::Value DenseBackwardInput(const Napi::CallbackInfo& info) {
  const int64_t batch = IndexArg(info, 3, "batch"), in = Positive(info, 4, "in"), out = Positive(info, 5, "out");
  const float* dy = F32(info, 0, "dy", Mul(info, batch, out, "batch * out"));
  const float* w = F32(info, 1, "w", Mul(info, in, out, "in * out"));
  float* dx = F32(info, 2, "dx", Mul(info, batch, in, "batch * in"));
  ThrowIfFailed(info.Env(), dpfl::nn::dense_backward_input(dy, w, dx, batch, in, out));
  return info.Env().Undefined();
}

// (x, dy, rowScale|null, dw, dbias|null, batch, in, out, accumulate)
Napi::Value DenseBackwardParams(const Napi::CallbackInfo& info) {
  const int64_t batch = IndexArg(info, 5, "batch"), in = Positive(info, 6, "in"), out = Positive(info, 7, "out");
  const bool acc = BoolArg(info, 8, "accumulate");
  const float* x = F32(info, 0, "x", Mul(info, batch, in, "batch * in"));
  const float* dy = F32(info, 1, "dy", Mul(info, batch, out, "batch * out"));
  const float* s = F32(info, 2, "rowScale", batch, true);
  float* dw = F32(info, 3, "dw", Mul(info, in, out, "in * out"));
  float* db = F32(info, 4, "dbias", out, true);
  ThrowIfFailed(info.Env(), dpfl::nn::dense_backward_params(x, dy, s, dw, db, batch, in, out, acc));
  return info.Env().Undefined();
}

// (x, dy, sqNorms: Float64Array, batch, in, out, withBias)
Napi::Value DenseGhostSqnorms(const Napi::CallbackInfo& info) {
  const int64_t batch = IndexArg(info, 3, "batch"), in = Positive(info, 4, "in"), out = Positive(info, 5, "out");
  const bool with_bias = BoolArg(info, 6, "withBias");
  const float* x = F32(info, 0, "x", Mul(info, batch, in, "batch * in"));
  const float* dy = F32(info, 1, "dy", Mul(info, batch, out, "batch * out"));
  double* sq = F64(info, 2, "sqNorms", batch);
  ThrowIfFailed(info.Env(), dpfl::nn::dense_ghost_sqnorms(x, dy, sq, batch, in, out, with_bias));
  return info.Env().Undefined();
}

// (dy, rowScale|null, dbias, batch, out, accumulate)
Napi::Value BiasBackward(const Napi::CallbackInfo& info) {
  const int64_t batch = IndexArg(info, 3, "batch"), out = Positive(info, 4, "out");
  const bool acc = BoolArg(info, 5, "accumulate");
  const float* dy = F32(info, 0, "dy", Mul(info, batch, out, "batch * out"));
  const float* s = F32(info, 1, "rowScale", batch, true);
  float* db = F32(info, 2, "dbias", out);
  ThrowIfFailed(info.Env(), dpfl::nn::bias_backward(dy, s, db, batch, out, acc));
  return info.Env().Undefined();
}

// (y, sqNorms: Float64Array, batch, dim)
Napi::Value RowSqnorms(const Napi::CallbackInfo& info) {
  const int64_t batch = IndexArg(info, 2, "batch"), dim = Positive(info, 3, "dim");
  const float* y = F32(info, 0, "y", Mul(info, batch, dim, "batch * dim"));
  double* sq = F64(info, 1, "sqNorms", batch);
  ThrowIfFailed(info.Env(), dpfl::nn::row_sqnorms(y, sq, batch, dim));
  return info.Env().Undefined();
}

Activation ActivationArg(const Napi::CallbackInfo& info, size_t i) {
  const int64_t k = IndexArg(info, i, "activation");
  if (k != 0 && k != 1) ThrowRange(info.Env(), "activation must be 0 (relu) or 1 (tanh)");
  return static_cast<Activation>(k);
}

// (kind, x, y)
Napi::Value ActivationForward(const Napi::CallbackInfo& info) {
  const Activation f = ActivationArg(info, 0);
  Napi::Float32Array x = Float32Arg(info, 1, "x");
  const int64_t n = static_cast<int64_t>(x.ElementLength());
  float* y = F32(info, 2, "y", n);
  ThrowIfFailed(info.Env(), dpfl::nn::activation_forward(f, x.Data(), y, n));
  return info.Env().Undefined();
}

// (kind, y, dy, dx)
Napi::Value ActivationBackward(const Napi::CallbackInfo& info) {
  const Activation f = ActivationArg(info, 0);
  Napi::Float32Array y = Float32Arg(info, 1, "y");
  const int64_t n = static_cast<int64_t>(y.ElementLength());
  const float* dy = F32(info, 2, "dy", n);
  float* dx = F32(info, 3, "dx", n);
  ThrowIfFailed(info.Env(), dpfl::nn::activation_backward(f, y.Data(), dy, dx, n));
  return info.Env().Undefined();
}

// (logits, labels: Int32Array, loss|null, dlogits|null, batch, classes)
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  const int64_t batch = IndexArg(info, 4, "batch"), classes = Positive(info, 5, "classes");
  const float* z = F32(info, 0, "logits", Mul(info, batch, classes, "batch * classes"));
  Napi::Int32Array labels = I32(info, 1, "labels");
  CheckLength(info.Env(), labels.ElementLength(), batch, "labels");
  float* loss = F32(info, 2, "loss", batch, true);
  float* d = F32(info, 3, "dlogits", Mul(info, batch, classes, "batch * classes"), true);
  ThrowIfFailed(info.Env(), dpfl::nn::softmax_cross_entropy(z, labels.Data(), loss, d, batch, classes));
  return info.Env().Undefined();
}

// Reads (indices, offsets, weights|null) at i, i+1, i+2 with the batch at `batch_at`.
Bags ReadBags(const Napi::CallbackInfo& info, size_t i, int64_t batch) {
  Napi::Int32Array indices = I32(info, i, "indices");
  Napi::Int32Array offsets = I32(info, i + 1, "offsets");
  CheckLength(info.Env(), offsets.ElementLength(), Sum(info.Env(), batch, 1, "batch + 1"), "offsets");
  const int64_t count = static_cast<int64_t>(indices.ElementLength());
  const float* weights = F32(info, i + 2, "weights", count, true);
  return Bags{count > 0 ? indices.Data() : nullptr, offsets.Data(), weights, batch, count};
}

// (table, rows, dim, indices, offsets, weights|null, batch, bias|null, out)
Napi::Value EmbeddingBagForward(const Napi::CallbackInfo& info) {
  const int64_t rows = Positive(info, 1, "rows"), dim = Positive(info, 2, "dim"), batch = IndexArg(info, 6, "batch");
  const float* table = F32(info, 0, "table", Mul(info, rows, dim, "rows * dim"));
  Bags bags = ReadBags(info, 3, batch);
  const float* bias = F32(info, 7, "bias", dim, true);
  float* out = F32(info, 8, "out", Mul(info, batch, dim, "batch * dim"));
  ThrowIfFailed(info.Env(), dpfl::nn::embedding_bag_forward(table, rows, dim, bags, bias, out));
  return info.Env().Undefined();
}

// (dout, rows, dim, indices, offsets, weights|null, batch, rowScale|null, dtable)
Napi::Value EmbeddingBagBackward(const Napi::CallbackInfo& info) {
  const int64_t rows = Positive(info, 1, "rows"), dim = Positive(info, 2, "dim"), batch = IndexArg(info, 6, "batch");
  const float* dout = F32(info, 0, "dout", Mul(info, batch, dim, "batch * dim"));
  Bags bags = ReadBags(info, 3, batch);
  const float* s = F32(info, 7, "rowScale", batch, true);
  float* dtable = F32(info, 8, "dtable", Mul(info, rows, dim, "rows * dim"));
  ThrowIfFailed(info.Env(), dpfl::nn::embedding_bag_backward(dout, rows, dim, bags, s, dtable));
  return info.Env().Undefined();
}

// (dout, rows, dim, indices, offsets, weights|null, batch, sqNorms: Float64Array)
Napi::Value EmbeddingBagGhostSqnorms(const Napi::CallbackInfo& info) {
  const int64_t rows = Positive(info, 1, "rows"), dim = Positive(info, 2, "dim"), batch = IndexArg(info, 6, "batch");
  const float* dout = F32(info, 0, "dout", Mul(info, batch, dim, "batch * dim"));
  Bags bags = ReadBags(info, 3, batch);
  double* sq = F64(info, 7, "sqNorms", batch);
  ThrowIfFailed(info.Env(), dpfl::nn::embedding_bag_ghost_sqnorms(dout, rows, dim, bags, sq));
  return info.Env().Undefined();
}

// (indices, offsets, batch, clip, counts, stamp, touched, cursor: Float64Array [exampleId, touchedCount])
// -> -1, or the position in indices of the first index outside [0, rows) (nothing written; the
// TypeScript layer builds the error naming it). rows = counts.length; cursor is read and updated.
Napi::Value ContributionMapAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t batch = IndexArg(info, 2, "batch");
  const double clip = NumberArg(info, 3, "clip");
  Napi::Float32Array counts = Float32Arg(info, 4, "counts");
  const int64_t rows = static_cast<int64_t>(counts.ElementLength());
  Napi::Int32Array stamp = I32(info, 5, "stamp");
  CheckLength(env, stamp.ElementLength(), rows, "stamp");
  Napi::Int32Array touched = I32(info, 6, "touched");
  CheckLength(env, touched.ElementLength(), rows, "touched");
  double* cursor = F64(info, 7, "cursor", 2);
  if (!(cursor[0] >= 0 && cursor[0] <= dpfl::nn::kContributionStampLimit &&
        cursor[0] == static_cast<int32_t>(cursor[0])))
    ThrowRange(env, "cursor[0] must be an integer in [0, 2^30]");
  if (!(cursor[1] >= 0 && cursor[1] <= static_cast<double>(rows) && cursor[1] == static_cast<int64_t>(cursor[1])))
    ThrowRange(env, "cursor[1] must be an integer in [0, counts.length]");
  Napi::Int32Array indices = I32(info, 0, "indices");
  Napi::Int32Array offsets = I32(info, 1, "offsets");
  CheckLength(env, offsets.ElementLength(), Sum(env, batch, 1, "batch + 1"), "offsets");
  const int64_t count = static_cast<int64_t>(indices.ElementLength());
  const Bags bags{count > 0 ? indices.Data() : nullptr, offsets.Data(), nullptr, batch, count};
  int32_t example = static_cast<int32_t>(cursor[0]);
  int64_t touched_count = static_cast<int64_t>(cursor[1]);
  int64_t bad = -1;
  const dpfl::Status s = dpfl::nn::contribution_map_add(bags, rows, clip, counts.Data(), stamp.Data(), &example,
                                                        touched.Data(), &touched_count, &bad);
  if (!s.ok() && bad >= 0) return Napi::Number::New(env, static_cast<double>(bad));
  ThrowIfFailed(env, s);
  cursor[0] = example;
  cursor[1] = static_cast<double>(touched_count);
  return Napi::Number::New(env, -1);
}

// The k = sel.length selected rows of a table (rows = table.length / dim). Each returns -1, or the
// position in sel of its first entry that is out of [0, rows) or not above the one before
// (nothing written; the TypeScript layer builds the error naming it).
struct RowArgs {
  Napi::Float32Array table;
  int64_t rows, dim, k;
  const int32_t* sel;
};

RowArgs Rows(const Napi::CallbackInfo& info, size_t table_at, const char* table_name) {
  RowArgs a;
  a.dim = Positive(info, 1, "dim");
  a.table = Float32Arg(info, table_at, table_name);
  const int64_t n = static_cast<int64_t>(a.table.ElementLength());
  if (n % a.dim != 0) ThrowRange(info.Env(), std::string(table_name) + ".length must be a multiple of dim");
  a.rows = n / a.dim;
  Napi::Int32Array sel = I32(info, 2, "sel");
  a.k = static_cast<int64_t>(sel.ElementLength());
  a.sel = sel.Data();
  return a;
}

Napi::Value RowsResult(Napi::Env env, const dpfl::Status& s, int64_t bad) {
  if (!s.ok() && bad >= 0) return Napi::Number::New(env, static_cast<double>(bad));
  ThrowIfFailed(env, s);
  return Napi::Number::New(env, -1);
}

// (table, dim, sel, out) -> -1 | bad position
Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  RowArgs a = Rows(info, 0, "table");
  float* out = F32(info, 3, "out", Mul(info, a.k, a.dim, "sel.length * dim"));
  int64_t bad = -1;
  const dpfl::Status s = dpfl::nn::gather_rows(a.table.Data(), a.rows, a.dim, a.sel, a.k, out, &bad);
  return RowsResult(info.Env(), s, bad);
}

// (src, dim, sel, table) -> -1 | bad position
Napi::Value ScatterRows(const Napi::CallbackInfo& info) {
  RowArgs a = Rows(info, 3, "table");
  const float* src = F32(info, 0, "src", Mul(info, a.k, a.dim, "sel.length * dim"));
  int64_t bad = -1;
  const dpfl::Status s = dpfl::nn::scatter_rows(src, a.rows, a.dim, a.sel, a.k, a.table.Data(), &bad);
  return RowsResult(info.Env(), s, bad);
}

// (table, dim, sel) -> -1 | bad position
Napi::Value ZeroRows(const Napi::CallbackInfo& info) {
  RowArgs a = Rows(info, 0, "table");
  int64_t bad = -1;
  const dpfl::Status s = dpfl::nn::zero_rows(a.table.Data(), a.rows, a.dim, a.sel, a.k, &bad);
  return RowsResult(info.Env(), s, bad);
}

// (params, grad, velocity|null, lr, momentum, weightDecay, gradScale)
Napi::Value SgdUpdate(const Napi::CallbackInfo& info) {
  Napi::Float32Array p = Float32Arg(info, 0, "params");
  const int64_t n = static_cast<int64_t>(p.ElementLength());
  const float* g = F32(info, 1, "grad", n);
  float* vel = F32(info, 2, "velocity", n, true);
  ThrowIfFailed(info.Env(),
                dpfl::nn::sgd_update(p.Data(), g, vel, n, NumberArg(info, 3, "lr"), NumberArg(info, 4, "momentum"),
                                     NumberArg(info, 5, "weightDecay"), NumberArg(info, 6, "gradScale")));
  return info.Env().Undefined();
}

// (params, grad, m, v, lr, beta1, beta2, eps, weightDecay, gradScale, t)
Napi::Value AdamUpdate(const Napi::CallbackInfo& info) {
  Napi::Float32Array p = Float32Arg(info, 0, "params");
  const int64_t n = static_cast<int64_t>(p.ElementLength());
  const float* g = F32(info, 1, "grad", n);
  float* m = F32(info, 2, "m", n);
  float* v = F32(info, 3, "v", n);
  ThrowIfFailed(info.Env(), dpfl::nn::adam_update(p.Data(), g, m, v, n, NumberArg(info, 4, "lr"),
                                                  NumberArg(info, 5, "beta1"), NumberArg(info, 6, "beta2"),
                                                  NumberArg(info, 7, "eps"), NumberArg(info, 8, "weightDecay"),
                                                  NumberArg(info, 9, "gradScale"), IndexArg(info, 10, "t")));
  return info.Env().Undefined();
}

}  // namespace

void RegisterNn(Napi::Env env, Napi::Object exports) {
  exports.Set("nnDenseForward", Napi::Function::New(env, DenseForward, "nnDenseForward"));
  exports.Set("nnDenseBackwardInput", Napi::Function::New(env, DenseBackwardInput, "nnDenseBackwardInput"));
  exports.Set("nnDenseBackwardParams", Napi::Function::New(env, DenseBackwardParams, "nnDenseBackwardParams"));
  exports.Set("nnDenseGhostSqnorms", Napi::Function::New(env, DenseGhostSqnorms, "nnDenseGhostSqnorms"));
  exports.Set("nnBiasBackward", Napi::Function::New(env, BiasBackward, "nnBiasBackward"));
  exports.Set("nnRowSqnorms", Napi::Function::New(env, RowSqnorms, "nnRowSqnorms"));
  exports.Set("nnActivationForward", Napi::Function::New(env, ActivationForward, "nnActivationForward"));
  exports.Set("nnActivationBackward", Napi::Function::New(env, ActivationBackward, "nnActivationBackward"));
  exports.Set("nnSoftmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy, "nnSoftmaxCrossEntropy"));
  exports.Set("nnEmbeddingBagForward", Napi::Function::New(env, EmbeddingBagForward, "nnEmbeddingBagForward"));
  exports.Set("nnEmbeddingBagBackward", Napi::Function::New(env, EmbeddingBagBackward, "nnEmbeddingBagBackward"));
  exports.Set("nnEmbeddingBagGhostSqnorms",
              Napi::Function::New(env, EmbeddingBagGhostSqnorms, "nnEmbeddingBagGhostSqnorms"));
  exports.Set("nnContributionMapAdd", Napi::Function::New(env, ContributionMapAdd, "nnContributionMapAdd"));
  exports.Set("nnGatherRows", Napi::Function::New(env, GatherRows, "nnGatherRows"));
  exports.Set("nnScatterRows", Napi::Function::New(env, ScatterRows, "nnScatterRows"));
  exports.Set("nnZeroRows", Napi::Function::New(env, ZeroRows, "nnZeroRows"));
  exports.Set("nnSgdUpdate", Napi::Function::New(env, SgdUpdate, "nnSgdUpdate"));
  exports.Set("nnAdamUpdate", Napi::Function::New(env, AdamUpdate, "nnAdamUpdate"));
}

}  // namespace dpfl_addon
